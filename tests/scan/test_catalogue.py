"""The catalogue itself: ids unique and matching their folders, queries parse, fixes exist, metadata is strict."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workbench.checks import logic
from workbench.scan import loader
from workbench.scan.engine import bind

CHECKS = loader.load_catalogue()


def test_catalogue_size_and_areas() -> None:
    assert len(CHECKS) >= 30
    areas = {c.area for c in CHECKS}
    for area in (
        "sprawl",
        "insecure_configuration",
        "trusted_boot",
        "access_control",
        "patch_management",
        "snapshot_backup",
        "image_factory",
        "network_segmentation",
    ):
        assert area in areas


def test_ids_unique_and_match_their_folders() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    folders = loader.check_folders()
    assert sorted(f.name for _, f in folders) == sorted(ids)
    for area, folder in folders:
        check = loader.load_folder(area, folder)
        assert (check.id, check.area) == (folder.name, area)


def test_check_folders_are_data_only() -> None:
    for _, folder in loader.check_folders():
        assert sorted(p.name for p in folder.iterdir()) == ["check.toml", "query.sql"]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_query_parses_against_the_schema(check: loader.Check, tmp_path: Path) -> None:
    from workbench.cache.store import Cache

    with Cache.open(tmp_path / "c.db") as cache:
        # EXPLAIN compiles the statement against the real tables without running it.
        cache.db.execute(
            "EXPLAIN " + check.query.strip().rstrip(";"), bind(check, None, "2026-01-01T00:00:00Z")
        )


def test_every_referenced_fix_exists() -> None:
    from workbench.fixes.lookup import fix_ids

    referenced = {c.fix for c in CHECKS if c.fix}
    assert referenced <= fix_ids(), referenced - fix_ids()


def test_python_logic_matches_metadata() -> None:
    assert {c.id for c in CHECKS if c.logic} == set(logic.LOGIC)


def test_params_overrides_are_typed() -> None:
    check = loader.get_check("SPR-01")
    assert check.resolve_params({"max_age_days": 30})["max_age_days"] == 30
    with pytest.raises(loader.CheckError, match="must be int"):
        check.resolve_params({"max_age_days": "30"})
    with pytest.raises(loader.CheckError, match="unknown parameter"):
        check.resolve_params({"max_age_dayz": 30})


def test_frameworks_are_versioned_and_well_formed() -> None:
    for check in CHECKS:
        assert "nist_800_53" in check.frameworks, check.id
        for key, ref in check.frameworks.items():
            if key.startswith("cis_"):
                assert ref.version, (check.id, key)


BASE = {
    "id": "XYZ-01",
    "title": "t",
    "providers": ["aws"],
    "resource_kind": "instance",
    "severity": "high",
    "area": "sprawl",
    "rationale": "r",
    "remediation": "m",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "urgent"}, "severity must be one of"),
        ({"area": "misc"}, "area must be one of"),
        ({"id": "x1"}, "must look like"),
        ({"providers": ["oracle"]}, "unknown provider"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"frameworks": {"cis_aws_compute": {"ids": ["2.5"]}}}, "version is required"),
        ({"frameworks": {"mitre_attack": {"ids": ["1552"]}}}, "ATT&CK technique ids"),
        ({"frameworks": {"iso": {"ids": ["A.1"]}}}, "unknown framework"),
        ({"equivalents": {"checkov": ["x"]}}, "unknown tool"),
        ({"params": {"x": {"default": {"a": 1}, "description": "d"}}}, "default must be"),
        ({"params": {"x": {"default": 1}}}, "description must be"),
    ],
)
def test_validator_rejects_with_a_clear_message(change: dict, message: str) -> None:
    with pytest.raises(loader.CheckError, match=message):
        loader.validate_check(BASE | change, "SELECT 1", "checks/x/XYZ-01/check.toml")


def test_validator_rejects_an_empty_query() -> None:
    with pytest.raises(loader.CheckError, match="query.sql is empty"):
        loader.validate_check(BASE, "  ", "here")


def test_broken_sql_is_reported_per_check(tmp_path: Path) -> None:
    from workbench.cache.store import Cache
    from workbench.scan.engine import evaluate

    check = loader.validate_check(BASE, "SELECT * FROM no_such_table", "here")
    with Cache.open(tmp_path / "c.db") as cache, pytest.raises(loader.CheckError, match="XYZ-01"):
        evaluate(cache, check)
    with pytest.raises(sqlite3.Error):
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")

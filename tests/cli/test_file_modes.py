"""Everything vmwb writes for the operator is mode 0600, even under umask 0 and over an existing 0644 file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cache.store import Cache
from workbench.cli import main
from workbench.config import Config
from workbench.fixes import lookup
from workbench.fixes.engine import FixEngine


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _world_readable(path: Path) -> Path:
    path.write_text("old\n")
    path.chmod(0o644)
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "cache.db"
    Cache.open(path).close()
    return str(path)


def test_scan_output(db: str, tmp_path: Path) -> None:
    out = _world_readable(tmp_path / "findings.csv")
    assert main(["--db", db, "scan", "--format", "csv", "--output", str(out)]) == 0
    assert _mode(out) == 0o600 and out.read_text() != "old\n"


def test_report_output(db: str, tmp_path: Path) -> None:
    out = _world_readable(tmp_path / "report.html")
    assert main(["--db", db, "report", "--output", str(out)]) == 0
    assert _mode(out) == 0o600


def test_audit_export(db: str, tmp_path: Path) -> None:
    out = _world_readable(tmp_path / "audit.jsonl")
    assert main(["--db", db, "audit", "export", "--output", str(out)]) == 0
    assert _mode(out) == 0o600


def test_images_export_key(db: str, tmp_path: Path) -> None:
    out = _world_readable(tmp_path / "team.pub")
    assert main(["--db", db, "images", "export-key", "--out", str(out)]) == 0
    assert _mode(out) == 0o600 and "PUBLIC KEY" in out.read_text()


def test_plan_save(db: str, tmp_path: Path) -> None:
    out = _world_readable(tmp_path / "plan.json")
    with Cache.open(db) as cache:
        engine = FixEngine(cache, Config(), role="operator", read_only=False, user="t")
        plan = engine.plan(lookup.all_fixes()[0].id, [])
        plan.save(out)
    assert _mode(out) == 0o600


def test_migration_backup_never_replaces_an_earlier_one(db: str, tmp_path: Path) -> None:
    earlier = _world_readable(tmp_path / "cache.db.v1.bak")
    with Cache.open(db) as cache:
        made = cache.backup(earlier)
    assert made != earlier and earlier.read_text() == "old\n"
    assert _mode(made) == 0o600


def test_demo_config(tmp_path: Path) -> None:
    from workbench.demo.build import DemoEstate, _write_config

    estate = DemoEstate(tmp_path / "demo.db", Config(role="operator"))
    _world_readable(tmp_path / "demo.toml")
    _write_config(estate)
    assert _mode(tmp_path / "demo.toml") == 0o600

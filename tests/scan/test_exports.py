"""Exports: SARIF against the official 2.1.0 schema, OCSF against Prowler's OCSF models, CSV injection, safe
text in tables and reports, the fields every JSON finding carries, and the CLI around them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from scan_estate import NOW, Estate

from workbench import model as m
from workbench.cli import main
from workbench.export import ocsf, report, sarif, tabular
from workbench.scan import mutes
from workbench.scan.engine import run_scan
from workbench.scan.loader import load_catalogue

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"
HOSTILE = '=HYPERLINK("http://x")\x1b]0;pwned\x07<script>alert(1)</script>'
REQUIRED = {
    "check_id",
    "title",
    "severity",
    "status",
    "provider",
    "account",
    "region",
    "resource_kind",
    "resource_id",
    "reason",
    "frameworks",
    "equivalents",
    "first_seen",
    "last_seen",
}


def seed(e: Estate) -> None:
    e.put(
        m.Snapshot(id="snap-1", name=HOSTILE, public=True, encrypted=False, created_at=NOW),
        m.Snapshot(
            id="snap-2", name="ok", public=True, encrypted=True, created_at=NOW, tags={"env": "lab"}
        ),
        m.Setting(id="ebs_encryption_by_default", name="ebs_encryption_by_default", value=False),
        m.Instance(
            id="i-1", name=HOSTILE, state="running", imds_tokens="optional", imds_endpoint="enabled"
        ),
    )
    mutes.add_mute(
        e.cache,
        tag="env=lab",
        reason="lab",
        author="ana",
        role="operator",
        expires_at="2027-01-01T00:00:00Z",
        now=NOW,
    )
    run_scan(e.cache, now=NOW)


@pytest.fixture
def records(estate: Estate) -> list[dict]:
    seed(estate)
    return tabular.finding_records(estate.cache.db)


def test_json_findings_carry_the_required_fields(records: list[dict]) -> None:
    assert {r["check_id"] for r in records} >= {"SNP-01", "SNP-04", "SNP-05", "CFG-01"}
    for r in json.loads(tabular.to_json(records)):
        assert REQUIRED <= set(r)
    setting = next(r for r in records if r["check_id"] == "SNP-05")
    assert (setting["resource_kind"], setting["resource_id"]) == ("region", "eu-west-1")
    assert {r["status"] for r in records if r["resource_id"] == "snap-2"} == {"muted"}
    lines = tabular.to_jsonl(records).splitlines()
    assert len(lines) == len(records) and all(REQUIRED <= set(json.loads(x)) for x in lines)


def test_sarif_is_valid_against_the_official_schema(records: list[dict], estate: Estate) -> None:
    doc = sarif.build(records, load_catalogue(), estate.cache.db)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(doc)
    results = doc["runs"][0]["results"]
    muted = [r for r in results if "suppressions" in r]
    assert muted and muted[0]["suppressions"][0]["justification"] == "lab"
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert all(
        results[n]["ruleId"] == rules[results[n]["ruleIndex"]]["id"] for n in range(len(results))
    )


def _keys_kept(ours: object, theirs: object, path: str = "") -> None:
    """Every key we emit survives the model (pydantic would silently drop unknown ones)."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), path
        for key, value in ours.items():
            if value is None:
                continue
            assert key in theirs, f"{path}.{key} is not a field of the OCSF model"
            if key not in ("unmapped", "data"):
                _keys_kept(value, theirs[key], f"{path}.{key}")
    elif isinstance(ours, list):
        for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _keys_kept(a, b, f"{path}[{n}]")


def test_ocsf_detection_findings_validate_against_py_ocsf_models(records: list[dict]) -> None:
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    items = json.loads(ocsf.to_ocsf(records, load_catalogue()))
    assert len(items) == len(records)
    for item in items:
        model = DetectionFinding.model_validate(item)
        _keys_kept(item, json.loads(model.model_dump_json(exclude_none=True)))
        assert (item["class_uid"], item["type_uid"]) == (2004, 200401)
    statuses = {(i["status_id"], i["status"]) for i in items}
    assert statuses == {(1, "New"), (3, "Suppressed")}


def test_csv_neutralises_formulas(records: list[dict]) -> None:
    rows = list(csv.DictReader(io.StringIO(tabular.to_csv(records))))
    names = [r["resource_name"] for r in rows if r["resource_id"] in ("snap-1", "i-1")]
    assert names and all(n.startswith("'=") and "\x1b" not in n for n in names)


def test_table_and_reports_render_untrusted_text_inertly(
    estate: Estate, records: list[dict]
) -> None:
    assert "\x1b" not in tabular.to_table(records)
    html = report.render(estate.cache, "html", now=NOW)
    assert "\x1b" not in html and "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<script" not in html  # pygal's tooltip script is off: nothing to fetch or run
    assert html.count("<svg") == 2 and "Snapshot risk" in html and "Patch KPIs" in html
    md = report.render(estate.cache, "md", now=NOW)
    assert "\x1b" not in md and "<script>" not in md and "data:image/svg+xml;base64," in md


def test_cli_scan_fail_on_and_formats(
    estate: Estate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(estate)
    db = str(estate.cache.path)
    base = ["--db", db, "--config", str(tmp_path / "none.toml")]
    (tmp_path / "none.toml").write_text("[checks.SNP-08]\nretention_days = 1\n")
    assert main([*base, "scan", "--check", "SNP-04", "--fail-on", "critical", "--now", NOW]) == 0
    assert (
        main([*base, "scan", "--check", "SNP-04", "SNP-01", "--fail-on", "critical", "--now", NOW])
        == 1
    )
    out = tmp_path / "f.sarif"
    assert (
        main(
            [
                *base,
                "scan",
                "--area",
                "snapshot_backup",
                "--format",
                "sarif",
                "--output",
                str(out),
                "--now",
                NOW,
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert out.stat().st_mode & 0o077 == 0
    capsys.readouterr()
    assert (
        main(
            [
                *base,
                "scan",
                "--check",
                "SNP-08",
                "--format",
                "json",
                "--now",
                "2026-11-29T00:00:00Z",
            ]
        )
        == 0
    )
    assert [r["check_id"] for r in json.loads(capsys.readouterr().out)] == ["SNP-08", "SNP-08"]
    assert main([*base, "checks", "--format", "json"]) == 0
    listed = {c["id"]: c for c in json.loads(capsys.readouterr().out)}
    assert listed["SNP-08"]["params"]["retention_days"] == {
        "default": 365,
        "type": "int",
        "description": listed["SNP-08"]["params"]["retention_days"]["description"],
        "value": 1,
    }
    for cmd in (
        ["diff"],
        ["kpi", "--format", "json"],
        ["compliance", "--framework", "cis"],
        ["checks"],
        ["report", "--format", "md"],
        ["mute", "list"],
    ):
        assert main([*base, *cmd]) == 0, cmd
    assert (
        main([*base, "mute", "add", "--check", "SNP-04", "--reason", "known", "--expires", "30d"])
        == 0
    )
    assert main([*base, "mute", "remove", "2"]) == 0
    assert main([*base, "mute", "remove", "2"]) == 2  # already removed: a clear error
    assert (
        main(
            [
                *base,
                "--role",
                "viewer",
                "mute",
                "add",
                "--check",
                "x",
                "--reason",
                "r",
                "--expires",
                "1d",
            ]
        )
        == 2
    )

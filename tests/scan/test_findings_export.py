"""``vmwb findings export``: exporting is not scanning (no scan recorded), files are 0600."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest
from scan_estate import NOW, Estate

from workbench import model as m
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.scan.engine import run_scan


def test_export_records_no_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cache.db"
    cache = Cache.open(db)
    Estate(cache).put(m.Snapshot(id="snap-1", public=True, encrypted=False, created_at=NOW))
    run_scan(cache, check_ids=["SNP-01"], now=NOW)
    cache.close()
    out = tmp_path / "findings.csv"
    assert (
        main(["--db", str(db), "findings", "export", "--format", "csv", "--output", str(out)]) == 0
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["check_id"], r["resource_id"]) for r in rows] == [("SNP-01", "snap-1")]
    assert main(["--db", str(db), "findings", "export", "--format", "sarif"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "2.1.0"
    assert main(["--db", str(db), "findings", "export", "--status", "resolved"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    cache = Cache.open(db)
    assert cache.db.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 1
    cache.close()

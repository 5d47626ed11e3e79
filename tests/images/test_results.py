"""Trivy and OpenSCAP imports: parsing, joining to cached resources, vulnerability history and the KPI.

The OpenSCAP files in ``data/`` were written by the real ``oscap xccdf eval`` (OpenSCAP 1.3.7, Debian 12) from
the tiny benchmark beside them (``bench.xml`` + ``oval.xml``); ``test_real_oscap_run`` regenerates one when
oscap is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from image_estate import DATA, GOLDEN, GOLDEN_UID, trivy_report

from workbench.cache.store import Cache
from workbench.images import openscap, results, trivy
from workbench.images.trivy import ReportError

PROD1 = "aws:111122223333:eu-west-1:instance:i-prod1"


def test_trivy_parse() -> None:
    data = trivy_report(
        f"ami:{GOLDEN}",
        [
            ("CVE-1", "openssl", "CRITICAL"),
            ("CVE-1", "openssl", "CRITICAL"),
            ("CVE-2", "zlib", "LOW"),
        ],
        "2026-02-01T10:00:00.123456789+01:00",
    )
    report = trivy.parse(data)
    assert report.lookup_id == GOLDEN and report.scanned_at == "2026-02-01T09:00:00Z"
    assert report.counts()["critical"] == 1 and len(report.vulns) == 2  # repeats collapse
    with pytest.raises(ReportError, match="Trivy"):
        trivy.parse(b'{"Results": []}')


def test_trivy_import_history_and_kpi(cache: Cache) -> None:
    crit = [
        ("CVE-A", "openssl", "CRITICAL"),
        ("CVE-B", "glibc", "CRITICAL"),
        ("CVE-C", "zlib", "HIGH"),
    ]
    first = trivy_report(f"ami:{GOLDEN}", crit, "2026-02-01T00:00:00Z")
    r1 = results.import_trivy(cache, first, source="scan1.json", actor="ci")
    assert r1.target.uid == GOLDEN_UID and r1.target.kind == "image"
    assert r1.summary["new"] == 3
    assert results.import_trivy(cache, first).duplicate  # same bytes: nothing changes
    # Five days later CVE-A is gone (remediated within 7 days); CVE-B stays open.
    second = trivy_report(f"ami:{GOLDEN}", crit[1:], "2026-02-06T00:00:00Z")
    r2 = results.import_trivy(cache, second)
    assert r2.summary == {
        "counts": {"critical": 1, "high": 1, "medium": 0, "low": 0, "unknown": 0},
        "new": 0,
        "fixed": 1,
        "os": "debian 12.5",
    }
    rows = {r["vuln_id"]: r for r in cache.db.execute("SELECT * FROM vulnerabilities")}
    assert rows["CVE-A"]["first_seen"] == "2026-02-01T00:00:00Z"
    assert rows["CVE-A"]["fixed_at"] == "2026-02-06T00:00:00Z"
    assert (
        rows["CVE-B"]["fixed_at"] is None and rows["CVE-B"]["last_seen"] == "2026-02-06T00:00:00Z"
    )
    # An older report arriving late neither reopens nor closes anything.
    late = trivy_report(f"ami:{GOLDEN}", crit, "2026-02-03T00:00:00Z")
    results.import_trivy(cache, late)
    fixed = "SELECT fixed_at FROM vulnerabilities WHERE vuln_id = 'CVE-A'"
    assert cache.db.execute(fixed).fetchone()[0] == "2026-02-06T00:00:00Z"
    kpi = results.critical_remediation_kpi(cache, now="2026-03-01T00:00:00Z")
    # Eligible: CVE-A (fixed) and CVE-B (open 28 days): one of two within 7 days.
    assert (kpi["eligible"], kpi["within"], kpi["percent"], kpi["open_overdue"]) == (2, 1, 50.0, 1)
    # On Feb 4 CVE-B was only 3 days old: not yet eligible, nothing fixed yet either.
    early = results.critical_remediation_kpi(cache, now="2026-02-04T00:00:00Z")
    assert early["eligible"] == 1 and early["within"] == 1


def test_trivy_artifact_not_in_cache_and_explicit_resource(cache: Cache) -> None:
    data = trivy_report("/", [("CVE-X", "bash", "CRITICAL")], "2026-02-01T00:00:00Z")
    loose = results.import_trivy(cache, data)
    assert loose.target.uid is None and loose.target.key == "artifact:/"
    pinned = results.import_trivy(
        cache, trivy_report("/", [], "2026-02-02T00:00:00Z"), resource="web-1"
    )
    assert pinned.target.uid == PROD1  # by instance name
    with pytest.raises(ReportError, match="no image or instance"):
        results.import_trivy(cache, trivy_report("/", [], "2026-02-03T00:00:00Z"), resource="nope")


def test_oscap_arf_parse() -> None:
    (report,) = openscap.parse((DATA / "oscap-arf.xml").read_bytes())
    assert report.benchmark == "xccdf_org.vmwb.test_benchmark_tiny"
    assert report.profile == "xccdf_org.vmwb.test_profile_stig"
    assert report.percent == pytest.approx(33.33, abs=0.01)
    assert (report.passed, report.failed) == (1, 2)
    rules = {r.rule_id.rsplit("_rule_", 1)[1]: r for r in report.rules}
    marker = rules["marker_exists"]
    assert marker.failed and marker.severity == "high" and marker.stig_cat1
    assert marker.stig_ids == ("V-100002", "DEB-12-000200") and marker.cce_ids == ("CCE-80002-2",)
    assert rules["marker_low"].cis_ids == ("1.1.1",) and not rules["marker_low"].stig_cat1
    assert rules["passwd_exists"].cis_ids == ("6.1.2",) and not rules["passwd_exists"].failed


def test_oscap_xccdf_and_arf_agree() -> None:
    (arf,) = openscap.parse((DATA / "oscap-arf.xml").read_bytes())
    (xccdf,) = openscap.parse((DATA / "oscap-xccdf.xml").read_bytes())
    assert arf.rules == xccdf.rules and arf.score == xccdf.score


def test_oscap_refuses_benchmark_and_entities() -> None:
    with pytest.raises(ReportError, match="TestResult"):
        openscap.parse((DATA / "bench.xml").read_bytes())
    with pytest.raises(ReportError, match="DOCTYPE"):
        openscap.parse(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


def test_oscap_import_maps_by_address(cache: Cache) -> None:
    # The real result lists the scanned host's addresses; i-prod1's private IP is not among them ...
    (loose,) = results.import_oscap(cache, (DATA / "oscap-arf.xml").read_bytes())
    assert loose.target.uid is None
    # ... so the operator names it; the XCCDF copy then maps to the same instance.
    data = (DATA / "oscap-xccdf.xml").read_bytes().replace(b"192.0.2.2", b"10.0.0.5")
    (mapped,) = results.import_oscap(cache, data, source="web-1.xml")
    assert mapped.target.uid == PROD1
    assert mapped.summary["stig_cat1_failed"] == 1
    score = cache.db.execute(
        "SELECT score, failed FROM hardening_scores WHERE resource_uid = ?", (PROD1,)
    ).fetchone()
    assert tuple(score) == (pytest.approx(33.33, abs=0.01), 2)


@pytest.mark.skipif(shutil.which("oscap") is None, reason="OpenSCAP (oscap) is not installed")
def test_real_oscap_run(tmp_path: Path) -> None:
    for name in ("bench.xml", "oval.xml"):
        shutil.copy(DATA / name, tmp_path / name)
    proc = subprocess.run(
        [
            "oscap",
            "xccdf",
            "eval",
            "--profile",
            "xccdf_org.vmwb.test_profile_stig",
            "--results-arf",
            "arf.xml",
            "bench.xml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr  # 2: evaluated, some rules failed
    (report,) = openscap.parse((tmp_path / "arf.xml").read_bytes())
    assert [r.result for r in report.rules] == ["pass", "fail", "fail"]

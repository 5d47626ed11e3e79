"""`vmwb import prowler|sarif|custodian`: other tools' findings beside vmwb's own.

The Prowler file is the json-ocsf output of a real Prowler 5.46.0 run against a moto EC2 (a public unencrypted
snapshot, an unencrypted volume, their encrypted twins); the Custodian folders are a real c7n 0.9.53 run of two
policies against the same kind of estate. The cache here holds those resources under their real ids.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from workbench.cache.store import Cache
from workbench.cli import main
from workbench.fixes.targets import resolve
from workbench.model import ScopeRef, Snapshot, TaskOutput, Volume

DATA = Path(__file__).resolve().parents[1] / "data"
PROWLER = DATA / "prowler" / "prowler-5.46.0-aws-ec2.ocsf.json"
CUSTODIAN = DATA / "custodian"
ACCOUNT = "123456789012"
SCOPE = ScopeRef("aws", ACCOUNT, "eu-west-1")
PROWLER_SNAP, PROWLER_VOL = "snap-796eb047ca53eaca3", "vol-ae35cab456cd2c5c8"
C7N_SNAP, C7N_VOL = "snap-7189177f8c3ffd402", "vol-98e57af0326de145f"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("VMWB_CONFIG", str(config))
    path = tmp_path / "cache.db"
    with Cache.open(path) as cache:
        run = cache.start_run({})
        snaps = TaskOutput(
            [
                Snapshot(id=PROWLER_SNAP, public=True, encrypted=False),
                Snapshot(id=C7N_SNAP, public=True, encrypted=False),
            ]
        )
        cache.replace_task(run, SCOPE, "snapshots", snaps)
        vols = TaskOutput([Volume(id=PROWLER_VOL, encrypted=False), Volume(id=C7N_VOL)])
        cache.replace_task(run, SCOPE, "volumes", vols)
    return str(path)


def _rows(db: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def test_prowler_findings_land_linked_and_fixable(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db, "import", "prowler", str(PROWLER)]) == 0
    out = capsys.readouterr().out
    # SNP-13 lists ec2_ebs_volume_encryption (issue 18), so all three findings map to a vmwb check; only
    # SNP-01 (the public snapshot) names a guided fix.
    assert "prowler: scan 1: 3 open" in out
    assert "3 map to a vmwb check, 1 with a guided fix (vmwb fix list)" in out
    found = _rows(
        db,
        "SELECT check_id, resource_uid, severity, status, maps_to, source FROM findings ORDER BY check_id",
    )
    snap_uid = f"aws:{ACCOUNT}:eu-west-1:snapshot:{PROWLER_SNAP}"
    vol_uid = f"aws:{ACCOUNT}:eu-west-1:volume:{PROWLER_VOL}"
    assert found == [
        ("prowler:ec2_ebs_public_snapshot", snap_uid, "critical", "open", "SNP-01", "prowler"),
        ("prowler:ec2_ebs_snapshots_encrypted", snap_uid, "high", "open", "SNP-04", "prowler"),
        ("prowler:ec2_ebs_volume_encryption", vol_uid, "high", "open", "SNP-13", "prowler"),
    ]
    # A guided fix starts from the imported finding through the crosswalk (SNP-01 lists the Prowler check).
    with Cache.open(Path(db)) as cache:
        fix, targets = resolve(cache, "SNP-01")
    assert fix.id == "aws.snapshot.revoke_public"
    assert [(t.check_id, t.resource_id) for t in targets] == [("SNP-01", PROWLER_SNAP)]
    # Its own scan, audited, and never in vmwb's scan history.
    assert _rows(db, "SELECT source, source_file FROM scans") == [("prowler", str(PROWLER))]
    assert _rows(db, "SELECT action, target FROM audit_log") == [("import", "prowler")]
    assert main(["--db", db, "diff"]) != 0
    assert "no scan yet" in capsys.readouterr().err
    assert main(["--db", db, "diff", "--source", "prowler"]) == 0
    out = capsys.readouterr().out
    assert "3 new" in out
    # A long imported check id widens its column: every row's STATUS cell stands under the header's.
    header, *rows = out.splitlines()[1:]
    assert rows and all(r[header.index("STATUS") :].startswith("open") for r in rows)
    assert main(["--db", db, "audit", "verify"]) == 0


def test_same_file_twice_changes_nothing_and_a_newer_file_resolves(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db, "import", "prowler", str(PROWLER)]) == 0
    events = _rows(db, "SELECT COUNT(*) FROM finding_events")
    copy = tmp_path / "again.ocsf.json"
    shutil.copy(PROWLER, copy)
    capsys.readouterr()
    assert main(["--db", db, "import", "prowler", str(copy)]) == 0
    assert "already imported from prowler as scan 1; nothing changed" in capsys.readouterr().out
    assert _rows(db, "SELECT COUNT(*) FROM finding_events") == events
    assert _rows(db, "SELECT COUNT(*) FROM scans") == [(1,)]

    # The next Prowler run: the snapshot was made private, so its check now passes.
    data = json.loads(PROWLER.read_text())
    for item in data:
        if item["metadata"]["event_code"] == "ec2_ebs_public_snapshot":
            item["status_code"] = "PASS"
    newer = tmp_path / "newer.ocsf.json"
    newer.write_text(json.dumps(data))
    assert main(["--db", db, "import", "prowler", str(newer)]) == 0
    status = dict(_rows(db, "SELECT check_id, status FROM findings"))
    assert status == {
        "prowler:ec2_ebs_public_snapshot": "resolved",
        "prowler:ec2_ebs_snapshots_encrypted": "open",
        "prowler:ec2_ebs_volume_encryption": "open",
    }
    # A file of another account speaks for that account only.
    for item in data:
        item["cloud"]["account"]["uid"] = "999988887777"
        item["status_code"] = "PASS"
    other = tmp_path / "other-account.ocsf.json"
    other.write_text(json.dumps(data))
    assert main(["--db", db, "import", "prowler", str(other)]) == 0
    assert dict(_rows(db, "SELECT check_id, status FROM findings")) == status


def test_findings_for_resources_not_in_the_cache_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("VMWB_CONFIG", str(config))
    db = str(tmp_path / "empty.db")
    Cache.open(Path(db)).close()
    assert main(["--db", db, "import", "prowler", str(PROWLER)]) == 0
    assert "3 for resources not in the cache" in capsys.readouterr().out
    uids = {r[0] for r in _rows(db, "SELECT resource_uid FROM findings")}
    assert uids == {
        f"external:arn:aws:ec2:eu-west-1:{ACCOUNT}:snapshot/{PROWLER_SNAP}",
        f"external:arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/{PROWLER_VOL}",
    }
    assert _rows(db, "SELECT COUNT(*) FROM findings WHERE maps_to IS NOT NULL") == [(0,)]


def test_a_file_that_does_not_validate_is_refused_whole(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(PROWLER.read_text())
    del data[2]["finding_info"]
    bad = tmp_path / "bad.ocsf.json"
    bad.write_text(json.dumps(data))
    assert main(["--db", db, "import", "prowler", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "finding 2 is not an OCSF Detection Finding: finding_info: Field required" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    html = tmp_path / "login.json"
    html.write_text("<html><body>Sign in</body></html>")
    assert main(["--db", db, "import", "prowler", str(html)]) != 0
    assert "not a Prowler OCSF JSON file" in capsys.readouterr().err
    assert _rows(db, "SELECT COUNT(*) FROM findings") == [(0,)]
    assert _rows(db, "SELECT COUNT(*) FROM scans") == [(0,)]


def test_mutes_apply_to_imported_findings(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--db", db, "mute", "add", "--check", "prowler:ec2_ebs_volume_encryption"]
    assert main([*args, "--reason", "scratch volume", "--expires", "30d"]) == 0
    assert main(["--db", db, "import", "prowler", str(PROWLER)]) == 0
    status = dict(_rows(db, "SELECT check_id, status FROM findings"))
    assert status["prowler:ec2_ebs_volume_encryption"] == "muted"
    assert status["prowler:ec2_ebs_public_snapshot"] == "open"


def test_custodian_policy_runs_each_a_scan(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db, "import", "custodian", str(CUSTODIAN)]) == 0
    found = _rows(
        db, "SELECT check_id, resource_id, maps_to, severity FROM findings ORDER BY check_id"
    )
    assert found == [
        ("custodian:public-snapshots", C7N_SNAP, "SNP-01", "medium"),
        ("custodian:unencrypted-volumes", C7N_VOL, None, "medium"),
    ]
    assert _rows(db, "SELECT source FROM scans") == [("custodian",), ("custodian",)]
    # One policy's folder again: the same file, nothing changes.
    assert main(["--db", db, "import", "custodian", str(CUSTODIAN / "public-snapshots")]) == 0
    assert "already imported" in capsys.readouterr().out


def test_custodian_empty_run_resolves(db: str, tmp_path: Path) -> None:
    assert main(["--db", db, "import", "custodian", str(CUSTODIAN / "public-snapshots")]) == 0
    later = tmp_path / "public-snapshots"
    later.mkdir()
    shutil.copy(CUSTODIAN / "public-snapshots" / "metadata.json", later)
    (later / "resources.json").write_text("[]")
    assert main(["--db", db, "import", "custodian", str(later)]) == 0
    assert _rows(db, "SELECT status FROM findings") == [("resolved",)]
    (later / "metadata.json").unlink()
    (later / "resources.json").write_text("[{}]")
    assert main(["--db", db, "import", "custodian", str(later)]) != 0


def _sarif(results: list[dict[str, object]]) -> dict[str, object]:
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Trivy",
                        "rules": [
                            {
                                "id": "AVD-AWS-0131",
                                "shortDescription": {
                                    "text": "Instance with unencrypted block device."
                                },
                                "properties": {"security-severity": "7.0"},
                            },
                            {"id": "AVD-DS-0002", "defaultConfiguration": {"level": "error"}},
                        ],
                    }
                },
                "results": results,
            }
        ],
    }


def test_sarif_results_link_by_logical_location(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vol_uid = f"aws:{ACCOUNT}:eu-west-1:volume:{PROWLER_VOL}"
    log = _sarif(
        [
            {
                "ruleId": "AVD-AWS-0131",
                "message": {"text": "volume is not encrypted"},
                "locations": [
                    {"logicalLocations": [{"fullyQualifiedName": vol_uid, "kind": "resource"}]}
                ],
            },
            {
                "ruleIndex": 1,
                "level": "error",
                "message": {"text": "image user should not be root"},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": "build/Dockerfile"}}}
                ],
            },
        ]
    )
    path = tmp_path / "trivy.sarif"
    path.write_text(json.dumps(log))
    assert main(["--db", db, "import", "sarif", str(path)]) == 0
    assert "1 for resources not in the cache" in capsys.readouterr().out
    found = _rows(db, "SELECT check_id, resource_uid, severity FROM findings ORDER BY check_id")
    assert found == [
        ("sarif:trivy:AVD-AWS-0131", vol_uid, "high"),
        ("sarif:trivy:AVD-DS-0002", "external:build/Dockerfile", "high"),
    ]
    assert _rows(db, "SELECT source FROM scans") == [("sarif:trivy",)]
    bad = tmp_path / "bad.sarif"
    bad.write_text(json.dumps({"version": "2.0.0", "runs": []}))
    assert main(["--db", db, "import", "sarif", str(bad)]) != 0
    assert "not a SARIF 2.1.0 log: version" in capsys.readouterr().err

"""``vmwb images`` end to end through the real CLI entry point (in-process, in-memory keyring)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from image_estate import DATA, GOLDEN, NOW, build, trivy_report

from workbench import audit
from workbench.cache.store import Cache
from workbench.cli import main


@pytest.fixture
def db(tmp_path: Path) -> str:
    build(tmp_path / "cache.db").close()
    return str(tmp_path / "cache.db")


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text('[general]\nuser = "ana"\n')
    return str(path)


def run(db: str, cfg: str, *args: str) -> int:
    return main(["--db", db, "--config", cfg, *args])


def test_approve_verify_revoke(db: str, cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, cfg, "images", "approve", GOLDEN, "--reason", "CIS L1, Trivy clean") == 0
    assert "approved ami-golden (aws) as entry 1" in capsys.readouterr().out
    assert run(db, cfg, "images", "verify") == 0
    assert "1 ok" in capsys.readouterr().out
    assert run(db, cfg, "images", "list", "--format", "json") == 0
    rows = {r["image_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[GOLDEN]["approval"] == "approved" and rows[GOLDEN]["signature"] == "valid"
    assert rows[GOLDEN]["instances"] == 3  # lineage across both accounts (terminated one included)
    assert rows["ami-market"]["publisher_trusted"] is False
    assert (
        rows["debian-12-bookworm-v20260201"]["publisher_trusted"] is True
    )  # the GCP project's own
    assert run(db, cfg, "images", "revoke", GOLDEN, "--reason", "CVE in base") == 0
    with Cache.open(db) as cache:
        actions = [(e.action, e.actor) for e in audit.entries(cache)]
    assert actions == [("approve", "ana"), ("verify", "ana"), ("revoke", "ana")]


def test_tampered_registry_fails_verify(
    db: str, cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, cfg, "images", "approve", GOLDEN, "--reason", "ok") == 0
    with Cache.open(db) as cache:
        cache.db.execute("UPDATE image_registry SET reason = 'approved by CISO'")
    capsys.readouterr()
    assert run(db, cfg, "images", "verify") == 1
    captured = capsys.readouterr()
    assert "tampered" in captured.out and "reason" in captured.out
    assert "does not verify" in captured.err


def test_viewer_and_read_only_are_refused(
    db: str, cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, cfg, "--role", "viewer", "images", "approve", GOLDEN, "--reason", "x") == 2
    assert "viewer role" in capsys.readouterr().err
    assert run(db, cfg, "--read-only", "images", "revoke", GOLDEN, "--reason", "x") == 2
    assert "read-only" in capsys.readouterr().err


def test_export_key_pins_the_trust_root(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.toml"
    plain.write_text("")
    pem = tmp_path / "team.pem"
    assert run(db, str(plain), "images", "export-key", "--out", str(pem)) == 0
    assert pem.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert run(db, str(plain), "images", "approve", GOLDEN, "--reason", "ok") == 0
    pinned = tmp_path / "pinned.toml"
    pinned.write_text(f'[images]\ntrusted_keys = ["{pem}"]\ntrust_local_key = false\n')
    assert run(db, str(pinned), "images", "verify") == 0
    other = tmp_path / "other.toml"
    other.write_text("[images]\ntrusted_keys = []\ntrust_local_key = false\n")
    capsys.readouterr()
    assert run(db, str(other), "images", "verify") == 1
    assert "untrusted_key" in capsys.readouterr().out


def test_imports_and_kpi(
    db: str, cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "trivy.json"
    report.write_bytes(trivy_report(f"ami:{GOLDEN}", [("CVE-A", "openssl", "CRITICAL")], NOW))
    assert run(db, cfg, "images", "import-trivy", str(report)) == 0
    assert (
        "trivy import 1 -> aws:111122223333:eu-west-1:image:ami-golden" in capsys.readouterr().out
    )
    arf = str(DATA / "oscap-arf.xml")
    assert run(db, cfg, "images", "import-oscap", arf, "--resource", "web-1") == 0
    assert "instance:i-prod1" in capsys.readouterr().out
    assert run(db, cfg, "images", "import-oscap", arf, "--resource", "web-1") == 0
    assert "already imported" in capsys.readouterr().out
    assert run(db, cfg, "images", "kpi") == 0
    assert "within 7 days" in capsys.readouterr().out


def test_trusted_publishers_from_config(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "pub.toml"
    cfg.write_text('[images]\ntrusted_publishers = ["679593333241"]\n')
    assert run(db, str(cfg), "images", "list", "--format", "json") == 0
    rows = {r["image_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ami-market"]["publisher_trusted"] is True

"""`vmwb fix` end to end, and a crash between the journal write and the call (SIGKILL) reconciled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fix_estate import REGION, add_finding, snapshot_id, target

from workbench import audit
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.fixes.engine import PAUSE_ENV, FixEngine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config.toml"
    config.write_text("[fixes]\nallowed_accounts = []\n", encoding="utf-8")
    monkeypatch.setenv("VMWB_CONFIG", str(config))
    return str(tmp_path / "cache.db")


def _public_snapshot(ec2: Any) -> str:
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    return sid


def _public(ec2: Any, sid: str) -> bool:
    perms = ec2.describe_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")
    return {"Group": "all"} in perms["CreateVolumePermissions"]


@pytest.mark.usefixtures("moto")
def test_cli_plan_dry_run_apply_undo(
    cli_env: str, ec2: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, plan = cli_env, str(tmp_path / "plan.json")
    sid = _public_snapshot(ec2)
    with Cache.open(db) as cache:
        add_finding(cache, "SNP-01", "snapshot", sid)
    assert main(["--db", db, "fix", "list"]) == 0
    assert main(["--db", db, "--role", "viewer", "fix", "plan", "SNP-01"]) == 2
    assert main(["--db", db, "fix", "plan", "SNP-01", "--output", plan]) == 0
    out = capsys.readouterr().out
    assert "ModifySnapshotAttribute" in out and f"SnapshotId='{sid}'" in out
    assert main(["--db", db, "fix", "dry-run", plan]) == 0
    assert "would_succeed" in capsys.readouterr().out
    assert main(["--db", db, "fix", "apply", plan]) == 2  # not a terminal and no --yes
    assert main(["--db", db, "--read-only", "fix", "apply", plan, "--yes"]) == 2
    assert _public(ec2, sid)
    assert main(["--db", db, "fix", "apply", plan, "--yes"]) == 0
    assert not _public(ec2, sid)
    assert "FIXED" in capsys.readouterr().out
    assert main(["--db", db, "fix", "apply", plan, "--yes"]) == 2  # live state moved: stale
    assert main(["--db", db, "fix", "journal"]) == 0
    assert "verified" in capsys.readouterr().out
    assert main(["--db", db, "fix", "undo", "1"]) == 2  # previewed, then not confirmed
    out = capsys.readouterr()
    assert "OperationType='add'" in out.out and "not confirmed" in out.err
    assert not _public(ec2, sid)
    assert main(["--db", db, "fix", "undo", "1", "--yes"]) == 0
    assert _public(ec2, sid)
    assert main(["--db", db, "audit", "verify"]) == 0
    actions = [
        r[0] for r in sqlite3.connect(db).execute("SELECT action FROM audit_log ORDER BY seq")
    ]
    assert actions == ["plan", "plan", "dry-run", "apply", "apply", "apply", "undo"]


@pytest.fixture
def moto_server(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server, so a child process and this one see the same estate."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


def _kill_when(db: str, plan: str, pause: str, ready: Callable[[], bool]) -> None:
    """Run `vmwb fix apply` in a child that sleeps at ``pause``; SIGKILL it once ``ready()``."""
    env = {**os.environ, PAUSE_ENV: f"{pause}:120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "--db", db, "fix", "apply", plan, "--yes"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    try:
        while not ready():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the child never reached the pause"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def _pending(db: str) -> bool:
    with sqlite3.connect(db) as conn:
        return bool(conn.execute("SELECT 1 FROM journal WHERE status='pending'").fetchone())


@pytest.mark.parametrize("pause", ["after_journal", "after_call"])
def test_crash_between_journal_and_apply_is_reconciled(
    pause: str, moto_server: str, cli_env: str, tmp_path: Path
) -> None:
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION)
    sid = _public_snapshot(ec2)
    plan_path = str(tmp_path / "plan.json")
    with Cache.open(cli_env) as cache:
        engine = FixEngine(cache, user="tester")
        engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid)]).save(plan_path)

    if pause == "after_journal":
        _kill_when(cli_env, plan_path, pause, lambda: _pending(cli_env))
    else:  # the call went through; the child dies before recording it
        _kill_when(cli_env, plan_path, pause, lambda: _pending(cli_env) and not _public(ec2, sid))

    with Cache.open(cli_env) as cache:
        engine = FixEngine(cache, user="tester")
        [pending] = engine.journal.pending()
        assert pending.before == {"exists": True, "public": True, "accounts": []}
        [settled] = engine.reconcile()
        assert settled.status == "reconciled" and engine.journal.pending() == []
        if pause == "after_journal":  # killed before the call: nothing changed
            assert _public(ec2, sid) and not settled.took_effect
            assert "did not take effect" in (settled.error or "")
        else:  # killed after the call: the change is there, recorded, and undoable
            assert not _public(ec2, sid) and settled.took_effect
            assert engine.undo(settled.entry_id).status == "ok"
            assert _public(ec2, sid)
        assert [e.result for e in audit.entries(cache) if e.action == "reconcile"] == ["ok"]

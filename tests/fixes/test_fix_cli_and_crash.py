"""`vmwb fix` end to end, and kill -9 of apply and of undo at each point of a call (after its intent is
journaled, after the call, after its result is recorded), reconciled from what the platform shows; a `vmwb fix`
command run meanwhile leaves the in-flight entry alone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fix_estate import REGION, add_finding, snapshot_id, target

from workbench import audit
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.fixes.engine import PAUSE_ENV, FixEngine
from workbench.fixes.plan import Plan

ROOT = Path(__file__).resolve().parents[2]


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
    assert main(["--db", db, "fix", "apply", plan, "--yes"]) == 2  # a plan runs once
    assert "already applied" in capsys.readouterr().err
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
    assert actions == [
        *["plan", "plan", "dry-run", "apply"],  # viewer denied, plan, dry-run, read-only denied
        *["apply", "apply-call", "apply-call", "apply"],  # started, call intent, call result, done
        "apply",  # the same plan again: refused, a plan runs once
        *["undo", "undo-call", "undo-call", "undo"],
    ]


def _child(db: str, args: list[str], pause: str) -> subprocess.Popen[bytes]:
    """`vmwb --db DB ARGS` in a child process that sleeps at ``pause`` (see engine.PAUSE_ENV)."""
    env = {**os.environ, PAUSE_ENV: pause}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "--db", db, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """SIGKILL ``proc`` once ``ready()`` (it sleeps at its pause point meanwhile)."""
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


def _statuses(db: str) -> list[tuple[int, str, int | None]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT entry_id, status, undo_of FROM journal ORDER BY entry_id")
        return [(int(a), str(b), c) for a, b, c in rows]


def _claims(db: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM fix_claims").fetchone()[0])


@pytest.fixture
def crash_estate(moto_server: str, cli_env: str, tmp_path: Path) -> tuple[Any, str, str]:
    """(ec2, snapshot id, plan path): one public snapshot and its plan, made on the shared cache."""
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION)
    sid = _public_snapshot(ec2)
    plan_path = str(tmp_path / "plan.json")
    with Cache.open(cli_env) as cache:
        engine = FixEngine(cache, user="tester")
        engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid)]).save(plan_path)
    return ec2, sid, plan_path


def _in_flight_left_alone(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Any `vmwb fix` subcommand reconciles first; with the owner alive it must not touch its entry."""
    before = _statuses(db)
    assert main(["--db", db, "fix", "journal"]) == 0
    assert "reconciled" not in capsys.readouterr().err
    assert _statuses(db) == before
    with Cache.open(db) as cache:
        assert [e for e in audit.entries(cache) if e.action == "reconcile"] == []


@pytest.mark.parametrize("pause", ["after_journal", "after_call", "after_record"])
def test_kill_9_of_apply_is_reconciled_from_the_platform(
    pause: str,
    crash_estate: tuple[Any, str, str],
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ec2, sid, plan_path = crash_estate
    proc = _child(cli_env, ["fix", "apply", plan_path, "--yes"], f"{pause}:120")
    ready = {
        "after_journal": lambda: _statuses(cli_env) == [(1, "pending", None)],
        "after_call": lambda: (
            _statuses(cli_env) == [(1, "pending", None)] and not _public(ec2, sid)
        ),
        "after_record": lambda: _statuses(cli_env) == [(1, "applied", None)],
    }[pause]
    try:
        while not ready():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.1)
        _in_flight_left_alone(cli_env, capsys)
    finally:
        _kill_when(proc, lambda: True)

    with Cache.open(cli_env) as cache:
        engine = FixEngine(cache, user="tester")
        settled = engine.reconcile()
        assert engine.journal.pending() == [] and _claims(cli_env) == 0
        entry = engine.journal.get(1)
        assert entry is not None
        if pause == "after_journal":  # killed before the call: the platform shows nothing changed
            [only] = settled
            assert only.status == "reconciled" and not only.took_effect
            assert "the platform shows the before-state: the change is not in effect" in (
                only.error or ""
            )
            assert _public(ec2, sid)
        elif pause == "after_call":  # the call went through; the child died before recording it
            [only] = settled
            assert only.status == "reconciled" and only.took_effect
            assert "the change is in effect; the check passes" in (only.error or "")
            assert not _public(ec2, sid)
            assert engine.undo(only.entry_id).status == "ok"
            assert _public(ec2, sid)
        else:  # recorded, then killed before verify: nothing pending, only the claim to release
            assert settled == [] and entry.status == "applied" and not _public(ec2, sid)
        results = [e.result for e in audit.entries(cache) if e.action == "reconcile"]
        assert results[-1] == "claim released: its process is gone"
        assert results.count("ok") == (0 if pause == "after_record" else 1)
        # The killed apply consumed the plan: it never runs a second time.
        with pytest.raises(Exception, match="already applied"):
            engine.apply(Plan.load(plan_path))
        assert audit.verify(cache) == []


@pytest.mark.parametrize("pause", ["after_journal", "after_call", "after_record"])
def test_kill_9_of_undo_is_reconciled_from_the_platform(
    pause: str,
    crash_estate: tuple[Any, str, str],
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ec2, sid, plan_path = crash_estate
    with Cache.open(cli_env) as cache:
        assert FixEngine(cache, user="tester").apply(Plan.load(plan_path)).ok
    assert not _public(ec2, sid) and _statuses(cli_env) == [(1, "verified", None)]
    proc = _child(cli_env, ["fix", "undo", "1", "--yes"], f"{pause}:120")
    ready = {
        "after_journal": lambda: (2, "pending", 1) in _statuses(cli_env),
        "after_call": lambda: (2, "pending", 1) in _statuses(cli_env) and _public(ec2, sid),
        "after_record": lambda: (2, "applied", 1) in _statuses(cli_env),
    }[pause]
    try:
        while not ready():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.1)
        _in_flight_left_alone(cli_env, capsys)
    finally:
        _kill_when(proc, lambda: True)

    with Cache.open(cli_env) as cache:
        engine = FixEngine(cache, user="tester")
        engine.reconcile()
        assert engine.journal.pending() == [] and _claims(cli_env) == 0
        original, undo = engine.journal.get(1), engine.journal.get(2)
        assert original is not None and undo is not None
        if pause == "after_journal":  # the restore never reached the platform
            assert not _public(ec2, sid)
            assert original.status == "verified" and undo.status == "reconciled"
            assert "the restore is not in effect" in (undo.error or "")
            assert engine.undo(1).status == "ok" and _public(ec2, sid)  # and it can be redone
        else:  # the platform shows the snapshot public again: the original is undone, not "verified"
            assert _public(ec2, sid)
            assert original.status == "undone"
            if pause == "after_call":
                assert "the restore is in effect" in (undo.error or "")
        assert audit.verify(cache) == []

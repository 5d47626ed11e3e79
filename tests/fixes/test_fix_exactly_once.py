"""Exactly once, and no call without its record (issue 13.4-13.6), counted where the calls land: at moto.

moto's own request recorder (``moto.moto_api.recorder``) logs every request that reaches the emulator, from
this process or from a child ``vmwb``; the tests count the changing calls in it. Before this change two applies
of one plan made every call twice, a plan retargeted with its checksum recomputed, replayed after undo or
applied to another cache was accepted, ``--narrow-to 0.0.0.0/1`` was accepted, and with the audit table gone
``fix apply`` still made its live changes.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fix_estate import add_finding, snapshot_id, target

from workbench import audit
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.config import parse
from workbench.fixes.base import FixError
from workbench.fixes.claims import Claimed, PlanRefused
from workbench.fixes.engine import PAUSE_ENV, FixEngine
from workbench.fixes.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
FIX = "aws.snapshot.revoke_public"


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """moto's request recorder, writing to a file of this test (its location is set at import)."""
    from moto.moto_api import recorder

    path = tmp_path / "moto-requests.jsonl"
    monkeypatch.setattr(recorder, "_location", str(path))
    recorder.reset_recording()
    recorder.start_recording()
    yield path
    recorder.stop_recording()


def _requests(path: Path, action: str | None = None) -> list[str]:
    """The bodies of recorded requests (of one API action when given)."""
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        row = json.loads(line)
        body = row.get("body") or ""
        if row.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        if action is None or f"Action={action}&" in body + "&":
            bodies.append(body)
    return bodies


def _removals(path: Path) -> int:
    return sum("OperationType=remove" in b for b in _requests(path, "ModifySnapshotAttribute"))


def _public_snapshot(ec2: Any) -> str:
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    return sid


def _child(db: str, args: list[str], pause: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, PAUSE_ENV: pause}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "--db", db, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


# ---------------------------------------------------------------------------------------------- two at once
def test_two_applies_of_one_plan_at_once_make_each_call_once(
    moto_server: str, cli_env: str, tmp_path: Path, recorded: Path
) -> None:
    import boto3

    ec2 = boto3.client("ec2", region_name="eu-west-1")
    sid = _public_snapshot(ec2)
    plan_path = str(tmp_path / "plan.json")
    with Cache.open(cli_env) as cache:
        FixEngine(cache, user="tester").plan(FIX, [target("snapshot", sid)]).save(plan_path)
    assert _removals(recorded) == 0
    # Both children hold after journaling their intent for two seconds, so their applies overlap.
    procs = [
        _child(cli_env, ["fix", "apply", plan_path, "--yes"], "after_journal:2") for _ in (1, 2)
    ]
    outcomes = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        outcomes.append((proc.returncode, err.decode()))
    assert sorted(code for code, _ in outcomes) == [0, 2], outcomes
    [refusal] = [err for code, err in outcomes if code == 2]
    assert refusal.count("\n") == 1 and "already applied" in refusal
    assert _removals(recorded) == 1  # the one ModifySnapshotAttribute(remove), at moto
    with Cache.open(cli_env) as cache:
        assert [e.status for e in FixEngine(cache, user="t").journal.recent()] == ["verified"]
        assert audit.verify(cache) == []


def test_another_plan_for_a_claimed_resource_waits_for_its_owner(
    moto_server: str, cli_env: str, tmp_path: Path, recorded: Path
) -> None:
    import boto3

    ec2 = boto3.client("ec2", region_name="eu-west-1")
    sid = _public_snapshot(ec2)
    first, second = str(tmp_path / "a.json"), str(tmp_path / "b.json")
    with Cache.open(cli_env) as cache:
        engine = FixEngine(cache, user="tester")
        engine.plan(FIX, [target("snapshot", sid)]).save(first)
        engine.plan(FIX, [target("snapshot", sid)]).save(second)
    proc = _child(cli_env, ["fix", "apply", first, "--yes"], "after_journal:120")
    try:
        deadline = time.monotonic() + 60
        while True:
            with Cache.open(cli_env) as cache:
                if cache.db.execute("SELECT 1 FROM journal WHERE status='pending'").fetchone():
                    break
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with (
            Cache.open(cli_env) as cache,
            pytest.raises(Claimed, match=f"is being changed by process {proc.pid}"),
        ):
            FixEngine(cache, user="tester").apply(Plan.load(second))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    assert (
        _removals(recorded) == 0
    )  # the first child was killed before its call; the second never called


# ---------------------------------------------------------------------------------------------- audit first
@pytest.mark.parametrize("how", ["audit table dropped", "cache read-only", "no audit key"])
def test_a_fix_whose_audit_entry_cannot_be_written_makes_no_live_call(
    how: str, engine: FixEngine, ec2: Any, recorded: Path, memory_keyring: Any
) -> None:
    sid = _public_snapshot(ec2)
    plan = engine.plan(FIX, [target("snapshot", sid)])
    db = engine.cache.db
    if how == "audit table dropped":
        db.execute("DROP TABLE audit_log")
    elif how == "cache read-only":
        db.execute("PRAGMA query_only = ON")  # SQLite's own read-only mode: every write refused
    else:
        memory_keyring.store.clear()
        import keyring
        from keyring.backends import fail

        previous = keyring.get_keyring()
        keyring.set_keyring(fail.Keyring())
    calls_before = len(_requests(recorded))
    try:
        with pytest.raises(audit.AuditUnavailable) as info:
            engine.apply(plan)
    finally:
        if how == "no audit key":
            keyring.set_keyring(previous)
        db.execute("PRAGMA query_only = OFF")
    assert "\n" not in str(info.value)
    assert len(_requests(recorded)) == calls_before  # not one request reached moto, not even a read
    if how != "audit table dropped":
        assert tuple(db.execute("SELECT consumed_at FROM fix_plans").fetchone()) == (None,)
        assert tuple(db.execute("SELECT COUNT(*) FROM fix_claims").fetchone()) == (0,)


def test_cli_refuses_in_one_line_when_the_audit_log_is_gone(
    cli_env: str,
    moto_server: str,
    tmp_path: Path,
    recorded: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import boto3

    sid = _public_snapshot(boto3.client("ec2", region_name="eu-west-1"))
    plan_path = str(tmp_path / "plan.json")
    with Cache.open(cli_env) as cache:
        FixEngine(cache, user="tester").plan(FIX, [target("snapshot", sid)]).save(plan_path)
        cache.db.execute("DROP TABLE audit_log")
    capsys.readouterr()
    assert main(["--db", cli_env, "fix", "apply", plan_path, "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vmwb: error: the audit log cannot be written") and err.count("\n") == 1
    assert _removals(recorded) == 0


# ---------------------------------------------------------------------------------------------- plans
def _retargeted(plan: Plan, engine: FixEngine, other: str) -> Plan:
    """The plan pointed at another snapshot, its live digest and checksum recomputed as an attacker would."""
    forged = Plan.from_json(plan.to_json())
    fix_target = target("snapshot", other)
    live = {"exists": True, "public": True, "accounts": []}
    from workbench.fixes.base import digest

    forged.targets[0].target = fix_target
    forged.targets[0].live_digest = digest(live)
    for item in forged.items:
        item.target_uid = fix_target.resource_uid
        item.params["SnapshotId"] = other
        item.live_digest = digest(live)
    return Plan.from_json(forged.to_json())  # the checksum matches: the file loads


def test_a_retargeted_plan_is_refused(engine: FixEngine, ec2: Any, recorded: Path) -> None:
    mine, theirs = _public_snapshot(ec2), _public_snapshot(ec2)
    plan = engine.plan(FIX, [target("snapshot", mine)])
    forged = _retargeted(plan, engine, theirs)
    with pytest.raises(PlanRefused, match="differs from the plan this cache made"):
        engine.apply(forged)
    assert _removals(recorded) == 0


def test_a_plan_replayed_after_undo_is_refused(engine: FixEngine, ec2: Any, recorded: Path) -> None:
    sid = _public_snapshot(ec2)
    plan = engine.plan(FIX, [target("snapshot", sid)])
    assert engine.apply(plan).ok
    [entry] = engine.journal.for_plan(plan.plan_id)
    assert engine.undo(entry.entry_id).status == "ok"  # public again: the plan would apply cleanly
    with pytest.raises(PlanRefused, match="already applied"):
        engine.apply(Plan.from_json(plan.to_json()))
    assert _removals(recorded) == 1


def test_a_plan_of_another_cache_is_refused(
    engine: FixEngine, ec2: Any, open_cache: Any, recorded: Path
) -> None:
    sid = _public_snapshot(ec2)
    plan = engine.plan(FIX, [target("snapshot", sid)])
    other = FixEngine(open_cache("other"), user="tester")
    with pytest.raises(PlanRefused, match="was made on another cache"):
        other.apply(Plan.from_json(plan.to_json()))
    unbound = Plan.from_json(plan.to_json())
    unbound.cache_id = ""
    with pytest.raises(PlanRefused, match="not bound to a cache"):
        engine.apply(Plan.from_json(unbound.seal().to_json()))
    assert _removals(recorded) == 0


def test_a_plan_whose_finding_closed_since_is_refused(engine: FixEngine, ec2: Any) -> None:
    sid = _public_snapshot(ec2)
    add_finding(engine.cache, "SNP-01", "snapshot", sid)
    plan = engine.plan(FIX, [target("snapshot", sid, "SNP-01")])
    with engine.cache.transaction():
        engine.cache.db.execute("UPDATE findings SET status='resolved'")
    with pytest.raises(PlanRefused, match="its finding SNP-01 is no longer open"):
        engine.apply(plan)


# ---------------------------------------------------------------------------------------------- CIDR policy
SG_FIX = "aws.sg.revoke_world_admin_ingress"


@pytest.mark.parametrize(
    ("cidr", "settings", "ok"),
    [
        ("0.0.0.0/1", {}, False),
        ("128.0.0.0/1", {"narrow_min_prefix_v4": 1}, False),  # never a /1, whatever the policy
        ("10.0.0.0/15", {}, False),
        ("10.0.0.0/16", {}, True),
        ("10.1.0.0/16", {"narrow_min_prefix_v4": 24}, False),
        ("10.1.2.0/24", {"narrow_min_prefix_v4": 24}, True),
        ("2001:db8::/47", {}, False),
        ("2001:db8::/48", {}, True),
        ("::/1", {"narrow_min_prefix_v6": 1}, False),
    ],
)
def test_narrowing_cidr_policy(cidr: str, settings: dict[str, int], ok: bool) -> None:
    from workbench.fixes import lookup
    from workbench.fixes.base import FixContext

    fix = lookup.get(SG_FIX)
    ctx = FixContext(parse({"policy": settings}))
    if ok:
        assert fix.resolve_inputs(ctx, {"narrow_to": cidr})["narrow_to"] == cidr
    else:
        with pytest.raises(FixError, match="wider than the policy allows|whole internet"):
            fix.resolve_inputs(ctx, {"narrow_to": cidr})


def test_cli_refuses_narrow_to_half_the_internet(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Cache.open(cli_env) as cache:
        add_finding(cache, "NET-01", "firewall_group", "sg-0123456789abcdef0")
    code = main(
        ["--db", cli_env, "fix", "plan", "NET-01", "--fix", SG_FIX, "--narrow-to", "0.0.0.0/1"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "'0.0.0.0/1' is wider than the policy allows (/16 or narrower for IPv4" in err


def test_a_plan_whose_cidr_the_policy_no_longer_allows_is_refused(
    make_engine: Any, ec2: Any
) -> None:
    gid = ec2.create_security_group(GroupName="g", Description="g")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    engine = make_engine()
    plan = engine.plan(SG_FIX, [target("firewall_group", gid)], {"narrow_to": "10.1.0.0/16"})
    stricter = make_engine(config=parse({"policy": {"narrow_min_prefix_v4": 24}}))
    with pytest.raises(FixError, match="wider than the policy allows"):
        stricter.apply(plan)

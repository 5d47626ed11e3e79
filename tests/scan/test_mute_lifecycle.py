"""Exceptions with a lifecycle: owner and ticket, reopening when a muted resource changes, the report, the
permission rule in the core (refusals audited), and ``vmwb mute`` through the CLI's real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scan_estate import NOW, Estate

from workbench import audit
from workbench import model as m
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.errors import PermissionDenied
from workbench.scan import mutes
from workbench.scan.engine import run_scan
from workbench.scan.findings import list_findings

LATER = "2026-11-27T12:00:00Z"
MUCH_LATER = "2027-02-01T12:00:00Z"


def snapshot(e: Estate, *, sid: str = "snap-1", encrypted: bool = True, now: str = NOW) -> None:
    e.put(m.Snapshot(id=sid, public=True, encrypted=encrypted, created_at=NOW), now=now)


def status(e: Estate, resource_id: str = "snap-1") -> str:
    rows = list_findings(e.cache.db, statuses=("open", "muted", "resolved"))
    return next(r["status"] for r in rows if r["resource_id"] == resource_id)


def mute_snap(e: Estate, **kw: object) -> int:
    args: dict[str, object] = {
        "check": "SNP-01",
        "resource": "snap-1",
        "reason": "restore drill",
        "author": "ana",
        "role": "responder",
        "ticket": "SEC-42",
        "expires_at": MUCH_LATER,
        "now": NOW,
    }
    return mutes.add_mute(e.cache, **(args | kw))  # type: ignore[arg-type]


def test_mute_carries_owner_and_ticket_and_scope(estate: Estate) -> None:
    snapshot(estate)
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    mute_id = mute_snap(estate, owner="platform-team")
    rule = mutes.list_mutes(estate.cache.db)[0]
    assert (rule["owner"], rule["ticket"], rule["author"]) == ("platform-team", "SEC-42", "ana")
    scope = estate.cache.db.execute("SELECT key FROM mute_scope WHERE mute_id=?", (mute_id,))
    assert [r[0] for r in scope] == [f"SNP-01|{status_uid(estate)}"]
    entry = list(audit.entries(estate.cache))[-1]
    details = json.loads(entry.details or "{}")
    assert (entry.action, entry.role, details["ticket"], details["covers"]) == (
        "mute",
        "responder",
        "SEC-42",
        1,
    )
    # The owner defaults to the author.
    assert mutes.list_mutes(estate.cache.db)[0]["owner"] == "platform-team"
    other = mute_snap(estate, owner=None, resource="snap-9")
    assert mutes.list_mutes(estate.cache.db)[-1]["owner"] == "ana" and other == mute_id + 1


def status_uid(e: Estate) -> str:
    return str(e.cache.db.execute("SELECT uid FROM snapshots WHERE id='snap-1'").fetchone()[0])


def test_changed_resource_reopens_and_the_mute_is_stale(estate: Estate) -> None:
    snapshot(estate)
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    mute_id = mute_snap(estate)
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    assert status(estate) == "muted"
    # Seen again unchanged (a later day, the reason's wording may differ): still muted.
    snapshot(estate, now=LATER)
    run_scan(estate.cache, check_ids=["SNP-01"], now=LATER)
    assert status(estate) == "muted"
    # The snapshot became unencrypted: the check's evidence changed, so the exception no longer covers it.
    snapshot(estate, encrypted=False, now=LATER)
    result = run_scan(estate.cache, check_ids=["SNP-01"], now=LATER)
    assert status(estate) == "open" and result.counts["unmuted"] == 1
    lapsed = [e for e in audit.entries(estate.cache) if e.action == "mute-lapsed"]
    assert len(lapsed) == 1 and lapsed[0].target == f"mute:{mute_id}"
    assert json.loads(lapsed[0].details or "{}")["why"] == "resource changed"
    states = mutes.report(estate.cache.db, LATER)["mutes"][0]["states"]
    assert "stale: resource changed" in states
    # Audited once, not at every scan.
    run_scan(estate.cache, check_ids=["SNP-01"], now=LATER)
    assert sum(e.action == "mute-lapsed" for e in audit.entries(estate.cache)) == 1
    assert not audit.verify(estate.cache)


def test_pattern_mute_covers_a_new_resource_as_first_met(estate: Estate) -> None:
    mutes.add_mute(
        estate.cache,
        check="SNP-01",
        reason="sandbox",
        author="ana",
        role="operator",
        expires_at=MUCH_LATER,
        now=NOW,
    )
    snapshot(estate, sid="snap-2")
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    assert status(estate, "snap-2") == "muted"
    snapshot(estate, sid="snap-2", encrypted=False, now=LATER)
    run_scan(estate.cache, check_ids=["SNP-01"], now=LATER)
    assert status(estate, "snap-2") == "open"


def test_report_lists_expiring_stale_and_ticketless(estate: Estate) -> None:
    snapshot(estate)
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    soon = mute_snap(estate, expires_at="2026-11-30T00:00:00Z")
    later = mute_snap(estate, ticket=None)
    empty = mute_snap(estate, resource="snap-404")
    report = {r["mute_id"]: r for r in mutes.report(estate.cache.db, NOW)["mutes"]}
    assert report[soon]["states"] == ["expiring"]
    assert report[later]["states"] == ["no ticket"] and report[later]["covers"] == 1
    assert report[empty]["states"] == ["stale: covers nothing"]
    after = {
        r["mute_id"]: r for r in mutes.report(estate.cache.db, "2026-12-01T00:00:00Z")["mutes"]
    }
    assert after[soon]["states"][0] == "expired"


def test_viewer_is_refused_by_the_core_and_the_refusal_is_audited(estate: Estate) -> None:
    snapshot(estate)
    with pytest.raises(PermissionDenied, match="viewer role cannot"):
        mute_snap(estate, role="viewer")
    mute_id = mute_snap(estate)
    with pytest.raises(PermissionDenied):
        mutes.remove_mute(estate.cache, mute_id, author="vic", role="viewer")
    entries = list(audit.entries(estate.cache))
    assert [(e.action, (e.result or "")[:7]) for e in entries] == [
        ("mute", "refused"),
        ("mute", "ok"),
        ("unmute", "refused"),
    ]
    assert mutes.list_mutes(estate.cache.db)[0]["active"] == 1


def test_expiry_parsing_lives_in_the_core() -> None:
    assert mutes.parse_expiry("2w", NOW) == "2026-12-10T12:00:00Z"
    assert mutes.parse_expiry("2026-12-31", NOW) == "2026-12-31T00:00:00Z"
    with pytest.raises(mutes.MuteError, match="give a date") as exc:
        mutes.parse_expiry("soon", NOW)
    assert "--" not in str(exc.value)  # the app's dialog shows it too: no flag names


def test_cli_mute_add_report_and_viewer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.db"
    cache = Cache.open(db)
    e = Estate(cache)
    snapshot(e)
    run_scan(cache, check_ids=["SNP-01"], now=NOW)
    cache.close()
    base = ["--db", str(db)]
    add = ["mute", "add", "--check", "SNP-01", "--reason", "drill", "--expires", "3d"]
    assert main([*base, *add, "--ticket", "SEC-7", "--owner", "ops", "--now", NOW]) == 0
    assert main([*base, "mute", "report", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "expiring" in out and "SEC-7" in out and "ops" in out
    assert main([*base, "mute", "report", "--now", NOW, "--within", "1"]) == 0
    assert "no mute needs a decision" in capsys.readouterr().out
    assert main([*base, "--role", "viewer", *add]) != 0
    err = capsys.readouterr().err
    assert "viewer role cannot add or remove mutes" in err and "Traceback" not in err
    cache = Cache.open(db)
    assert [e.result for e in audit.entries(cache)][-1].startswith("refused")
    cache.close()


def test_lapse_without_a_keyring_still_scans_and_chains_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keyring
    from keyring.backends import fail

    db = tmp_path / "nokey.db"
    cache = Cache.open(db)
    e = Estate(cache)
    snapshot(e)
    run_scan(cache, check_ids=["SNP-01"], now=NOW)
    mute_id = mute_snap(e)
    run_scan(cache, check_ids=["SNP-01"], now=NOW)
    snapshot(e, encrypted=False, now=LATER)  # the muted snapshot changed: the next scan reopens it
    cache.close()
    scan = ["--db", str(db), "scan", "--check", "SNP-01", "--now", LATER, "--format", "csv"]
    working = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # a headless box: no keyring, no [general] key_folder
    try:
        status_code = main(scan)
    finally:
        keyring.set_keyring(working)
    err = capsys.readouterr().err
    assert status_code == 3 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "could not be chained" in line]
    assert len(lines) == 1 and f"mute {mute_id}" in lines[0]
    cache = Cache.open(db)
    # The scan ran and reopened the finding; its own record says the entry waits, the chain is untouched.
    assert status(Estate(cache)) == "open"
    counts = json.loads(
        cache.db.execute("SELECT counts FROM scans ORDER BY scan_id DESC").fetchone()[0]
    )
    assert counts["unmuted"] == 1 and counts["audit_pending"] == 1
    assert not [x for x in audit.entries(cache) if x.action == "mute-lapsed"]
    assert not audit.verify(cache)
    cache.close()
    # With the key back, the next scan chains the waiting entry (once) and exits 0.
    assert main(scan) == 0
    assert "could not be chained" not in capsys.readouterr().err
    assert main(scan) == 0
    cache = Cache.open(db)
    lapsed = [x for x in audit.entries(cache) if x.action == "mute-lapsed"]
    assert len(lapsed) == 1 and lapsed[0].target == f"mute:{mute_id}"
    details = json.loads(lapsed[0].details or "{}")
    assert details["why"] == "resource changed" and details["reopened_at"] == LATER
    assert not audit.verify(cache)
    cache.close()

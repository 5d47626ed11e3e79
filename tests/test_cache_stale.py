"""Stale records: what a failed call could not read is kept as the cache knew it, marked, and never resolves a
finding (issue 13: one throttled settings call stored an empty value and resolved a real finding)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from workbench.cache.store import Cache
from workbench.model import Grant, ScopeRef, Setting, Snapshot, TaskOutput
from workbench.scan.engine import run_scan

SCOPE = ScopeRef("aws", "123456789012", "eu-west-1", label="123456789012/eu-west-1")
SNAP_UID = "aws:123456789012:eu-west-1:snapshot:snap-1"


def _snapshots(*, stale: str | None = None, public: bool | None = True) -> TaskOutput:
    out = TaskOutput()
    out.add(Snapshot(id="snap-1", name="db", state="completed", public=public), stale=stale)
    if not stale and public:
        out.add(
            Grant(
                id="snap-1/all",
                name="all",
                resource_kind="snapshot",
                resource_id="snap-1",
                grantee_kind="public",
                grantee="all",
                permission="createVolumePermission",
            )
        )
    return out


def _row(cache: Cache, table: str, uid: str) -> dict[str, Any]:
    row = cache.db.execute(f"SELECT * FROM {table} WHERE uid=?", (uid,)).fetchone()
    return dict(row) if row else {}


def _status(cache: Cache, task: str) -> tuple[str, str | None]:
    row = cache.db.execute(
        "SELECT status, error FROM scope_status WHERE scope_id=? AND task=?", (SCOPE.scope_id, task)
    ).fetchone()
    return row[0], row[1]


def test_a_stale_snapshot_keeps_its_row_and_grants(open_cache: Callable[[str], Cache]) -> None:
    cache = open_cache("c")
    run = cache.start_run({})
    cache.replace_task(run, SCOPE, "snapshots", _snapshots())
    stats = cache.replace_task(
        run, SCOPE, "snapshots", _snapshots(stale="Throttling: Rate exceeded", public=None)
    )
    assert stats.kept == 1 and stats.removed == 0
    row = _row(cache, "snapshots", SNAP_UID)
    assert row["public"] == 1  # as the cache knew it, not the None the failed call left
    stale = json.loads(row["extra"])["stale"]
    assert stale["kept"] is True and stale["error"] == "Throttling: Rate exceeded"
    assert cache.count("grant") == 1
    status, error = _status(cache, "snapshots")
    assert status == "stale" and "1 kept" in (error or "") and "Throttling" in (error or "")

    # Read again as it was: the mark goes, and it is not logged as a change.
    cache.replace_task(run, SCOPE, "snapshots", _snapshots())
    row = _row(cache, "snapshots", SNAP_UID)
    assert "stale" not in json.loads(row["extra"]) and not row["hash"].startswith("kept:")
    assert _status(cache, "snapshots") == ("ok", None)
    changes = cache.db.execute("SELECT change FROM resource_changes WHERE uid=?", (SNAP_UID,))
    assert [c[0] for c in changes] == []


def test_a_stale_record_never_known_is_stored_as_told(open_cache: Callable[[str], Cache]) -> None:
    cache = open_cache("c")
    run = cache.start_run({})
    for _ in range(2):  # the second time it is still unknown, not "kept"
        stats = cache.replace_task(run, SCOPE, "snapshots", _snapshots(stale="denied", public=None))
        assert stats.kept == 0 and stats.unknown == 1
        row = _row(cache, "snapshots", SNAP_UID)
        assert row["public"] is None and json.loads(row["extra"])["stale"]["kept"] is False
        assert _status(cache, "snapshots") == ("ok", None)
    cache.replace_task(run, SCOPE, "snapshots", _snapshots())
    assert _row(cache, "snapshots", SNAP_UID)["public"] == 1


def _setting(value: Any, stale: str | None = None) -> TaskOutput:
    out = TaskOutput()
    key = "ebs_encryption_by_default"
    out.add(Setting(id=key, name=key, value=value), stale=stale)
    return out


def test_a_throttled_setting_does_not_resolve_its_finding(
    open_cache: Callable[[str], Cache],
) -> None:
    cache = open_cache("c")
    run = cache.start_run({})
    cache.replace_task(run, SCOPE, "settings", _setting(False))
    first = run_scan(cache, check_ids=["SNP-05"])
    assert first.counts["open"] == 1
    cache.replace_task(
        run, SCOPE, "settings", _setting(None, stale="RequestLimitExceeded: slow down")
    )
    again = run_scan(cache, check_ids=["SNP-05"])
    assert again.counts["open"] == 1 and again.counts["resolved"] == 0
    assert _status(cache, "settings")[0] == "stale"
    cache.replace_task(run, SCOPE, "settings", _setting(True))  # really fixed: now it resolves
    assert run_scan(cache, check_ids=["SNP-05"]).counts["resolved"] == 1

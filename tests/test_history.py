"""Resource history (issue 14): real syncs against moto, a snapshot shared with a foreign account between
them; the version, the estate as of the first sync, the field-level diff and the snapshot's timeline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from workbench.cache import history
from workbench.cache.store import Cache
from workbench.clock import parse_when, utcnow
from workbench.sync import SyncEngine

FOREIGN = "999988887777"


def _sync(cache: Cache, estate: Any) -> None:
    with estate.env():
        assert SyncEngine(cache, [estate.provider()], task_timeout=60).run().status == "ok"


def _share(estate: Any, uid: str, add: bool) -> None:
    import boto3

    _, _, region, _, snap = uid.split(":")
    with estate.env():
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=estate.endpoint)
        # moto ignores the structured CreateVolumePermission form (see workbench/emulators/aws_estate.py).
        ec2.modify_snapshot_attribute(
            SnapshotId=snap,
            Attribute="createVolumePermission",
            OperationType="add" if add else "remove",
            UserIds=[FOREIGN],
        )


def test_a_snapshot_shared_between_syncs_has_a_timeline_and_a_past(
    aws_estate: Any, tmp_path: Path
) -> None:
    path = tmp_path / "c.db"
    with Cache.open(aws_estate.db_path) as estate:
        estate.backup(path)
    aws_estate.ensure_live()
    with Cache.open(path) as cache:
        uid = cache.execute(
            "SELECT uid FROM snapshots WHERE NOT EXISTS "
            "(SELECT 1 FROM grants g WHERE g.resource_uid = snapshots.uid) "
            "AND account = '123456789012' ORDER BY uid LIMIT 1"
        ).fetchone()[0]
        _sync(cache, aws_estate)  # this process's own baseline of the estate
        assert not cache.execute(
            "SELECT 1 FROM resource_versions WHERE uid = ? OR about_uid = ?", (uid, uid)
        ).fetchone()
        time.sleep(1.1)
        before = utcnow()
        time.sleep(1.1)
        _share(aws_estate, uid, add=True)
        try:
            _sync(cache, aws_estate)
        finally:
            _share(aws_estate, uid, add=False)
        grant = cache.execute("SELECT uid FROM grants WHERE resource_uid = ?", (uid,)).fetchone()
        assert grant is not None and grant[0].endswith(FOREIGN)
        # The estate as of the first sync: no grant on the snapshot then.
        then = [
            g
            for g in history.rows_at(cache.db, "grant", before)
            if g["resource_id"] == uid.split(":")[-1]
        ]
        assert then == []
        now_grants = history.rows_at(cache.db, "grant", utcnow())
        assert any(g["uid"] == grant[0] for g in now_grants)
        changes = {c.uid: c for c in history.changes_since(cache.db, before)}
        assert changes[grant[0]].change == "added"
        time.sleep(1.1)
        mid = utcnow()
        time.sleep(1.1)
        _sync(cache, aws_estate)  # the share went again
        assert (
            cache.execute("SELECT COUNT(*) FROM grants WHERE resource_uid = ?", (uid,)).fetchone()[
                0
            ]
            == 0
        )
        assert any(g["uid"] == grant[0] for g in history.rows_at(cache.db, "grant", mid))
        assert not any(g["uid"] == grant[0] for g in history.rows_at(cache.db, "grant", utcnow()))
        line = [(e.subject, e.change) for e in history.timeline(cache.db, "snapshot", uid)]
        assert line[0] == ("self", "first seen")
        assert ("grant", "added") in line and ("grant", "removed") in line
        assert [c.change for c in history.changes_since(cache.db, mid) if c.uid == grant[0]] == [
            "removed"
        ]
        # Unchanged again: a fourth sync records nothing more of the snapshot or its grant.
        mine = "SELECT COUNT(*) FROM resource_versions WHERE uid IN (?, ?)"
        count = cache.execute(mine, (uid, grant[0])).fetchone()[0]
        _sync(cache, aws_estate)
        assert cache.execute(mine, (uid, grant[0])).fetchone()[0] == count


def test_field_changes_go_key_by_key_into_tags() -> None:
    old = {"id": "s", "public": 0, "tags": '{"owner":"ana","env":"prod"}', "raw": "{}"}
    new = {"id": "s", "public": 1, "tags": '{"owner":"bo","env":"prod"}', "raw": '{"x":1}'}
    assert history.field_changes(old, new) == (
        history.FieldChange("public", 0, 1),
        history.FieldChange("tags.owner", "ana", "bo"),
    )
    assert history.tag(new, "Owner") == "bo"


def test_pruning_keeps_the_state_at_the_horizon(tmp_path: Path) -> None:
    from workbench.cache import versions

    with Cache.open(tmp_path / "c.db") as cache, cache.transaction():
        rows = [
            ("u1", "2026-01-01T00:00:00Z", {"v": 1}, None),
            ("u1", "2026-01-05T00:00:00Z", {"v": 2}, None),
            ("u1", "2026-03-01T00:00:00Z", {"v": 3}, None),
            ("u2", "2026-01-01T00:00:00Z", {"v": 1}, None),
            ("u2", "2026-01-02T00:00:00Z", None, None),
        ]
        versions.record(cache.db, 1, "snapshot", rows)
        assert versions.prune(cache.db, "2026-03-02T00:00:00Z", 30) == 3
        left = cache.execute("SELECT uid, at FROM resource_versions ORDER BY seq").fetchall()
        assert [tuple(r) for r in left] == [
            ("u1", "2026-01-05T00:00:00Z"),
            ("u1", "2026-03-01T00:00:00Z"),
        ]
        assert cache.execute("SELECT COUNT(*) FROM resource_blobs").fetchone()[0] == 2


def test_operator_times() -> None:
    now = "2026-12-03T07:10:00Z"  # a Thursday
    assert parse_when("monday", now) == "2026-11-30T00:00:00Z"
    assert parse_when("3d", now) == "2026-11-30T07:10:00Z"
    assert parse_when("2026-11-30", now) == "2026-11-30T00:00:00Z"
    assert parse_when("soon", now) is None

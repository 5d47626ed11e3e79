"""The TUI test estate plus scan history, a mute, a journaled fix and audit entries, all at fixed times.

Two scans (a day apart) give the diff something to show; the second one sees a newly public snapshot and a mute.
Nothing reads the wall clock, so the snapshot tests render the same every run.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tui_estate import NOW, build_cache, make_app

from workbench import audit, secrets
from workbench.cache.store import Cache
from workbench.fixes.base import PlanItem, Target
from workbench.fixes.journal import APPLIED, VERIFIED, Journal
from workbench.scan.engine import run_scan

BEFORE = "2026-01-14T12:00:00Z"
SNAP_UID = "aws:111122223333:eu-west-1:snapshot:snap-0000"


#: The audit chain's key for this estate: fixed, so the signed hashes the journal view shows render the same.
AUDIT_KEY = bytes(range(32))


def build_posture_cache(path: Path) -> Path:
    secrets.set_secret(audit.KEY_NAME, base64.b64encode(AUDIT_KEY).decode("ascii"))
    build_cache(path)
    with Cache.open(path) as cache:
        with cache.transaction() as db:
            db.execute(
                "DELETE FROM findings"
            )  # the browsing estate's hand-made finding: real scans only here
        run_scan(cache, now=BEFORE)
        with cache.transaction() as db:
            # Between the scans: a second snapshot goes public, and one finding is muted.
            db.execute("UPDATE snapshots SET public = 1 WHERE id = 'snap-0001'")
            db.execute(
                "INSERT INTO mutes (check_pattern, resource_pattern, reason, author, created_at, "
                "expires_at, active) VALUES ('SNP-04', 'snap-0002', 'test data, deleted next week', "
                "'alice', ?, '2026-02-14T12:00:00Z', 1)",
                (BEFORE,),
            )
        run_scan(cache, now=NOW)
        with cache.transaction() as db:
            db.execute("UPDATE scans SET finished_at = started_at")
        journal = Journal(cache)
        target = Target(
            "SNP-01", SNAP_UID, "snapshot", "snap-0000", "aws", "111122223333", "eu-west-1"
        )
        item = PlanItem(
            SNAP_UID,
            "ec2",
            "ModifySnapshotAttribute",
            {
                "SnapshotId": "snap-0000",
                "Attribute": "createVolumePermission",
                "OperationType": "remove",
                "GroupNames": ["all"],
            },
            "remove public (all) create-volume permission",
            "eu-west-1",
            "111122223333",
        )
        entry = journal.begin(
            plan_id="plan0001",
            fix_id="aws.snapshot.revoke_public",
            target=target,
            item=item,
            before={"exists": True, "public": True},
            actor="alice",
            role="operator",
        )
        journal.finish(entry, APPLIED, {"exists": True, "public": False})
        journal.set_status(entry, VERIFIED)
        with cache.transaction() as db:
            db.execute("UPDATE journal SET created_at = ?, updated_at = ?", (NOW, NOW))
        for action, target_name, details in (
            ("mute", "mute:1", {"check": "SNP-04", "reason": "test data, deleted next week"}),
            ("plan", "aws.snapshot.revoke_public", {"plan_id": "plan0001"}),
            ("apply", "plan0001", {"fix_id": "aws.snapshot.revoke_public"}),
        ):
            audit.append(cache, "alice", "operator", action, target_name, details, "ok", at=NOW)
    return path


def posture_app(path: Path, **options: Any) -> Any:
    """The app over ``path`` as alice, an operator unless ``options`` (``read_only``, ``role``) say otherwise,
    on a fixed clock: KPIs and mute expiries are judged at NOW."""
    from workbench.config import Config

    app = make_app(path, Config(user="alice"), **options)
    app.clock = lambda: NOW  # type: ignore[attr-defined]
    return app


def findings_count(path: Path, **where: str) -> int:
    import sqlite3

    clause = " AND ".join(f"{k} = ?" for k in where) or "1"
    with sqlite3.connect(path) as db:
        return int(
            db.execute(
                f"SELECT COUNT(*) FROM findings WHERE {clause}", tuple(where.values())
            ).fetchone()[0]
        )


def json_counts(path: Path) -> list[dict[str, int]]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return [json.loads(c) for (c,) in db.execute("SELECT counts FROM scans ORDER BY scan_id")]

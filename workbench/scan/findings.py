"""Findings with history: upsert what failed, resolve what stopped failing, record every change as an event.

A finding's key is ``check_id|resource_uid`` and stays the same across scans, so ``first_seen`` survives, and a
finding that resolves and fails again is *reopened* rather than new. Status is ``open``, ``muted`` or
``resolved``. Events (``finding_events``): new, resolved, reopened, muted, unmuted, changed (the reason changed).

Public API: :func:`store` (used by the engine), :func:`list_findings` (current findings as dicts, joined with
their check's metadata by the exporters).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from workbench.cache.posture import severity_rank_sql
from workbench.cache.store import Cache
from workbench.scan.engine import FindingRow
from workbench.scan.mutes import MuteSet, audit_lapsed, tags_by_uid

# One scan's rows are staged in a temporary table (no index, no trigger) and written to ``findings`` and
# ``finding_events`` by one INSERT ... SELECT each, in key order: row-by-row upserts from Python cost four
# times as much at 300k findings (each row a statement step, and the key index filled out of order).
_STAGE_COLUMNS = (
    "key, check_id, resource_uid, resource_kind, resource_id, resource_name, provider, account, region, "
    "severity, area, status, reason, evidence, mute_id, change, detail"
)
# Typed as in ``findings``: PostgreSQL refuses a column without a type.
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS scan_staged ("
    + ", ".join(
        f"{c} INTEGER" if c == "mute_id" else f"{c} TEXT" for c in _STAGE_COLUMNS.split(", ")
    )
    + ")"
)
_STAGE_ROW = (
    f"INSERT INTO scan_staged ({_STAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
# ``WHERE true``: SQLite's parser needs it between a SELECT and ON CONFLICT.
_UPSERT_STAGED = """
INSERT INTO findings (key, check_id, resource_uid, resource_kind, resource_id, resource_name, provider,
                      account, region, severity, area, status, reason, evidence, first_seen, last_seen,
                      resolved_at, mute_id, last_scan_id, source)
SELECT key, check_id, resource_uid, resource_kind, resource_id, resource_name, provider, account, region,
       severity, area, status, reason, evidence, :now, :now, NULL, mute_id, :scan_id, :source
FROM scan_staged WHERE true ORDER BY key
ON CONFLICT(key) DO UPDATE SET
  resource_kind=excluded.resource_kind, resource_id=excluded.resource_id,
  resource_name=excluded.resource_name, severity=excluded.severity, area=excluded.area,
  status=excluded.status, reason=excluded.reason, evidence=excluded.evidence,
  last_seen=excluded.last_seen, resolved_at=NULL, mute_id=excluded.mute_id,
  last_scan_id=excluded.last_scan_id
"""
_EVENTS_STAGED = """
INSERT INTO finding_events (scan_id, key, change, at, detail)
SELECT :scan_id, key, change, :now, detail FROM scan_staged WHERE change IS NOT NULL ORDER BY change, key
"""


class Judged(Protocol):
    """What storing a finding needs of the rule that raised it: a catalogue check, or an imported rule."""

    @property
    def id(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def area(self) -> str: ...


def _event(prev: tuple[str, str | None] | None, status: str, reason: str) -> str | None:
    if prev is None:
        return "new"
    prev_status, prev_reason = prev
    if prev_status == "resolved":
        return "reopened"
    if prev_status != status:
        return "muted" if status == "muted" else "unmuted"
    if prev_reason != reason:
        return "changed"
    return None


def store(
    cache: Cache,
    scan_id: int,
    checks: Sequence[Judged],
    results: dict[str, list[FindingRow]],
    mutes: MuteSet,
    now: str,
    *,
    provider: str | None = None,
    accounts: Collection[str] | None = None,
    source: str = "vmwb",
) -> dict[str, int]:
    """Write one scan's results (inside the caller's transaction) and return its counts.

    A finding of a rule in ``results`` that is not reported again is resolved, within ``provider`` and
    ``accounts`` when given (an imported file speaks for the accounts it covers only). ``source`` names who
    judged (``vmwb`` or an importer); imported rule ids carry their source as a prefix, so a vmwb scan never
    resolves an imported finding nor the other way round.
    """
    db = cache.db
    by_id = {c.id: c for c in checks}
    ran = [cid for cid in results if cid in by_id]
    prev: dict[str, tuple[str, str | None]] = {}
    prev_mute: dict[str, int] = {}
    sql = "SELECT key, status, reason, mute_id FROM findings WHERE check_id IN (SELECT value FROM json_each(?))"
    args: list[Any] = [json.dumps(ran)]
    if provider:
        sql += " AND provider=?"
        args.append(provider)
    if accounts is not None:
        sql += " AND account IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(sorted(accounts)))
    for key, status, reason, mute_id in db.execute(sql, args):
        prev[key] = (status, reason)
        if status == "muted" and mute_id is not None:
            prev_mute[key] = int(mute_id)

    all_rows = [r for cid in ran for r in results[cid]]
    tags = tags_by_uid(db, all_rows) if mutes.needs_tags else {}
    counts: Counter[str] = Counter()
    staged: list[tuple[Any, ...]] = []
    muted_keys: set[str] = set()
    seen: set[str] = set()
    covers = bool(mutes.mutes)
    for row in all_rows:
        check = by_id[row.check_id]
        key = f"{row.check_id}|{row.resource_uid}"
        if key in seen:  # a query may return a resource twice (several bad rules); keep the first
            continue
        seen.add(key)
        mute = mutes.cover(row, key, tags.get(row.resource_uid)) if covers else None
        if mute:
            status = "muted"
            muted_keys.add(key)
        else:
            status = "open"
        counts[status] += 1
        if status == "open":
            counts[f"open_{check.severity}"] += 1
        change = _event(prev.get(key), status, row.reason)
        detail = None
        if change:
            counts[change] += 1
            if mute:
                detail = json.dumps({"mute_id": mute.mute_id})
            elif change == "unmuted" and key in prev_mute:
                detail = json.dumps({"mute_id": prev_mute[key]})
        evidence = row.evidence
        if evidence is not None and not isinstance(evidence, str):  # set by Python logic as data
            evidence = json.dumps(evidence, default=str)
        staged.append(
            (
                key,
                row.check_id,
                row.resource_uid,
                row.resource_kind,
                row.resource_id,
                row.resource_name,
                row.provider,
                row.account,
                row.region,
                check.severity,
                check.area,
                status,
                row.reason,
                evidence,
                mute.mute_id if mute else None,
                change,
                detail,
            )
        )
    db.execute(_STAGE)
    db.execute("DELETE FROM scan_staged")  # a scan that failed mid-way left its rows
    db.executemany(_STAGE_ROW, staged)
    bound = {"now": now, "scan_id": scan_id, "source": source}
    db.execute(_UPSERT_STAGED, bound)
    db.execute(_EVENTS_STAGED, {"now": now, "scan_id": scan_id})
    db.execute("DELETE FROM scan_staged")
    gone = [k for k, (status, _) in prev.items() if k not in seen and status != "resolved"]
    if gone:
        db.executemany(
            "UPDATE findings SET status='resolved', resolved_at=?, mute_id=NULL, last_scan_id=? "
            "WHERE key=?",
            [(now, scan_id, k) for k in gone],
        )
        db.executemany(
            "INSERT INTO finding_events (scan_id, key, change, at, detail) VALUES (?,?,?,?,NULL)",
            [(scan_id, k, "resolved", now) for k in gone],
        )
        counts["resolved"] += len(gone)
    mutes.flush(db)
    chained, pending = audit_lapsed(
        cache, _lapsed(db, mutes, prev_mute, seen, muted_keys, now), now
    )
    if chained:
        counts["audited"] = chained
    if pending:
        counts["audit_pending"] = pending
    for name in ("open", "muted", "new", "resolved", "reopened", "changed"):
        counts.setdefault(name, 0)
    return dict(counts)


def _lapsed(
    db: sqlite3.Connection,
    mutes: MuteSet,
    prev_mute: dict[str, int],
    seen: set[str],
    still_muted: set[str],
    now: str,
) -> dict[int, dict[str, Any]]:
    """The rules whose findings this scan reopened by themselves: expired, or the resource changed. (A
    removed rule was audited when it was removed.)"""
    reopened: dict[int, list[str]] = {}
    for key, mute_id in prev_mute.items():
        if key in seen and key not in still_muted:
            reopened.setdefault(mute_id, []).append(key)
    if not reopened:
        return {}
    expiry = {
        int(mid): (exp, bool(active))
        for mid, exp, active in db.execute(
            "SELECT mute_id, expires_at, active FROM mutes WHERE mute_id IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(list(reopened)),),
        )
    }
    out: dict[int, dict[str, Any]] = {}
    for mute_id, keys in reopened.items():
        exp, active = expiry.get(mute_id, (None, False))
        if not active:
            continue
        why = "expired" if exp is not None and exp <= now else "resource changed"
        if why == "resource changed" and mute_id not in mutes.changed:
            continue
        out[mute_id] = {"why": why, "expires_at": exp, "reopened": sorted(keys)}
    return out


def list_findings(
    db: sqlite3.Connection,
    *,
    statuses: tuple[str, ...] = ("open", "muted"),
    check_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Current findings (by default open and muted), most severe first."""
    sql = "SELECT * FROM findings WHERE status IN (SELECT value FROM json_each(?))"
    args: list[Any] = [json.dumps(list(statuses))]
    if check_ids is not None:
        sql += " AND check_id IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(check_ids))
    sql += f" ORDER BY {severity_rank_sql()}, check_id, resource_uid"
    out = []
    for r in db.execute(sql, args):
        d = dict(r)
        d["evidence"] = json.loads(d["evidence"]) if d.get("evidence") else None
        out.append(d)
    return out

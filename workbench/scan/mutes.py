"""Mute rules: durable, regex-based, with a reason, an author and an expiry, stored in the cache.

A rule has up to five patterns (check, account, region, resource, tag), all regular expressions matched in full
(``re.fullmatch``, so ``i-1`` does not mute ``i-12``); an absent pattern matches anything; present ones are ANDed
(Prowler's Mutelist semantics). ``resource`` is matched against the provider's resource id and the cache uid;
``tag`` against each ``key=value`` of the resource's tags. A muted finding stays visible with status ``muted``. A
rule whose expiry has passed, or that was removed, no longer applies: its findings reopen on the next scan.

Public API: :func:`add_mute`, :func:`remove_mute`, :func:`list_mutes`, :func:`active_mutes`,
:func:`find_mute`. Adding and removing write an audit entry.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from workbench.cache.schema import TABLES
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.errors import WorkbenchError

PATTERN_FIELDS = ("check", "account", "region", "resource", "tag")


class MuteError(WorkbenchError):
    """A mute rule is invalid or unknown."""


@dataclass(slots=True)
class Mute:
    mute_id: int
    patterns: dict[str, re.Pattern[str]]
    reason: str
    author: str
    created_at: str
    expires_at: str | None
    active: bool

    def matches(self, row: Any, tags: dict[str, str] | None) -> bool:
        p = self.patterns
        if "check" in p and not p["check"].fullmatch(row.check_id):
            return False
        if "account" in p and not p["account"].fullmatch(row.account):
            return False
        if "region" in p and not p["region"].fullmatch(row.region):
            return False
        if "resource" in p and not (
            p["resource"].fullmatch(row.resource_id) or p["resource"].fullmatch(row.resource_uid)
        ):
            return False
        if "tag" in p:
            return any(p["tag"].fullmatch(f"{k}={v}") for k, v in (tags or {}).items())
        return True


def parse_expiry(text: str, now: str | None = None) -> str:
    """An expiry as ISO UTC from a duration (``30d``, ``12h``, ``2w``), a date or a time."""
    base = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
    m = re.fullmatch(r"(\d+)([dhw])", text.strip())
    if m:
        unit = {"d": "days", "h": "hours", "w": "weeks"}[m.group(2)]
        when = base + dt.timedelta(**{unit: int(m.group(1))})
    else:
        try:
            when = dt.datetime.fromisoformat(text.strip())
        except ValueError as exc:
            raise MuteError(
                f"expiry {text!r}: give a date (2026-12-31), a time or a duration like 30d"
            ) from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compile(field: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise MuteError(
            f"the {field} pattern {pattern!r} is not a valid regular expression: {exc}"
        ) from exc


def _from_row(row: sqlite3.Row) -> Mute:
    patterns: dict[str, re.Pattern[str]] = {}
    for f in PATTERN_FIELDS:
        rx = _compile(f, row[f"{f}_pattern"])
        if rx is not None:
            patterns[f] = rx
    return Mute(
        row["mute_id"],
        patterns,
        row["reason"],
        row["author"],
        row["created_at"],
        row["expires_at"],
        bool(row["active"]),
    )


def active_mutes(db: sqlite3.Connection, now: str | None = None) -> list[Mute]:
    """Rules in force at ``now``: not removed and not expired."""
    now = now or utcnow()
    rows = db.execute(
        "SELECT * FROM mutes WHERE active=1 AND (expires_at IS NULL OR expires_at > ?) "
        "ORDER BY mute_id",
        (now,),
    ).fetchall()
    return [_from_row(r) for r in rows]


def list_mutes(db: sqlite3.Connection, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    sql = (
        "SELECT * FROM mutes"
        + ("" if include_inactive else " WHERE active=1")
        + " ORDER BY mute_id"
    )
    return [dict(r) for r in db.execute(sql).fetchall()]


def tags_by_uid(db: sqlite3.Connection, rows: list[Any]) -> dict[str, dict[str, str]]:
    """Tags of the rows' resources, looked up only when a tag rule exists (queries need not return them)."""
    by_kind: dict[str, list[str]] = {}
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        tags = r.tag_dict()
        if tags is not None:
            out[r.resource_uid] = tags
        elif r.resource_kind in TABLES:
            by_kind.setdefault(r.resource_kind, []).append(r.resource_uid)
    for kind, uids in by_kind.items():
        cur = db.execute(
            f"SELECT uid, tags FROM {TABLES[kind]} WHERE uid IN (SELECT value FROM json_each(?))",
            (json.dumps(uids),),
        )
        for uid, tags in cur:
            out[uid] = json.loads(tags) if tags else {}
    return out


def find_mute(mutes: list[Mute], row: Any, tags: dict[str, str] | None) -> Mute | None:
    for m in mutes:
        if m.matches(row, tags):
            return m
    return None


def add_mute(
    cache: Cache,
    *,
    reason: str,
    author: str,
    expires_at: str,
    check: str | None = None,
    account: str | None = None,
    region: str | None = None,
    resource: str | None = None,
    tag: str | None = None,
    now: str | None = None,
) -> int:
    """Store a rule and return its id. A reason, an author, an expiry and at least one pattern are required."""
    if not reason or not reason.strip():
        raise MuteError("a mute needs a reason")
    if not author:
        raise MuteError("a mute needs an author")
    if not expires_at:
        raise MuteError("a mute needs an expiry (mutes that never end hide risk forever)")
    patterns = {
        "check": check,
        "account": account,
        "region": region,
        "resource": resource,
        "tag": tag,
    }
    if not any(patterns.values()):
        raise MuteError(
            "a mute needs at least one pattern (check, account, region, resource or tag)"
        )
    for f, p in patterns.items():
        _compile(f, p)
    now = now or utcnow()
    if expires_at <= now:
        raise MuteError(f"the expiry {expires_at} is already past")
    with cache.transaction():
        cur = cache.db.execute(
            "INSERT INTO mutes (check_pattern, account_pattern, region_pattern, resource_pattern, "
            "tag_pattern, reason, author, created_at, expires_at, active) VALUES (?,?,?,?,?,?,?,?,?,1)",
            (check, account, region, resource, tag, reason.strip(), author, now, expires_at),
        )
        mute_id = int(cur.lastrowid or 0)
        details = {k: v for k, v in patterns.items() if v} | {
            "reason": reason.strip(),
            "expires_at": expires_at,
        }
        audit(cache, author, "mute", f"mute:{mute_id}", details)
    _anchor(cache)
    return mute_id


def remove_mute(cache: Cache, mute_id: int, *, author: str, reason: str = "") -> None:
    """Deactivate a rule (kept for history); its findings reopen on the next scan."""
    row = cache.db.execute("SELECT active FROM mutes WHERE mute_id=?", (mute_id,)).fetchone()
    if row is None or not row[0]:
        raise MuteError(f"no active mute {mute_id}")
    with cache.transaction():
        cache.db.execute("UPDATE mutes SET active=0 WHERE mute_id=?", (mute_id,))
        audit(cache, author, "unmute", f"mute:{mute_id}", {"reason": reason} if reason else {})
    _anchor(cache)


def audit(cache: Cache, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
    """One entry in the hash-chained audit log, inside the caller's transaction."""
    from workbench import audit as audit_log

    audit_log.append(cache, actor, None, action, target, details)


def _anchor(cache: Cache) -> None:
    """The committed entry goes to the audit head file (appended inside a transaction, it could not)."""
    from workbench import audit as audit_log

    audit_log.anchor(cache)

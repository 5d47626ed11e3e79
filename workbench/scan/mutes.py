"""Mute rules with a lifecycle: an exception carries an owner, a reason, a ticket and an expiry, and ends by itself.

A rule has up to five patterns (check, account, region, resource, tag), all regular expressions matched in full
(``re.fullmatch``, so ``i-1`` does not mute ``i-12``); an absent pattern matches anything; present ones are ANDed
(Prowler's Mutelist semantics). ``resource`` is matched against the provider's resource id and the cache uid;
``tag`` against each ``key=value`` of the resource's tags. A muted finding stays visible with status ``muted``.

A mute ends by itself, without anyone remembering to remove it:

- at its expiry: its findings reopen on the next scan;
- when a muted resource changes in a way the check cares about: each finding a rule covers is kept in its
  *scope* with a fingerprint of the check's evidence (the facts the check judged, not its wording, which may
  count days). A finding whose evidence no longer matches its fingerprint is no longer covered: it reopens and
  the rule is *stale* (``mute_scope.changed_at``). A resource a pattern rule meets for the first time joins its
  scope as it is then.

Both are audited once, by the scan that reopens the findings (``mute-lapsed``). On a machine with no key for
the chain (no keyring, no key folder or key file) the scan still runs and reopens them: the entries wait,
unsigned, in ``meta.audit_pending_lapsed``, the scan's counts say how many (``audit_pending``), and the next
scan that has the key chains them (their ``reopened_at`` says when it happened). Adding and removing are audited
too, and so is a refusal: the permission rule lives here (:func:`require_mute_rights`), for the CLI and the app
alike.

Public API: :func:`add_mute`, :func:`remove_mute`, :func:`list_mutes`, :func:`active_mutes`, :func:`report`,
:func:`parse_expiry`, :func:`require_mute_rights` / :func:`authorize` (the rule, and the rule audited), and :class:`MuteSet` (used by the scan to apply rules).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from workbench import audit as audit_log
from workbench import canonical
from workbench.cache import meta
from workbench.cache.schema import TABLES
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.errors import PermissionDenied, WorkbenchError

PATTERN_FIELDS = ("check", "account", "region", "resource", "tag")
SCAN_ACTOR = "scan"  # who the audit log names when a scan reopens findings by itself


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
    owner: str | None = None
    ticket: str | None = None

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


def require_mute_rights(role: str) -> None:
    """Muting hides risk from everyone else: a viewer may look, not decide."""
    if role == "viewer":
        raise PermissionDenied("the viewer role cannot add or remove mutes")


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


def fingerprint(evidence: Any) -> str:
    """What the check judged, as a short hash: the evidence as stored (JSON text) or as data."""
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence)
        except ValueError:
            pass
    try:
        text = canonical.dumps(evidence)
    except (TypeError, ValueError):
        text = json.dumps(evidence, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def patterns_text(rule: dict[str, Any]) -> str:
    """A stored rule's patterns as ``check=… resource=…``."""
    return " ".join(
        f"{f}={rule[f + '_pattern']}" for f in PATTERN_FIELDS if rule.get(f + "_pattern")
    )


def _compile(field_name: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise MuteError(
            f"the {field_name} pattern {pattern!r} is not a valid regular expression: {exc}"
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
        row["owner"],
        row["ticket"],
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


@dataclass(slots=True)
class MuteSet:
    """The rules in force for one scan, with their scopes: which findings each covers, and as what."""

    mutes: list[Mute]
    scope: dict[
        tuple[int, str], tuple[str, str | None]
    ]  # (mute_id, key) -> (fingerprint, changed_at)
    now: str
    writes: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    changed: dict[int, list[str]] = field(default_factory=dict)  # mute_id -> keys that reopened

    @classmethod
    def load(cls, db: sqlite3.Connection, now: str) -> MuteSet:
        mutes = active_mutes(db, now)
        scope: dict[tuple[int, str], tuple[str, str | None]] = {}
        if mutes:
            ids = json.dumps([m.mute_id for m in mutes])
            for mute_id, key, fp, changed_at in db.execute(
                "SELECT mute_id, key, fingerprint, changed_at FROM mute_scope "
                "WHERE mute_id IN (SELECT value FROM json_each(?))",
                (ids,),
            ):
                scope[(int(mute_id), key)] = (fp, changed_at)
        return cls(mutes, scope, now)

    @property
    def needs_tags(self) -> bool:
        return any("tag" in m.patterns for m in self.mutes)

    def cover(self, row: Any, key: str, tags: dict[str, str] | None) -> Mute | None:
        """The rule that mutes this finding, if any. A rule whose covered resource changed does not."""
        fp: str | None = None
        for m in self.mutes:
            if not m.matches(row, tags):
                continue
            fp = fp or fingerprint(row.evidence)
            known = self.scope.get((m.mute_id, key))
            if known is None:  # first met: covered as it is now
                self.writes.append((m.mute_id, key, fp, None))
                self.scope[(m.mute_id, key)] = (fp, None)
                return m
            if known[0] == fp:
                if known[1] is not None:  # changed back to what was accepted
                    self.writes.append((m.mute_id, key, fp, None))
                return m
            if known[1] is None:
                self.writes.append((m.mute_id, key, known[0], self.now))
                self.changed.setdefault(m.mute_id, []).append(key)
        return None

    def flush(self, db: sqlite3.Connection) -> None:
        """Write the scope changes (inside the scan's transaction)."""
        db.executemany(
            "INSERT INTO mute_scope (mute_id, key, fingerprint, changed_at) VALUES (?,?,?,?) "
            "ON CONFLICT(mute_id, key) DO UPDATE SET fingerprint=excluded.fingerprint, "
            "changed_at=excluded.changed_at",
            self.writes,
        )
        self.writes.clear()


@dataclass(slots=True)
class _Stored:
    """A current finding as the mute patterns see it."""

    check_id: str
    account: str
    region: str
    resource_id: str
    resource_uid: str
    resource_kind: str
    evidence: str | None

    def tag_dict(self) -> dict[str, str] | None:
        return None


def _current_scope(db: sqlite3.Connection, mute: Mute) -> list[tuple[str, str]]:
    """The open and muted findings a new rule covers now, each with its evidence fingerprint."""
    rows = [
        (
            key,
            _Stored(
                r["check_id"],
                r["account"],
                r["region"],
                r["resource_id"],
                r["resource_uid"],
                r["resource_kind"],
                r["evidence"],
            ),
        )
        for r in db.execute(
            "SELECT key, check_id, account, region, resource_id, resource_uid, resource_kind, "
            "evidence FROM findings WHERE status IN ('open', 'muted')"
        )
        for key in (r["key"],)
    ]
    tags = tags_by_uid(db, [s for _, s in rows]) if "tag" in mute.patterns else {}
    return [
        (key, fingerprint(s.evidence))
        for key, s in rows
        if mute.matches(s, tags.get(s.resource_uid))
    ]


def authorize(
    cache: Cache, actor: str, role: str, action: str, target: str, details: Any = None
) -> None:
    """Raise PermissionDenied unless ``role`` may mute; a refused change is audited too (who tried what)."""
    try:
        require_mute_rights(role)
    except PermissionDenied as exc:
        audit_log.append(cache, actor, role, action, target, details, result=f"refused: {exc}")
        raise


def add_mute(
    cache: Cache,
    *,
    reason: str,
    author: str,
    role: str,
    expires_at: str,
    owner: str | None = None,
    ticket: str | None = None,
    check: str | None = None,
    account: str | None = None,
    region: str | None = None,
    resource: str | None = None,
    tag: str | None = None,
    now: str | None = None,
) -> int:
    """Store a rule and return its id. A reason, an author, an expiry and at least one pattern are required;
    the owner defaults to the author. The findings it covers now make its scope."""
    patterns = {
        "check": check,
        "account": account,
        "region": region,
        "resource": resource,
        "tag": tag,
    }
    details: dict[str, Any] = {k: v for k, v in patterns.items() if v} | {
        "reason": (reason or "").strip(),
        "expires_at": expires_at,
        "owner": owner or author,
        "ticket": ticket or None,
    }
    authorize(cache, author, role, "mute", "mute:new", details)
    if not reason or not reason.strip():
        raise MuteError("a mute needs a reason")
    if not author:
        raise MuteError("a mute needs an author")
    if not expires_at:
        raise MuteError("a mute needs an expiry (mutes that never end hide risk forever)")
    if not any(patterns.values()):
        raise MuteError(
            "a mute needs at least one pattern (check, account, region, resource or tag)"
        )
    compiled = {f: _compile(f, p) for f, p in patterns.items()}
    now = now or utcnow()
    if expires_at <= now:
        raise MuteError(f"the expiry {expires_at} is already past")
    probe = Mute(
        0,
        {f: rx for f, rx in compiled.items() if rx is not None},
        reason,
        author,
        now,
        expires_at,
        True,
    )
    with cache.transaction():
        cur = cache.db.execute(
            "INSERT INTO mutes (check_pattern, account_pattern, region_pattern, resource_pattern, "
            "tag_pattern, reason, author, created_at, expires_at, active, owner, ticket) "
            "VALUES (?,?,?,?,?,?,?,?,?,1,?,?)",
            (
                check,
                account,
                region,
                resource,
                tag,
                reason.strip(),
                author,
                now,
                expires_at,
                owner or author,
                ticket or None,
            ),
        )
        mute_id = int(cur.lastrowid or 0)
        scope = _current_scope(cache.db, probe)
        cache.db.executemany(
            "INSERT INTO mute_scope (mute_id, key, fingerprint) VALUES (?,?,?)",
            [(mute_id, key, fp) for key, fp in scope],
        )
        audit_log.append(
            cache, author, role, "mute", f"mute:{mute_id}", details | {"covers": len(scope)}, at=now
        )
    audit_log.anchor(cache)
    return mute_id


def remove_mute(
    cache: Cache, mute_id: int, *, author: str, role: str, reason: str = "", now: str | None = None
) -> None:
    """Deactivate a rule (kept for history); its findings reopen on the next scan."""
    details = {"reason": reason} if reason else {}
    authorize(cache, author, role, "unmute", f"mute:{mute_id}", details)
    row = cache.db.execute("SELECT active FROM mutes WHERE mute_id=?", (mute_id,)).fetchone()
    if row is None or not row[0]:
        raise MuteError(f"no active mute {mute_id}")
    with cache.transaction():
        cache.db.execute("UPDATE mutes SET active=0 WHERE mute_id=?", (mute_id,))
        audit_log.append(cache, author, role, "unmute", f"mute:{mute_id}", details, at=now)
    audit_log.anchor(cache)


PENDING_KEY = "audit_pending_lapsed"


def audit_lapsed(cache: Cache, lapsed: dict[int, dict[str, Any]], now: str) -> tuple[int, int]:
    """One audit entry per rule whose findings a scan reopened by itself (inside the scan's transaction),
    after those an earlier scan left waiting. Without the chain's key they wait too (a reopening is the
    scan's own finding, not a live change, so it must not stop the scan). Returns (chained, waiting)."""
    waiting: list[dict[str, Any]] = json.loads(meta.get(cache.db, PENDING_KEY) or "[]")
    todo = waiting + [
        {"mute_id": mute_id, "details": details | {"reopened_at": now}}
        for mute_id, details in sorted(lapsed.items())
    ]
    if not todo:
        return 0, 0
    try:
        audit_log.chain_key(cache)
    except audit_log.AuditUnavailable:
        meta.put(cache.db, PENDING_KEY, json.dumps(todo))
        return 0, len(todo)
    for item in todo:
        target = f"mute:{item['mute_id']}"
        audit_log.append(cache, SCAN_ACTOR, None, "mute-lapsed", target, item["details"], at=now)
    if waiting:
        meta.put(cache.db, PENDING_KEY, None)
    return len(todo), 0


def report(
    db: sqlite3.Connection, now: str | None = None, *, within_days: int = 7
) -> dict[str, Any]:
    """The exceptions that need a decision: expired (its findings reopen or have), expiring within
    ``within_days``, stale (a covered resource changed, or it covers nothing any more), and without ticket."""
    now = now or utcnow()
    soon = (dt.datetime.fromisoformat(now) + dt.timedelta(days=within_days)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    rows = [dict(r) for r in db.execute("SELECT * FROM mutes WHERE active=1 ORDER BY mute_id")]
    changed: dict[int, int] = {
        int(mid): int(n)
        for mid, n in db.execute(
            "SELECT mute_id, COUNT(*) FROM mute_scope WHERE changed_at IS NOT NULL GROUP BY mute_id"
        )
    }
    covering: dict[int, int] = {
        int(mid): int(n)
        for mid, n in db.execute(
            "SELECT s.mute_id, COUNT(*) FROM mute_scope AS s JOIN findings AS f ON f.key = s.key "
            "WHERE s.changed_at IS NULL AND f.status IN ('open', 'muted') GROUP BY s.mute_id"
        )
    }
    checks: dict[int, list[str]] = {}
    for mid, check_id in db.execute(
        "SELECT DISTINCT mute_id, substr(key, 1, instr(key, '|') - 1) FROM mute_scope ORDER BY 1, 2"
    ):
        checks.setdefault(int(mid), []).append(str(check_id))
    out: dict[str, Any] = {"now": now, "within_days": within_days, "mutes": []}
    for r in rows:
        states: list[str] = []
        expires = r["expires_at"]
        if expires and expires <= now:
            states.append("expired")
        elif expires and expires <= soon:
            states.append("expiring")
        if changed.get(r["mute_id"]):
            states.append("stale: resource changed")
        elif "expired" not in states and not covering.get(r["mute_id"]):
            states.append("stale: covers nothing")
        if not r.get("ticket"):
            states.append("no ticket")
        out["mutes"].append(
            r
            | {
                "states": states,
                "covers": covering.get(r["mute_id"], 0),
                "changed": changed.get(r["mute_id"], 0),
                "checks": checks.get(r["mute_id"], []),
            }
        )
    return out

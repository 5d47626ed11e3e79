"""The fix journal: one row per executed call, written before and after the call.

``begin`` commits a ``pending`` row with the before-state *before* the call is made, so a crash between the two
leaves evidence that the next start reconciles (see ``FixEngine.reconcile``). ``finish`` stores the after-state
and ``applied`` or ``failed``. Later statuses: ``verified`` (the check passes on live state), ``undone`` (an undo
entry restored it), ``reconciled`` (found pending after a crash and settled from live state).

``call`` holds the exact :class:`~workbench.fixes.base.PlanItem` and the target, so undo and reconcile need
nothing but the row.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from workbench import canonical
from workbench.cache.backend import Reader, Store
from workbench.clock import utcnow
from workbench.fixes.base import PlanItem, Target
from workbench.process_owner import Owner

PENDING, APPLIED, FAILED = "pending", "applied", "failed"
VERIFIED, UNDONE, RECONCILED = "verified", "undone", "reconciled"
# Statuses whose change took effect and may be undone.
CHANGED = (APPLIED, VERIFIED, RECONCILED)


@dataclass(slots=True)
class JournalEntry:
    entry_id: int
    plan_id: str
    fix_id: str
    check_id: str | None
    resource_uid: str | None
    step: int
    call: dict[str, Any]  # {"item": PlanItem dict, "target": Target dict}
    before: Any
    after: Any
    status: str
    error: str | None
    actor: str | None
    role: str | None
    created_at: str
    updated_at: str | None
    undo_of: int | None
    owner: Owner = field(default_factory=lambda: Owner(None, None, None))

    @property
    def inputs(self) -> dict[str, Any] | None:
        """The plan's inputs (entries written before they were journaled: None)."""
        value = self.call.get("inputs")
        return dict(value) if isinstance(value, dict) else None

    @property
    def item(self) -> PlanItem:
        return PlanItem.from_dict(self.call["item"])

    @property
    def target(self) -> Target:
        return Target.from_dict(self.call["target"])

    @property
    def took_effect(self) -> bool:
        """Whether the call changed the resource (for a reconciled entry: whether live state moved)."""
        if self.status in (APPLIED, VERIFIED, UNDONE):
            return True
        if self.status == RECONCILED:
            return canonical.dumps(self.before) != canonical.dumps(self.after)
        return False


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _row(row: sqlite3.Row | tuple[Any, ...]) -> JournalEntry:
    (
        entry_id,
        plan_id,
        fix_id,
        check_id,
        uid,
        step,
        call,
        before,
        after,
        status,
        error,
        actor,
        role,
        created_at,
        updated_at,
        undo_of,
        owner_pid,
        owner_start,
        owner_host,
        heartbeat,
    ) = tuple(row)
    return JournalEntry(
        int(entry_id),
        plan_id,
        fix_id,
        check_id,
        uid,
        int(step),
        _loads(call) or {},
        _loads(before),
        _loads(after),
        status,
        error,
        actor,
        role,
        created_at,
        updated_at,
        undo_of,
        Owner(owner_pid, owner_start, owner_host, heartbeat),
    )


_COLUMNS = (
    "entry_id, plan_id, fix_id, check_id, resource_uid, step, api_call, before, after, status, "
    "error, actor, role, created_at, updated_at, undo_of, owner_pid, owner_start, owner_host, heartbeat"
)


class Journal:
    """The journal of a cache: written through the cache itself (a :class:`Store`, whose transaction each
    write opens or joins), or read through any reader (a screen's read-only connection)."""

    def __init__(self, db: Reader) -> None:
        self.db = db

    def _transaction(self) -> Any:
        if not isinstance(self.db, Store):
            raise TypeError(
                "the journal is written through the cache, not through a bare connection"
            )
        return self.db.transaction()

    def begin(
        self,
        *,
        plan_id: str,
        fix_id: str,
        target: Target,
        item: PlanItem,
        before: Any,
        actor: str,
        role: str,
        undo_of: int | None = None,
        inputs: dict[str, Any] | None = None,
        owner: Owner | None = None,
    ) -> int:
        """Record the intent (status pending) with the owner process, inside the caller's transaction if any."""
        call: dict[str, Any] = {"item": item.to_dict(), "target": target.to_dict()}
        if inputs is not None:
            call["inputs"] = inputs
        who = owner or Owner(None, None, None)
        with self._transaction():
            cur = self.db.execute(
                "INSERT INTO journal (plan_id, fix_id, check_id, resource_uid, step, api_call, before, "
                "status, actor, role, created_at, undo_of, owner_pid, owner_start, owner_host, "
                "heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    plan_id,
                    fix_id,
                    target.check_id or None,
                    target.resource_uid,
                    item.index,
                    canonical.dumps(call),
                    canonical.dumps(before),
                    PENDING,
                    actor,
                    role,
                    utcnow(),
                    undo_of,
                    who.pid,
                    who.start,
                    who.host,
                    utcnow(),
                ),
            )
        return int(cur.lastrowid or 0)

    def finish(self, entry_id: int, status: str, after: Any, error: str | None = None) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE journal SET status=?, after=?, error=?, updated_at=? WHERE entry_id=?",
                (status, canonical.dumps(after), error, utcnow(), entry_id),
            )

    def set_status(self, entry_id: int, status: str, error: str | None = None) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE journal SET status=?, error=COALESCE(?, error), updated_at=? WHERE entry_id=?",
                (status, error, utcnow(), entry_id),
            )

    def get(self, entry_id: int) -> JournalEntry | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM journal WHERE entry_id=?", (entry_id,)
        ).fetchone()
        return _row(row) if row else None

    def pending(self) -> list[JournalEntry]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM journal WHERE status=? ORDER BY entry_id", (PENDING,)
        ).fetchall()
        return [_row(r) for r in rows]

    def for_plan(self, plan_id: str) -> list[JournalEntry]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM journal WHERE plan_id=? ORDER BY entry_id", (plan_id,)
        ).fetchall()
        return [_row(r) for r in rows]

    def undo_entries(self, entry_id: int) -> list[JournalEntry]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM journal WHERE undo_of=? ORDER BY entry_id", (entry_id,)
        ).fetchall()
        return [_row(r) for r in rows]

    def recent(self, limit: int = 50, plan_id: str | None = None) -> list[JournalEntry]:
        if plan_id:
            return self.for_plan(plan_id)
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM journal ORDER BY entry_id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_row(r) for r in reversed(rows)]

"""Exactly once: plans this cache made (each applied at most once), a claim per resource being changed, and the
owner of every in-flight change.

- :func:`record_plan` stores a new plan's id and checksum in ``fix_plans``; :func:`check_plan` refuses a plan
  this cache did not make, whose content differs from what was made (a retargeted plan with its checksum
  recomputed), or that was already applied (replayed, also after an undo).
- :func:`take` runs inside the caller's ``BEGIN IMMEDIATE``: it marks the plan consumed and claims every
  target in ``fix_claims``, or refuses when another live process holds one. Two applies of one plan at once:
  exactly one takes it.
- An :class:`~workbench.process_owner.Owner` is a process: pid, its start time (``/proc/<pid>/stat``, so a
  reused pid is not taken for the owner) and host, plus a heartbeat the owner refreshes per call. ``gone()`` is how
  reconciliation tells an interrupted change (its process is gone) from one still in flight, which it must
  leave alone. A process on another host is judged by its heartbeat alone (``STALE_AFTER``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from workbench.clock import utcnow
from workbench.fixes.base import FixError
from workbench.process_owner import Owner


class PlanRefused(FixError):
    """The plan may not be applied here: another cache's, altered, or already applied."""


class Claimed(FixError):
    """Another live process is changing the resource."""


# ---------------------------------------------------------------------------------------------- plans
def record_plan(
    db: sqlite3.Connection, plan_id: str, checksum: str, fix_id: str, created_at: str, by: str
) -> None:
    db.execute(
        "INSERT INTO fix_plans (plan_id, checksum, fix_id, created_at, created_by) VALUES (?,?,?,?,?)",
        (plan_id, checksum, fix_id, created_at, by),
    )


def check_plan(
    db: sqlite3.Connection, cache_id: str, plan_id: str, plan_cache: str, checksum: str
) -> None:
    """Refuse a plan of another cache, one this cache never made, an altered one, or one already applied."""
    if not plan_cache:
        raise PlanRefused(
            f"plan {plan_id} is not bound to a cache (made by an older vmwb): make a new plan"
        )
    if plan_cache != cache_id:
        raise PlanRefused(
            f"plan {plan_id} was made on another cache ({plan_cache or 'unknown'}; this is "
            f"{cache_id}): make a new plan on this one"
        )
    row = db.execute(
        "SELECT checksum, consumed_at, consumed_by FROM fix_plans WHERE plan_id=?", (plan_id,)
    ).fetchone()
    if row is None:
        raise PlanRefused(f"plan {plan_id} was not made on this cache: make a new plan")
    if row[0] != checksum:
        raise PlanRefused(
            f"plan {plan_id} differs from the plan this cache made (targets or calls changed "
            "after it was made): make a new plan"
        )
    if row[1] is not None:
        raise PlanRefused(
            f"plan {plan_id} was already applied at {row[1]} by {row[2]}: a plan runs once; "
            "make a new plan"
        )


# ---------------------------------------------------------------------------------------------- claims
def _holder(db: sqlite3.Connection, uid: str) -> tuple[Owner, str] | None:
    row = db.execute(
        "SELECT owner_pid, owner_start, owner_host, heartbeat, plan_id FROM fix_claims "
        "WHERE resource_uid=?",
        (uid,),
    ).fetchone()
    if row is None:
        return None
    return Owner(row[0], row[1], row[2], row[3]), str(row[4])


def take(
    db: sqlite3.Connection,
    owner: Owner,
    plan_id: str,
    uids: Iterable[str],
    *,
    consume: bool,
    by: str,
) -> None:
    """Inside the caller's BEGIN IMMEDIATE: consume the plan (apply) and claim every target, or refuse."""
    assert db.in_transaction, "claims are taken inside BEGIN IMMEDIATE"
    now = utcnow()
    if consume:
        cur = db.execute(
            "UPDATE fix_plans SET consumed_at=?, consumed_by=? WHERE plan_id=? AND consumed_at IS NULL",
            (now, f"{by} ({owner.describe()})", plan_id),
        )
        if cur.rowcount != 1:
            raise PlanRefused(
                f"plan {plan_id} was already applied: a plan runs once; make a new plan"
            )
    for uid in uids:
        held = _holder(db, uid)
        if held is not None:
            holder, other_plan = held
            if not holder.gone():
                raise Claimed(
                    f"{uid} is being changed by {holder.describe()} (plan {other_plan}): "
                    "wait for it to finish"
                )
            db.execute("DELETE FROM fix_claims WHERE resource_uid=?", (uid,))
        db.execute(
            "INSERT INTO fix_claims (resource_uid, plan_id, owner_pid, owner_start, owner_host, "
            "claimed_at, heartbeat) VALUES (?,?,?,?,?,?,?)",
            (uid, plan_id, owner.pid, owner.start, owner.host, now, now),
        )


def heartbeat(db: sqlite3.Connection, owner: Owner, plan_id: str) -> None:
    db.execute(
        "UPDATE fix_claims SET heartbeat=? WHERE plan_id=? AND owner_pid=?",
        (utcnow(), plan_id, owner.pid),
    )


def release(db: sqlite3.Connection, owner: Owner, plan_id: str) -> None:
    db.execute("DELETE FROM fix_claims WHERE plan_id=? AND owner_pid=?", (plan_id, owner.pid))


def stale(db: sqlite3.Connection) -> list[tuple[str, str, Owner]]:
    """(resource uid, plan id, owner) of every claim whose owner is gone."""
    rows = db.execute(
        "SELECT resource_uid, plan_id, owner_pid, owner_start, owner_host, heartbeat FROM fix_claims"
    ).fetchall()
    out = []
    for uid, plan_id, pid, start, host, beat in rows:
        owner = Owner(pid, start, host, beat)
        if owner.gone():
            out.append((str(uid), str(plan_id), owner))
    return out

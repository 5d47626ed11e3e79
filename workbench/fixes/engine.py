"""The fix engine: plan → dry-run → apply → verify → undo, and reconcile after a crash.

Everything that changes an estate goes through here, so the rules hold for the CLI and the UI alike:

- Roles: ``viewer`` runs no fix; ``responder`` runs reversible fixes (and their undo); ``operator`` runs all.
  Read-only mode forbids dry-run, apply and undo (an endpoint may ignore DryRun). Planning changes nothing and
  is allowed in read-only mode. Refusals raise :class:`~workbench.errors.PermissionDenied` and are audited.
- Apply re-reads every target, refuses the whole plan if a live digest moved or the fix would now compute
  other calls, then runs the items in order, journaling before and after each, continuing past failures
  (an item whose prerequisite failed is skipped). Irreversible plans need the typed confirmation.
- Undo restores the journal's before-state, and only while the resource is still as the fix left it.
- Audit, then journal, then the call: every live call is audited as intent (with its journal entry, in one
  transaction) before it is made and as its result after. A fix whose audit entry cannot be written (no key,
  table gone, read-only cache) refuses before any live call.
- Exactly once (``workbench.fixes.claims``): a plan is bound to the cache that made it and applied at most
  once; apply and undo claim their targets inside ``BEGIN IMMEDIATE``; the journal records the owner process
  of every entry, and :meth:`FixEngine.reconcile` settles only entries whose owner is gone, from what the
  platform shows now. Undo is journaled and claimed like apply and settles the same way after a crash.
- Plans are re-validated at apply time: this cache made it, unchanged, not yet applied, its findings still
  open, its CIDR inputs within today's policy, its calls what the fix computes from live state now.

UI driving: ``engine.plan(...)`` → ``preview_lines(plan)`` → ``engine.dry_run(plan)`` →
``engine.apply(plan, confirm=..., on_item=callback)`` → ``engine.verify(plan)`` → ``engine.undo(entry_id)``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from workbench import audit
from workbench.cache import meta
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.config import Config
from workbench.errors import CacheError, PermissionDenied
from workbench.fixes import claims, lookup
from workbench.fixes import journal as jr
from workbench.fixes import targets as fix_targets
from workbench.fixes.base import (
    IRREVERSIBLE,
    REVERSIBLE,
    Fix,
    FixContext,
    FixError,
    NotUndoable,
    PlanItem,
    StalePlan,
    Target,
    coerce_input,
    digest,
)
from workbench.fixes.plan import Plan, PlanTarget
from workbench.fixes.results import ApplyResult, ItemResult, VerifyResult
from workbench.process_owner import Owner

#: Test hook: ``after_journal[:seconds]``, ``after_call[:seconds]`` or ``after_record[:seconds]`` sleeps at that
#: point of each item (apply and undo alike), so a
#: test can kill the process between the journal write and the call (or between the call and its record).
PAUSE_ENV = "VMWB_TEST_FIX_PAUSE"


__all__ = ["PAUSE_ENV", "ApplyResult", "FixEngine", "ItemResult", "OnItem", "VerifyResult"]

OnItem = Callable[[ItemResult, int, int], None]  # (result, done, total)


class FixEngine:
    def __init__(
        self,
        cache: Cache,
        config: Config | None = None,
        *,
        role: str | None = None,
        read_only: bool | None = None,
        user: str | None = None,
        clients: Mapping[str, Any] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.cache = cache
        self.config = config or Config()
        self.role = role or self.config.role or "operator"
        self.read_only = self.config.read_only if read_only is None else read_only
        self.user = user or self.config.user or getpass.getuser()
        self.ctx = FixContext(self.config, cache, clients, today)
        self.journal = jr.Journal(cache)
        self.owner = Owner.current()

    @classmethod
    def from_cli(cls, cli: Any, **kwargs: Any) -> FixEngine:
        return cls(
            cli.cache(), cli.config, role=cli.role, read_only=cli.read_only, user=cli.user, **kwargs
        )

    # ------------------------------------------------------------------ permissions
    def refusal(self, fix: Fix, *, changes: bool = True) -> str | None:
        """Why this operator may not run ``fix`` (None when allowed). ``changes``: dry-run/apply/undo."""
        if changes and self.read_only:
            return "read-only mode: no fix can run"
        if self.role == "viewer":
            return "role viewer may not run fixes"
        if self.role == "responder" and fix.safety != REVERSIBLE:
            return f"role responder may run reversible fixes only; {fix.id} is {fix.safety}"
        if self.role not in ("responder", "operator"):
            return f"unknown role {self.role!r}"
        return None

    def _guard(self, action: str, fix: Fix, target: str, *, changes: bool = True) -> None:
        reason = self.refusal(fix, changes=changes)
        if reason:
            self._audit(action, target, {"fix_id": fix.id}, f"denied: {reason}")
            raise PermissionDenied(reason)

    def _audit(self, action: str, target: str, details: dict[str, Any], result: str) -> None:
        audit.append(self.cache, self.user, self.role, action, target, details, result)

    @contextlib.contextmanager
    def _recorded(self) -> Iterator[None]:
        """One transaction for the journal, claims and audit entries inside; the head file after the commit."""
        import sqlite3

        owned = not self.cache.in_transaction
        try:
            with self.cache.transaction():
                yield
        except (sqlite3.Error, CacheError) as exc:  # a read-only or broken cache: no record written
            raise audit.AuditUnavailable(f"the audit log cannot be written: {exc}") from exc
        if owned:
            audit.anchor(self.cache)

    # ------------------------------------------------------------------ plan
    def plan(
        self, fix_id: str, targets: Sequence[Target], inputs: Mapping[str, Any] | None = None
    ) -> Plan:
        fix = lookup.get(fix_id)
        self._guard("plan", fix, fix_id, changes=False)
        resolved = fix.resolve_inputs(self.ctx, inputs)
        plan_targets: list[PlanTarget] = []
        items: list[PlanItem] = []
        for raw in targets:
            target = fix.normalize_target(raw)
            live = fix.read_live(self.ctx, target)
            calls = self._computed(fix, target, live, resolved, start=len(items))
            fixed = fix.is_fixed(live, resolved)
            note = "" if live.get("exists", True) else "the resource no longer exists"
            radius = fix.blast_radius(self.ctx, target, live, resolved) if calls else []
            plan_targets.append(PlanTarget(target, digest(live), radius, fixed and not calls, note))
            items.extend(calls)
        plan = Plan(
            plan_id=uuid.uuid4().hex[:12],
            fix_id=fix.id,
            title=fix.title,
            provider=fix.provider,
            safety=fix.safety,
            created_at=utcnow(),
            created_by=self.user,
            role=self.role,
            inputs=resolved,
            permissions=list(fix.permissions),
            notes=list(fix.notes),
            targets=plan_targets,
            items=items,
            verb=fix.verb,
            noun=fix.noun,
            cache_id=meta.cache_id(self.cache.db),
        ).seal()
        with self._recorded():
            claims.record_plan(
                self.cache.db, plan.plan_id, plan.checksum, fix.id, plan.created_at, self.user
            )
            self._audit(
                "plan",
                fix.id,
                {
                    "plan_id": plan.plan_id,
                    "checksum": plan.checksum,
                    "targets": [t.target.resource_uid for t in plan_targets],
                    "calls": len(items),
                    "inputs": resolved,
                },
                "ok",
            )
        return plan

    @staticmethod
    def _computed(
        fix: Fix, target: Target, live: dict[str, Any], inputs: dict[str, Any], start: int
    ) -> list[PlanItem]:
        """The fix's calls for one target, numbered from ``start`` (``requires`` made plan-wide)."""
        calls = fix.plan(target, live, inputs)
        stamp = digest(live)
        for n, item in enumerate(calls):
            item.index = start + n
            item.requires = [start + r for r in item.requires]
            item.live_digest = stamp
        return calls

    def _check_fresh(self, fix: Fix, plan: Plan) -> dict[str, dict[str, Any]]:
        """Re-read every acting target; refuse a stale or altered plan. Returns live state by uid."""
        lives: dict[str, dict[str, Any]] = {}
        for pt in plan.acting_targets:
            uid = pt.target.resource_uid
            live = fix.read_live(self.ctx, pt.target)
            if digest(live) != pt.live_digest:
                raise StalePlan(
                    f"{pt.target.resource_id} changed since the plan was made: make a new plan"
                )
            start = plan.items_for(uid)[0].index
            again = self._computed(fix, pt.target, live, plan.inputs, start)
            if [i.call_key() for i in again] != [i.call_key() for i in plan.items_for(uid)]:
                raise StalePlan(
                    f"the plan's calls for {pt.target.resource_id} are not what {fix.id} computes: "
                    "the plan file was altered; make a new plan"
                )
            lives[uid] = live
        return lives

    def _check_plan(self, fix: Fix, plan: Plan) -> None:
        """Refuse a plan this cache did not make, altered, already applied, or no longer justified."""
        db = self.cache.db
        claims.check_plan(
            db, meta.cache_id(db), plan.plan_id, plan.cache_id, plan.compute_checksum()
        )
        policy = self.ctx.config.policy
        for spec in fix.inputs:  # today's policy, not the policy when the plan was made
            value = plan.inputs.get(spec.name)
            if spec.kind == "cidr" and value is not None:
                coerce_input(fix.id, spec, value, policy)
        for pt in plan.acting_targets:
            if pt.target.check_id and fix_targets.finding_closed(self.cache, fix, pt.target):
                raise claims.PlanRefused(
                    f"{pt.target.resource_id}: its finding {pt.target.check_id} is no longer open: "
                    "make a new plan"
                )

    # ------------------------------------------------------------------ dry-run
    def dry_run(self, plan: Plan) -> list[ItemResult]:
        fix = lookup.get(plan.fix_id)
        self._guard("dry-run", fix, plan.plan_id)
        try:
            self._check_fresh(fix, plan)
        except StalePlan as exc:
            self._audit("dry-run", plan.plan_id, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        results = []
        for item in plan.items:
            outcome = fix.dry_run_item(self.ctx, item)
            results.append(
                ItemResult(
                    item.index, item.target_uid, item.call_text(), outcome.status, outcome.detail
                )
            )
        self._audit(
            "dry-run", plan.plan_id, {"fix_id": fix.id, "items": [r.status for r in results]}, "ok"
        )
        return results

    # ------------------------------------------------------------------ apply
    def apply(
        self, plan: Plan, *, confirm: str | None = None, on_item: OnItem | None = None
    ) -> ApplyResult:
        """Run exactly ``plan``. Irreversible plans need ``confirm`` = the count or the resource id."""
        fix = lookup.get(plan.fix_id)
        self._guard("apply", fix, plan.plan_id)
        if fix.safety == IRREVERSIBLE and plan.items and not plan.accepts_confirmation(confirm):
            self._audit("apply", plan.plan_id, {"fix_id": fix.id}, "refused: not confirmed")
            raise PermissionDenied(f"irreversible: {plan.confirmation_prompt()}")
        try:
            self._check_plan(fix, plan)
        except FixError as exc:
            self._audit("apply", plan.plan_id, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        uids = [pt.target.resource_uid for pt in plan.acting_targets]
        try:
            # The plan is consumed only with its audit entry, before anything else happens.
            with self._recorded():
                self._audit(
                    "apply",
                    plan.plan_id,
                    {"fix_id": fix.id, "targets": uids, "calls": len(plan.items)},
                    "started",
                )
                claims.take(
                    self.cache.db, self.owner, plan.plan_id, uids, consume=True, by=self.user
                )
        except (claims.PlanRefused, claims.Claimed) as exc:
            self._audit("apply", plan.plan_id, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        try:
            return self._apply_claimed(fix, plan, on_item)
        finally:
            with self._recorded():
                claims.release(self.cache.db, self.owner, plan.plan_id)

    def _apply_claimed(self, fix: Fix, plan: Plan, on_item: OnItem | None) -> ApplyResult:
        try:
            self._check_fresh(fix, plan)
        except StalePlan as exc:
            self._audit("apply", plan.plan_id, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        targets = {pt.target.resource_uid: pt.target for pt in plan.targets}
        result = ApplyResult(plan.plan_id)
        result.items = self._run(fix, plan.plan_id, plan.items, targets, on_item, plan.inputs)
        result.verified = self.verify(plan, audit_it=False)
        self._audit(
            "apply",
            plan.plan_id,
            {
                "fix_id": fix.id,
                "items": [[i.index, i.status, i.journal_id] for i in result.items],
                "fixed": [v.resource_id for v in result.verified if v.fixed],
                "not_fixed": [v.resource_id for v in result.verified if not v.fixed],
            },
            result.status,
        )
        return result

    def _run(
        self,
        fix: Fix,
        plan_id: str,
        items: Sequence[PlanItem],
        targets: Mapping[str, Target],
        on_item: OnItem | None,
        inputs: dict[str, Any] | None,
        undo_of: int | None = None,
    ) -> list[ItemResult]:
        results: list[ItemResult] = []
        status_by_index: dict[int, str] = {}
        for n, item in enumerate(items):
            failed = [r for r in item.requires if status_by_index.get(r) != "applied"]
            if failed:
                res = ItemResult(
                    item.index,
                    item.target_uid,
                    item.call_text(),
                    "skipped",
                    f"not run: step {', '.join(f'#{r + 1}' for r in failed)} did not succeed",
                )
            else:
                res = self._run_item(fix, plan_id, item, targets[item.target_uid], inputs, undo_of)
            status_by_index[item.index] = res.status
            results.append(res)
            if on_item is not None:
                on_item(res, n + 1, len(items))
        return results

    def _run_item(
        self,
        fix: Fix,
        plan_id: str,
        item: PlanItem,
        target: Target,
        inputs: dict[str, Any] | None,
        undo_of: int | None,
    ) -> ItemResult:
        call = item.call_text()
        try:
            before = fix.read_live(self.ctx, target)
        except Exception as exc:
            return ItemResult(item.index, item.target_uid, call, "failed", f"cannot read it: {exc}")
        action = "undo-call" if undo_of is not None else "apply-call"
        details: dict[str, Any] = {"plan_id": plan_id, "fix_id": fix.id, "call": call}
        if undo_of is not None:
            details["undo_of"] = undo_of
        with self._recorded():  # intent: journal entry and audit entry together, or neither
            entry_id = self.journal.begin(
                plan_id=plan_id,
                fix_id=fix.id,
                target=target,
                item=item,
                before=before,
                actor=self.user,
                role=self.role,
                undo_of=undo_of,
                inputs=inputs,
                owner=self.owner,
            )
            details["journal_id"] = entry_id
            self._audit(action, target.resource_uid, details, "intent")
            claims.heartbeat(self.cache.db, self.owner, plan_id)
        _test_pause("after_journal")
        try:
            fix.apply_item(self.ctx, item)
        except Exception as exc:
            with self._recorded():
                self.journal.finish(
                    entry_id, jr.FAILED, self._safe_live(fix, target), _describe(exc)
                )
                self._audit(action, target.resource_uid, details, f"failed: {_describe(exc)}")
            return ItemResult(item.index, item.target_uid, call, "failed", _describe(exc), entry_id)
        _test_pause("after_call")
        after = self._safe_live(fix, target)
        with self._recorded():
            self.journal.finish(entry_id, jr.APPLIED, after)
            self._audit(action, target.resource_uid, details, "applied")
        _test_pause("after_record")
        return ItemResult(item.index, item.target_uid, call, "applied", item.description, entry_id)

    def _safe_live(self, fix: Fix, target: Target) -> Any:
        try:
            return fix.read_live(self.ctx, target)
        except Exception as exc:
            return {"unreadable": _describe(exc)}

    # ------------------------------------------------------------------ verify
    def verify(self, plan: Plan, *, audit_it: bool = True) -> list[VerifyResult]:
        """Re-read each acting target and evaluate the check's condition on it."""
        fix = lookup.get(plan.fix_id)
        out = []
        for pt in plan.acting_targets:
            try:
                live = fix.read_live(self.ctx, pt.target)
                fixed = fix.is_fixed(live, plan.inputs)
                detail = (
                    "the check passes on live state" if fixed else "still failing on live state"
                )
            except Exception as exc:
                fixed, detail = False, f"cannot read it: {_describe(exc)}"
            out.append(VerifyResult(pt.target.resource_uid, pt.target.resource_id, fixed, detail))
            if fixed:
                for entry in self.journal.for_plan(plan.plan_id):
                    if entry.resource_uid == pt.target.resource_uid and entry.status == jr.APPLIED:
                        self.journal.set_status(entry.entry_id, jr.VERIFIED)
        if audit_it:
            self._audit(
                "verify",
                plan.plan_id,
                {"fix_id": fix.id, "fixed": [v.resource_id for v in out if v.fixed]},
                "ok" if all(v.fixed for v in out) else "not fixed",
            )
        return out

    # ------------------------------------------------------------------ undo
    def undo(
        self, entry_id: int, *, force: bool = False, on_item: OnItem | None = None
    ) -> ApplyResult:
        """Restore what journal entry ``entry_id`` changed, from its before-state."""
        entry = self.journal.get(entry_id)
        if entry is None:
            raise FixError(f"no journal entry {entry_id} (see `vmwb fix journal`)")
        fix = lookup.get(entry.fix_id)
        self._guard("undo", fix, f"journal:{entry_id}")
        where = f"journal:{entry_id}"
        try:
            if not fix.undoable:
                raise NotUndoable(f"{fix.id} is {fix.safety}: entry {entry_id} cannot be undone")
            if entry.undo_of is not None:
                raise NotUndoable(f"entry {entry_id} is itself an undo; undo is not chained")
            if entry.status == jr.UNDONE:
                raise NotUndoable(f"entry {entry_id} was already undone")
            if not entry.took_effect:
                raise NotUndoable(f"entry {entry_id} ({entry.status}) changed nothing to undo")
        except FixError as exc:
            self._audit("undo", where, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        target = entry.target
        plan_id = f"undo-{entry.plan_id}-{entry_id}"
        try:
            with self._recorded():  # claimed and audited before any live call, like apply
                self._audit("undo", where, {"fix_id": fix.id, "plan_id": entry.plan_id}, "started")
                claims.take(
                    self.cache.db,
                    self.owner,
                    plan_id,
                    [target.resource_uid],
                    consume=False,
                    by=self.user,
                )
        except claims.Claimed as exc:
            self._audit("undo", where, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        try:
            return self._undo_claimed(fix, entry, plan_id, force, on_item)
        finally:
            with self._recorded():
                claims.release(self.cache.db, self.owner, plan_id)

    def _undo_claimed(
        self,
        fix: Fix,
        entry: jr.JournalEntry,
        plan_id: str,
        force: bool,
        on_item: OnItem | None,
    ) -> ApplyResult:
        entry_id, target, where = entry.entry_id, entry.target, f"journal:{entry.entry_id}"
        try:
            live = fix.read_live(self.ctx, target)
            if digest(live) != digest(entry.after) and not force:
                raise StalePlan(
                    f"{target.resource_id} changed after entry {entry_id}: undoing could "
                    "clobber that change (force to undo anyway)"
                )
            calls = fix.undo(entry)
            if not calls:
                raise NotUndoable(f"entry {entry_id}: nothing to restore")
        except FixError as exc:
            self._audit("undo", where, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        for n, item in enumerate(calls):
            item.index, item.live_digest = n, digest(live)
            item.requires = []
        result = ApplyResult(plan_id)
        result.items = self._run(
            fix, plan_id, calls, {target.resource_uid: target}, on_item, entry.inputs, entry_id
        )
        after = self._safe_live(fix, target)
        restored = all(i.status == "applied" for i in result.items)
        same = digest(after) == digest(entry.before)
        result.verified = [
            VerifyResult(
                target.resource_uid,
                target.resource_id,
                same,
                "before-state restored" if same else "live state differs from the before-state",
            )
        ]
        with self._recorded():  # the original's status moves with the undo's audit record
            if restored:
                self.journal.set_status(entry_id, jr.UNDONE)
            self._audit(
                "undo",
                where,
                {
                    "fix_id": fix.id,
                    "plan_id": entry.plan_id,
                    "items": [[i.status, i.journal_id] for i in result.items],
                    "restored_exactly": same,
                },
                result.status,
            )
        return result

    def undo_plan(self, plan_id: str, *, force: bool = False) -> list[ApplyResult]:
        """Undo every changed entry of a plan, newest first."""
        entries = [
            e for e in self.journal.for_plan(plan_id) if e.took_effect and e.status != jr.UNDONE
        ]
        return [self.undo(e.entry_id, force=force) for e in reversed(entries)]

    # ------------------------------------------------------------------ reconcile
    def reconcile(self) -> list[jr.JournalEntry]:
        """Settle what a crashed apply or undo left behind; returns the settled journal entries.

        Only entries and claims whose owner process is gone are touched: a change another process (or this
        one) still has in flight is left alone. Each is settled from what the platform shows now (the fix's
        read of live state and the check's own condition), recorded as the entry's after-state for undo.
        An interrupted undo whose resource shows the original before-state marks the original undone.
        """
        settled = []
        for entry in self.journal.pending():
            if not entry.owner.gone():
                continue
            done = self._settle(entry)
            if done is not None:
                settled.append(done)
        for uid, plan_id, owner in claims.stale(self.cache.db):
            undo_of = _undo_of(plan_id)
            if undo_of is not None:
                self._settle_original(undo_of)
            with self._recorded():
                self.cache.db.execute(
                    "DELETE FROM fix_claims WHERE resource_uid=? AND plan_id=?", (uid, plan_id)
                )
                self._audit(
                    "reconcile",
                    uid,
                    {"plan_id": plan_id, "owner": owner.describe()},
                    "claim released: its process is gone",
                )
        return settled

    def _settle(self, entry: jr.JournalEntry) -> jr.JournalEntry | None:
        where = f"journal:{entry.entry_id}"
        try:
            fix = lookup.get(entry.fix_id)
            live = fix.read_live(self.ctx, entry.target)
            passes = fix.is_fixed(live, entry.inputs) if entry.inputs is not None else None
        except Exception as exc:
            self._audit("reconcile", where, {"fix_id": entry.fix_id}, f"failed: {_describe(exc)}")
            return None
        original = self.journal.get(entry.undo_of) if entry.undo_of is not None else None
        at_before = digest(live) == digest(entry.before)
        gone = f"interrupted ({entry.owner.describe()} is gone)"
        if original is not None:
            restored = digest(live) == digest(original.before)
            note = f"{gone}; the platform shows " + (
                "the original before-state: the restore is in effect"
                if restored
                else "the state before the undo: the restore is not in effect"
                if at_before
                else "neither the original nor the fixed state: check it by hand"
            )
        else:
            restored = False
            note = f"{gone}; the platform shows " + (
                "the before-state: the change is not in effect"
                if at_before
                else "a state other than the before-state: the change is in effect"
            )
            if passes is not None:
                note += "; the check passes" if passes else "; the check still fails"
        with self._recorded():
            self.journal.finish(entry.entry_id, jr.RECONCILED, live, note)
            if original is not None and restored:
                self.journal.set_status(original.entry_id, jr.UNDONE)
            self._audit(
                "reconcile",
                where,
                {
                    "fix_id": entry.fix_id,
                    "took_effect": not at_before,
                    "check_passes": passes,
                    "undo_of": entry.undo_of,
                    "owner": entry.owner.describe(),
                },
                "ok",
            )
        return self.journal.get(entry.entry_id) or entry

    def _settle_original(self, entry_id: int) -> None:
        """After an interrupted undo with nothing pending: the original is undone if the platform says so."""
        original = self.journal.get(entry_id)
        if original is None or original.status == jr.UNDONE:
            return
        try:
            fix = lookup.get(original.fix_id)
            live = fix.read_live(self.ctx, original.target)
        except Exception as exc:
            self._audit("reconcile", f"journal:{entry_id}", {}, f"failed: {_describe(exc)}")
            return
        if digest(live) == digest(original.before):
            with self._recorded():
                self.journal.set_status(entry_id, jr.UNDONE)
                self._audit(
                    "reconcile",
                    f"journal:{entry_id}",
                    {"fix_id": original.fix_id},
                    "undo found in effect after a crash: marked undone",
                )


def _undo_of(plan_id: str) -> int | None:
    """The journal entry an undo's claim was for (its plan id is ``undo-<plan>-<entry>``)."""
    if not plan_id.startswith("undo-"):
        return None
    tail = plan_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _describe(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', type(exc).__name__)}: {err.get('Message') or ''}".strip()
    return f"{type(exc).__name__}: {exc}"


def _test_pause(point: str) -> None:
    spec = os.environ.get(PAUSE_ENV, "")
    name, _, seconds = spec.partition(":")
    if name == point:
        time.sleep(float(seconds or 60))

"""The fix engine: plan → dry-run → apply → verify → undo, and reconcile after a crash.

Everything that changes an estate goes through here, so the rules hold for the CLI and the UI alike:

- Roles: ``viewer`` runs no fix; ``responder`` runs reversible fixes (and their undo); ``operator`` runs all.
  Read-only mode forbids dry-run, apply and undo (an endpoint may ignore DryRun). Planning changes nothing and
  is allowed in read-only mode. Refusals raise :class:`~workbench.errors.PermissionDenied` and are audited.
- Apply re-reads every target, refuses the whole plan if a live digest moved or the fix would now compute
  other calls, then runs the items in order, journaling before and after each, continuing past failures
  (an item whose prerequisite failed is skipped). Irreversible plans need the typed confirmation.
- Undo restores the journal's before-state, and only while the resource is still as the fix left it.

UI driving: ``engine.plan(...)`` → ``preview_lines(plan)`` → ``engine.dry_run(plan)`` →
``engine.apply(plan, confirm=..., on_item=callback)`` → ``engine.verify(plan)`` → ``engine.undo(entry_id)``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workbench import audit
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.config import Config
from workbench.errors import PermissionDenied
from workbench.fixes import journal as jr
from workbench.fixes import lookup
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
    digest,
)
from workbench.fixes.plan import Plan, PlanTarget
from workbench.fixes.results import ApplyResult, ItemResult, VerifyResult

#: Test hook: ``after_journal[:seconds]`` or ``after_call[:seconds]`` sleeps at that point of each item, so a
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
        ).seal()
        self._audit(
            "plan",
            fix.id,
            {
                "plan_id": plan.plan_id,
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
            self._check_fresh(fix, plan)
        except StalePlan as exc:
            self._audit("apply", plan.plan_id, {"fix_id": fix.id}, f"refused: {exc}")
            raise
        targets = {pt.target.resource_uid: pt.target for pt in plan.targets}
        result = ApplyResult(plan.plan_id)
        result.items = self._run(fix, plan.plan_id, plan.items, targets, on_item)
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
                res = self._run_item(fix, plan_id, item, targets[item.target_uid], undo_of)
            status_by_index[item.index] = res.status
            results.append(res)
            if on_item is not None:
                on_item(res, n + 1, len(items))
        return results

    def _run_item(
        self, fix: Fix, plan_id: str, item: PlanItem, target: Target, undo_of: int | None
    ) -> ItemResult:
        call = item.call_text()
        try:
            before = fix.read_live(self.ctx, target)
        except Exception as exc:
            return ItemResult(item.index, item.target_uid, call, "failed", f"cannot read it: {exc}")
        entry_id = self.journal.begin(
            plan_id=plan_id,
            fix_id=fix.id,
            target=target,
            item=item,
            before=before,
            actor=self.user,
            role=self.role,
            undo_of=undo_of,
        )
        _test_pause("after_journal")
        try:
            fix.apply_item(self.ctx, item)
        except Exception as exc:
            self.journal.finish(entry_id, jr.FAILED, self._safe_live(fix, target), _describe(exc))
            return ItemResult(item.index, item.target_uid, call, "failed", _describe(exc), entry_id)
        _test_pause("after_call")
        self.journal.finish(entry_id, jr.APPLIED, self._safe_live(fix, target))
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
        try:
            if not fix.undoable:
                raise NotUndoable(f"{fix.id} is {fix.safety}: entry {entry_id} cannot be undone")
            if entry.undo_of is not None:
                raise NotUndoable(f"entry {entry_id} is itself an undo; undo is not chained")
            if entry.status == jr.UNDONE:
                raise NotUndoable(f"entry {entry_id} was already undone")
            if not entry.took_effect:
                raise NotUndoable(f"entry {entry_id} ({entry.status}) changed nothing to undo")
            target = entry.target
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
            self._audit("undo", f"journal:{entry_id}", {"fix_id": fix.id}, f"refused: {exc}")
            raise
        for n, item in enumerate(calls):
            item.index, item.live_digest = n, digest(live)
            item.requires = []
        plan_id = f"undo-{entry.plan_id}-{entry_id}"
        result = ApplyResult(plan_id)
        result.items = self._run(
            fix, plan_id, calls, {target.resource_uid: target}, on_item, undo_of=entry_id
        )
        after = self._safe_live(fix, target)
        restored = all(i.status == "applied" for i in result.items)
        if restored:
            self.journal.set_status(entry_id, jr.UNDONE)
        same = digest(after) == digest(entry.before)
        result.verified = [
            VerifyResult(
                target.resource_uid,
                target.resource_id,
                same,
                "before-state restored" if same else "live state differs from the before-state",
            )
        ]
        self._audit(
            "undo",
            f"journal:{entry_id}",
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
        """Settle entries left ``pending`` by a crash from live state; returns the settled entries.

        An entry whose resource is unchanged since its before-state did not take effect; one whose state
        moved did (the call, or someone else: the after-state records what is there now, for undo).
        """
        settled = []
        for entry in self.journal.pending():
            try:
                fix = lookup.get(entry.fix_id)
                live = fix.read_live(self.ctx, entry.target)
            except Exception as exc:
                self._audit(
                    "reconcile",
                    f"journal:{entry.entry_id}",
                    {"fix_id": entry.fix_id},
                    f"failed: {_describe(exc)}",
                )
                continue
            changed = digest(live) != digest(entry.before)
            note = (
                "interrupted; live state changed: the call took effect"
                if changed
                else "interrupted; live state unchanged: the call did not take effect"
            )
            self.journal.finish(entry.entry_id, jr.RECONCILED, live, note)
            self._audit(
                "reconcile",
                f"journal:{entry.entry_id}",
                {"fix_id": entry.fix_id, "took_effect": changed},
                "ok",
            )
            settled.append(self.journal.get(entry.entry_id) or entry)
        return settled


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

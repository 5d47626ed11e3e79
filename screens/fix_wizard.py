"""The guided fix wizard: choose → plan preview → dry-run → confirm → apply → verify, with undo offered.

It drives :class:`workbench.fixes.engine.FixEngine` and nothing else, so the CLI's rules hold here too: the
engine refuses (and audits) what the role or read-only mode forbids. The wizard asks the engine first and shows
the refusal in red instead of an apply button: under read-only or ``viewer`` nothing can run (read-only still
previews the plan), and ``responder`` cannot run irreversible fixes. Apply is offered only after a dry-run, and an
irreversible plan needs the typed count or resource id, exactly as ``vmwb fix apply`` asks.

Every step that talks to the platform (planning reads live state too) runs in a thread worker with its own cache
writer; per-item progress comes back through ``call_from_thread``. The transcript is plain ``Text``: plans quote
cloud names and tags.

Opened from the findings screen with the selected findings, or as ``:fix [CHECK-ID]`` (every open finding of
that check, or of every check that has a fix).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    ContentSwitcher,
    Input,
    Label,
    OptionList,
    ProgressBar,
    RichLog,
    SelectionList,
    Static,
)
from textual.widgets.option_list import Option

from workbench.fixes.targets import Candidate, candidates
from workbench.screens.base import WorkbenchScreen
from workbench.screens.posture_common import (
    SAFETY_STYLE,
    operator,
    refresh_screens,
    safety_badge,
    write_cache,
)
from workbench.textsafe import safe

STEPS = ("choose", "plan", "dry-run", "confirm", "apply", "verify")
_DRY_STYLE = {
    "would_succeed": "green",
    "would_fail": "bold red",
    "stale": "bold red",
    "plan_only": "yellow",
    "dry_run_ignored": "yellow",
}
_ITEM_STYLE = {"applied": "green", "failed": "bold red", "skipped": "yellow"}


class FixWizardScreen(WorkbenchScreen):
    STYLE = "fix_wizard"
    VIEW_TITLE = "Fix wizard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "plan", "Plan"),
        Binding("d", "dry_run", "Dry-run"),
        Binding("a", "apply", "Apply"),
        Binding("v", "verify", "Verify"),
        Binding("u", "undo", "Undo"),
        Binding("b", "choose", "Back to choice"),
    ]

    def __init__(self, args: str = "", finding_ids: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self.finding_ids = finding_ids
        self.check_id = args.strip().upper() or None
        self.candidates: list[Candidate] = []
        self.step = "choose"
        self.done: set[str] = set()
        self.busy = False
        self.plan: Any = None
        self.dry_results: list[Any] = []
        self.applied: Any = None
        self.verified: list[Any] = []
        self.undone = False

    # -- layout -----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static("", id="fw-steps", markup=False)
        yield Static("", id="fw-refusal", markup=False)
        with ContentSwitcher(initial="fw-choose", id="fw-switcher"):
            with Horizontal(id="fw-choose"):
                yield OptionList(id="fw-fixes")
                with Vertical(id="fw-side"):
                    yield Label("Targets (space toggles)", classes="section", markup=False)
                    yield SelectionList[int](id="fw-targets")
                    yield VerticalScroll(id="fw-inputs")
            yield RichLog(id="fw-log", wrap=True, markup=False, highlight=False)
        with Horizontal(id="fw-confirm"):
            yield Label("", id="fw-confirm-prompt", markup=False)
            yield Input(id="fw-confirm-input")
            yield Button("Confirm apply", id="fw-confirm-ok", variant="warning")
        yield ProgressBar(id="fw-progress", show_eta=False)
        with Horizontal(id="fw-buttons"):
            yield Button("Plan (p)", id="fw-plan", variant="primary")
            yield Button("Dry-run (d)", id="fw-dry-run")
            yield Button("Apply… (a)", id="fw-apply", variant="warning")
            yield Button("Verify (v)", id="fw-verify")
            yield Button("Undo (u)", id="fw-undo", variant="error")
            yield Button("Back (b)", id="fw-choose-again")

    def on_mount(self) -> None:
        self.query_one("#fw-fixes").border_title = Text("Fixes for the chosen findings")
        self.query_one("#fw-log").border_title = Text("Plan and results")
        self.watch(self.app, "read_only", lambda _: self._refresh_state(), init=False)
        self._refresh_state()
        self._log_line(Text("looking up the fixes for these findings…", style="dim"))
        self._load_candidates()

    # -- state ------------------------------------------------------------------------------
    @property
    def candidate(self) -> Candidate | None:
        index = self.query_one("#fw-fixes", OptionList).highlighted
        if index is None or not 0 <= index < len(self.candidates):
            return None
        return self.candidates[index]

    def _engine(self, cache: Any) -> Any:
        from workbench.fixes.engine import FixEngine

        services = self.app.services  # type: ignore[attr-defined]
        return FixEngine(
            cache,
            services.config,
            role=services.role,
            read_only=self.app.read_only,
            user=operator(self.app),
        )  # type: ignore[attr-defined]

    def refusal(self, *, changes: bool = True) -> str | None:
        """Why this operator may not run the chosen fix (the engine's own rule), or None."""
        fix = self._plan_fix() if self.plan is not None else getattr(self.candidate, "fix", None)
        if fix is None:
            return None
        # The rule needs only the role and the mode: no cache connection for a check made on every redraw.
        return self._engine(None).refusal(fix, changes=changes)  # type: ignore[no-any-return]

    def _plan_fix(self) -> Any:
        from workbench.fixes import lookup

        return lookup.get(self.plan.fix_id)

    def _allowed(self) -> dict[str, bool]:
        refused = self.refusal() is not None
        plan_refused = self.refusal(changes=False) is not None
        applied = self.applied is not None
        has_items = bool(self.plan is not None and self.plan.items)
        undoable = (
            applied
            and self._plan_fix().undoable
            and not self.undone
            and any(i.status == "applied" for i in self.applied.items)
        )
        free = not self.busy
        return {
            "plan": free
            and self.step == "choose"
            and self.candidate is not None
            and not plan_refused,
            "dry_run": free and has_items and not applied and not refused,
            "apply": free and has_items and not applied and not refused and "dry-run" in self.done,
            "verify": free and applied,
            "undo": free and undoable and not refused,
            "choose": free and self.step != "choose",
        }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = self._allowed() if self.is_mounted else {}
        return allowed.get(action, True)

    def _refresh_state(self) -> None:
        allowed = self._allowed()
        for name, button_id in (
            ("plan", "fw-plan"),
            ("dry_run", "fw-dry-run"),
            ("apply", "fw-apply"),
            ("verify", "fw-verify"),
            ("undo", "fw-undo"),
            ("choose", "fw-choose-again"),
        ):
            self.query_one(f"#{button_id}", Button).display = allowed[name]
        if self.step != "confirm":
            self.query_one("#fw-confirm").display = False
        self._show_steps()
        banner = self.query_one("#fw-refusal", Static)
        reason = self.refusal()
        if reason:
            plan_reason = self.refusal(changes=False)
            text = Text.assemble(
                (" CANNOT APPLY ", "bold white on red"), " ", (safe(reason), "bold red")
            )
            if not plan_reason:
                text.append("  (the plan can still be previewed)", style="dim")
            banner.update(text)
        banner.display = bool(reason)
        self.refresh_bindings()

    def _show_steps(self) -> None:
        text = Text()
        for n, step in enumerate(STEPS, start=1):
            if n > 1:
                text.append(" › ", style="dim")
            if step == self.step:
                text.append(f" {n} {step} ", style="bold reverse")
            elif step in self.done:
                text.append(f"✓ {step}", style="green")
            else:
                text.append(f"{n} {step}", style="dim")
        self.query_one("#fw-steps", Static).update(text)

    def _go(self, step: str) -> None:
        self.step = step
        self.query_one(ContentSwitcher).current = "fw-choose" if step == "choose" else "fw-log"
        self._refresh_state()

    def _log_line(self, text: Text | str) -> None:
        self.query_one("#fw-log", RichLog).write(
            text if isinstance(text, Text) else Text(safe(text))
        )

    def _error(self, what: str, exc: BaseException) -> None:
        self.busy = False
        self.query_one("#fw-progress").display = False
        self._log_line(Text(f"{what}: {safe(str(exc))}", style="bold red"))
        self.app.notify(f"{what}: {safe(str(exc))}", severity="error", markup=False)
        self._refresh_state()

    # -- step 1: choose ---------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="fix-wizard", exit_on_error=False)
    def _load_candidates(self) -> None:
        try:
            with self.reader() as db:
                found = candidates(db, self.finding_ids, self.check_id)
        except Exception as exc:
            self.app.call_from_thread(self._error, "cannot list the fixes", exc)
            return
        self.app.call_from_thread(self._show_candidates, found)

    def _show_candidates(self, found: list[Candidate]) -> None:
        self.candidates = found
        fixes = self.query_one("#fw-fixes", OptionList)
        fixes.clear_options()
        for i, cand in enumerate(found):
            fix = cand.fix
            prompt = Text.assemble(
                safety_badge(fix.safety),
                " ",
                (safe(fix.id), "bold"),
                "\n",
                (f"{len(cand.targets)} target(s) · ", ""),
                (safe(fix.title), "dim"),
            )
            fixes.add_option(Option(prompt, id=str(i)))
        if not found:
            fixes.add_option(
                Option(Text("no guided fix for these findings", style="dim"), disabled=True)
            )
            self._go("choose")
            return
        fixes.highlighted = 0
        fixes.focus()
        self._show_targets()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "fw-fixes":
            self._show_targets()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "fw-fixes":
            self.action_plan()

    def _show_targets(self) -> None:
        cand = self.candidate
        targets = self.query_one("#fw-targets", SelectionList)
        targets.clear_options()
        inputs = self.query_one("#fw-inputs", VerticalScroll)
        inputs.remove_children()
        if cand is None:
            return
        for i, t in enumerate(cand.targets):
            targets.add_option((Text(safe(t.label, 90)), i, True))
        targets.highlighted = 0  # so the first Down moves to the second target, not onto the first
        fields: list[Any] = []
        for spec in cand.fix.inputs:
            fields.append(Label(Text(f"{spec.name}: {spec.description}"), markup=False))
            fields.append(
                Input(
                    placeholder="default"
                    if spec.default in (None, (), [])
                    else f"default {spec.default}",
                    id=f"fw-input-{spec.name}",
                )
            )
        if fields:
            inputs.mount(
                Label(
                    "Inputs (empty: the config's or the fix's default)",
                    classes="section",
                    markup=False,
                ),
                *fields,
            )
        self._refresh_state()

    def action_choose(self) -> None:
        self.plan, self.applied, self.dry_results, self.verified = None, None, [], []
        self.undone = False
        self.done = set()
        self.query_one("#fw-log", RichLog).clear()
        self._go("choose")

    # -- step 2: plan -----------------------------------------------------------------------
    def action_plan(self) -> None:
        if not self._allowed()["plan"]:
            reason = self.refusal(changes=False)
            if reason:
                self.app.notify(safe(reason), severity="error", markup=False)
            return
        cand = self.candidate
        assert cand is not None
        chosen = set(self.query_one("#fw-targets", SelectionList).selected)
        targets = [t for i, t in enumerate(cand.targets) if i in chosen]
        if not targets:
            self.app.notify("no target chosen", severity="warning", markup=False)
            return
        inputs = {}
        for spec in cand.fix.inputs:
            value = self.query_one(f"#fw-input-{spec.name}", Input).value.strip()
            if value:
                inputs[spec.name] = value
        self.busy = True
        self.query_one("#fw-log", RichLog).clear()
        self._go("plan")
        self._log_line(
            Text(
                f"planning {cand.fix.id} for {len(targets)} target(s): reading live state…",
                style="dim",
            )
        )
        self._make_plan(cand.fix.id, targets, inputs)

    @work(thread=True, exclusive=True, group="fix-wizard", exit_on_error=False)
    def _make_plan(self, fix_id: str, targets: list[Any], inputs: dict[str, Any]) -> None:
        from workbench.fixes.plan import preview_lines

        try:
            with write_cache(self.app) as cache:
                plan = self._engine(cache).plan(fix_id, targets, inputs)
        except Exception as exc:
            self.app.call_from_thread(self._error, "cannot plan", exc)
            return
        self.app.call_from_thread(self._planned, plan, preview_lines(plan))

    def _planned(self, plan: Any, lines: list[str]) -> None:
        self.busy = False
        self.plan = plan
        self.done.add("choose")
        self.done.add("plan")
        log = self.query_one("#fw-log", RichLog)
        log.clear()
        for line in lines:
            log.write(preview_line(line, plan.safety))
        if not plan.items:
            self._log_line(
                Text("nothing to change: every target is already fixed or gone", style="green")
            )
        elif self.refusal() is None:
            self._log_line(Text("\nnext: d runs the dry-run (nothing changes)", style="dim"))
        self._go("plan")

    # -- step 3: dry-run --------------------------------------------------------------------
    def action_dry_run(self) -> None:
        if not self._allowed()["dry_run"]:
            return
        self.busy = True
        self._go("dry-run")
        self._log_line(Text("\ndry-run: asking the platform, changing nothing…", style="dim"))
        self._dry_run(self.plan)

    @work(thread=True, exclusive=True, group="fix-wizard", exit_on_error=False)
    def _dry_run(self, plan: Any) -> None:
        try:
            with write_cache(self.app) as cache:
                results = self._engine(cache).dry_run(plan)
        except Exception as exc:
            self.app.call_from_thread(self._error, "dry-run refused", exc)
            return
        self.app.call_from_thread(self._dry_ran, results)

    def _dry_ran(self, results: list[Any]) -> None:
        self.busy = False
        self.dry_results = results
        self.done.add("dry-run")
        for r in results:
            self._log_line(
                Text.assemble(
                    (f"  #{r.index + 1} {r.status:<16}", _DRY_STYLE.get(r.status, "")),
                    safe(r.call, 100),
                    (f"  {safe(r.detail)}" if r.detail else "", "dim"),
                )
            )
        bad = [r for r in results if r.status in ("would_fail", "stale")]
        if bad:
            self._log_line(
                Text(
                    f"{len(bad)} call(s) would fail: read why above before applying",
                    style="bold red",
                )
            )
        self._log_line(Text("next: a applies (you confirm first)", style="dim"))
        self._go("dry-run")

    # -- step 4: confirm --------------------------------------------------------------------
    def action_apply(self) -> None:
        if not self._allowed()["apply"]:
            return
        plan = self.plan
        self._go("confirm")
        row = self.query_one("#fw-confirm")
        row.display = True
        prompt = self.query_one("#fw-confirm-prompt", Label)
        box = self.query_one("#fw-confirm-input", Input)
        button = self.query_one("#fw-confirm-ok", Button)
        n = len(plan.acting_targets)
        if plan.safety == "irreversible":
            prompt.update(
                Text(f"IRREVERSIBLE: {safe(plan.confirmation_prompt())} ", style="bold red")
            )
            box.display, box.value = True, ""
            box.focus()
        else:
            prompt.update(
                Text(
                    f"Apply {len(plan.items)} call(s) to {n} resource(s) ({plan.safety})? ",
                    style=SAFETY_STYLE.get(plan.safety, "bold"),
                )
            )
            box.display = False
            button.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fw-confirm-input":
            self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "fw-plan": self.action_plan,
            "fw-dry-run": self.action_dry_run,
            "fw-apply": self.action_apply,
            "fw-verify": self.action_verify,
            "fw-undo": self.action_undo,
            "fw-choose-again": self.action_choose,
            "fw-confirm-ok": self._confirm,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            action()

    def _confirm(self) -> None:
        if self.step != "confirm" or self.busy:
            return
        plan = self.plan
        typed = None
        if plan.safety == "irreversible":
            typed = self.query_one("#fw-confirm-input", Input).value
            if not plan.accepts_confirmation(typed):
                self.app.notify(
                    f"not confirmed: {safe(plan.confirmation_prompt())}",
                    severity="error",
                    markup=False,
                )
                return
        self.query_one("#fw-confirm").display = False
        self.done.add("confirm")
        self.busy = True
        bar = self.query_one("#fw-progress", ProgressBar)
        bar.display = True
        bar.update(total=len(plan.items), progress=0)
        self._go("apply")
        self._log_line(Text(f"\napplying {len(plan.items)} call(s)…", style="bold"))
        self._apply(plan, typed)

    # -- step 5: apply, then verify ---------------------------------------------------------
    @work(thread=True, exclusive=True, group="fix-wizard", exit_on_error=False)
    def _apply(self, plan: Any, confirm: str | None) -> None:
        def on_item(result: Any, done: int, total: int) -> None:
            self.app.call_from_thread(self._item_done, result, done, total)

        try:
            with write_cache(self.app) as cache:
                engine = self._engine(cache)
                result = engine.apply(plan, confirm=confirm, on_item=on_item)
                verified = engine.verify(plan)  # audited on its own: the step the operator sees
        except Exception as exc:
            self.app.call_from_thread(self._error, "apply refused", exc)
            return
        self.app.call_from_thread(self._applied, result, verified)

    def _item_done(self, result: Any, done: int, total: int) -> None:
        self.query_one("#fw-progress", ProgressBar).update(total=total, progress=done)
        journal = f"  journal #{result.journal_id}" if result.journal_id else ""
        self._log_line(
            Text.assemble(
                (f"  #{result.index + 1} {result.status:<8}", _ITEM_STYLE.get(result.status, "")),
                safe(result.call, 100),
                (f"{journal}  {safe(result.detail)}", "dim"),
            )
        )

    def _applied(self, result: Any, verified: list[Any]) -> None:
        self.busy = False
        self.applied = result
        self.done.update({"apply"})
        self._log_line(
            Text(
                f"apply: {result.status}",
                style="bold green" if result.status == "ok" else "bold red",
            )
        )
        self._show_verified(verified)
        refresh_screens(self.app)

    def _show_verified(self, verified: list[Any]) -> None:
        self.verified = verified
        self.done.add("verify")
        self._log_line(Text("\nverify (live state):", style="bold"))
        for v in verified:
            mark = ("✓ fixed   ", "bold green") if v.fixed else ("✗ not fixed", "bold red")
            self._log_line(
                Text.assemble(mark, " ", safe(v.resource_id, 60), (f"  {safe(v.detail)}", "dim"))
            )
        if self.plan is not None and self._plan_fix().undoable and not self.undone:
            self._log_line(
                Text(
                    "u undoes this fix from the journal's before-state; the cache shows the new "
                    "state after the next sync",
                    style="dim",
                )
            )
        self._go("verify")

    def action_verify(self) -> None:
        if not self._allowed()["verify"]:
            return
        self.busy = True
        self._refresh_state()
        self._verify(self.plan)

    @work(thread=True, exclusive=True, group="fix-wizard", exit_on_error=False)
    def _verify(self, plan: Any) -> None:
        try:
            with write_cache(self.app) as cache:
                verified = self._engine(cache).verify(plan)
        except Exception as exc:
            self.app.call_from_thread(self._error, "verify failed", exc)
            return
        self.app.call_from_thread(self._verified_again, verified)

    def _verified_again(self, verified: list[Any]) -> None:
        self.busy = False
        self._show_verified(verified)

    # -- undo -------------------------------------------------------------------------------
    def action_undo(self) -> None:
        if not self._allowed()["undo"]:
            return
        from workbench.fixes import journal as jr
        from workbench.fixes.undo_preview import preview_undo
        from workbench.screens.undo_confirm import UndoConfirm

        plan_id = self.plan.plan_id
        with self.reader() as db:
            entries = [
                e.entry_id
                for e in jr.Journal(db).for_plan(plan_id)
                if e.took_effect and e.status != jr.UNDONE
            ]
            previews = preview_undo(db, list(reversed(entries)))  # newest first, as undo_plan runs

        def answered(yes: bool | None) -> None:
            if not yes:
                self._log_line(Text("undo: cancelled", style="dim"))
                return
            self.busy = True
            self._refresh_state()
            self._log_line(Text("\nundo: restoring the before-state…", style="bold"))
            self._undo(plan_id)

        self.app.push_screen(UndoConfirm(previews), answered)

    @work(thread=True, exclusive=True, group="fix-wizard", exit_on_error=False)
    def _undo(self, plan_id: str) -> None:
        try:
            with write_cache(self.app) as cache:
                results = self._engine(cache).undo_plan(plan_id)
        except Exception as exc:
            self.app.call_from_thread(self._error, "undo refused", exc)
            return
        self.app.call_from_thread(self._undone, results)

    def _undone(self, results: list[Any]) -> None:
        self.busy = False
        self.undone = True
        for result in results:
            for item in result.items:
                self._item_done(item, 0, 0)
            for v in result.verified:
                style = "bold green" if v.fixed else "bold red"
                self._log_line(
                    Text.assemble(
                        ("  restored " if v.fixed else "  differs  ", style),
                        safe(v.resource_id, 60),
                        (f"  {safe(v.detail)}", "dim"),
                    )
                )
        ok = all(r.status == "ok" for r in results)
        self._log_line(
            Text(
                "undo: done" if ok else "undo: incomplete", style="bold green" if ok else "bold red"
            )
        )
        self.query_one("#fw-progress").display = False
        refresh_screens(self.app)
        self._refresh_state()


def preview_line(line: str, safety: str) -> Text:
    """One line of :func:`workbench.fixes.plan.preview_lines`, coloured by what it says (never parsed)."""
    text = safe(line)
    stripped = text.lstrip()
    if text.startswith("Class:"):
        rest = text[len("Class: ") + len(safety) :]
        return Text.assemble("Class: ", safety_badge(safety), rest)
    if text.startswith("IRREVERSIBLE"):
        return Text(text, style="bold red")
    if stripped.startswith("Blast radius"):
        return Text(text, style="yellow")
    if stripped.startswith("#"):
        return Text(text, style="bold")
    if line.startswith("     "):
        return Text(text, style="cyan")
    if text.startswith(("Plan ", "Target ")):
        return Text(text, style="bold")
    return Text(text)

"""Checks: the catalogue with its metadata, parameters (config overrides shown) and framework mappings.

The table lists every check with its open findings; the pane beside it shows the highlighted check in full:
rationale, remediation, parameters (the default, and the ``[checks.<ID>]`` override when the config sets one),
CIS / NIST / STIG / ATT&CK mappings, equivalent checks in other tools, and its guided fix with its safety class.

``r`` runs every check, ``a`` the highlighted check's area, ``w`` one framework (picked from a list), ``x`` or
Enter only the highlighted check. A scan runs in a thread worker with its own cache writer (a progress bar shows
it running); when it ends every open screen re-reads the cache and a note says what changed.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, ProgressBar, Static

from workbench.cache import posture
from workbench.screens.base import WorkbenchScreen
from workbench.screens.picker import PickerScreen
from workbench.screens.posture_common import (
    FRAMEWORK_SHORT,
    SEVERITY_STYLE,
    now_iso,
    refresh_screens,
    safety_badge,
    scan_config,
    severity_cell,
    write_cache,
)
from workbench.textsafe import safe


def check_detail(check: Any, overrides: dict[str, Any], open_count: int) -> Group:
    """Everything about one check, as Rich text (metadata is ours, overrides come from the config: both safe())."""
    from workbench.scan.loader import AREAS

    head = Text.assemble(
        (f"{check.id} ", "bold"),
        (safe(check.title), "bold"),
        "\n",
        (f"{check.severity}", SEVERITY_STYLE.get(check.severity, "")),
        (
            f" · {AREAS.get(check.area, check.area)} · {', '.join(check.providers)}"
            + f" · {check.resource_kind} · {open_count} open",
            "dim",
        ),
    )
    parts: list[Any] = [head, Text("")]
    parts += [Text("Rationale", style="bold underline"), Text(safe(check.rationale)), Text("")]
    parts += [Text("Remediation", style="bold underline"), Text(safe(check.remediation)), Text("")]
    if check.params:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for name, param in check.params.items():
            value = Text(safe(param.default), style="cyan")
            if name in overrides:
                value = Text.assemble(
                    (safe(overrides[name]), "bold yellow"),
                    (f"  (config; default {safe(param.default)})", "dim"),
                )
            grid.add_row(Text(name), Group(value, Text(safe(param.description), style="dim")))
        parts += [Text("Parameters", style="bold underline"), grid, Text("")]
    if check.frameworks:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, ref in check.frameworks.items():
            title = FRAMEWORK_SHORT.get(key, key)
            ids = Text(", ".join(ref.ids))
            if ref.version:
                ids.append(f"  ({safe(ref.version)})", style="dim")
            if ref.proposed:
                ids.append("  (proposed)", style="dim italic")
            grid.add_row(Text(title), ids)
        parts += [Text("Mappings", style="bold underline"), grid, Text("")]
    if check.equivalents:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for tool, ids in check.equivalents.items():
            grid.add_row(Text(tool), Text(", ".join(ids)))
        parts += [Text("Equivalents", style="bold underline"), grid, Text("")]
    parts += [Text("Guided fix", style="bold underline"), fix_lines(check.id)]
    return Group(*parts)


def fix_lines(check_id: str) -> Text:
    from workbench.fixes import lookup

    try:
        fixes = lookup.for_check(check_id)
    except Exception as exc:  # a fix module that fails to import must not hide the check
        return Text(f"fix registry error: {safe(str(exc))}", style="red")
    if not fixes:
        return Text("none: remediate by hand", style="dim")
    text = Text()
    for fix in fixes:
        text.append_text(safety_badge(fix.safety))
        text.append(f" {fix.id}  ", style="bold")
        text.append(f"{safe(fix.title)}\n", style="dim")
    return text


class ChecksScreen(WorkbenchScreen):
    STYLE = "checks"
    VIEW_TITLE = "Checks"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run('all')", "Run all"),
        Binding("a", "run('area')", "Run area"),
        Binding("w", "run_framework", "Run framework"),
        Binding("x", "run('check')", "Run check"),
        Binding("o", "open_findings", "Findings"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self.running = False
        self.started = 0.0

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="chk-panes"):
            yield DataTable(id="chk-table", cursor_type="row", zebra_stripes=False)
            with VerticalScroll(id="chk-detail-pane"):
                yield Static("", id="chk-detail", markup=False)
        yield ProgressBar(id="chk-progress", show_eta=False)
        yield Static("", id="chk-status", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#chk-table", DataTable)
        table.add_column(Text("ID"), key="id")  # auto width: a check id is never cut
        table.add_column(Text("Sev"), key="sev", width=4)
        table.add_column(Text("Open"), key="open", width=4)
        table.add_column(Text("Fix"), key="fix", width=3)
        table.add_column(Text("Title"), key="title", width=44)
        table.border_title = Text("Catalogue")
        self.query_one("#chk-progress").display = False
        self.refresh_data()
        if self.args.strip():
            self._move_to(self.args.strip().upper())
        table.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < 100, "-narrow")

    def _open_counts(self) -> dict[str, int]:
        with self.reader() as db:
            return {c: n.get("open", 0) for c, n in posture.check_counts(db, ("open",)).items()}

    def refresh_data(self) -> None:
        from workbench.scan.loader import load_catalogue

        table = self.query_one("#chk-table", DataTable)
        current = self._current_id()
        self.counts = self._open_counts()
        fixed = _checks_with_fix()
        table.clear()
        for check in load_catalogue():
            n = self.counts.get(check.id, 0)
            table.add_row(
                Text(check.id, style="bold"),
                severity_cell(check.severity),
                Text(str(n) if n else "·", style="bold red" if n else "dim", justify="right"),
                Text("✓" if check.id in fixed else "", style="green"),
                Text(safe(check.title)),
                key=check.id,
            )
        table.border_subtitle = Text(
            f"{table.row_count} checks · {sum(self.counts.values())} open findings"
        )
        if current:
            self._move_to(current)
        self._show_detail()

    def _current_id(self) -> str | None:
        table = self.query_one("#chk-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def _move_to(self, check_id: str) -> None:
        table = self.query_one("#chk-table", DataTable)
        try:
            table.move_cursor(row=table.get_row_index(check_id))
        except Exception:
            self.app.notify(f"no check {safe(check_id)!r}", severity="warning", markup=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        from workbench.scan.loader import config_overrides, get_check

        check_id = self._current_id()
        if check_id is None:
            return
        check = get_check(check_id)
        config = self.app.services.config  # type: ignore[attr-defined]
        overrides = config_overrides(config).get(check_id, {})
        self.query_one("#chk-detail", Static).update(
            check_detail(check, overrides, getattr(self, "counts", {}).get(check_id, 0))
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_run("check")

    def action_open_findings(self) -> None:
        check_id = self._current_id()
        if check_id:
            self.app.open_view("findings", f"check={check_id}")  # type: ignore[attr-defined]

    # -- running ----------------------------------------------------------------------------
    def action_run(self, scope: str) -> None:
        from workbench.scan.loader import AREAS, get_check

        check_id = self._current_id()
        if scope == "all":
            self._start({}, "every check")
        elif check_id and scope == "area":
            area = get_check(check_id).area
            self._start({"area": area}, f"the {AREAS.get(area, area)} checks")
        elif check_id:
            self._start({"check_ids": [check_id]}, check_id)

    def action_run_framework(self) -> None:
        from workbench.scan.loader import FRAMEWORKS

        options = [(title, key) for key, (title, _) in FRAMEWORKS.items()]

        def chosen(key: str | None) -> None:
            if key:
                self._start({"framework": key}, f"the {FRAMEWORKS[key][0]} checks")

        self.app.push_screen(PickerScreen("Run the checks mapped to", options), chosen)

    def _start(self, selection: dict[str, Any], what: str) -> None:
        if self.running:
            self.app.notify("a scan is already running", severity="warning", markup=False)
            return
        self.running = True
        self.started = time.monotonic()
        bar = self.query_one("#chk-progress", ProgressBar)
        bar.display = True
        bar.update(total=None)  # the engine reports no per-check progress: an honest "busy" bar
        self._status(Text(f"running {what}…", style="bold"))
        self._scan(selection)

    @work(thread=True, exclusive=True, group="checks-scan", exit_on_error=False)
    def _scan(self, selection: dict[str, Any]) -> None:
        from workbench.scan.engine import run_scan

        try:
            with write_cache(self.app) as cache:
                result = run_scan(
                    cache,
                    now=now_iso(self.app),
                    config=scan_config(self.app),
                    **selection,
                )
        except Exception as exc:
            self.app.call_from_thread(self._done, None, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._done, result, None)

    def _done(self, result: Any, error: str | None) -> None:
        self.running = False
        self.query_one("#chk-progress").display = False
        if result is None:
            self._status(Text(f"scan failed: {safe(error)}", style="bold red"))
            return
        c = result.counts
        text = Text.assemble(
            (f"scan {result.scan_id}: ", "bold"),
            f"{len(result.checks)} checks · ",
            (f"{c.get('open', 0)} open", "bold"),
            f" · {c.get('new', 0)} new · {c.get('resolved', 0)} resolved"
            f" · {c.get('muted', 0)} muted",
            (f" · {len(result.errors)} errors" if result.errors else "", "red"),
            (f"  ({result.seconds:.1f}s)", "dim"),
        )
        for check_id, message in sorted(result.errors.items())[:3]:
            text.append(f"\n{safe(check_id)}: {safe(message)}", style="red")
        self._status(text)
        refresh_screens(self.app)

    def _status(self, text: Text) -> None:
        self.query_one("#chk-status", Static).update(text)

    def action_reload(self) -> None:
        self.refresh_data()


def _checks_with_fix() -> set[str]:
    """Checks that have a guided fix (their metadata names one; the loader validated it)."""
    from workbench.scan.loader import load_catalogue

    return {c.id for c in load_catalogue() if c.fixes}

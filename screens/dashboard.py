"""Dashboard: the estate's posture at a glance, and where the app opens.

Panels: open findings by severity and by area, the brief's patch KPIs and the snapshot-risk breakdown as bars,
compliance per framework, sync status per scope (stale and failed ones first, with their error), and what the
last scan changed. Everything is computed in a thread worker with its own read-only connection (the KPIs scan
whole tables), then painted at once; the panels are plain Rich text, so they read the same at 80×24 and in a
snapshot. Keys jump to the screen behind each panel.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.widgets import Static

from workbench.cache.posture import SEVERITIES
from workbench.scan import posture
from workbench.scan.posture import Posture
from workbench.screens.base import WorkbenchScreen
from workbench.screens.posture_common import (
    FRAMEWORK_SHORT,
    SEVERITY_STYLE,
    bar,
    now_iso,
    percent,
    scan_params,
)
from workbench.textsafe import safe

NARROW = 100  # below this many columns the panels stack in one column
BAR = 16
DIFF_ROWS = 4  # rows per bucket in the "since the previous scan" panel; the diff loads no more
_STATUS_STYLE = {"ok": "green", "stale": "yellow", "failed": "bold red"}
_PANELS = (
    ("dash-severity", "Open findings by severity  (f)"),
    ("dash-area", "Open findings by area"),
    ("dash-kpi", "Patch KPIs"),
    ("dash-snapshots", "Snapshot risk"),
    ("dash-sync", "Sync status per scope  (:sync)"),
    ("dash-diff", "Since the previous scan  (d)"),
    ("dash-compliance", "Compliance by framework  (c)"),
)


# -- rendering (pure: Posture -> Rich renderables) -----------------------------------------------
def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    return grid


def severity_panel(p: Posture) -> Table | Text:
    counts = {s: p.severity.get(s, {}) for s in SEVERITIES}
    top = max((c.get("open", 0) for c in counts.values()), default=0)
    if not any(c for c in counts.values()):
        return Text("no findings: run the checks (c, then r)", style="dim")
    grid = _grid()
    grid.add_column(no_wrap=True, style="dim")
    for severity, c in counts.items():
        if severity == "informational" and not c:
            continue
        style = SEVERITY_STYLE[severity].replace(" on red", "").replace("white", "red")
        muted = c.get("muted", 0)
        grid.add_row(
            Text(f"{severity:<8}", style=style),
            bar(c.get("open", 0), top, BAR, style),
            Text(str(c.get("open", 0)), style="bold"),
            f"+{muted} muted" if muted else "",
        )
    return grid


def area_panel(p: Posture) -> Table | Text:
    if not p.areas:
        return Text("nothing open", style="dim")
    top = p.areas[0][1]
    grid = _grid()
    for area, n in p.areas:
        grid.add_row(Text(f"{safe(area, 22):<22}"), bar(n, top, BAR - 4, "magenta"), str(n))
    return grid


def _kpi_row(grid: Table, label: str, k: dict[str, Any] | None) -> None:
    if not k:
        grid.add_row(label, Text("·" * BAR, style="dim"), Text("n/a", style="dim"), "")
        return
    value = k.get("value")
    style = (
        "green"
        if value is not None and value >= 90
        else "yellow"
        if value and value >= 60
        else "red"
    )
    grid.add_row(
        label,
        bar(value or 0, 100, BAR, style),
        Text(percent(value), style="bold"),
        Text(f"{k.get('count', 0)}/{k.get('total', 0)}", style="dim"),
    )


def kpi_panel(p: Posture) -> Group | Text:
    if p.kpis is None:
        return Text("KPIs unavailable", style="dim")
    patch = p.kpis["patch"]
    grid = _grid()
    grid.add_column(no_wrap=True)
    _kpi_row(grid, "patch compliance", patch.get("compliance"))
    _kpi_row(grid, "patched ≤30 days", patch.get("patched_within_30d"))
    _kpi_row(grid, "critical fixed ≤7d", patch.get("critical_remediated_within_7d"))
    _kpi_row(grid, "patch success rate", patch.get("auto_deploy_success"))
    note = Text(
        f"{patch.get('reporting', 0)} of {patch.get('fleet', 0)} VMs report patch state",
        style="dim",
    )
    return Group(grid, note)


def snapshot_panel(p: Posture) -> Group | Text:
    if p.kpis is None:
        return Text("unavailable", style="dim")
    snaps = p.kpis["snapshots"]
    total = int(snaps.get("total", 0))
    grid = _grid()
    grid.add_column(no_wrap=True, style="dim")
    for key, label in (
        ("public", "public"),
        ("shared_outside_allowlist", "shared outside"),
        ("unencrypted", "unencrypted"),
        ("past_retention", "past retention"),
    ):
        k = snaps.get(key) or {}
        count = int(k.get("count", 0))
        style = "red" if key == "public" and count else "yellow" if count else "green"
        grid.add_row(
            label,
            bar(count, total, BAR, style),
            Text(str(count), style="bold"),
            percent(k.get("value")),
        )
    return Group(grid, Text(f"of {total} snapshots", style="dim"))


def sync_panel(p: Posture, limit: int = 6) -> Table | Text:
    if not p.scopes:
        return Text("never synced: :sync, then n", style="dim")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="ellipsis", no_wrap=True)
    shown = [s for s in p.scopes if s.status != "ok"][:limit]
    for s in shown:
        grid.add_row(
            Text(f"{s.status:<6}", style=_STATUS_STYLE[s.status]),
            Text(f"{safe(s.provider)} {safe(s.scope, 24)}"),
            Text(safe(s.error), style="red"),
        )
    ok = [s for s in p.scopes if s.status == "ok"]
    if ok:
        oldest = min((s.success for s in ok if s.success), default="")
        grid.add_row(
            Text("fresh ", style="green"),
            Text(f"{len(ok)} scope(s) ok"),
            Text(f"oldest sync {safe(oldest)}", style="dim"),
        )
    hidden = len([s for s in p.scopes if s.status != "ok"]) - len(shown)
    if hidden > 0:
        grid.add_row("", Text(f"… {hidden} more not ok", style="dim"), "")
    return grid


def diff_panel(p: Posture, limit: int = DIFF_ROWS) -> Table | Text:
    if p.diff is None:
        return Text("no scan yet: run the checks (c, then r)", style="dim")
    d = p.diff
    n = d["counts"]
    head = Text.assemble(
        (f"+{n['new']} new", "bold red" if n["new"] else "dim"),
        "   ",
        (f"-{n['resolved']} resolved", "bold green" if n["resolved"] else "dim"),
        "   ",
        (f"~{n['changed']} changed", "bold yellow" if n["changed"] else "dim"),
        "   ",
        (f"scan {d['from_scan']} → {d['to_scan']}", "dim"),
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="ellipsis", no_wrap=True)
    for sign, name, style in (
        ("+", "new", "red"),
        ("-", "resolved", "green"),
        ("~", "changed", "yellow"),
    ):
        for row in d[name][:limit]:
            grid.add_row(
                Text(sign, style=style),
                Text(safe(row["check_id"]), style="bold"),
                Text(f"{safe(row['resource_id'], 26)} {safe(row.get('resource_name') or '')}"),
            )
    body = Table.grid()
    body.add_row(head)
    if p.history and len(p.history) > 1:
        body.add_row(Text.assemble(("open per scan ", "dim"), sparkline(p.history[-24:])))
    body.add_row(grid)
    return body


def sparkline(values: list[int]) -> Text:
    ticks = "▁▂▃▄▅▆▇█"
    low, high = min(values), max(values)
    span = (high - low) or 1
    return Text("".join(ticks[round((v - low) * 7 / span)] for v in values), style="cyan")


def compliance_panel(p: Posture) -> Table | Text:
    if not p.compliance:
        return Text("no framework mappings", style="dim")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True, style="dim")
    for fw in p.compliance:
        total = fw["covered"] or 1
        width = BAR
        passing = round(width * fw["passing"] / total)
        failing = round(width * fw["failing"] / total)
        stack = Text("█" * passing, style="green")
        stack.append("█" * failing, style="red")
        stack.append("░" * max(width - passing - failing, 0), style="dim")
        title = FRAMEWORK_SHORT.get(fw["framework"], fw["framework"])
        grid.add_row(Text(f"{title:<11}"), stack, f"{fw['passing']} pass {fw['failing']} fail")
    return grid


class DashboardScreen(WorkbenchScreen):
    STYLE = "dashboard"
    VIEW_TITLE = "Dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "open('findings')", "Findings"),
        Binding("c", "open('checks')", "Checks"),
        Binding("d", "open('scans')", "Scan diff"),
        Binding("j", "open('journal')", "Journal"),
        Binding("v", "open('vm')", "Inventory"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dash-body"):
            yield Static("", id="dash-note", markup=False)
            with Grid(id="dash-grid"):
                for panel_id, _ in _PANELS:
                    yield Static(
                        Text("loading…", style="dim"),
                        id=panel_id,
                        classes="dash-panel",
                        markup=False,
                    )

    def on_mount(self) -> None:
        for panel_id, title in _PANELS:
            self.query_one(f"#{panel_id}").border_title = Text(title)
        self.query_one("#dash-note").display = False
        self.refresh_data()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    def refresh_data(self) -> None:
        self._load()

    def action_reload(self) -> None:
        self.refresh_data()

    def action_open(self, view: str) -> None:
        self.app.open_view(view)  # type: ignore[attr-defined]

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def _load(self) -> None:
        try:
            with self.reader() as db:  # a reader of this worker thread's own
                read = posture.read_posture(
                    db, now=now_iso(self.app), params=scan_params(self.app), diff_rows=DIFF_ROWS
                )
        except Exception as exc:  # an unreadable cache: say so instead of dying in a worker
            read = Posture(errors=[f"{type(exc).__name__}: {exc}"])
        self.app.call_from_thread(self._show, read)

    def _show(self, p: Posture) -> None:
        panels = {
            "dash-severity": severity_panel(p),
            "dash-area": area_panel(p),
            "dash-kpi": kpi_panel(p),
            "dash-snapshots": snapshot_panel(p),
            "dash-sync": sync_panel(p),
            "dash-diff": diff_panel(p),
            "dash-compliance": compliance_panel(p),
        }
        for panel_id, renderable in panels.items():
            self.query_one(f"#{panel_id}", Static).update(renderable)
        note = self.query_one("#dash-note", Static)
        note.display = bool(p.errors)
        note.update(Text("; ".join(safe(e) for e in p.errors), style="red"))
        sev = self.query_one("#dash-severity")
        sev.border_subtitle = Text(p.last_scan) if p.last_scan else ""

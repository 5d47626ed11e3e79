"""Scan history and diff: every scan with its counts, and what changed between two of them.

The top table lists scans, newest first. The highlighted scan is compared with the one before it; ``space`` pins
another scan as the base instead (``space`` on it again unpins). Below, three tabs list the findings that are new,
resolved and changed between the two (from ``workbench.scan.diff.diff_scans``, which reads the finding events);
Enter on one opens its resource. The newest 500 scans are listed: older history stays in the cache.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from workbench.cache import posture
from workbench.errors import WorkbenchError
from workbench.screens.base import WorkbenchScreen
from workbench.screens.posture_common import severity_cell
from workbench.textsafe import safe

HISTORY_LIMIT = 500
_BUCKETS = (
    ("new", "New", "red"),
    ("resolved", "Resolved", "green"),
    ("changed", "Changed", "yellow"),
)


class ScansScreen(WorkbenchScreen):
    STYLE = "scans"
    VIEW_TITLE = "Scans and diff"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pin_base", "Pin base"),
        Binding("1", "tab('new')", "New"),
        Binding("2", "tab('resolved')", "Resolved"),
        Binding("3", "tab('changed')", "Changed"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self.base: int | None = None  # a pinned base scan, else "the one before"
        self.uids: dict[str, list[str]] = {}
        self.sources: dict[int, str] = {}  # scan id -> its source

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="scn-table", cursor_type="row")
        yield Static("", id="scn-pair", markup=False)
        with TabbedContent(id="scn-tabs"):
            for name, title, _ in _BUCKETS:
                with TabPane(title, id=name):
                    yield DataTable(id=f"scn-{name}", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one("#scn-table", DataTable)
        table.border_title = Text("Scans (space pins the base)")
        for key, label, width in (
            ("id", "Scan", 5),
            ("started", "Started", 20),
            ("checks", "Checks", 6),
            ("open", "Open", 5),
            ("new", "New", 5),
            ("resolved", "Resolved", 8),
            ("muted", "Muted", 5),
            ("errors", "Errors", 6),
            ("scope", "Selection", 30),
        ):
            table.add_column(Text(label), key=key, width=width)
        for name, _, _ in _BUCKETS:
            diff_table = self.query_one(f"#scn-{name}", DataTable)
            for label, width in (
                ("Sev", 4),
                ("Check", 7),
                ("Change", 9),
                ("Resource", 24),
                ("Name", 18),
                ("Account", 12),
                ("Reason", 40),
            ):
                diff_table.add_column(Text(label), width=width)
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        table = self.query_one("#scn-table", DataTable)
        table.clear()
        with self.reader() as db:
            rows = posture.recent_scans(db, HISTORY_LIMIT, source=None)
        # An import is diffed against the scans of its own source, never against vmwb's.
        self.sources = {scan.scan_id: scan.source for scan in rows}
        for scan in rows:
            scan_id, started, c, sel = scan.scan_id, scan.started_at, scan.counts, scan.selection
            # An import (Prowler, SARIF, Custodian) is a scan of its own source: say whose and which file.
            listed = ("checks", "rules", "accounts")
            scope = ", ".join(f"{k}={v}" for k, v in sel.items() if k not in listed and v) or "all"
            table.add_row(
                Text(str(scan_id), style="bold"),
                Text(safe(started)),
                Text(str(len(sel.get("checks") or sel.get("rules") or [])), justify="right"),
                *(
                    Text(str(c.get(k, 0)), justify="right", style=s if c.get(k) else "dim")
                    for k, s in (
                        ("open", "bold"),
                        ("new", "red"),
                        ("resolved", "green"),
                        ("muted", "yellow"),
                        ("errors", "red"),
                    )
                ),
                Text(safe(scope)),
                key=str(scan_id),
            )
        table.border_subtitle = Text(f"{len(rows)} scan(s)")
        if not rows:
            self.query_one("#scn-pair", Static).update(
                Text("no scan yet: :checks, then r runs every check", style="dim")
            )
            return
        self._show_diff()

    def _current(self) -> int | None:
        table = self.query_one("#scn-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "scn-table":
            self._show_diff()

    def action_pin_base(self) -> None:
        current = self._current()
        self.base = None if current == self.base else current
        self._show_diff()

    def _show_diff(self) -> None:
        from workbench.scan.diff import diff_scans

        to_scan = self._current()
        if to_scan is None:
            return
        source = self.sources.get(to_scan, "vmwb")
        base = self.base if self.base is not None and self.base < to_scan else None
        if base is not None and self.sources.get(base) != source:
            base = None  # a pinned base of another source says nothing of this scan
        pair = self.query_one("#scn-pair", Static)
        try:
            with self.reader() as db:
                d = diff_scans(db, base, to_scan, source=source)
        except WorkbenchError as exc:
            pair.update(Text(safe(str(exc)), style="yellow"))
            return
        pinned = " (pinned base)" if base is not None else ""
        pair.update(
            Text.assemble(
                (f"scan {d['from_scan']}{pinned} → scan {d['to_scan']}:  ", "bold"),
                *((f"{len(d[n])} {n}   ", s) for n, _, s in _BUCKETS),
            )
        )
        tabs = self.query_one(TabbedContent)
        for name, title, _ in _BUCKETS:
            rows = d[name]
            tabs.get_tab(name).label = Text(f"{title} ({len(rows)})")  # type: ignore[assignment]
            table = self.query_one(f"#scn-{name}", DataTable)
            table.clear()
            self.uids[name] = []
            for r in rows:
                table.add_row(
                    severity_cell(r["severity"]),
                    Text(safe(r["check_id"]), style="bold"),
                    Text(safe(r["change"])),
                    Text(safe(r["resource_id"])),
                    Text(safe(r.get("resource_name") or "")),
                    Text(safe(r["account"])),
                    Text(safe(r.get("reason") or "")),
                )
                self.uids[name].append(str(r["resource_uid"]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        name = (event.data_table.id or "").removeprefix("scn-")
        if name in self.uids and 0 <= event.cursor_row < len(self.uids[name]):
            self.app.open_resource(self.uids[name][event.cursor_row])  # type: ignore[attr-defined]

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        self.query_one(f"#scn-{name}", DataTable).focus()

    def action_reload(self) -> None:
        self.refresh_data()

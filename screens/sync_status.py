"""Sync: scope status (fresh / stale / failed, with the error), sync history, and "Sync now".

``n`` starts a sync of every configured provider in the app's sync worker (it keeps running when you leave
this screen); ``x`` cancels it: tasks stop at their next checkpoint and their scopes keep the rows they had.
Progress per scope appears below as tasks settle. ``1`` / ``2`` switch between scopes and runs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Log, ProgressBar, Static, TabbedContent, TabPane

from workbench.cache import posture
from workbench.cache.table_source import Column, SqlTableSource
from workbench.screens.base import WorkbenchScreen
from workbench.screens.messages import SyncFinished, SyncProgress
from workbench.screens.widgets.virtual_table import VirtualTable
from workbench.textsafe import safe

SCOPE_COLUMNS = [
    Column("status", "Status", 7),
    Column("provider", "Cloud", 7),
    Column("account", "Account", 14, cut="middle"),
    Column("region", "Region", 12),
    Column("task", "Task", 12),
    Column("resources", "Rows", 6, "right"),
    Column("last_success_at", "Last success", 20),
    Column("error", "Error", 40),
]
RUN_COLUMNS = [
    Column("run_id", "Run", 5, "right"),
    Column("status", "Status", 9),
    Column("started_at", "Started", 20),
    Column("finished_at", "Finished", 20),
    Column("resources", "Rows", 8, "right"),
    Column("errors", "Failed", 6, "right"),
]
SCOPE_RUN_COLUMNS = [
    Column("status", "Status", 9),
    Column("scope_id", "Scope", 30, cut="middle"),
    Column("task", "Task", 12),
    Column("resources", "Rows", 6, "right"),
    Column("error", "Error", 40),
]


class SyncScreen(WorkbenchScreen):
    STYLE = "sync"
    VIEW_TITLE = "Sync: scopes and history"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "sync_now", "Sync now"),
        Binding("x", "cancel_sync", "Cancel sync"),
        Binding("1", "tab('scopes')", "Scopes"),
        Binding("2", "tab('runs')", "Runs"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self._shown_lines = 0

    def compose_body(self) -> ComposeResult:
        path = self.app.services.cache_path  # type: ignore[attr-defined]
        with TabbedContent(initial="scopes", id="sync-tabs"):
            with TabPane("Scopes", id="scopes"):
                yield VirtualTable(
                    SqlTableSource(path, "scope_status", SCOPE_COLUMNS), id="scope-table"
                )
                yield Static("", id="scope-error", markup=False)
            with TabPane("Runs", id="runs"):
                yield VirtualTable(
                    SqlTableSource(path, "sync_runs", RUN_COLUMNS, key="run_id", descending=True),
                    id="run-table",
                )
                yield VirtualTable(
                    SqlTableSource(
                        path, "scope_runs", SCOPE_RUN_COLUMNS, where="run_id = ?", params=(-1,)
                    ),
                    id="scope-run-table",
                )
        with Vertical(id="sync-progress"):
            yield ProgressBar(id="sync-bar", show_eta=False)
            yield Log(id="sync-log", max_lines=500)

    def on_mount(self) -> None:
        for table in self.query(VirtualTable):
            table.border_title = Text(
                {
                    "scope-table": "Scope status",
                    "run-table": "Sync runs",
                    "scope-run-table": "Tasks of the run",
                }[table.id or ""]
            )
        self._show_progress()
        self.query_one("#scope-table", VirtualTable).focus()

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        self.query_one("#scope-table" if name == "scopes" else "#run-table", VirtualTable).focus()

    def action_sync_now(self) -> None:
        if self.app.sync.start():  # type: ignore[attr-defined]
            self._shown_lines = 0
            self.query_one("#sync-log", Log).clear()
            self._show_progress()
        else:
            self.app.notify(
                "a sync is already running (x cancels it)", severity="warning", markup=False
            )

    def action_cancel_sync(self) -> None:
        if self.app.sync.cancel():  # type: ignore[attr-defined]
            self.app.notify("cancelling: running tasks stop at their next checkpoint", markup=False)

    def _show_progress(self) -> None:
        sync = self.app.sync  # type: ignore[attr-defined]
        panel = self.query_one("#sync-progress")
        panel.display = sync.running or bool(sync.log.lines)
        bar = self.query_one("#sync-bar", ProgressBar)
        last = sync.log.last
        if last is not None and last.total:
            bar.update(total=last.total, progress=last.done)
        elif sync.running:
            bar.update(total=None)
        log = self.query_one("#sync-log", Log)
        for status, line in sync.log.lines[self._shown_lines :]:
            log.write_line(safe(f"{'✓' if status == 'ok' else '✗'} {line}"))
        self._shown_lines = len(sync.log.lines)

    def on_sync_progress(self, message: SyncProgress) -> None:
        super().on_sync_progress(message)
        self._show_progress()

    def on_sync_finished(self, message: SyncFinished) -> None:
        super().on_sync_finished(message)
        self._show_progress()

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        if event.table.id == "scope-table":
            with self.reader() as db:
                row = posture.scope_task_error(db, int(event.key))
            text = "" if row is None or not row[1] else f"{safe(row[0])}: {safe(row[1])}"
            self.query_one("#scope-error", Static).update(Text(text, style="red"))
        elif event.table.id == "run-table":
            self.query_one("#scope-run-table", VirtualTable).set_where("run_id = ?", (event.key,))

    def on_virtual_table_count_changed(self, event: VirtualTable.CountChanged) -> None:
        # Show the newest run's tasks without waiting for the cursor to move.
        if event.table.id == "run-table" and event.count:
            key = event.table.cursor_key
            if key is not None:
                self.query_one("#scope-run-table", VirtualTable).set_where("run_id = ?", (key,))

    def action_reload(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        for table in self.query(VirtualTable):
            table.reload()

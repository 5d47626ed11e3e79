"""Journal and audit: every change a fix made, and the hash-chained audit log with its verification.

Journal tab: one row per executed call (newest first) with its state (pending, applied, verified, failed, undone,
reconciled); the highlighted entry's call and its before/after JSON are shown side by side. ``u`` undoes it when
its fix is reversible and it took effect: the engine decides, and refuses under read-only or a role that may not
(the refusal is shown, and audited by the engine). Audit tab: every audited action, and the result of
``workbench.audit.verify`` over the whole chain: intact, or each problem (edited, deleted, truncated) in red.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from workbench.cache.table_source import Column, Row, SqlTableSource, TableState
from workbench.screens.base import WorkbenchScreen
from workbench.screens.posture_common import operator, refresh_screens, write_cache
from workbench.screens.widgets.virtual_table import VirtualTable
from workbench.textsafe import safe

JOURNAL_COLUMNS = [
    Column("entry_id", "#", 4, "right"),
    Column("status", "State", 10),
    Column("fix_id", "Fix", 30),
    Column("resource_uid", "Resource", 30, cut="middle"),
    Column("actor", "Actor", 10),
    Column("role", "Role", 9),
    Column("created_at", "At", 20),
    Column("undo_of", "Undo of", 7, "right"),
]
AUDIT_COLUMNS = [
    Column("seq", "Seq", 5, "right"),
    Column("at", "At", 20),
    Column("actor", "Actor", 10),
    Column("role", "Role", 9),
    Column("action", "Action", 9),
    Column("target", "Target", 30),
    Column("result", "Result", 30),
]
STATE_STYLE = {
    "pending": "bold yellow",
    "applied": "cyan",
    "verified": "bold green",
    "failed": "bold red",
    "undone": "magenta",
    "reconciled": "yellow",
}


class JournalSource(SqlTableSource):
    """The journal, with the resource shown by its id (the uid's last part) so the column stays readable."""

    def page(self, offset: int, limit: int, state: TableState | None = None) -> list[Row]:
        rows = super().page(offset, limit, state)
        uid_at = 1 + self.column_names.index("resource_uid")
        out = []
        for r in rows:
            cells = list(r)
            cells[uid_at] = str(cells[uid_at] or "").rsplit(":", 1)[-1]
            out.append(tuple(cells))
        return out


def json_block(value: Any) -> Text:
    if value is None:
        return Text("(none)", style="dim")
    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return Text(safe(value))
    dumped = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return Text("\n".join(safe(line) for line in dumped.splitlines()))


class JournalScreen(WorkbenchScreen):
    STYLE = "journal"
    VIEW_TITLE = "Journal and audit"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "undo", "Undo"),
        Binding("1", "tab('journal-tab')", "Journal"),
        Binding("2", "tab('audit-tab')", "Audit"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def compose_body(self) -> ComposeResult:
        path = self.app.services.cache_path  # type: ignore[attr-defined]
        with TabbedContent(id="jr-tabs"):
            with TabPane("Journal", id="journal-tab"):
                yield VirtualTable(
                    JournalSource(
                        path, "journal", JOURNAL_COLUMNS, key="entry_id", descending=True
                    ),
                    id="jr-table",
                )
                yield Static("", id="jr-call", markup=False)
                with Horizontal(id="jr-states"):
                    with VerticalScroll(id="jr-before-pane"):
                        yield Static("", id="jr-before", markup=False)
                    with VerticalScroll(id="jr-after-pane"):
                        yield Static("", id="jr-after", markup=False)
            with TabPane("Audit", id="audit-tab"):
                yield Static("", id="au-verify", markup=False)
                yield VirtualTable(
                    SqlTableSource(path, "audit_log", AUDIT_COLUMNS, key="seq", descending=True),
                    id="au-table",
                )
                with VerticalScroll(id="au-details-pane"):
                    yield Static("", id="au-details", markup=False)

    def on_mount(self) -> None:
        self.query_one("#jr-table").border_title = Text("Fix journal (u undoes)")
        self.query_one("#jr-before-pane").border_title = Text("before")
        self.query_one("#jr-after-pane").border_title = Text("after")
        self.query_one("#au-table").border_title = Text("Audit log")
        self._verify()
        self.query_one("#jr-table", VirtualTable).focus()

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        self.query_one("#jr-table" if name == "journal-tab" else "#au-table", VirtualTable).focus()

    # -- highlighted rows -------------------------------------------------------------------
    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self._show(event.table, event.key)

    def on_virtual_table_count_changed(self, event: VirtualTable.CountChanged) -> None:
        self._show(event.table, event.table.cursor_key)

    def _show(self, table: VirtualTable, key: Any) -> None:
        if table.id == "jr-table":
            self._show_entry(key)
        elif table.id == "au-table":
            self._show_audit(key)

    def _show_entry(self, entry_id: Any) -> None:
        from workbench.fixes.journal import Journal

        call, before, after = (
            self.query_one("#jr-call", Static),
            self.query_one("#jr-before", Static),
            self.query_one("#jr-after", Static),
        )
        if entry_id is None:
            call.update(
                Text("no change yet: fixes applied from the wizard are journaled here", style="dim")
            )
            before.update("")
            after.update("")
            return
        with self.reader() as db:
            entry = Journal(db).get(int(entry_id))
        if entry is None:
            return
        item = entry.item
        text = Text.assemble(
            (f"#{entry.entry_id} ", "bold"),
            (f"{entry.status}", STATE_STYLE.get(entry.status, "")),
            f"  {safe(item.call_text(), 160)}",
            (f"\n{safe(entry.resource_uid)}", "dim"),
            (f"  plan {safe(entry.plan_id)}", "dim"),
        )
        if entry.error:
            text.append(f"\n{safe(entry.error)}", style="red")
        call.update(text)
        before.update(json_block(entry.before))
        after.update(json_block(entry.after))

    def _show_audit(self, seq: Any) -> None:
        target = self.query_one("#au-details", Static)
        if seq is None:
            target.update("")
            return
        from workbench import audit

        with self.reader() as db:
            found = audit.entry(db, int(seq))
        if found is None:
            return
        text = json_block(found.details)
        text.append(f"\nhash {safe(found.hash)}\nprev {safe(found.prev_hash)}", style="dim")
        target.update(text)

    # -- audit chain ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="audit-verify", exit_on_error=False)
    def _verify(self) -> None:
        from workbench import audit

        try:
            with self.reader() as db:
                problems = audit.verify(db)
                count = audit.count(db)
        except Exception as exc:
            problems, count = [f"cannot verify: {exc}"], 0
        self.app.call_from_thread(self._verified, problems, count)

    def _verified(self, problems: list[str], count: int) -> None:
        box = self.query_one("#au-verify", Static)
        if problems:
            text = Text(f"✗ audit chain BROKEN ({len(problems)} problem(s)):", style="bold red")
            for p in problems[:6]:
                text.append(f"\n  {safe(p)}", style="red")
        else:
            text = Text(
                f"✓ audit chain intact: {count} entries, every hash and link verified",
                style="bold green",
            )
        box.update(text)

    # -- undo -------------------------------------------------------------------------------
    def action_undo(self) -> None:
        table = self.query_one("#jr-table", VirtualTable)
        if self.query_one(TabbedContent).active != "journal-tab" or table.cursor_key is None:
            return
        from workbench.fixes.undo_preview import preview_undo
        from workbench.screens.undo_confirm import UndoConfirm

        entry_id = int(table.cursor_key)
        with self.reader() as db:
            previews = preview_undo(db, [entry_id])

        def answered(yes: bool | None) -> None:
            if yes:
                self._undo(entry_id)

        self.app.push_screen(UndoConfirm(previews), answered)

    @work(thread=True, exclusive=True, group="journal-undo", exit_on_error=False)
    def _undo(self, entry_id: int) -> None:
        from workbench.fixes.engine import FixEngine

        services = self.app.services  # type: ignore[attr-defined]
        try:
            with write_cache(self.app) as cache:
                engine = FixEngine(
                    cache,
                    services.config,
                    role=services.role,
                    read_only=self.app.read_only,
                    user=operator(self.app),
                )  # type: ignore[attr-defined]
                result = engine.undo(entry_id)
        except Exception as exc:  # refusals (role, read-only, not undoable, changed since) say why
            self.app.call_from_thread(self._said, f"undo of #{entry_id} refused: {exc}", "error")
            return
        restored = all(v.fixed for v in result.verified)
        self.app.call_from_thread(
            self._said,
            f"undo of #{entry_id}: {result.status}"
            + ("" if restored else " (live state differs from the before-state)"),
            "information" if restored else "warning",
        )

    def _said(self, message: str, severity: str) -> None:
        self.app.notify(safe(message), severity=severity, markup=False)  # type: ignore[arg-type]
        refresh_screens(self.app)

    def action_reload(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        for table in self.query(VirtualTable):
            table.reload()
        self._verify()

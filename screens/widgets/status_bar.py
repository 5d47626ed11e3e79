"""The one-line status bar every screen shows on top: where you are, who you are, how fresh the cache is.

Read-only mode and the role are always visible (k9s shows its read-only flag the same way) because they decide
what a keypress can change. The scope summary (fresh / stale / failed) tells at a glance whether the rows
below can be trusted; a running sync shows its progress here on every screen.
"""

from __future__ import annotations

import sqlite3

from textual.content import Content
from textual.widgets import Static

from workbench.cache import browse
from workbench.sync import SyncEvent
from workbench.textsafe import safe


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.view_title = title
        self.summary = browse.ScopeSummary()
        self.sync_event: SyncEvent | None = None

    def on_mount(self) -> None:
        self.watch(self.app, "read_only", lambda _: self.redraw(), init=False)
        self.reload()

    def reload(self) -> None:
        """Re-read the scope summary from the cache."""
        try:
            with self.app.services.ui_reader() as db:  # type: ignore[attr-defined]
                self.summary = browse.scope_summary(db)
        except sqlite3.Error:
            self.summary = browse.ScopeSummary()
        self.redraw()

    def show_sync(self, event: SyncEvent | None) -> None:
        self.sync_event = event
        self.redraw()

    def redraw(self) -> None:
        app = self.app
        services = app.services  # type: ignore[attr-defined]
        parts: list[Content] = [
            Content.styled(" vmwb ", "bold reverse"),
            Content(" " + safe(self.view_title)),
        ]
        parts.append(Content("  role ") + Content.styled(safe(services.role), "bold"))
        if app.read_only:  # type: ignore[attr-defined]
            parts.append(
                Content("  ")
                + Content.styled(" READ-ONLY ", "bold $text-warning on $warning-muted")
            )
        else:
            parts.append(Content.styled("  read-write", "dim"))
        s = self.summary
        if s.total:
            parts.append(Content(f"  scopes {s.ok} ok"))
            if s.stale:
                parts.append(Content.styled(f" · {s.stale} stale", "$text-warning"))
            if s.failed:
                parts.append(Content.styled(f" · {s.failed} failed", "$text-error"))
        else:
            parts.append(Content.styled("  never synced", "dim"))
        ev = self.sync_event
        if ev is not None and ev.kind != "finished":
            parts.append(Content.styled(f"  syncing {ev.done}/{ev.total}", "bold $text-accent"))
        if services.demo_label:
            parts.append(Content.styled(f"  {safe(services.demo_label)}", "italic $text-success"))
        self.update(Content("").join(parts))

"""What every workbench screen shares: the status bar on top, the Footer below, its own stylesheet.

Subclasses set ``STYLE`` (a ``.tcss`` name in ``workbench.assets.styles``) and write :meth:`compose_body`.
When a sync finishes every open screen gets :meth:`refresh_data`, so nothing shows rows from before it.
"""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from workbench.screens.messages import SyncFinished, SyncProgress
from workbench.screens.styles import stylesheet
from workbench.screens.widgets.status_bar import StatusBar


class WorkbenchScreen(Screen[Any]):
    STYLE: ClassVar[str | None] = None
    VIEW_TITLE: ClassVar[str] = ""

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.args = args
        if self.STYLE:
            # Instance attribute: Textual reads screen.CSS when the screen is first shown.
            self.CSS = stylesheet(self.STYLE)  # type: ignore[misc]

    @property
    def title_text(self) -> str:
        return self.VIEW_TITLE

    def compose(self) -> ComposeResult:
        yield StatusBar(self.title_text, id="status-bar")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        return iter(())

    def reader(self) -> sqlite3.Connection:
        """The app's shared read-only connection for the UI thread (``with`` ends a read; never close it)."""
        return self.app.services.ui_reader()  # type: ignore[attr-defined,no-any-return]

    def refresh_data(self) -> None:
        """Re-read what the screen shows (called after a sync)."""

    def on_sync_progress(self, message: SyncProgress) -> None:
        self.query_one(StatusBar).show_sync(message.event)

    def on_sync_finished(self, message: SyncFinished) -> None:
        bar = self.query_one(StatusBar)
        bar.show_sync(None)
        bar.reload()
        self.refresh_data()

"""Shown while ``vmwb demo`` builds its estate: each step as it happens, then the app opens on the inventory.

The build (emulators, seeding, sync, scan) runs in a thread worker so this screen paints at once and stays
responsive; the screen dismisses with the :class:`~workbench.demo.DemoEstate`, or None after showing why the
build failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Label, Log, ProgressBar

from workbench.screens.styles import stylesheet
from workbench.textsafe import safe


class DemoLoadingScreen(Screen[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "app.quit", "Quit")]

    def __init__(self, build: Callable[..., Any]) -> None:
        super().__init__()
        self.CSS = stylesheet("demo_loading")  # type: ignore[misc]
        self.build = build
        self.started = time.monotonic()
        self.failed = False

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="demo-box"):
            yield Label("Building the demo estate", id="demo-title", markup=False)
            yield ProgressBar(id="demo-bar", show_eta=False)
            yield Log(id="demo-log", max_lines=200)

    def on_mount(self) -> None:
        self._build()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _build(self) -> None:
        def progress(step: str, done: int | None = None, total: int | None = None) -> None:
            self.app.call_from_thread(self._progress, step, done, total)

        try:
            estate = self.build(progress=progress)
        except Exception as exc:
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.dismiss, estate)

    def _progress(self, step: str, done: int | None, total: int | None) -> None:
        seconds = time.monotonic() - self.started
        self.query_one(Log).write_line(safe(f"{seconds:5.1f}s  {step}"))
        if total:
            self.query_one(ProgressBar).update(total=total, progress=done or 0)

    def _failed(self, error: str) -> None:
        self.failed = True
        self.query_one("#demo-title", Label).update(
            Text("The demo could not be built", style="bold red")
        )
        self.query_one(Log).write_line(safe(error))
        self.query_one(Log).write_line("Ctrl+Q quits.")

"""The ``:`` command line (k9s style): a one-line prompt at the bottom that returns what was typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label

from workbench.screens import views
from workbench.screens.styles import stylesheet


class CommandLine(ModalScreen[str | None]):
    """Dismisses with the entered line (without the colon), or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, typed_ahead: Callable[[], str] | None = None) -> None:
        super().__init__()
        self.CSS = stylesheet("command_line")  # type: ignore[misc]
        self.typed_ahead = typed_ahead

    def compose(self) -> ComposeResult:
        yield Label(
            "views: " + " ".join(f":{v.name}" for v in views.all_views().values() if v.available),
            id="command-hint",
            markup=False,
        )
        yield Input(
            placeholder="vm · snap account=2222 · fw world_open=1 · query · sync · q",
            suggester=SuggestFromList(views.names(), case_sensitive=False),
            id="command-input",
        )

    def on_mount(self) -> None:
        # Keys typed while this prompt opened were held by the app: they are the start of the line.
        box = self.query_one("#command-input", Input)
        box.focus()
        typed = self.typed_ahead() if self.typed_ahead is not None else ""
        line, enter, _ = typed.partition("\r")
        if line:
            box.value = line
            box.cursor_position = len(line)
        if enter:
            self.dismiss(line)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

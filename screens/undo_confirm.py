"""The undo confirmation: the exact calls that restore the before-state, then Undo or Cancel.

An undo is a live change, so it gets what an apply gets: a preview of the calls (from
``workbench.fixes.undo_preview``) and an explicit yes. Dismisses with True (undo) or False. When no entry can be
undone the preview says why and only Cancel is offered.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from workbench.fixes.undo_preview import UndoPreview, preview_text
from workbench.screens.styles import stylesheet
from workbench.textsafe import safe


class UndoConfirm(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "confirm", "Undo"),
    ]

    def __init__(self, previews: list[UndoPreview]) -> None:
        super().__init__()
        self.CSS = stylesheet("undo_confirm")  # type: ignore[misc]
        self.previews = previews
        self.possible = any(p.possible for p in previews)

    def compose(self) -> ComposeResult:
        with Vertical(id="undo-box"):
            yield Label("Undo: restore the before-state", id="undo-title", markup=False)
            text = Text()
            for line in preview_text(self.previews):
                style = "red" if "Cannot undo" in line else "cyan" if line.startswith("  #") else ""
                text.append(safe(line) + "\n", style=style)
            with VerticalScroll(id="undo-preview"):
                yield Static(text, markup=False)
            with Horizontal(id="undo-buttons"):
                if self.possible:
                    yield Button("Undo (y)", id="undo-ok", variant="error")
                yield Button("Cancel (Esc)", id="undo-cancel")

    def on_mount(self) -> None:
        self.query_one("#undo-cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "undo-ok":
            self.action_confirm()
        else:
            self.dismiss(False)

    def action_confirm(self) -> None:
        if self.possible:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

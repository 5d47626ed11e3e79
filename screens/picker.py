"""A small modal list: pick one value (sort column) or several (visible columns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, SelectionList
from textual.widgets.option_list import Option

from workbench.screens.styles import stylesheet


class PickerScreen(ModalScreen[Any]):
    """Single: dismisses with the chosen value. Multi: Enter dismisses with the checked values (Space toggles).

    Esc dismisses with None.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "accept", "Done", priority=True),
    ]

    def __init__(
        self,
        title: str,
        options: Sequence[tuple[str, Any]],
        *,
        multi: bool = False,
        selected: Sequence[Any] = (),
    ) -> None:
        super().__init__()
        self.CSS = stylesheet("picker")  # type: ignore[misc]
        self.title_text = title
        self.options = list(options)
        self.multi = multi
        self.selected = set(selected)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label(self.title_text, markup=False, id="picker-title")
            if self.multi:
                yield SelectionList[Any](
                    *(
                        (Text(label), value, value in self.selected)
                        for label, value in self.options
                    ),
                    id="picker-list",
                )
                yield Label(
                    "space: toggle · enter: done · esc: cancel", markup=False, classes="hint"
                )
            else:
                yield OptionList(
                    *(Option(Text(label), id=str(i)) for i, (label, _) in enumerate(self.options)),
                    id="picker-list",
                )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.options[int(event.option.id or 0)][1])

    def action_accept(self) -> None:
        if self.multi:
            chosen = set(self.query_one(SelectionList).selected)
            self.dismiss([value for _, value in self.options if value in chosen])
        else:
            option_list = self.query_one(OptionList)
            if option_list.highlighted is not None:
                self.dismiss(self.options[option_list.highlighted][1])

    def action_cancel(self) -> None:
        self.dismiss(None)

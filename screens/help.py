"""``?``: every key that works on the screen you came from, and every view the command line knows."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.screens.styles import stylesheet
from workbench.screens.views import all_views


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def __init__(self, bindings: dict[str, ActiveBinding]) -> None:
        super().__init__()
        self.CSS = stylesheet("help")  # type: ignore[misc]
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold")
        keys.add_column()
        seen = set()
        # The workbench's own keys first (the screen's, its tables', the app's); Textual's generic ones
        # (scrolling, focus) after them, dimmed: they are what an operator looks for last.
        ours = [a for a in self.bindings.values() if _is_ours(a)]
        generic = [a for a in self.bindings.values() if not _is_ours(a)]
        for active in [*ours, *generic]:
            binding = active.binding
            if not binding.description or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            style = "" if _is_ours(active) else "dim"
            keys.add_row(
                Text(self.app.get_key_display(binding), style=style),
                Text(binding.description, style=style),
            )
        views = Table.grid(padding=(0, 2))
        views.add_column(style="bold")
        views.add_column()
        for view in all_views().values():
            note = "" if view.available else " (coming)"
            views.add_row(Text(f":{view.name}"), Text(f"{view.help or view.title}{note}"))
        with VerticalScroll(id="help-body"):
            yield Static(Text("Keys", style="bold underline"))
            yield Static(keys)
            yield Static(Text("\nViews  (:name [key=value …] [text])", style="bold underline"))
            yield Static(views)
            yield Static(
                Text(
                    "\nFilters: provider= account= region= any column=, tag.key=value or key=value "
                    "for tags; other words search ids, names and tags.",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)


def _is_ours(active: ActiveBinding) -> bool:
    """A binding the workbench declares (its screens, widgets and app), not one a Textual base class brings
    (a table inherits ScrollView's scroll keys: those are Textual's)."""
    for cls in type(active.node).__mro__:
        if not cls.__module__.startswith("workbench."):
            continue
        for b in cls.__dict__.get("BINDINGS", []):
            if isinstance(b, Binding) and b.action == active.binding.action:
                return True
    return False

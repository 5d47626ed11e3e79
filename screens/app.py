"""The workbench app: holds the services, pushes screens, owns the app-wide keys.

k9s is the model: ``:`` jumps to a view (``:snap account=2222``) and the jump replaces the screen stack, ``/``
filters, ``?`` lists every key, Esc goes back one drill-down level, Ctrl+P finds any resource or view. Screens come from :mod:`workbench.screens.views`;
this file only
routes. Build it with :func:`create_app` (no side effects at import).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from workbench.config import Config
from workbench.screens import views
from workbench.screens.palette import ResourceSearch, ViewCommands
from workbench.screens.services import Services
from workbench.screens.styles import stylesheet
from workbench.screens.sync_runner import SyncController
from workbench.textsafe import safe

THEMES = {"dark": "textual-dark", "light": "textual-light"}


class WorkbenchApp(App[int]):
    TITLE = "VM Security Workbench"
    COMMANDS = App.COMMANDS | {ViewCommands, ResourceSearch}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command_line", "Command", key_display=":"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    #: The session's read-only mode; the status bar and the fix screens watch it.
    read_only: reactive[bool] = reactive(False)

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.CSS = stylesheet("app")  # type: ignore[misc]
        self.services = services
        self.sync = SyncController(self)
        self.read_only = services.read_only_forced
        theme = services.config.theme
        self.theme = theme if theme in self.available_themes else THEMES["dark"]
        #: Keys typed after ``:`` while the prompt is still opening (a paste, ``:vm`` typed fast): they
        #: belong to the prompt, not to the screen under it. None when nothing is opening.
        self._typed_ahead: list[str] | None = None

    def on_mount(self) -> None:
        if self.services.demo_builder is not None:
            from workbench.screens.demo_loading import DemoLoadingScreen

            self.push_screen(DemoLoadingScreen(self.services.demo_builder), self._demo_ready)
        else:
            self.push_screen(views.start_view().build())
        # Deprecated config keys: shown once, as the CLI does.
        for note in self.services.config.notes:
            self.notify(safe(note), severity="warning", timeout=10, markup=False)

    def _demo_ready(self, estate: Any) -> None:
        if estate is None:  # the build failed; the loading screen showed why
            self.exit(1)
            return
        self.services.demo = estate
        self.services.demo_builder = None
        self.services.config = estate.config
        self.services.demo_label = "demo estate"
        self.push_screen(views.start_view().build())

    def on_unmount(self) -> None:
        self.sync.cancel()
        self.services.close()

    def _handle_exception(self, error: Exception) -> None:
        """An error nothing handled: leave with one line and a failing exit status, never a traceback
        (Textual's own handler prints one; ``VMWB_DEBUG=1`` keeps it for developers)."""
        if os.environ.get("VMWB_DEBUG"):
            super()._handle_exception(error)
            return
        from rich.text import Text

        from workbench.errors import operator_line

        line, code = operator_line(error)
        self._return_code = code
        if self._exception is None:  # under the test pilot, run_test re-raises it
            self._exception = error
            self._exception_event.set()
        self.bell()
        self._exit_renderables.append(Text(safe(line)))
        self._close_messages_no_wait()

    # -- navigation -----------------------------------------------------------------------
    def run_command(self, line: str | None) -> None:
        """Run a command-line entry: ``vm``, ``snap account=2222``, ``q`` (quit)."""
        word, _, args = (line or "").strip().lstrip(":").partition(" ")
        if not word:
            return
        if word in ("q", "q!", "quit"):
            self.exit(0)
            return
        view = views.resolve(word)
        if view is None:
            self.notify(
                f"unknown view {safe(word)!r}; ? lists them", severity="warning", markup=False
            )
            return
        self.jump_to_view(view.name, args.strip())

    def _build(self, name: str, args: str) -> Any:
        try:
            return views.all_views()[name].build(args)
        except (LookupError, ValueError) as exc:
            self.notify(safe(str(exc)), severity="warning", markup=False)
            return None

    def open_view(self, name: str, args: str = "") -> None:
        """A drill-down into a view (a dashboard panel, a check's findings): Esc comes back here."""
        screen = self._build(name, args)
        if screen is not None:
            self.push_screen(screen)

    def jump_to_view(self, name: str, args: str = "") -> None:
        """A jump (``:`` or the palette) replaces the stack, as in k9s: the drill-downs of the view left
        behind are closed with it (their connections too), and Esc goes back one drill-down level only."""
        screen = self._build(name, args)
        if screen is None:
            return
        # The bottom screen is Textual's blank default; everything above it is the old navigation.
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) == 2:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def open_resource(self, uid: str) -> None:
        from workbench.screens.detail import DetailScreen

        # A scope id (provider:account:region, from HYB-01): its story is its sync status.
        if uid.count(":") == 2:
            self.open_view("sync")
            return
        self.push_screen(DetailScreen(uid=uid))

    # Textual's App.action_back is a coroutine; ours pops synchronously, and screens call it directly.
    def action_back(self) -> None:  # type: ignore[override]
        # The bottom two screens are Textual's blank default and the start view: never pop those.
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def action_command_line(self) -> None:
        from workbench.screens.command_line import CommandLine

        self._typed_ahead = []
        self.push_screen(CommandLine(self._take_typed_ahead), self.run_command)

    def _colon_opens_prompt(self) -> bool:
        """``:`` is text in an input or an editor (the query editor), and a dialog keeps its keys."""
        from textual.screen import ModalScreen
        from textual.widgets import Input, TextArea

        if isinstance(self.screen, ModalScreen):
            return False
        return not isinstance(self.focused, (Input, TextArea))

    def _take_typed_ahead(self) -> str:
        """What was typed while the prompt opened (``\r`` for Enter); from now on keys go to the prompt."""
        typed, self._typed_ahead = self._typed_ahead or [], None
        return "".join(typed)

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        # Keys reach the app first and are forwarded to the screen asynchronously, so a binding run from
        # the screen is too late for the keys already queued behind it: ``:`` is taken here, at once.
        if self._typed_ahead is None:
            if event.key == "colon" and self._colon_opens_prompt():
                event.stop()
                event.prevent_default()
                self.action_command_line()
                return
            await super().on_event(event)
            return
        if event.key == "escape":
            self._typed_ahead = None  # let Esc reach the prompt and close it
            await super().on_event(event)
            return
        if event.key == "enter":
            self._typed_ahead.append("\r")
        elif event.is_printable and event.character:
            self._typed_ahead.append(event.character)
        event.stop()
        event.prevent_default()

    def action_help(self) -> None:
        from workbench.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen.active_bindings))

    # -- session settings -----------------------------------------------------------------
    def set_read_only(self, on: bool) -> bool:
        """Toggle read-only for this session; False when the flag or config forces it on."""
        if not on and self.services.read_only_forced:
            return False
        self.read_only = on
        return True

    def set_theme(self, mode: str) -> None:
        self.theme = THEMES.get(mode, mode)


def create_app(
    cache_path: str | Path,
    config: Config,
    *,
    read_only: bool,
    role: str,
    demo: Any = None,
) -> WorkbenchApp:
    """The one factory the CLI and the tests share.

    ``demo`` is a running :class:`~workbench.demo.DemoEstate`, or a callable ``build(progress) -> DemoEstate``
    that the app runs behind a progress screen at start-up (so the first frame shows at once).
    """
    builder: Callable[..., Any] | None = demo if callable(demo) else None
    services = Services(
        cache_path=Path(cache_path),
        config=config,
        role=role,
        read_only_forced=read_only,
        demo=None if builder else demo,
        demo_builder=builder,
        demo_label="demo estate" if demo is not None and not builder else "",
    )
    return WorkbenchApp(services)

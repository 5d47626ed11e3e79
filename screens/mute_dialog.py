"""The mute dialog: a reason, a ticket, an owner and an expiry for the chosen findings.

Dismisses with ``{"reason", "ticket", "owner", "expires_at": ISO time}`` or None. The expiry takes what ``vmwb
mute add --expires`` takes (``30d``, ``12h``, ``2w``, a date or a time; parsed by the core) and is checked here,
so a typo is answered in the dialog rather than after it closed. The author is not asked: it is the operator
(config user, else the OS user); the owner defaults to the author.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from workbench.errors import WorkbenchError
from workbench.screens.styles import stylesheet
from workbench.textsafe import safe


class MuteDialog(ModalScreen[dict[str, str] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, summary: str, author: str, now: str) -> None:
        super().__init__()
        self.CSS = stylesheet("mute_dialog")  # type: ignore[misc]
        self.summary = summary
        self.author = author
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="mute-box"):
            yield Label("Mute findings", id="mute-title", markup=False)
            yield Static(Text(safe(self.summary)), id="mute-summary", markup=False)
            yield Input(
                placeholder="reason (required, shown with every muted finding)", id="mute-reason"
            )
            yield Input(placeholder="ticket, e.g. SEC-42 (recommended)", id="mute-ticket")
            yield Input(placeholder=f"owner (default {self.author})", id="mute-owner")
            yield Input(
                value="30d", placeholder="expires: 30d, 12h, 2w or 2026-12-31", id="mute-expires"
            )
            yield Static(
                Text(
                    f"author: {safe(self.author)} · audited · ends at the expiry, or when a "
                    "muted resource changes",
                    style="dim",
                ),
                markup=False,
            )
            yield Static("", id="mute-error", markup=False)
            with Horizontal(id="mute-buttons"):
                yield Button("Mute", id="mute-ok", variant="warning")
                yield Button("Cancel", id="mute-cancel")

    def on_mount(self) -> None:
        self.query_one("#mute-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        following = {"mute-reason": "#mute-ticket", "mute-ticket": "#mute-owner"}
        following["mute-owner"] = "#mute-expires"
        nxt = following.get(event.input.id or "")
        if nxt:
            self.query_one(nxt, Input).focus()
        else:
            self._accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "mute-ok":
            self._accept()
        else:
            self.dismiss(None)

    def _accept(self) -> None:
        from workbench.scan.mutes import parse_expiry

        reason = self.query_one("#mute-reason", Input).value.strip()
        expires = self.query_one("#mute-expires", Input).value.strip()
        error = self.query_one("#mute-error", Static)
        if not reason:
            error.update(Text("a mute needs a reason", style="bold red"))
            return
        try:
            when = parse_expiry(expires, self.now)
        except WorkbenchError as exc:
            error.update(Text(safe(str(exc)), style="bold red"))
            return
        if when <= self.now:
            error.update(Text(f"the expiry {when} is already past", style="bold red"))
            return
        self.dismiss(
            {
                "reason": reason,
                "ticket": self.query_one("#mute-ticket", Input).value.strip(),
                "owner": self.query_one("#mute-owner", Input).value.strip(),
                "expires_at": when,
            }
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

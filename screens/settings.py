"""Settings: the providers and accounts the config names, credentials in the keyring, session toggles.

Secrets go to the OS keyring (service ``vmwb``) through :mod:`workbench.secrets` and are never shown back, only
whether one is stored. Read-only and the theme change for this session only; read-only cannot be switched off
when ``--read-only`` or the config turned it on.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static, Switch

from workbench import plugins, secrets
from workbench.screens.base import WorkbenchScreen
from workbench.textsafe import safe

_SECRET_WORDS = ("password", "secret", "token", "key")


def providers_table(sections: dict[str, dict[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for name in plugins.names("providers"):
        section = sections.get(name)
        if section is None:
            grid.add_row(Text(name), Text("not configured", style="dim"))
            continue
        lines = Text()
        for key, value in section.items():
            shown = "••••" if any(w in key.lower() for w in _SECRET_WORDS) else value
            if isinstance(shown, list):
                shown = ", ".join(str(v) for v in shown)
            lines.append(f"{safe(key)} = ", style="dim")
            lines.append(safe(shown) + "\n")
        grid.add_row(Text(name), lines or Text("(defaults)", style="dim"))
    return grid


class SettingsScreen(WorkbenchScreen):
    STYLE = "settings"
    VIEW_TITLE = "Settings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "store_secret", "Store secret"),
    ]

    def compose_body(self) -> ComposeResult:
        services = self.app.services  # type: ignore[attr-defined]
        with VerticalScroll(id="settings-body"):
            yield Label("Session", classes="section", markup=False)
            with Horizontal(classes="toggle"):
                yield Switch(value=self.app.read_only, id="read-only")  # type: ignore[attr-defined]
                yield Label("Read-only: no fix can run", markup=False)
            with Horizontal(classes="toggle"):
                yield Switch(value="light" in self.app.theme, id="light-theme")
                yield Label("Light theme", markup=False)
            yield Label("Providers and accounts", classes="section", markup=False)
            where = services.config.path or "no config file (defaults)"
            yield Static(Text(f"config: {safe(where)}", style="dim"), markup=False)
            yield Static(providers_table(services.config.sections), id="providers", markup=False)
            yield Label("Credentials (OS keyring, service vmwb)", classes="section", markup=False)
            yield Static("", id="keyring-status", markup=False)
            yield Input(placeholder="name, e.g. vsphere:vc1.example.com", id="secret-name")
            yield Input(placeholder="secret (never shown again)", password=True, id="secret-value")
            with Horizontal(id="secret-buttons"):
                yield Button("Store", id="store", variant="primary")
                yield Button("Check", id="check")
                yield Button("Delete", id="delete", variant="error")
            yield Static("", id="secret-result", markup=False)

    def on_mount(self) -> None:
        try:
            status = Text(f"backend: {secrets.backend_name()}", style="dim")
        except secrets.SecretStoreError as exc:
            status = Text(safe(str(exc)), style="yellow")
        self.query_one("#keyring-status", Static).update(status)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        app: Any = self.app
        if event.switch.id == "read-only":
            if not app.set_read_only(event.value):
                event.switch.value = True
                app.notify(
                    "read-only was set by --read-only or the config; it stays on",
                    severity="warning",
                    markup=False,
                )
        elif event.switch.id == "light-theme":
            app.set_theme("light" if event.value else "dark")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {
            "store": self.action_store_secret,
            "check": self._check_secret,
            "delete": self._delete_secret,
        }[event.button.id or ""]()

    def _secret_name(self) -> str:
        return self.query_one("#secret-name", Input).value.strip()

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#secret-result", Static).update(Text(safe(text), style=style))

    def action_store_secret(self) -> None:
        value_box = self.query_one("#secret-value", Input)
        try:
            secrets.set_secret(self._secret_name(), value_box.value)
        except secrets.SecretStoreError as exc:
            self._say(str(exc), "red")
            return
        value_box.value = ""
        self._say(f"stored {self._secret_name()}", "green")

    def _check_secret(self) -> None:
        try:
            value = secrets.get_secret(self._secret_name())
        except secrets.SecretStoreError as exc:
            self._say(str(exc), "red")
            return
        self._say(
            f"{self._secret_name()}: " + ("stored" if value is not None else "nothing stored")
        )

    def _delete_secret(self) -> None:
        try:
            gone = secrets.delete_secret(self._secret_name())
        except secrets.SecretStoreError as exc:
            self._say(str(exc), "red")
            return
        self._say(
            f"deleted {self._secret_name()}" if gone else f"{self._secret_name()}: nothing stored"
        )

"""Mutes: every exception in force, with what needs a decision first (expired, expiring, stale, no ticket).

The rows come from ``workbench.scan.mutes.report``, the same as ``vmwb mute report``. ``a`` switches between the
exceptions that need a decision and all of them; ``u`` removes the highlighted rule (the core decides who may,
and audits the refusal as well as the removal), then re-runs its checks so its findings reopen at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from workbench.screens.base import WorkbenchScreen
from workbench.screens.posture_common import (
    now_iso,
    operator,
    refresh_screens,
    scan_config,
    write_cache,
)
from workbench.textsafe import safe

EXPIRING_DAYS = 7
_STATE_STYLE = {"expired": "bold red", "expiring": "yellow", "no ticket": "yellow"}


class MutesScreen(WorkbenchScreen):
    STYLE = "mutes"
    VIEW_TITLE = "Mutes"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "toggle_all", "All / needs decision"),
        Binding("u", "unmute", "Remove mute"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self.show_all = args.strip() == "all"
        self.rules: dict[str, dict[str, Any]] = {}

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="mut-table", cursor_type="row")
        yield Static("", id="mut-detail", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#mut-table", DataTable)
        for key, label in (
            ("id", "ID"),
            ("state", "State"),
            ("expires", "Expires"),
            ("owner", "Owner"),
            ("ticket", "Ticket"),
            ("covers", "Covers"),
            ("patterns", "Patterns"),
            ("reason", "Reason"),
        ):
            table.add_column(Text(label), key=key)
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        from workbench.scan.mutes import patterns_text, report

        table = self.query_one("#mut-table", DataTable)
        table.clear()
        with self.reader() as db:
            data = report(db, now_iso(self.app), within_days=EXPIRING_DAYS)
        rules = data["mutes"] if self.show_all else [r for r in data["mutes"] if r["states"]]
        self.rules = {str(r["mute_id"]): r for r in rules}
        for r in rules:
            states = r["states"] or ["ok"]
            state = Text()
            for i, s in enumerate(states):
                state.append((", " if i else "") + s, style=_STATE_STYLE.get(s, "magenta"))
            table.add_row(
                Text(str(r["mute_id"]), style="bold"),
                state if r["states"] else Text("ok", style="green"),
                Text(safe(r["expires_at"] or "")),
                Text(safe(r["owner"] or r["author"], 20)),
                Text(safe(r["ticket"] or "-", 20)),
                Text(str(r["covers"]), justify="right"),
                Text(safe(patterns_text(r), 50)),
                Text(safe(r["reason"], 60)),
                key=str(r["mute_id"]),
            )
        which = "all active mutes" if self.show_all else "mutes that need a decision"
        table.border_title = Text(f"{which} (a: {'needs decision' if self.show_all else 'all'})")
        table.border_subtitle = Text(f"{len(rules)} of {len(data['mutes'])}")
        if not rules:
            self.query_one("#mut-detail", Static).update(
                Text(
                    f"no mute needs a decision (none expired, expiring within {EXPIRING_DAYS} "
                    "days or stale); a shows all",
                    style="dim",
                )
            )

    def _current(self) -> dict[str, Any] | None:
        table = self.query_one("#mut-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rules.get(str(key))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        rule = self._current()
        if rule is None:
            return
        self.query_one("#mut-detail", Static).update(
            Text.assemble(
                (f"mute {rule['mute_id']}", "bold"),
                f" by {safe(rule['author'])} at {safe(rule['created_at'])}, owner ",
                (safe(rule["owner"] or rule["author"]), "bold"),
                f", ticket {safe(rule['ticket'] or '-')}\n",
                safe(rule["reason"]),
                "\n",
                (
                    f"covers {rule['covers']} finding(s); {rule['changed']} reopened because "
                    + "the resource changed",
                    "dim",
                ),
            )
        )

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.refresh_data()

    def action_reload(self) -> None:
        self.refresh_data()

    def action_unmute(self) -> None:
        rule = self._current()
        if rule is None:
            self.app.notify("no mute here", severity="warning", markup=False)
            return
        self._remove(int(rule["mute_id"]), list(rule["checks"]))

    @work(thread=True, exclusive=True, group="mutes-write", exit_on_error=False)
    def _remove(self, mute_id: int, checks: list[str]) -> None:
        from workbench.scan.engine import run_scan
        from workbench.scan.mutes import remove_mute

        now = now_iso(self.app)
        try:
            with write_cache(self.app) as cache:
                remove_mute(
                    cache,
                    mute_id,
                    author=operator(self.app),
                    role=self.app.services.role,  # type: ignore[attr-defined]
                    reason="removed in the TUI (:mutes)",
                    now=now,
                )
                if checks:
                    run_scan(cache, check_ids=checks, now=now, config=scan_config(self.app))
        except Exception as exc:
            self.app.call_from_thread(
                self.app.notify, f"unmute failed: {safe(str(exc))}", severity="error", markup=False
            )
            return
        self.app.call_from_thread(self._removed, mute_id)

    def _removed(self, mute_id: int) -> None:
        self.app.notify(f"removed mute {mute_id}; its findings reopened", markup=False)
        refresh_screens(self.app)

"""Navigation as in k9s: a ``:`` jump replaces the screen stack (one Esc level per drill-down, not per jump),
the screens left behind close their connections, and keys typed in one burst are not lost."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, TextArea
from tui_estate import make_app, settle

from workbench.screens.command_line import CommandLine
from workbench.screens.detail import DetailScreen
from workbench.screens.findings import FindingsScreen
from workbench.screens.inventory import InventoryScreen
from workbench.screens.widgets.virtual_table import VirtualTable

SIZE = (120, 40)
VIEWS = ("vm", "snap", "findings", "vol", "dash", "img", "checks", "grants", "journal", "mutes")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_thirty_jumps_keep_the_stack_and_the_open_files_flat(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for view in VIEWS:  # once round: every view's modules and first connections are loaded
            app.run_command(view)
            await settle(pilot)
        # Counted when no worker is mid-read: a count still running under load holds its connection until it
        # returns and closes it, which is not a leak; one that is never closed still shows.
        await app.workers.wait_for_complete()
        before = open_fds()
        for n in range(30):
            app.run_command(VIEWS[n % len(VIEWS)])
            await settle(pilot)
            assert len(app.screen_stack) == 2  # Textual's default screen + the view jumped to
        await app.workers.wait_for_complete()
        await settle(pilot)
        after = open_fds()
        assert after <= before + 2, f"open files grew from {before} to {after} over 30 jumps"
        # A drill-down is one Esc level; the jump before it is not.
        app.run_command("vm")
        await settle(pilot)
        app.open_resource("aws:111122223333:eu-west-1:instance:i-0000")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InventoryScreen)
        await pilot.press("escape")  # the bottom of the navigation: stays
        await settle(pilot)
        assert isinstance(app.screen, InventoryScreen)


def burst(app: Any, keys: str) -> None:
    """Every key queued at once, as a terminal delivers a paste: nothing runs between them."""
    names = {":": "colon", "\r": "enter", " ": "space"}
    for ch in keys:
        app.post_message(events.Key(names.get(ch, ch), None if ch == "\r" else ch))


async def test_command_typed_in_one_burst(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, ":findings\r")  # f alone would open the findings; here every key is the prompt's
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)
        burst(app, ":vm\r")
        await settle(pilot)
        assert isinstance(app.screen, InventoryScreen)
        burst(app, ":snap")  # no Enter: the prompt stays open holding what was typed
        await settle(pilot)
        assert app.screen.query_one("#command-input", Input).value == "snap"


async def test_colon_is_text_in_the_query_editor(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.run_command("query")
        await settle(pilot)
        editor = app.screen.query_one(TextArea)
        editor.focus()
        editor.text = ""
        await pilot.press(*"SELECT ':'")
        await settle(pilot)
        assert editor.text == "SELECT ':'" and not isinstance(app.screen, CommandLine)


async def test_j_and_k_move_the_table_cursor(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.run_command("vm")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        table.focus()
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1


async def test_help_leads_with_the_apps_keys(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.run_command("vm")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen", app.screen
        shot = app.export_screenshot()
        assert "Filter" in shot
        generic = [shot.find(w) for w in ("Scroll", "scroll", "Focus", "focus") if w in shot]
        assert all(shot.index("Filter") < at for at in generic)  # the view's keys first

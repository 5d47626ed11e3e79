"""Pilot tests of the browsing screens over a fixed cache that holds hostile names."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Footer, OptionList, Static, TextArea
from tui_estate import HOSTILE, make_app

from workbench.screens.detail import DetailScreen
from workbench.screens.inventory import InventoryScreen
from workbench.screens.query import QueryScreen
from workbench.screens.settings import SettingsScreen
from workbench.screens.sync_status import SyncScreen
from workbench.screens.widgets.virtual_table import VirtualTable

SIZE = (120, 40)
UID = "aws:111122223333:eu-west-1:instance:i-0000"


async def test_inventory_renders_hostile_names_inert(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_view("vm")  # the app opens on the dashboard; these tests browse instances
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, InventoryScreen)
        table = app.screen.query_one(VirtualTable)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == 9
        lines = "".join("".join(s.text for s in table.render_line(y)) for y in range(12))
        assert "\x1b" not in lines and "\x07" not in lines and "\u202e" not in lines
        assert "[@click=app.quit]x" in lines  # literal text, not a link
        assert "A␛]0;pwned␇B" in lines and "C␛[2JD" in lines
        # Clicking the would-be action link does nothing but move the cursor.
        await pilot.click(VirtualTable, offset=(30, 4))
        await pilot.pause()
        assert app.is_running
        # The stale scope's row is marked.
        assert any("!" in "".join(s.text for s in table.render_line(y))[:5] for y in range(1, 11))


async def test_filter_as_you_type_and_command_arguments(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_view("vm")  # the app opens on the dashboard; these tests browse instances
        await pilot.pause()
        await pilot.press("slash", *"db")  # two characters: a substring scan, not "every row"
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(VirtualTable)
        short = table.row_count
        assert short is not None and 0 < short < 9
        await pilot.press(*"-1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == 1
        await pilot.press("escape")  # clears the filter
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == 9
        await pilot.press("colon", *"snap account=111122223333", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, InventoryScreen) and app.screen.kind == "snapshot"
        assert app.screen.query_one(VirtualTable).row_count == 8
        await pilot.press("colon", *"vm env=dev", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one(VirtualTable).row_count == 1
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, InventoryScreen) and app.screen.kind == "instance"


async def test_sort_and_open_detail_then_follow_relation(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_view("vm")  # the app opens on the dashboard; these tests browse instances
        await pilot.pause()
        table = app.screen.query_one(VirtualTable)
        table.set_sort("name", descending=False)
        await pilot.pause()
        table.move_cursor(0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        app.pop_screen()
        await pilot.pause()
        app.open_resource(UID)
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        kinds = {n.kind for n in detail.neighbours}
        assert {"volume", "image", "firewall_group", "firewall_rule", "snapshot"} - kinds == {
            "snapshot"
        }
        findings = str(detail.query_one("#findings", Static).render())
        assert "AWS-IMDS-01" in findings
        pairs = [(n.relation, n.uid) for n in detail.neighbours]
        assert len(pairs) == len(set(pairs))  # no related row twice
        assert detail.query_one(Footer).display  # the detail screen has its footer
        related = detail.query_one("#related", OptionList)
        assert related.has_focus and related.highlighted == 0
        await pilot.press("enter")  # follows at once: no ↓ needed first
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.uid.endswith("volume:vol-0000")
        # The volume leads on to its snapshot.
        assert any(n.kind == "snapshot" for n in app.screen.neighbours)
        await pilot.press("j")  # raw JSON pane
        await pilot.pause()
        assert app.screen.query_one("#raw-pane").display


async def test_detail_of_hostile_instance_is_inert(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_resource("aws:111122223333:eu-west-1:instance:i-0003")
        await pilot.pause()
        shot = app.export_screenshot()
        assert "pwned" in shot and "\x1b]0;pwned" not in shot
        app.open_resource("aws:111122223333:eu-west-1:instance:i-0007")  # the 5,000-character name
        await pilot.pause()
        assert app.is_running


async def test_query_console_is_read_only(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_view("query")
        await pilot.pause()
        assert isinstance(app.screen, QueryScreen)
        area = app.screen.query_one(TextArea)
        area.text = "SELECT id, name FROM instances ORDER BY id"
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        results = app.screen.query_one("#results", VirtualTable)
        assert results.row_count == 9
        area.text = "DELETE FROM instances"
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.screen.query_one("#query-status", Static).render())
        assert "error" in status and ("readonly" in status or "read-only" in status)
        area.text = "SELECT count(*) FROM instances"
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = app.screen.query_one("#results", VirtualTable).source.page(0, 1)
        assert rows[0][1] == 9


async def test_sync_screen_shows_stale_scope_and_reports_missing_providers(
    cache_path: Path,
) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"sync", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SyncScreen)
        scopes = app.screen.query_one("#scope-table", VirtualTable)
        assert scopes.row_count == 2
        await pilot.press("down")
        await pilot.pause()
        assert "AccessDenied" in str(app.screen.query_one("#scope-error", Static).render())
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.sync.running
        assert any("no provider is configured" in line for _, line in app.sync.log.lines)


async def test_settings_read_only_forced_and_secrets(cache_path: Path, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    app = make_app(cache_path, read_only=True, role="viewer")
    async with app.run_test(size=SIZE) as pilot:
        assert "READ-ONLY" in app.export_screenshot() and "viewer" in app.export_screenshot()
        app.open_view("settings")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert app.set_read_only(False) is False and app.read_only
        app.screen.query_one("#secret-name").value = "vsphere:vc1"
        app.screen.query_one("#secret-value").value = "s3cr3t"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert memory_keyring.store[("vmwb", "vsphere:vc1")] == "s3cr3t"
        assert "s3cr3t" not in app.export_screenshot()
        app.screen.query_one("#light-theme").value = True
        await pilot.pause()
        assert app.theme == "textual-light"


async def test_help_and_palette_search(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_view("vm")  # the app opens on the dashboard; these tests browse instances
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        shot = app.export_screenshot()
        assert ":snap" in shot and "Filter" in shot
        await pilot.press("escape")
        await pilot.press("ctrl+p", *"pwned")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "i-0003" in app.export_screenshot()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.uid.endswith("i-0003")


def test_hostile_fixture_covers_the_brief() -> None:
    assert any(len(n) >= 5000 for n in HOSTILE) and any("\u202e" in n for n in HOSTILE)


async def test_choose_columns_rebuilds_the_table(cache_path: Path) -> None:
    app = make_app(cache_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_view("vm")  # the app opens on the dashboard; these tests browse instances
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InventoryScreen)
        await screen._set_columns(["id", "name", "private_ip"])
        await pilot.pause()
        table = screen.query_one(VirtualTable)
        assert [c.name for c in table.columns][1:] == ["id", "name", "private_ip"]
        assert "10.0.0.1" in "".join(s.text for s in table.render_line(1))

"""VirtualTable + SqlTableSource over a real 10k-row SQLite DB with an FTS5 trigram index."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input

from workbench.cache.table_source import Column, SqlTableSource
from workbench.screens.widgets.virtual_table import VirtualTable, fit_widths
from workbench.textsafe import safe

ROWS = 10_000
ROLES = ("web", "db", "api", "web-db", "cache")
ENVS = ("prod", "stage", "dev")
KINDS = ("vm", "image", "snapshot")
HOSTILE = {
    7: "\x1b]0;pwned\x07[@click=app.quit]",
    8: "[@click=app.pwn]pwn[/] [bold red]x[/] [link=file:///etc/passwd]p[/link]",
    9: "\x1b[2J\u202eevil\u202c",
    10: "東京-web-仮想マシン-🔥",
}
COLUMNS = [Column("name", "Name", 30), Column("kind", "Kind", 8), Column("region", "Region", 12)]


def _name(i: int) -> str:
    return HOSTILE.get(i, f"{ROLES[i % 5]}-{ENVS[i % 3]}-{i:05d}")


def _kind(i: int) -> str:
    return KINDS[i % 3]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vt") / "inventory.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE inventory (id INTEGER PRIMARY KEY, name TEXT, kind TEXT, region TEXT);
        CREATE INDEX inventory_name ON inventory(name);
        CREATE VIRTUAL TABLE inventory_fts USING fts5(
            name, content='inventory', content_rowid='id', tokenize='trigram'
        );
        CREATE VIEW vms AS SELECT id, name, region FROM inventory WHERE kind = 'vm';
        """
    )
    conn.executemany(
        "INSERT INTO inventory VALUES (?, ?, ?, ?)",
        ((i, _name(i), _kind(i), f"eu-west-{i % 4}") for i in range(1, ROWS + 1)),
    )
    conn.execute("INSERT INTO inventory_fts(inventory_fts) VALUES ('rebuild')")
    conn.commit()
    conn.close()
    return path


def _source(db: Path, **kwargs: Any) -> SqlTableSource:
    return SqlTableSource(db, "inventory", COLUMNS, fts_table="inventory_fts", **kwargs)


class TableApp(App[None]):
    def __init__(self, source: SqlTableSource) -> None:
        super().__init__()
        self.source = source
        self.messages: list[Any] = []
        self.pwned = False

    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        yield VirtualTable(self.source, id="table")

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one(VirtualTable).set_filter(event.value)

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.messages.append(message)

    def on_virtual_table_count_changed(self, message: VirtualTable.CountChanged) -> None:
        self.messages.append(message)

    def on_virtual_table_selection_changed(self, message: VirtualTable.SelectionChanged) -> None:
        self.messages.append(message)

    def action_pwn(self) -> None:
        self.pwned = True


async def _settle(pilot: Pilot[None]) -> None:
    """Let the count worker finish and its message be handled."""
    for _ in range(500):  # wait_for_complete() raises on workers cancelled by a newer filter
        if all(worker.is_finished for worker in pilot.app.workers):
            break
        await asyncio.sleep(0.01)
    await pilot.pause()
    await pilot.pause()


@asynccontextmanager
async def table_pilot(
    source: SqlTableSource, size: tuple[int, int] = (100, 30)
) -> AsyncIterator[tuple[TableApp, VirtualTable, Pilot[None]]]:
    """Runs a TableApp over ``source`` at ``size`` with the first count in. Yields (app, table, pilot)."""
    app = TableApp(source)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        yield app, app.query_one(VirtualTable), pilot


def _lines(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def _counts(app: TableApp) -> list[int]:
    return [m.count for m in app.messages if isinstance(m, VirtualTable.CountChanged)]


async def test_first_page_renders_the_first_rows_and_the_count(db: Path) -> None:
    async with table_pilot(_source(db)) as (app, table, _):
        lines = _lines(table)
        assert lines[0].split()[:3] == ["Name", "Kind", "Region"]
        assert lines[1].startswith("  " + _name(1))
        assert lines[5].startswith("  " + _name(5))
        assert "snapshot" in lines[5]  # kind of row 5
        assert table.row_count == ROWS
        assert _counts(app) == [ROWS]
        assert str(table.border_subtitle) == "rows: 10,000"
        assert all(cell_len(line) == table.scrollable_content_region.width for line in lines)


async def test_typed_filter_narrows_to_the_fts_matches(db: Path) -> None:
    async with table_pilot(_source(db)) as (app, table, pilot):
        await pilot.click("#filter")
        await pilot.press(*"db")
        await _settle(pilot)
        # Under 3 characters the trigram index cannot answer: a substring scan still filters.
        short = [i for i in range(1, ROWS + 1) if "db" in _name(i).lower()]
        assert table.row_count == len(short) and table.cursor_key == short[0]
        await pilot.press("backspace", "backspace", *"we")
        await _settle(pilot)
        await pilot.press(*"b-db")
        await _settle(pilot)
        expected = [i for i in range(1, ROWS + 1) if "web-db" in _name(i)]
        assert table.row_count == len(expected)
        assert _counts(app)[-1] == len(expected)
        assert table.cursor_key == expected[0]
        assert _lines(table)[2].startswith("  " + _name(expected[1]))
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await _settle(pilot)
        assert table.row_count == ROWS


async def test_filter_is_literal_substring_not_fts_syntax(db: Path) -> None:
    source = _source(db)
    source.set_filter('pwned" OR "web')  # would be a syntax error / OR query if unquoted
    assert source.count() == 0
    source.set_filter("[@click")
    assert [row[0] for row in source.page(0, 10)] == [7, 8]


async def test_sort_by_name_descending_and_header_indicator(db: Path) -> None:
    async with table_pilot(_source(db)) as (_, table, pilot):
        table.set_sort("name", descending=True)
        await _settle(pilot)
        names = sorted((_name(i) for i in range(1, ROWS + 1)), reverse=True)
        lines = _lines(table)
        assert "Name ▼" in lines[0]
        assert lines[1].startswith("  " + names[0])
        assert lines[2].startswith("  " + names[1])
        # Clicking the Name label reverses the sort.
        await pilot.click(VirtualTable, offset=(4, 1))
        await _settle(pilot)
        lines = _lines(table)
        assert "Name ▲" in lines[0]
        assert lines[1].startswith("  " + safe(names[-1]))


async def test_end_jumps_to_the_last_row_and_home_back(db: Path) -> None:
    async with table_pilot(_source(db)) as (_, table, pilot):
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == ROWS - 1
        assert table.cursor_key == ROWS
        lines = _lines(table)
        assert lines[-1].startswith("  " + _name(ROWS))
        assert lines[-2].startswith("  " + _name(ROWS - 1))
        await pilot.press("pageup")
        assert table.cursor_row == ROWS - 1 - (table.scrollable_content_region.height - 1)
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0
        assert _lines(table)[1].startswith("  " + _name(1))
        await pilot.press("pagedown", "down")
        assert table.cursor_row == table.scrollable_content_region.height


async def test_end_while_filtered_and_sorted(db: Path) -> None:
    async with table_pilot(_source(db, sort="name")) as (_, table, pilot):
        table.set_filter("prod")
        # No await in between: the count cannot have arrived, so End has to wait for it.
        assert table.row_count is None
        table.action_cursor_end()
        await _settle(pilot)
        matches = sorted(_name(i) for i in range(1, ROWS + 1) if "prod" in _name(i))
        assert table.row_count == len(matches)
        assert table.cursor_row == len(matches) - 1
        assert _lines(table)[-1].startswith("  " + matches[-1])


async def test_enter_posts_row_selected_with_the_key(db: Path) -> None:
    async with table_pilot(_source(db)) as (app, table, pilot):
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        selected = [m for m in app.messages if isinstance(m, VirtualTable.RowSelected)]
        assert len(selected) == 1
        assert selected[0].key == 4
        assert selected[0].row_index == 3
        assert selected[0].table is table
        assert selected[0].control is table


async def test_space_selects_rows_in_bulk(db: Path) -> None:
    async with table_pilot(_source(db)) as (app, table, pilot):
        await pilot.press("space", "space", "down", "space")
        await pilot.pause()
        assert table.selected_keys == {1, 2, 4}
        assert table.cursor_row == 4  # space also moves down
        lines = _lines(table)
        assert lines[1].startswith("● ") and lines[3].startswith("  ") and lines[4][0] == "●"
        assert str(table.border_subtitle) == "rows: 10,000 · selected: 3"
        changes = [m for m in app.messages if isinstance(m, VirtualTable.SelectionChanged)]
        assert changes[-1].keys == {1, 2, 4}
        await pilot.press("up", "up", "up", "up", "space")  # toggle row 1 off again
        assert table.selected_keys == {2, 4}
        # Selection survives a filter: findings can be picked across searches.
        table.set_filter("stage")
        await _settle(pilot)
        assert table.selected_keys == {2, 4}
        table.clear_selection()
        assert table.selected_keys == frozenset()


async def test_hostile_names_render_inert_and_clicks_fire_no_action(db: Path) -> None:
    async with table_pilot(_source(db)) as (app, table, pilot):
        strips = [table.render_line(y) for y in range(12)]
        text = [strip.text for strip in strips]
        assert "␛]0;pwned␇[@click=app.quit]" in text[7]
        # Sized to its content, the name is shown whole: as text, never as markup.
        assert text[8].startswith("  " + HOSTILE[8] + " ")
        assert text[9].startswith("  ␛[2J\ufffdevil\ufffd")
        assert text[10].startswith("  東京-web-仮想マシン-🔥 ")
        for strip in strips:
            assert strip.cell_length == table.scrollable_content_region.width
            for segment in strip:
                assert "\x1b" not in segment.text and "\x07" not in segment.text
                assert segment.style is None or (not segment.style.link and not segment.style.meta)
        # Click right on the "[@click=app.quit]" and "[@click=app.pwn]" text: the cursor moves,
        # nothing else happens. Widget offsets: border (y 0), header (y 1), row index r at r + 2.
        await pilot.click(VirtualTable, offset=(15, 8))
        await pilot.click(VirtualTable, offset=(6, 9))
        await pilot.pause()
        assert app.is_running
        assert not app.pwned
        assert table.cursor_row == 7


async def test_where_clause_restricts_rows(db: Path) -> None:
    async with table_pilot(_source(db)) as (_, table, pilot):
        table.set_where("kind = ? AND region = ?", ["vm", "eu-west-1"])
        await _settle(pilot)
        expected = [i for i in range(1, ROWS + 1) if _kind(i) == "vm" and i % 4 == 1]
        assert table.row_count == len(expected)
        assert table.cursor_key == expected[0]
        table.set_filter("web")  # FTS and WHERE together
        await _settle(pilot)
        assert table.row_count == sum(1 for i in expected if "web" in _name(i))
        await pilot.press("end")
        assert table.cursor_key == [i for i in expected if "web" in _name(i)][-1]
        table.set_where(None)
        table.set_filter("")
        await _settle(pilot)
        assert table.row_count == ROWS


@pytest.mark.parametrize("width", [80, 40])
async def test_narrow_terminals_fit_every_column(db: Path, width: int) -> None:
    async with table_pilot(_source(db), (width, 24)) as (_, table, _):
        lines = _lines(table)
        assert all(cell_len(line) == table.scrollable_content_region.width for line in lines)
        assert lines[0].split()[:2] == ["Name", "Kind"]
        assert _kind(2).startswith(lines[2].split()[1].rstrip("…"))
        if width == 80:
            assert "Region" in lines[0]
            assert lines[2].startswith("  " + _name(2))


# -- SqlTableSource without the widget ---------------------------------------------------------


def test_reverse_paging_matches_forward_paging(db: Path) -> None:
    source = _source(db, sort="name")
    forward = source.page(ROWS - 50, 50)  # count unknown: forward with a deep OFFSET
    assert source.count() == ROWS
    backward = source.page(ROWS - 50, 50)  # count known: read from the end
    assert backward == forward
    assert source.page(ROWS - 3, 50) == forward[-3:]
    assert source.page(ROWS, 10) == []
    source.set_filter("stage")
    total = source.count()
    assert total is not None
    middle = source.page(total // 2 - 5, 10)
    source.forget_counts()
    assert source.page(total // 2 - 5, 10) == middle


def test_rows_start_with_the_key_and_views_need_a_key_column(db: Path) -> None:
    source = SqlTableSource(db, "vms", [("name", "Name", 20)], key="id")
    rows = source.page(0, 3)
    assert [row[0] for row in rows] == [i for i in range(1, 10) if _kind(i) == "vm"][:3]
    assert rows[0][1] == _name(rows[0][0])
    with pytest.raises(ValueError):
        source.set_sort("nope")


def test_like_fallback_without_fts(db: Path) -> None:
    source = SqlTableSource(db, "inventory", COLUMNS)
    source.set_filter("100_")  # "_" is literal, not a LIKE wildcard
    assert source.count() == 0
    source.set_filter("-00999")
    assert [row[0] for row in source.page(0, 5)] == [999]


def test_connections_are_read_only(db: Path) -> None:
    source = _source(db)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        source._conn().execute("DELETE FROM inventory")
    source.close()


def test_fit_widths_flexes_the_last_column() -> None:
    assert fit_widths([10, 5, 8], 40) == [10, 5, 23]
    narrow = fit_widths([30, 8, 12, 20], 60)
    assert sum(narrow) + 3 == 60
    assert narrow[1:3] == [8, 12]  # the narrow columns fit whole: the widest give up room
    assert narrow[0] >= narrow[3] and narrow[0] < 30
    assert fit_widths([], 10) == []


def test_fit_widths_never_cuts_a_check_id_and_cuts_text_before_ids() -> None:
    cuts = ["end", "never", "middle", "end"]
    fitted = fit_widths([5, 35, 30, 60], 90, cuts)
    assert fitted == [5, 35, 30, 17]  # only the text gave up room
    tight = fit_widths([5, 35, 40, 60], 60, cuts)
    assert tight[1] == 35 and sum(tight) + 3 == 60
    assert tight[0] == 5  # under the level: whole

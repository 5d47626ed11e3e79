"""VirtualTable: a virtualised table that reads only the visible rows from SQLite.

The built-in DataTable measures every cell on idle and holds every row in memory (38 s to first
paint at 100k rows); this widget paints 1M rows in well under 0.1 s by asking an
:class:`~workbench.cache.table_source.SqlTableSource` for one page at a time
(docs: /work/shared/design/tui.md). Cells go through :func:`workbench.textsafe.safe` and are
emitted as plain Segments, so no cloud string ever reaches a markup parser.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.cache.table_source import Column, Row, SqlTableSource, TableState
from workbench.textsafe import safe

__all__ = ["VirtualTable", "fit_widths"]

GUTTER = 2  # selection mark + space
MIN_COLUMN_WIDTH = 3
TEXT_FLOOR = 16  # a text column gives up room alone down to this; below it the ids share the cut
MAX_MEASURED = 120  # a 4 kB reason need not be measured to the end


def _water_fill(widths: Sequence[int], budget: int, floor: int) -> list[int]:
    """Cut the widest of ``widths`` to a common level so that they sum to at most ``budget``.

    Columns under the level stay whole, so a long reason does not squeeze a short id; none goes
    below ``floor`` (or its own width, if smaller). Cells the integer level leaves over go to the
    cut columns, left to right.
    """
    if sum(widths) <= budget:
        return list(widths)
    level, used = floor, 0
    ordered = sorted(widths)
    for n, w in enumerate(ordered):
        rest = len(ordered) - n
        if used + w * rest > budget:
            level = max(floor, (budget - used) // rest)
            break
        used += w
    result = [min(w, level) for w in widths]
    left = budget - sum(result)
    for i, w in enumerate(widths):
        if left <= 0:
            break
        if result[i] < w:
            result[i] += 1
            left -= 1
    return result


def fit_widths(
    widths: Sequence[int],
    available: int,
    cuts: Sequence[str] = (),
    min_width: int = MIN_COLUMN_WIDTH,
) -> list[int]:
    """Fit content widths (plus one-cell separators) into ``available`` cells.

    ``cuts`` gives each column's :attr:`Column.cut` (default ``end``). Spare room goes to the last
    column. When the columns are too wide, text (``end``) columns give up room first, down to
    :data:`TEXT_FLOOR` (the detail line shows the rest); then the ids (``middle``), the widest first;
    only then text below that floor; a ``never`` column (a check id) is never cut. If even that does not fit, the
    rendered line is cropped.
    """
    fitted = [max(min_width, w) for w in widths]
    if not fitted:
        return fitted
    kinds = [cuts[i] if i < len(cuts) else "end" for i in range(len(fitted))]
    spare = available - (sum(fitted) + len(fitted) - 1)
    if spare >= 0:
        fitted[-1] += spare
        return fitted
    budget = available - (len(fitted) - 1)
    budget -= sum(w for w, k in zip(fitted, kinds, strict=True) if k == "never")
    text = [i for i, k in enumerate(kinds) if k == "end"]
    ids = [i for i, k in enumerate(kinds) if k == "middle"]
    id_cells = sum(fitted[i] for i in ids)
    text_floor = sum(min(fitted[i], TEXT_FLOOR) for i in text)
    if budget - id_cells >= text_floor:  # cutting text alone is enough
        cut = _water_fill([fitted[i] for i in text], budget - id_cells, TEXT_FLOOR)
        for i, w in zip(text, cut, strict=True):
            fitted[i] = w
        return fitted
    for i in text:
        fitted[i] = min(fitted[i], TEXT_FLOOR)
    if budget - text_floor >= min_width * len(ids):  # the ids share what the text left
        cut = _water_fill([fitted[i] for i in ids], budget - text_floor, min_width)
        for i, w in zip(ids, cut, strict=True):
            fitted[i] = w
        return fitted
    both = text + ids
    cut = _water_fill([fitted[i] for i in both], budget, min_width)
    for i, w in zip(both, cut, strict=True):
        fitted[i] = w
    return fitted


class VirtualTable(ScrollView, can_focus=True):
    """A read-only table over a :class:`SqlTableSource`, virtualised with the Line API.

    Line 0 is a fixed header (labels, ▲/▼ on the sort column); each further line is one row.
    The row count is computed in a thread worker, so the first page paints before it is known
    and "rows: N" (in the border subtitle, and as :class:`CountChanged`) follows.

    Bindings:
        up / down: move the cursor one row.
        pageup / pagedown: move the cursor one screen.
        home / ctrl+home, end / ctrl+end: first / last row (End waits for the count if needed).
        enter: post :class:`RowSelected` for the cursor row.
        space: toggle the cursor row in :attr:`selected_keys` and move down (bulk selection).

    Mouse: click a row to move the cursor there, double-click to select it; click a header
    label to sort by that column (again to reverse).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "cursor_page_up", "Page up", show=False),
        Binding("pagedown", "cursor_page_down", "Page down", show=False),
        Binding("home,ctrl+home", "cursor_home", "First row", show=False),
        Binding("end,ctrl+end", "cursor_end", "Last row", show=False),
        Binding("enter", "select_cursor", "Open"),
        Binding("space", "toggle_selection", "Select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--selected",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        border: round $foreground 25%;
        border-subtitle-align: right;
        border-subtitle-color: $foreground 70%;
        &:focus {
            border: round $accent;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .virtual-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .virtual-table--selected {
            background: $accent 25%;
        }
    }
    """

    PAGE_SIZE: ClassVar[int] = 64
    CACHED_PAGES: ClassVar[int] = 16

    # -- messages ----------------------------------------------------------------------------

    @dataclass
    class TableMessage(Message):
        """Base of the table's messages: ``control`` is the table, for ``@on(..., "#id")`` selectors."""

        table: VirtualTable

        @property
        def control(self) -> VirtualTable:
            return self.table

    @dataclass
    class RowSelected(TableMessage):
        """Enter (or a double-click) on a row."""

        key: Any
        row_index: int

    @dataclass
    class RowHighlighted(TableMessage):
        """The cursor moved to another row."""

        key: Any
        row_index: int

    @dataclass
    class CountChanged(TableMessage):
        """The exact row count for the current filter/sort/where is known."""

        count: int

    @dataclass
    class SelectionChanged(TableMessage):
        """The set of selected (space-marked) keys changed."""

        keys: frozenset[Any]

    @dataclass
    class _CountReady(Message, bubble=False):
        state: TableState
        count: int | None
        failed: bool = False

    # -- construction ------------------------------------------------------------------------

    def __init__(
        self,
        source: SqlTableSource,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.source = source
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self._row_count = 0
        self._count_known = False
        self._cursor = 0
        self._selected: set[Any] = set()
        self._pending_end = False
        self._widths: list[int] = []
        self._layout_width = -1
        self._content_widths: list[int] = []
        self._measured = False
        self._forget_content_widths()
        self._component_styles_cache: dict[str, Style] = {}

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.source.columns

    @property
    def cursor_row(self) -> int:
        """Index of the cursor row in the current (filtered, sorted) result."""
        return self._cursor

    @property
    def row_count(self) -> int | None:
        """Exact number of rows, or None while the count is still running."""
        return self._row_count if self._count_known else None

    @property
    def selected_keys(self) -> frozenset[Any]:
        return frozenset(self._selected)

    @property
    def cursor_key(self) -> Any:
        """Key of the cursor row, or None if the table is empty."""
        row = self._row(self._cursor)
        return None if row is None else row[0]

    def on_mount(self) -> None:
        # No super() call: Textual already runs ScrollView.on_mount via the MRO.
        self.reload()

    def on_unmount(self) -> None:
        # A screen left behind (a jump replaced the stack) or a table swapped for another must not keep
        # its connections open: 30 view switches once held 56 files.
        self.source.close()

    # -- public API --------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read everything (call after the database changed). Keeps the selection."""
        self.source.forget_counts()
        self._reset()

    def set_filter(self, text: str) -> None:
        """Filter rows by substring (FTS trigram from 3 characters; shorter means no filter)."""
        if self.source.set_filter(text):
            self._reset()

    def set_sort(self, column: str, descending: bool = False) -> None:
        """Sort by a column name (or the source key)."""
        if self.source.set_sort(column, descending):
            self._reset()

    def set_where(self, sql: str | None, params: Sequence[Any] = ()) -> None:
        """Replace the fixed SQL condition (caller-written SQL; values only in ``params``)."""
        if self.source.set_where(sql, params):
            self._reset()

    def clear_selection(self) -> None:
        if self._selected:
            self._selected.clear()
            self._selection_changed()
            self.refresh()

    def move_cursor(self, row: int) -> None:
        """Move the cursor to ``row`` (clamped) and scroll it into view."""
        last = self._row_count - 1
        row = max(0, min(row, last))
        old, self._cursor = self._cursor, row
        self._scroll_to_cursor()
        self._refresh_row(old)
        self._refresh_row(row)
        if old != row and (data := self._row(row)) is not None:
            self.post_message(self.RowHighlighted(self, data[0], row))

    # -- actions -----------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_page_up(self) -> None:
        step = self._visible_rows()
        self.scroll_to(y=self.scroll_offset.y - step, animate=False)
        self.move_cursor(self._cursor - step)

    def action_cursor_page_down(self) -> None:
        step = self._visible_rows()
        self.scroll_to(y=self.scroll_offset.y + step, animate=False)
        self.move_cursor(self._cursor + step)

    def action_cursor_home(self) -> None:
        self._pending_end = False
        self.move_cursor(0)

    def action_cursor_end(self) -> None:
        if not self._count_known:
            # The last row's index is unknown until the count arrives; finish the jump then.
            self._pending_end = True
            return
        self.move_cursor(self._row_count - 1)

    def action_select_cursor(self) -> None:
        row = self._row(self._cursor)
        if row is not None:
            self.post_message(self.RowSelected(self, row[0], self._cursor))

    def action_toggle_selection(self) -> None:
        row = self._row(self._cursor)
        if row is None:
            return
        key = row[0]
        if key in self._selected:
            self._selected.remove(key)
        else:
            self._selected.add(key)
        self._selection_changed()
        self._refresh_row(self._cursor)
        self.move_cursor(self._cursor + 1)

    # -- data --------------------------------------------------------------------------------

    def _reset(self) -> None:
        """Start over for a new source state: first page now, exact count in the background."""
        self._pages.clear()
        self._forget_content_widths()
        self._pending_end = False
        self._cursor = 0
        self.scroll_to(y=0, animate=False)
        state = self.source.state
        known = self.source.known_count(state)
        if known is not None:
            self._set_row_count(known, exact=True)
        else:
            first = self._fetch_page(0)
            # A short first page is the whole result; otherwise allow scrolling within the page
            # until the exact count arrives.
            self._set_row_count(len(first), exact=len(first) < self.PAGE_SIZE)
            if not self._count_known:
                self.source.cancel_counts()
                self._count_rows(state)
        if self._count_known:
            self.post_message(self.CountChanged(self, self._row_count))
        self.refresh()

    @work(thread=True, exclusive=True, group="virtual-table-count", exit_on_error=False)
    def _count_rows(self, state: TableState) -> None:
        try:
            count = self.source.count(state)
        except sqlite3.Error:
            self.post_message(self._CountReady(state, None, failed=True))
            return
        if count is not None:  # None: interrupted because a newer state took over
            self.post_message(self._CountReady(state, count))

    def _on_virtual_table__count_ready(self, message: _CountReady) -> None:
        message.stop()
        if message.state != self.source.state:
            return  # a newer filter/sort is on screen; its own count is on the way
        if message.count is None:
            self._update_subtitle(failed=message.failed)
            return
        self._set_row_count(message.count, exact=True)
        self.post_message(self.CountChanged(self, message.count))
        if self._pending_end:
            self._pending_end = False
            self.move_cursor(self._row_count - 1)

    def _set_row_count(self, count: int, *, exact: bool) -> None:
        self._row_count = count
        self._count_known = exact
        self.virtual_size = Size(self.scrollable_content_region.width, count + 1)
        if self._cursor >= count:
            self._cursor = max(0, count - 1)
        self._update_subtitle()

    def _fetch_page(self, page: int) -> list[Row]:
        rows = self._pages.get(page)
        if rows is None:
            rows = self.source.page(page * self.PAGE_SIZE, self.PAGE_SIZE)
            self._pages[page] = rows
            self._measure(rows)
            if len(self._pages) > self.CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows

    def _row(self, index: int) -> Row | None:
        if not 0 <= index < self._row_count:
            return None
        page, offset = divmod(index, self.PAGE_SIZE)
        rows = self._fetch_page(page)
        return rows[offset] if offset < len(rows) else None

    def _selection_changed(self) -> None:
        self._update_subtitle()
        self.post_message(self.SelectionChanged(self, frozenset(self._selected)))

    def _update_subtitle(self, failed: bool = False) -> None:
        if failed:
            count = "?"
        elif self._count_known:
            count = f"{self._row_count:,}"
        else:
            count = "…"
        text = f"rows: {count}"
        if self._selected:
            text += f" · selected: {len(self._selected):,}"
        self.border_subtitle = Text(text)  # Text, not str: a str border title is markup

    # -- geometry ----------------------------------------------------------------------------

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top = self.scroll_offset.y
        visible = self._visible_rows()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False)

    def _refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y + 1
        if 1 <= y < self.scrollable_content_region.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self._row_count + 1)
        self._scroll_to_cursor()

    def _forget_content_widths(self) -> None:
        # Room for the label and its sort mark ("▲"), so sorting never cuts a header.
        self._content_widths = [cell_len(c.label) + 2 for c in self.columns]
        self._measured = False
        self._layout_width = -1

    def _measure(self, rows: Sequence[Row]) -> None:
        """Widen columns to the rows read so far; they only grow until the next reset."""
        if not rows:
            return
        widths = self._content_widths
        grew = not self._measured
        self._measured = True
        for row in rows:
            for i, value in enumerate(row[1 : len(widths) + 1]):
                cells = cell_len(safe(value, MAX_MEASURED))
                if cells > widths[i]:
                    widths[i], grew = cells, True
        if grew:
            self._layout_width = -1
            self.refresh()

    def _column_widths(self, width: int) -> list[int]:
        if width != self._layout_width:
            if self._measured:
                natural = self._content_widths
            else:  # no row read yet: the declared widths
                natural = [
                    max(c.width, w) for c, w in zip(self.columns, self._content_widths, strict=True)
                ]
            self._widths = fit_widths(natural, width - GUTTER, [c.cut for c in self.columns])
            self._layout_width = width
        return self._widths

    # -- rendering ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._component_styles_cache.clear()

    def _style(self, component: str | None) -> Style:
        key = component or ""
        style = self._component_styles_cache.get(key)
        if style is None:
            style = self.rich_style
            if component:
                style += self.get_component_rich_style(component)
            self._component_styles_cache[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._render_header(width)
        index = self.scroll_offset.y + y - 1
        row = self._row(index)
        if row is None:
            return Strip.blank(width, self._style(None))
        if index == self._cursor:
            style = self._style("virtual-table--cursor")
        elif row[0] in self._selected:
            style = self._style("virtual-table--selected")
        else:
            style = self._style(None)
        mark = "● " if row[0] in self._selected else "  "
        return Strip([Segment(set_cell_size(mark + self._cells(row[1:], width), width), style)])

    def _cells(self, values: Sequence[Any], width: int) -> str:
        parts = []
        for value, column, cells in zip(
            values, self.columns, self._column_widths(width), strict=False
        ):
            text = safe(
                value, None if column.cut == "never" else cells, middle=column.cut == "middle"
            )
            if column.align == "right":
                parts.append(" " * (cells - cell_len(text)) + text)
            else:
                parts.append(set_cell_size(text, cells))
        return " ".join(parts)

    def _render_header(self, width: int) -> Strip:
        state = self.source.state
        labels = []
        for column in self.columns:
            label = column.label
            if column.name == state.sort:
                label += " ▼" if state.descending else " ▲"
            labels.append(label)
        text = "  " + self._cells(labels, width)
        return Strip([Segment(set_cell_size(text, width), self._style("virtual-table--header"))])

    # -- mouse -------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self._click_header(offset.x)
            return
        index = self.scroll_offset.y + offset.y - 1
        if 0 <= index < self._row_count:
            self.move_cursor(index)
            if event.chain >= 2:
                self.action_select_cursor()

    def _click_header(self, x: int) -> None:
        left = GUTTER
        for column, cells in zip(
            self.columns, self._column_widths(self.scrollable_content_region.width), strict=False
        ):
            if left <= x < left + cells + 1:
                state = self.source.state
                descending = not state.descending if state.sort == column.name else False
                self.set_sort(column.name, descending)
                return
            left += cells + 1

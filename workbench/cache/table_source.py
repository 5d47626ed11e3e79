"""A lazy, schema-agnostic row source over one SQLite table or view, for virtualised tables.

Only the visible page is ever read (docs: /work/shared/design/tui.md, "Query patterns that
matter"):

* Substring filtering goes through an FTS5 ``trigram`` index whose rowid equals the base row's
  key from 3 characters (:data:`TRIGRAM_MIN`). Shorter text cannot use the trigram index, so it is
  a ``LIKE '%x%'`` scan over ``search_columns`` (what the index covers): a short filter still
  filters. The first page of a scan stops as soon as it is full; only the background count reads
  every row (about a second at 1M rows).
* With a filter and the default key order, the page is cut inside the FTS subquery
  (``key IN (SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid LIMIT ? OFFSET ?)``); the
  obvious JOIN sorts every match and is ~300x slower.
* Once the row count is known, pages in the back half are read in reverse order with a small
  OFFSET, so jumping to the end costs the same as the first page.
* ``count()`` is meant for a background thread; it can be interrupted by :meth:`cancel_counts`.

Connections are opened read-only (``mode=ro`` URI), one per thread, because a sqlite3 connection
must not be shared between the UI thread and count workers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

__all__ = ["Column", "SqlTableSource", "TableState"]

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Column:
    """One displayed column: SQL column name, header label, width in cells, alignment and how it is cut.

    The table sizes a column to its content and the terminal; ``width`` is what it gets before any
    row is known. ``cut`` says what happens when the content does not fit: ``end`` (text) ends in
    "…", ``middle`` (cloud ids, accounts) keeps the distinctive end, ``never`` (check ids) is shown
    whole and the other columns give up the room.
    """

    name: str
    label: str
    width: int
    align: Literal["left", "right"] = "left"
    cut: Literal["end", "middle", "never"] = "end"


@dataclass(frozen=True, slots=True)
class TableState:
    """Everything that decides which rows a page contains, as one hashable snapshot.

    The widget hands a snapshot to its count worker and compares it on return, so a count that
    finishes after the filter changed is recognised as stale.
    """

    filter: str = ""
    sort: str = ""
    descending: bool = False
    where: str = ""
    params: tuple[Any, ...] = ()


def _ident(name: str) -> str:
    # rowid must stay bare: a quoted "rowid" on a table without such a column can be taken as a
    # string literal by SQLite's double-quoted-string fallback.
    if name.lower() in ("rowid", "oid", "_rowid_"):
        return name
    return '"' + name.replace('"', '""') + '"'


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(text: str) -> str:
    # One quoted FTS5 phrase: the trigram tokenizer then matches it as a plain substring, and no
    # user input is ever interpreted as FTS query syntax (AND, NEAR, column filters, ...).
    return '"' + text.replace('"', '""') + '"'


TRIGRAM_MIN = 3  # the trigram index matches only text of at least three characters


class SqlTableSource:
    """Rows of one SQLite table or view, filtered, sorted and paged in SQL.

    Args:
        db_path: SQLite database file; opened read-only.
        table: Table or view name.
        columns: Displayed columns, as :class:`Column` or ``(name, label, width)`` tuples.
        key: Column that identifies a row (default ``rowid``; a view needs a real column). It is
            returned as the first element of every row and must equal the FTS table's rowid.
        fts_table: Optional FTS5 table (trigram tokenizer) whose rowid equals ``key``. Without it
            the filter falls back to ``LIKE`` over the displayed columns.
        where: Optional fixed SQL condition, e.g. ``"kind = ?"``; written by the caller, never
            from user input. Values go in ``params``.
        params: Parameters for ``where``.
        sort: Column to sort by (default: ``key``).
        sort_sql: SQL to order by instead of a column's value, by column name (a severity sorts by
            its rank, not alphabetically); written by the caller, never from user input.
        descending: Sort direction.
        min_filter_chars: Filter text shorter than this means "no filter" (default 1: any text filters).
        search_columns: What a filter too short for the trigram index scans with ``LIKE`` (the
            columns the FTS index covers, e.g. ``("search",)``); default: the displayed columns.
    """

    def __init__(
        self,
        db_path: str | Path,
        table: str,
        columns: Iterable[Column | tuple[str, str, int]],
        *,
        key: str = "rowid",
        fts_table: str | None = None,
        where: str | None = None,
        params: Sequence[Any] = (),
        sort: str | None = None,
        sort_sql: dict[str, str] | None = None,
        descending: bool = False,
        min_filter_chars: int = 1,
        search_columns: Sequence[str] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.table = table
        self.columns: tuple[Column, ...] = tuple(
            c if isinstance(c, Column) else Column(*c) for c in columns
        )
        if not self.columns:
            raise ValueError("SqlTableSource needs at least one column")
        self.key = key
        self.fts_table = fts_table
        self.min_filter_chars = min_filter_chars
        self.sort_sql = dict(sort_sql or {})
        self.search_columns = tuple(search_columns) if search_columns else None
        self._state = TableState(
            sort=self._check_sort(sort or key),
            descending=descending,
            where=where or "",
            params=tuple(params),
        )
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._counting: set[sqlite3.Connection] = set()
        self._counts: dict[TableState, int] = {}
        select = [_ident(key), *(_ident(c.name) for c in self.columns)]
        self._select = ", ".join(select)

    # -- state -------------------------------------------------------------------------------

    @property
    def state(self) -> TableState:
        """The current filter/sort/where snapshot."""
        return self._state

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def set_filter(self, text: str) -> bool:
        """Filter rows by substring; returns True if the visible rows may have changed."""
        effective = text if len(text) >= self.min_filter_chars else ""
        return self._update(filter=effective)

    def set_sort(self, column: str, descending: bool = False) -> bool:
        """Sort by ``column`` (a displayed column or the key); returns True if changed."""
        return self._update(sort=self._check_sort(column), descending=descending)

    def set_where(self, sql: str | None, params: Sequence[Any] = ()) -> bool:
        """Replace the fixed SQL condition; returns True if changed."""
        return self._update(where=sql or "", params=tuple(params))

    def _update(self, **changes: Any) -> bool:
        new = replace(self._state, **changes)
        changed = new != self._state
        self._state = new
        return changed

    def _check_sort(self, column: str) -> str:
        if column != self.key and column not in self.column_names:
            raise ValueError(f"cannot sort by {column!r}: not a column of this table")
        return column

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            uri = self.db_path.resolve().as_uri() + "?mode=ro"
            with self._lock:
                # Closed is final: a count still running for a table that left the screen would
                # otherwise open a connection after close() that nobody closes.
                if self._closed:
                    raise sqlite3.ProgrammingError("the table source is closed")
                # check_same_thread=False only so close() can close every thread's connection;
                # each connection is still used by the thread that opened it.
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def _drop_conn(self) -> None:
        """Forget this thread's connection after it failed; the next query opens a new one."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is None:
            return
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        try:
            conn.close()
        except sqlite3.Error:
            pass  # it failed already; closing it is best effort

    def _fetch(self, sql: str, params: Sequence[Any], *, one: bool = False) -> Any:
        """Run a read on this thread's connection; a connection that fails (the file was replaced, a
        disk I/O error, closed under us) is reopened once instead of failing the view."""
        for attempt in (1, 2):
            conn = self._conn()
            try:
                cur = conn.execute(sql, params)
                return cur.fetchone() if one else cur.fetchall()
            except sqlite3.DatabaseError as exc:  # OperationalError and ProgrammingError included
                if "interrupt" in str(exc) or attempt == 2:
                    raise
                self._drop_conn()
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every connection this source opened (from any thread); it opens none after this."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    # -- SQL ---------------------------------------------------------------------------------

    def _conditions(self, state: TableState) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if state.filter:
            if self._uses_fts(state):
                fts = _ident(self.fts_table or "")
                clauses.append(
                    f"{_ident(self.key)} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"
                )
                params.append(_fts_phrase(state.filter))
            else:
                scanned = self.search_columns if self.fts_table and self.search_columns else None
                names = scanned or tuple(c.name for c in self.columns)
                likes = [f"{_ident(n)} LIKE ? ESCAPE '\\'" for n in names]
                clauses.append("(" + " OR ".join(likes) + ")")
                params.extend([_like_pattern(state.filter)] * len(likes))
        if state.where:
            clauses.append(f"({state.where})")
            params.extend(state.params)
        return clauses, params

    def _uses_fts(self, state: TableState) -> bool:
        return bool(state.filter and self.fts_table and len(state.filter) >= TRIGRAM_MIN)

    def _count_sql(self, state: TableState) -> tuple[str, list[Any]]:
        if self._uses_fts(state) and not state.where:
            fts = _ident(self.fts_table or "")
            return f"SELECT count(*) FROM {fts} WHERE {fts} MATCH ?", [_fts_phrase(state.filter)]
        clauses, params = self._conditions(state)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return f"SELECT count(*) FROM {_ident(self.table)}{where}", params

    def _page_sql(
        self, state: TableState, offset: int, limit: int, descending: bool
    ) -> tuple[str, list[Any]]:
        direction = "DESC" if descending else "ASC"
        key = _ident(self.key)
        if self._uses_fts(state) and not state.where and state.sort == self.key:
            # Cut the page inside the FTS subquery: the matches are already in rowid order.
            fts = _ident(self.fts_table or "")
            sql = (
                f"SELECT {self._select} FROM {_ident(self.table)} WHERE {key} IN "
                f"(SELECT rowid FROM {fts} WHERE {fts} MATCH ? "
                f"ORDER BY rowid {direction} LIMIT ? OFFSET ?) ORDER BY {key} {direction}"
            )
            return sql, [_fts_phrase(state.filter), limit, offset]
        clauses, params = self._conditions(state)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        order = f"{self.sort_sql.get(state.sort) or _ident(state.sort)} {direction}"
        if state.sort != self.key:
            # Tie-break on the key so pages are stable; an index on (sort) already ends in rowid.
            order += f", {key} {direction}"
        sql = (
            f"SELECT {self._select} FROM {_ident(self.table)}{where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?"
        )
        return sql, [*params, limit, offset]

    # -- queries -----------------------------------------------------------------------------

    def known_count(self, state: TableState | None = None) -> int | None:
        """The row count for ``state`` if a previous :meth:`count` computed it, else None."""
        return self._counts.get(state or self._state)

    def forget_counts(self) -> None:
        """Drop remembered counts (call after the database changed)."""
        with self._lock:
            self._counts.clear()

    def count(self, state: TableState | None = None) -> int | None:
        """Count the rows of ``state`` (default: current). Returns None if interrupted.

        Meant to run in a worker thread; the result is remembered so paging can use it.
        """
        state = state or self._state
        if (known := self._counts.get(state)) is not None:
            return known
        sql, params = self._count_sql(state)
        conn = self._conn()
        with self._lock:
            self._counting.add(conn)
        try:
            (n,) = self._fetch(sql, params, one=True)
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc):
                return None
            raise
        finally:
            with self._lock:
                self._counting.discard(conn)
        with self._lock:
            if len(self._counts) >= 32:  # a few recent filters are enough for backspacing
                self._counts.pop(next(iter(self._counts)))
            self._counts[state] = int(n)
        return int(n)

    def cancel_counts(self) -> None:
        """Interrupt every count() currently running (thread-safe)."""
        with self._lock:
            for conn in self._counting:
                conn.interrupt()

    def page(self, offset: int, limit: int, state: TableState | None = None) -> list[Row]:
        """Rows ``offset .. offset+limit-1`` of ``state``; each row is ``(key, *column values)``."""
        state = state or self._state
        if limit <= 0 or offset < 0:
            return []
        total = self._counts.get(state)
        if total is not None and offset > total - offset - limit:
            # Back half: read backwards from the end with a small OFFSET (deep OFFSETs are
            # linear in SQLite), then restore the order.
            end = min(offset + limit, total)
            if end <= offset:
                return []
            sql, params = self._page_sql(
                state, total - end, end - offset, descending=not state.descending
            )
            rows: list[Row] = self._fetch(sql, params)
            rows.reverse()
            return rows
        sql, params = self._page_sql(state, offset, limit, descending=state.descending)
        page: list[Row] = self._fetch(sql, params)
        return page

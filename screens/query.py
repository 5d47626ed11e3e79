"""Query console: read-only SQL over the cache for responders, results in the virtualised table.

The cache is opened with a ``mode=ro`` URI *and* ``PRAGMA query_only=1``, so neither a write nor an ``ATTACH``
trick can change it. The result is streamed into a private temporary SQLite file, which the same
:class:`VirtualTable` pages through (a million-row result costs no more memory than ten). The query runs in a
thread worker; Ctrl+G interrupts it. Errors are shown as SQLite words them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static, TextArea, Tree

from workbench.cache import schema
from workbench.cache.table_source import Column, SqlTableSource
from workbench.screens.base import WorkbenchScreen
from workbench.screens.widgets.virtual_table import VirtualTable
from workbench.textsafe import safe

MAX_ROWS = 1_000_000
EXAMPLE = "SELECT provider, account, region, id, name, state\nFROM instances\nORDER BY account, name\nLIMIT 500"


def open_readonly(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    db.execute("PRAGMA query_only=1")
    return db


class QueryScreen(WorkbenchScreen):
    STYLE = "query"
    VIEW_TITLE = "Query (read-only SQL)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r,f5", "run", "Run"),
        Binding("ctrl+g", "stop", "Stop"),
        Binding("ctrl+o", "toggle_schema", "Schema"),
    ]

    def __init__(self, args: str = "", **kwargs: Any) -> None:
        super().__init__(args=args, **kwargs)
        self._tmp = Path(
            tempfile.mkdtemp(prefix="vmwb-query-")
        )  # mode 0700: results are cache data
        self._runs = 0
        self._query_conn: sqlite3.Connection | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="query-panes"):
            with Vertical(id="query-main"):
                yield TextArea(
                    self.args or EXAMPLE, id="sql", soft_wrap=True, show_line_numbers=False
                )
                yield Static(
                    "Ctrl+R runs · Ctrl+G stops · Tab moves to the results",
                    id="query-status",
                    markup=False,
                )
                yield Static("no results yet", id="results-empty", markup=False)
            yield Tree(Text("cache schema"), id="schema")

    def on_mount(self) -> None:
        self._load_schema()
        self.query_one("#sql", TextArea).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < 100, "-narrow")

    def on_unmount(self) -> None:
        self.action_stop()
        for table in self.query(VirtualTable):
            table.source.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _load_schema(self) -> None:
        tree = self.query_one("#schema", Tree)
        tree.root.expand()
        with self.reader() as db:
            # The search index's tables and the derived summaries are bookkeeping, not the estate.
            tables = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE '%_fts%' "
                    "AND name NOT LIKE 'sqlite_%' AND name NOT IN (SELECT value FROM json_each(?)) "
                    "ORDER BY name",
                    (json.dumps(schema.BOOKKEEPING_TABLES),),
                )
            ]
            for table in tables:
                node = tree.root.add(Text(safe(table), style="bold"), data=table)
                for _, name, typ, *_ in db.execute(f'PRAGMA table_info("{table}")'):
                    node.add_leaf(Text.assemble(safe(name), (f" {safe(typ)}", "dim")), data=name)

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        # Picking a table or column name types it into the query, like a schema browser in a SQL IDE.
        if event.node.data:
            self.query_one("#sql", TextArea).insert(str(event.node.data))

    def action_toggle_schema(self) -> None:
        tree = self.query_one("#schema", Tree)
        tree.display = not tree.display

    # -- running --------------------------------------------------------------------------
    def action_run(self) -> None:
        sql = self.query_one("#sql", TextArea).text.strip()
        if not sql:
            return
        self._status(Text("running…", style="italic"))
        self._runs += 1
        self._run_query(sql, self._tmp / f"result-{self._runs}.db")

    def action_stop(self) -> None:
        if self._query_conn is not None:
            self._query_conn.interrupt()

    @work(thread=True, exclusive=True, group="query", exit_on_error=False)
    def _run_query(self, sql: str, out_path: Path) -> None:
        try:
            result = self._materialize(sql, out_path)
        except sqlite3.Error as exc:
            self.app.call_from_thread(
                self._status, Text(f"error: {safe(str(exc))}", style="bold red")
            )
            return
        finally:
            self._query_conn = None
        self.app.call_from_thread(self._show, out_path, *result)

    def _materialize(self, sql: str, out_path: Path) -> tuple[list[Column], int, bool]:
        db = open_readonly(self.app.services.cache_path)  # type: ignore[attr-defined]
        self._query_conn = db
        try:
            cur = db.execute(sql)
            if cur.description is None:
                raise sqlite3.OperationalError("the statement returned no columns")
            names = [str(d[0]) for d in cur.description]
            out = sqlite3.connect(out_path)
            cols = [f"c{i}" for i in range(len(names))]
            out.execute(f"CREATE TABLE result ({', '.join(cols)})")
            insert = f"INSERT INTO result VALUES ({', '.join('?' * len(cols))})"
            widths = [min(max(len(n), 4), 40) for n in names]
            count, truncated = 0, False
            while batch := cur.fetchmany(5000):
                if count < 200:  # widths from the first rows: enough to look right, cheap
                    for row in batch[:200]:
                        for i, value in enumerate(row):
                            widths[i] = min(max(widths[i], len(safe(value))), 40)
                if count + len(batch) > MAX_ROWS:
                    batch, truncated = batch[: MAX_ROWS - count], True
                out.executemany(insert, batch)
                count += len(batch)
                if truncated:
                    break
            out.commit()
            out.close()
        finally:
            db.close()
        return (
            [Column(c, n, w) for c, n, w in zip(cols, names, widths, strict=True)],
            count,
            truncated,
        )

    async def _show(self, path: Path, columns: list[Column], count: int, truncated: bool) -> None:
        for old in list(self.query(VirtualTable)):
            old.source.close()
            await old.remove()  # before mounting the new one: both are #results
        self.query_one("#results-empty").display = False
        source = SqlTableSource(path, "result", columns, key="rowid")
        table = VirtualTable(source, id="results")
        self.query_one("#query-main").mount(table)
        note = f"{count:,} rows" + (f" (stopped at {MAX_ROWS:,})" if truncated else "")
        self._status(Text(note + " · Tab moves to the results", style="dim"))

    def _status(self, text: Text) -> None:
        self.query_one("#query-status", Static).update(text)

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        # A result row that carries a uid column opens that resource.
        table = event.table
        names = [c.label for c in table.columns]
        if "uid" in names:
            row = table.source.page(event.row_index, 1)
            if row:
                self.app.open_resource(str(row[0][names.index("uid") + 1]))  # type: ignore[attr-defined]

"""Benchmark: VirtualTable over a 1M-row SQLite inventory with an FTS5 trigram index.

Targets (issue): first paint <= 0.3 s, filter keystroke->repaint p95 <= 100 ms, End <= 0.2 s,
peak RSS <= 150 MB. Latencies come from a hook in ``render_line`` (the moment the expected row is
painted), not from ``pilot.pause()``, which waits for the whole process to go idle, background
count threads included (docs: /work/shared/design/tui.md, Pitfalls).

Textual is imported inside the functions: ``workbench`` is the headless core and must not import
it at module level.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["HOSTILE_NAME", "bench_virtual_table", "build_inventory_db"]

HOSTILE_NAME = (
    "[bold red]x[/] [link=file:///etc/passwd]x[/link] [@click=app.quit] \x1b]0;pwned\x07\x1b[2J"
)
_ROLES = ("web", "db", "api", "cache", "batch", "web-db", "queue", "auth")
_ENVS = ("prod", "stage", "dev")
_PROVIDERS = ("aws", "gcp", "azure", "vsphere", "libvirt")
_REGIONS = ("eu-west-1", "us-east-1", "europe-west4", "westeurope", "ap-northeast-1", "dc1")
_STATES = ("running", "stopped", "terminated")
_KINDS = ("vm", "image", "snapshot")

# Displayed by the benchmark (and a sensible default for an inventory view).
INVENTORY_COLUMNS = [
    ("name", "Name", 32),
    ("kind", "Kind", 8),
    ("provider", "Provider", 8),
    ("region", "Region", 14),
    ("state", "State", 10),
    ("created", "Created", 19),
    ("tags", "Tags", 20),
]


def _inventory_rows(rows: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, rows + 1):
        env = _ENVS[i % 3]
        name = HOSTILE_NAME if i % 250_000 == 7 else f"{_ROLES[i % 8]}-{env}-{i:07d}"
        tags = json.dumps({"env": env, "team": f"team-{i % 97}", "cost": f"cc-{i % 1013:04d}"})
        created = f"20{20 + i % 6}-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
        yield (
            i,
            name,
            _KINDS[i % 7 % 3],
            _PROVIDERS[i % 5],
            _REGIONS[i % 6],
            _STATES[i % 11 % 3],
            created,
            tags,
        )


def build_inventory_db(path: str | Path, rows: int) -> None:
    """Create an inventory DB like tui.md's: B-tree indexes plus an FTS5 trigram index.

    Every 250,000th row (ids 7, 250007, ...) holds a hostile name.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE inventory (
                id INTEGER PRIMARY KEY, name TEXT, kind TEXT, provider TEXT, region TEXT,
                state TEXT, created TEXT, tags TEXT
            );
            CREATE TABLE bench_meta (rows INTEGER);
            """
        )
        conn.executemany("INSERT INTO inventory VALUES (?,?,?,?,?,?,?,?)", _inventory_rows(rows))
        for column in ("name", "kind", "provider", "region", "state", "created"):
            conn.execute(f"CREATE INDEX inventory_{column} ON inventory({column})")
        conn.executescript(
            """
            CREATE VIRTUAL TABLE inventory_fts USING fts5(
                name, tags, content='inventory', content_rowid='id', tokenize='trigram'
            );
            INSERT INTO inventory_fts(inventory_fts) VALUES ('rebuild');
            INSERT INTO inventory_fts(inventory_fts) VALUES ('optimize');
            ANALYZE;
            """
        )
        conn.execute("INSERT INTO bench_meta VALUES (?)", (rows,))
        conn.commit()
    finally:
        conn.close()
    tmp.replace(path)


def _db_rows(path: Path) -> int | None:
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT rows FROM bench_meta").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _ensure_db(path: Path, rows: int) -> float:
    """Build the DB unless a matching one exists; returns build seconds (0 when reused)."""
    if _db_rows(path) == rows:
        return 0.0
    start = time.perf_counter()
    # Build in a child process so this process's peak RSS measures the TUI, not the bulk load.
    process = multiprocessing.get_context("spawn").Process(
        target=build_inventory_db, args=(str(path), rows)
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"building {path} failed (exit code {process.exitcode})")
    return time.perf_counter() - start


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# Each query is typed from an empty box; keystrokes that change the effective filter (3+
# characters) are measured, plus backspaces out of the first query.
_TYPED_QUERIES = ("web-db", "prod", "0999", "zzzz", "eu-west")
_BACKSPACES = 3


def bench_virtual_table(rows: int = 1_000_000, db_path: str | Path | None = None) -> dict[str, Any]:
    """Mount a VirtualTable headless over a ``rows``-row DB and measure it.

    Args:
        rows: Rows in the inventory table.
        db_path: Where the DB lives; built there if missing or of another size. Default: a
            reusable file in the temp directory.

    Returns:
        A dict of figures: ``first_paint_s``, ``count_s``, ``filter_ms_p50/p95/max``,
        ``filter_samples``, ``end_s``, ``peak_rss_mb`` plus the DB details.
    """
    path = Path(db_path) if db_path else Path(tempfile.gettempdir()) / f"vmwb-bench-{rows}.sqlite"
    build_s = _ensure_db(path, rows)
    figures = asyncio.run(_measure(path))
    figures.update(
        rows=rows,
        db_path=str(path),
        db_size_mb=round(path.stat().st_size / 2**20, 1),
        build_s=round(build_s, 2),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return figures


async def _measure(path: Path) -> dict[str, Any]:
    from textual.app import App, ComposeResult
    from textual.strip import Strip
    from textual.widgets import Input

    from workbench.cache.table_source import SqlTableSource, TableState
    from workbench.screens.widgets.virtual_table import VirtualTable

    class ProbeTable(VirtualTable):
        """Records when a row matching ``expect`` is first painted."""

        expect: Callable[[int, bool, TableState], bool] | None = None
        hit_at: float | None = None
        counted_at: float | None = None

        def render_line(self, y: int) -> Strip:
            strip = super().render_line(y)
            if y > 0 and self.expect is not None and self.hit_at is None:
                index = self.scroll_offset.y + y - 1
                painted = self._row(index) is not None  # cached page, no extra SQL
                if self.expect(index, painted, self.source.state):
                    self.hit_at = time.perf_counter()
            return strip

        def on_virtual_table_count_changed(self, message: VirtualTable.CountChanged) -> None:
            self.counted_at = time.perf_counter()

    source = SqlTableSource(path, "inventory", INVENTORY_COLUMNS, fts_table="inventory_fts")

    class BenchApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="filter")
            yield ProbeTable(source, id="table")

        def on_input_changed(self, event: Input.Changed) -> None:
            self.query_one(ProbeTable).set_filter(event.value)

    async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > deadline:
                raise TimeoutError("benchmark step did not repaint in time")
            await asyncio.sleep(0.001)

    app = BenchApp()

    ProbeTable.expect = staticmethod(lambda index, painted, state: painted)  # any data row
    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(ProbeTable)
        await wait_for(lambda: table.hit_at is not None)
        first_paint = table.hit_at - start  # type: ignore[operator]
        await wait_for(lambda: table.counted_at is not None)
        count_s = table.counted_at - start  # type: ignore[operator]

        await pilot.click("#filter")
        filter_ms: list[float] = []

        async def keystroke(key: str) -> None:
            before = table.source.state
            table.hit_at = None
            table.expect = lambda index, painted, state: state != before
            t0 = time.perf_counter()
            await pilot.press(key)
            if table.source.state == before:
                table.expect = None  # under 3 characters: nothing to repaint
                return
            await wait_for(lambda: table.hit_at is not None)
            filter_ms.append((table.hit_at - t0) * 1000)  # type: ignore[operator]

        for number, query in enumerate(_TYPED_QUERIES):
            app.query_one(Input).value = ""
            await wait_for(lambda: table.source.state.filter == "")
            for char in query:
                await keystroke(char)
            if number == 0:
                for _ in range(_BACKSPACES):
                    await keystroke("backspace")
        app.query_one(Input).value = ""

        # End on the unfiltered table, once its count is back.
        await wait_for(lambda: table.row_count is not None and table.source.state.filter == "")
        last = table.row_count - 1  # type: ignore[operator]
        table.focus()
        await wait_for(lambda: table.has_focus)
        table.hit_at = None
        table.expect = lambda index, painted, state: index == last and painted
        t0 = time.perf_counter()
        await pilot.press("end")
        await wait_for(lambda: table.hit_at is not None)
        end_s = table.hit_at - t0  # type: ignore[operator]
        await app.workers.wait_for_complete()
    source.close()
    return {
        "first_paint_s": round(first_paint, 4),
        "count_s": round(count_s, 4),
        "filter_ms_p50": round(statistics.median(filter_ms), 1),
        "filter_ms_p95": round(_percentile(filter_ms, 95), 1),
        "filter_ms_max": round(max(filter_ms), 1),
        "filter_samples": len(filter_ms),
        "end_s": round(end_s, 4),
    }

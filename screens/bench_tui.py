"""Benchmark ``vmwb bench tui``: the real app over a 1M-resource cache, then the bare VirtualTable.

The app section starts ``create_app(...)`` headless in a fresh process over a cache built like the
checks bench's (FTS indexes filled by the cache's own ``refresh_search``, one scan's findings), opens
the inventory view with the most rows from the start screen, and times it; a diagnostic run repeats
it without the dashboard under the view. The bare section is a VirtualTable over a synthetic 1M-row
table (the figures of /work/shared/design/tui.md).

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
import os
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["HOSTILE_NAME", "bench_bare_table", "bench_virtual_table", "build_inventory_db"]

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


def bench_bare_table(rows: int = 1_000_000, db_path: str | Path | None = None) -> dict[str, Any]:
    """Mount a bare VirtualTable headless over a ``rows``-row DB and measure it.

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


# -- the whole app ---------------------------------------------------------------------------------

TARGETS = {"first_paint_s": 0.3, "filter_ms_p95": 100.0, "end_s": 0.2, "peak_rss_mb": 150.0}
# Typed into the inventory's filter box one key at a time (the box starts empty for each): FTS words
# that match many rows, a few and none, then column terms, whose every prefix (``region=s`` …) is a
# new WHERE the first page must answer without a count.
_APP_QUERIES = ("snapshot-7777", "zzzz", "region=sa-east-1", "account=100000000003")


def bench_virtual_table(size: int = 1_000_000, bare: bool = True) -> dict[str, Any]:
    """The ``tui`` bench: the real app over a ``size``-resource cache, then the bare widget.

    The cache (:func:`workbench.bench.tui_cache.build_browse_cache`) is kept in the temp dir, keyed
    by size and layout version. Each measurement runs in a fresh spawned process, so its peak RSS
    is the TUI's alone (not the build's, nor the other measurement's).
    """
    from workbench.bench import tui_cache

    path = Path(tempfile.gettempdir()) / f"vmwb-bench-tui-v{tui_cache.VERSION}-{size}.db"
    built = None
    if not path.exists():
        built = _in_child(tui_cache.build_browse_cache, str(path), size)
    view, rows = _largest_view(path)
    load_before = os.getloadavg()
    app = _in_child(_app_figures, str(path), view)
    app.update(cache=str(path), resources=size, view=f":{view}", view_rows=rows, build=built)
    app["within_target"] = {k: app[k] <= v for k, v in TARGETS.items()}
    out: dict[str, Any] = {"targets": TARGETS, "app": app}
    out["posture"] = _in_child(_posture_figures, str(path))
    # Diagnostic: the same steps with no dashboard under the view, to tell its cost from the view's.
    out["app_without_dashboard"] = _in_child(_app_figures, str(path), view, False)
    if bare:
        out["bare_widget"] = _in_child(bench_bare_table, size)
    out["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    return out


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    process = ctx.Process(target=_child_main, args=(results, fn, args))
    process.start()
    try:
        ok, value = results.get(timeout=900)
    finally:
        process.join()
    if not ok:
        raise RuntimeError(f"bench step {fn.__name__} failed:\n{value}")
    return value  # type: ignore[no-any-return]


def _child_main(results: Any, fn: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    import traceback

    try:
        results.put((True, fn(*args)))
    except BaseException:
        results.put((False, traceback.format_exc()))


def _largest_view(path: Path) -> tuple[str, int]:
    """The inventory view (``snap``, ``vm`` …) over the table with the most rows."""
    from workbench.cache import schema
    from workbench.screens.views import all_views

    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        sizes = {
            name: conn.execute(
                f"SELECT count(*) FROM {schema.TABLES[v.kwargs['kind']]}"
            ).fetchone()[0]
            for name, v in all_views().items()
            if "kind" in v.kwargs
        }
    finally:
        conn.close()
    view = max(sizes, key=lambda n: sizes[n])
    return view, int(sizes[view])


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def memory_mb() -> dict[str, float]:
    """Resident memory now, anonymous and file-backed apart (from ``/proc/self/status``; empty elsewhere).

    SQLite's memory map counts in RSS as file pages (``RssFile``): pages of the cache file the kernel may drop
    at any time, unlike the heap (``RssAnon``). ``peak`` is the high-water mark of the sum (``VmHWM``).
    """
    fields = {
        "VmRSS": "rss",
        "RssAnon": "anon",
        "RssFile": "file",
        "RssShmem": "shmem",
        "VmHWM": "peak",
    }
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name in fields:
                    out[fields[name]] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        return {}
    return out


POSTURE_TARGET_S = 0.5


def _posture_figures(cache_path: str) -> dict[str, Any]:
    """The dashboard's read on its own: :func:`workbench.scan.posture.read_posture` over a fresh reader."""
    from workbench.cache.connection import connect
    from workbench.scan.posture import read_posture

    db = connect(Path(cache_path), readonly=True)
    try:
        t0 = time.perf_counter()
        posture = read_posture(db, diff_rows=4)
        seconds = time.perf_counter() - t0
        # Again, as a dashboard reload does: the check catalogue is loaded by then.
        t0 = time.perf_counter()
        read_posture(db, diff_rows=4)
        again = time.perf_counter() - t0
    finally:
        db.close()
    return {
        "posture_s": round(seconds, 3),
        "posture_again_s": round(again, 3),
        "target_s": POSTURE_TARGET_S,
        "within_target": seconds <= POSTURE_TARGET_S,
        "errors": posture.errors,
        "memory_mb": memory_mb(),
    }


def _app_figures(cache_path: str, view: str, dashboard: bool = True) -> dict[str, Any]:
    figures = asyncio.run(_measure_app(Path(cache_path), view, dashboard))
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


async def _measure_app(path: Path, view: str, dashboard: bool) -> dict[str, Any]:
    from textual import events
    from textual.widgets import Input

    from workbench.config import Config
    from workbench.screens.app import WorkbenchApp, create_app
    from workbench.screens.dashboard import DashboardScreen
    from workbench.screens.inventory import InventoryScreen
    from workbench.screens.widgets.virtual_table import VirtualTable

    class Probe:
        """Set by the render hook when an inventory row matching ``expect`` is painted."""

        expect: Callable[[VirtualTable, int, bool], bool] | None = None
        hit_at: float | None = None
        ready_at: float | None = None
        dashboard_at: float | None = None
        ready_rss: float | None = None
        ready_memory: dict[str, float] | None = None

    # The app builds its own tables, so the hook goes on the class (this is a throwaway process).
    render_line = VirtualTable.render_line

    def probed_render_line(self: VirtualTable, y: int) -> Any:
        strip = render_line(self, y)
        if y > 0 and Probe.expect is not None and Probe.hit_at is None:
            index = self.scroll_offset.y + y - 1
            # _row is served from the page render_line just read: no extra SQL.
            painted = self._row(index) is not None
            if isinstance(self.screen, InventoryScreen) and Probe.expect(self, index, painted):
                Probe.hit_at = time.perf_counter()
        return strip

    VirtualTable.render_line = probed_render_line  # type: ignore[method-assign]

    show = DashboardScreen._show

    def probed_show(self: DashboardScreen, posture: Any) -> None:
        show(self, posture)
        Probe.dashboard_at = time.perf_counter()

    DashboardScreen._show = probed_show  # type: ignore[method-assign]

    class BenchApp(WorkbenchApp):
        def on_mount(self, event: events.Mount) -> None:
            # Textual also runs WorkbenchApp.on_mount (handlers run down the MRO), which pushes
            # the dashboard; the diagnostic run stops it, so the view opens over the blank screen.
            if not dashboard:
                event.prevent_default()
            # Ready = the start screen (the dashboard, its posture worker running) is on display;
            # then open the view as ``:snap`` would.
            self.call_after_refresh(self._open)

        def _open(self) -> None:
            Probe.ready_at = time.perf_counter()
            Probe.ready_rss = _rss_mb()
            Probe.ready_memory = memory_mb()
            Probe.expect = lambda table, index, painted: painted
            self.open_view(view)

    async def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > deadline:
                raise TimeoutError("benchmark step did not repaint in time")
            await asyncio.sleep(0.001)

    started = time.perf_counter()
    services = create_app(path, Config(), read_only=True, role="operator").services
    app = BenchApp(services)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: Probe.hit_at is not None)
        ready_s = Probe.ready_at - started  # type: ignore[operator]
        first_paint = Probe.hit_at - Probe.ready_at  # type: ignore[operator]
        screen = app.screen
        assert isinstance(screen, InventoryScreen)
        table = screen.table
        box = screen.query_one("#filter", Input)

        filter_ms: list[float] = []
        # Peak RSS after each step, to tell which one costs the memory.
        rss_steps = {"ready": Probe.ready_rss, "first_paint": _rss_mb()}
        # Resident memory at each step, anonymous and file-backed (memory-mapped cache pages) apart.
        memory_steps = {"ready": Probe.ready_memory, "first_paint": memory_mb()}

        async def keystroke(key: str) -> None:
            before = table.source.state
            Probe.hit_at = None
            # A filter that matches nothing repaints blank lines: that counts too.
            Probe.expect = lambda t, index, painted: t.source.state != before
            t0 = time.perf_counter()
            await pilot.press(key)
            if table.source.state == before:
                Probe.expect = None  # under 3 characters, an unfinished term: nothing to repaint
                return
            await wait_for(lambda: Probe.hit_at is not None)
            filter_ms.append((Probe.hit_at - t0) * 1000)  # type: ignore[operator]

        await pilot.press("slash")
        await wait_for(lambda: box.has_focus)
        for number, query in enumerate(_APP_QUERIES):
            box.value = ""
            await wait_for(lambda: table.source.state.filter == "" and not table.source.state.where)
            for char in query:
                await keystroke(char)
            if number == 0:
                for _ in range(_BACKSPACES):
                    await keystroke("backspace")
            rss_steps[query] = _rss_mb()
            memory_steps[query] = memory_mb()

        # Esc clears the box and focuses the table; End once the unfiltered count is back.
        await pilot.press("escape")
        await wait_for(lambda: table.has_focus and table.row_count is not None)
        last = table.row_count - 1  # type: ignore[operator]
        Probe.hit_at = None
        Probe.expect = lambda t, index, painted: index == last and painted
        t0 = time.perf_counter()
        await pilot.press("end")
        await wait_for(lambda: Probe.hit_at is not None)
        end_s = Probe.hit_at - t0  # type: ignore[operator]
        rss_steps["end"] = _rss_mb()
        memory_steps["end"] = memory_mb()
        dashboard_s = None
        if dashboard:
            await wait_for(lambda: Probe.dashboard_at is not None, timeout=120)
            dashboard_s = round(Probe.dashboard_at - Probe.ready_at, 3)  # type: ignore[operator]
        Probe.expect = None
        await app.workers.wait_for_complete()
    return {
        "ready_s": round(ready_s, 3),
        "first_paint_s": round(first_paint, 4),
        "filter_ms_p50": round(statistics.median(filter_ms), 1),
        "filter_ms_p95": round(_percentile(filter_ms, 95), 1),
        "filter_ms_max": round(max(filter_ms), 1),
        "filter_samples": len(filter_ms),
        "end_s": round(end_s, 4),
        "dashboard_posture_s": dashboard_s,
        "peak_rss_mb_after": rss_steps,
        "memory_mb_after": memory_steps,
    }

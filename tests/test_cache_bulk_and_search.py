"""The cache's write path: many rows per statement, a search index built once then kept current by every
write, and a sync's bulk writes checkpointed once, at the end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workbench.cache import connection, schema
from workbench.cache.rows import ROWS_PER_STATEMENT, chunk_sizes
from workbench.cache.store import Cache
from workbench.model import Instance, ScopeRef, TaskOutput, Volume, make_uid

SCOPE = ScopeRef("aws", "1", "eu-west-1")


def _vms(*names: str, raw_bytes: int = 0, prefix: str = "") -> TaskOutput:
    out = TaskOutput()
    for n, name in enumerate(names):
        out.add(Instance(id=f"i-{prefix}{n}", name=name, raw={"pad": "x" * raw_bytes}))
    return out


def _hits(cache: Cache, text: str) -> list[str]:
    rows = cache.db.execute(
        "SELECT name FROM instances WHERE row_id IN "
        "(SELECT rowid FROM instances_fts WHERE instances_fts MATCH ?)",
        (f'"{text}"',),
    )
    return sorted(r[0] for r in rows)


def _consistent(cache: Cache, table: str) -> None:
    """FTS5's own check that the index holds exactly what the rows say (raises if not)."""
    cache.db.execute(f"INSERT INTO {table}_fts({table}_fts, rank) VALUES('integrity-check', 1)")


def test_a_first_load_is_rebuilt_then_every_write_keeps_search_current(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        run = cache.start_run({})
        cache.replace_task(run, SCOPE, "instances", _vms("web-alpha", "db-beta"))
        assert _hits(cache, "alpha") == []  # a new cache's first load waits for its rebuild
        assert cache.refresh_search() == set(schema.TABLES)
        assert _hits(cache, "alpha") == ["web-alpha"]

        cache.replace_task(run, SCOPE, "instances", _vms("web-gamma", "db-beta"))  # one renamed
        assert _hits(cache, "alpha") == [] and _hits(cache, "gamma") == ["web-gamma"]
        cache.replace_task(run, SCOPE, "instances", _vms("web-gamma"))  # one removed
        assert _hits(cache, "beta") == []
        cache.replace_task(run, SCOPE, "more", _vms("app-delta", prefix="m"))  # another task adds
        assert _hits(cache, "delta") == ["app-delta"]
        assert cache.refresh_search() == set()  # nothing left for a rebuild
        _consistent(cache, "instances")


def test_search_stays_exact_through_many_syncs(tmp_path: Path) -> None:
    """Renames, removals, returns and moves between tasks, sync after sync: the index matches the rows."""
    with Cache.open(tmp_path / "c.db") as cache:
        cache.refresh_search()
        run = cache.start_run({})
        for round_ in range(6):
            for task in ("a", "b"):
                names = [
                    f"{task}-vm{n}-r{round_ % 3 if n % 2 else 0}" for n in range(round_ % 4 * 5)
                ]
                cache.replace_task(run, SCOPE, task, _vms(*names, prefix=task))
            _consistent(cache, "instances")
            current = [r[0] for r in cache.db.execute("SELECT name FROM instances")]
            for name in current:
                assert _hits(cache, name) == [name]


def test_an_id_listed_twice_is_one_entry(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        cache.refresh_search()
        run = cache.start_run({})
        twice = TaskOutput(
            [Instance(id="i-1", name="web-alpha"), Instance(id="i-1", name="web-alpha")]
        )
        cache.replace_task(run, SCOPE, "instances", twice)
        cache.replace_task(run, SCOPE, "instances", _vms("web-beta", prefix="x"))  # i-1 goes
        assert _hits(cache, "alpha") == []
        _consistent(cache, "instances")


def test_a_stop_before_the_first_rebuild_leaves_it_to_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Cache.open(path) as cache:
        cache.replace_task(cache.start_run({}), SCOPE, "instances", _vms("web-alpha"))
        # ...and the process stops here, before the sync's rebuild.
    with Cache.open(path) as cache:
        assert _hits(cache, "alpha") == []
        assert "instance" in cache.refresh_search()
        assert _hits(cache, "alpha") == ["web-alpha"]


def test_only_syncs_that_moved_rows_report_them(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        cache.refresh_search()
        run = cache.start_run({})
        cache.replace_task(run, SCOPE, "instances", _vms("web-alpha"))
        cache.replace_task(run, SCOPE, "volumes", TaskOutput([Volume(id="vol-1", name="data")]))
        assert cache.pop_moved_kinds() == {"instance", "volume"}
        cache.replace_task(run, SCOPE, "instances", _vms("web-alpha"))  # seen again as it was
        assert cache.pop_moved_kinds() == set()
        bad = TaskOutput([Instance(id="i-9", state={1})])  # type: ignore[arg-type]
        with pytest.raises(sqlite3.Error):  # a value SQLite cannot bind: the task rolls back
            cache.replace_task(run, SCOPE, "instances", bad)
        assert _hits(cache, "alpha") == ["web-alpha"]
        _consistent(cache, "instances")


def _wal_state(db: sqlite3.Connection) -> tuple[int, int, int]:
    busy, log, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return busy, log, done


def test_bulk_writes_checkpoint_once_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    wal = path.with_name("c.db-wal")
    with Cache.open(path) as cache:
        run = cache.start_run({})
        cache.checkpoint()
        with cache.bulk_writes():
            autockpt = cache.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            assert autockpt == connection.BULK_AUTOCHECKPOINT_PAGES
            for task in range(4):  # ~8 MB of rows, twice SQLite's own checkpoint threshold
                names = [f"vm-{task}-{n}" for n in range(1000)]
                out = _vms(*names, raw_bytes=2000, prefix=f"{task}-")
                cache.replace_task(run, SCOPE, f"t{task}", out)
            grown = wal.stat().st_size
            assert grown > 2 * connection.AUTOCHECKPOINT_PAGES * 4096, (
                grown
            )  # no copy-back meanwhile
            with sqlite3.connect(path) as other:  # every transaction is committed and visible
                assert other.execute("SELECT count(*) FROM instances").fetchone()[0] == 4000
        assert cache.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        busy, log, done = _wal_state(cache.db)
        assert busy == 0 and log == done  # the end copied everything into the file
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM instances").fetchone()[0] == 4000


def test_bulk_writes_restore_the_checkpoint_rate_after_an_error(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        with pytest.raises(RuntimeError), cache.bulk_writes():
            raise RuntimeError("a sync that died")
        assert cache.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000


def test_chunks_cover_every_row_with_few_distinct_statements() -> None:
    sizes_seen: set[int] = set()
    for count in range(3 * ROWS_PER_STATEMENT + 5):
        sizes = chunk_sizes(count)
        assert sum(sizes) == count and all(0 < s <= ROWS_PER_STATEMENT for s in sizes)
        sizes_seen.update(sizes)
    assert sizes_seen == {2**n for n in range(9)}  # 1 .. 256: nine statements per kind and shape


def test_many_rows_per_statement_write_each_row_as_it_was(tmp_path: Path) -> None:
    """Rows of different shapes (None columns left out) and awkward text, across chunk boundaries."""
    scope = ScopeRef("aws", "it's\x00odd", "eu-west-1")
    count = ROWS_PER_STATEMENT + 45

    def vm(n: int, flip: bool) -> Instance:
        has_ip = (n % 3 == 0) != flip
        return Instance(
            id=f"i-{n}'\x00",
            name=None if n % 5 == 0 else f"vm '{n}'",
            public_ip=f"203.0.113.{n % 250}" if has_ip else None,
        )

    def read(cache: Cache) -> dict[str, tuple[object, ...]]:
        rows = cache.db.execute("SELECT uid, id, name, public_ip, scope_id, task FROM instances")
        return {r["id"]: tuple(r) for r in rows}

    with Cache.open(tmp_path / "c.db") as cache:
        run = cache.start_run({})
        for flip in (False, True):  # the second pass updates every row, clearing what became None
            vms = [vm(n, flip) for n in range(count)]
            cache.replace_task(run, scope, "instances", TaskOutput(list(vms)))
            got = read(cache)
            assert len(got) == count
            for v in vms:
                uid = make_uid("aws", "it's\x00odd", "eu-west-1", "instance", v.id)
                assert got[v.id] == (uid, v.id, v.name, v.public_ip, scope.scope_id, "instances")


def test_the_same_answer_with_its_maps_in_another_order_is_not_a_change(tmp_path: Path) -> None:
    """An SDK may hand one answer's maps in another order each process (GCP's protobuf labels): the row is
    seen again as it was, not changed (the fault suite took such rows for lost ones)."""
    with Cache.open(tmp_path / "c.db") as cache:
        run = cache.start_run({})
        one = Instance(
            id="i-1", tags={"env": "dev", "team": "data"}, raw={"a": 1, "labels": {"x": 1, "y": 2}}
        )
        cache.replace_task(run, SCOPE, "instances", TaskOutput([one]))
        cache.pop_moved_kinds()
        again = Instance(
            id="i-1", tags={"team": "data", "env": "dev"}, raw={"labels": {"y": 2, "x": 1}, "a": 1}
        )
        cache.replace_task(run, SCOPE, "instances", TaskOutput([again]))
        assert cache.pop_moved_kinds() == set()

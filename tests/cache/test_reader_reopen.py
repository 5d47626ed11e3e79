"""A reader whose connection fails reopens it instead of failing the view."""

from __future__ import annotations

from pathlib import Path

from workbench.cache.store import Cache
from workbench.cache.table_source import SqlTableSource
from workbench.model import Instance, ScopeRef, TaskOutput

SCOPE = ScopeRef("aws", "1", "eu-west-1")


def test_a_table_source_reopens_a_connection_that_failed(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    with Cache.open(db) as cache:
        out = TaskOutput([Instance(id=f"i-{i}", name=f"vm-{i}") for i in range(30)])
        cache.replace_task(cache.start_run({}), SCOPE, "instances", out)
    source = SqlTableSource(db, "instances", [("name", "Name", 10)], key="row_id")
    try:
        assert len(source.page(0, 10)) == 10
        source._conn().close()  # the thread's connection dies under the view (sqlite3.ProgrammingError)
        assert [r[1] for r in source.page(0, 2)] == ["vm-0", "vm-1"]
        assert source.count() == 30
    finally:
        source.close()


def _open_files_on(db: Path) -> int:
    """This process's open files on the cache (the database, its -wal and -shm)."""
    import os

    fds = Path("/proc/self/fd")
    names = []
    for fd in fds.iterdir():
        try:
            names.append(os.readlink(fd))
        except OSError:
            continue  # closed while listing
    return sum(1 for n in names if n.startswith(str(db.resolve())))


def test_a_closed_table_source_opens_no_connection(tmp_path: Path) -> None:
    # A table that left the screen closes its source while its count may still be running in a worker
    # thread: that thread's next read (the retry after its connection was closed under it, or a first read
    # through a fresh thread-local) must not open a connection that nobody will close.
    import sqlite3
    import threading

    import pytest

    db = tmp_path / "cache.db"
    with Cache.open(db) as cache:
        out = TaskOutput([Instance(id=f"i-{i}", name=f"vm-{i}") for i in range(30)])
        cache.replace_task(cache.start_run({}), SCOPE, "instances", out)
    source = SqlTableSource(db, "instances", [("name", "Name", 10)], key="row_id")
    assert len(source.page(0, 10)) == 10
    errors: list[BaseException] = []

    def late_count() -> None:
        try:
            source.count()
        except Exception as exc:  # handed to the test thread
            errors.append(exc)

    source.close()
    worker = threading.Thread(target=late_count)
    worker.start()
    worker.join()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        source.page(0, 2)
    assert [type(e) for e in errors] == [sqlite3.ProgrammingError]
    assert _open_files_on(db) == 0

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

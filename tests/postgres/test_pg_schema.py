"""PostgreSQL's schema is SQLite's: the same tables and columns (made from it, so they cannot drift), and what
SQLite's triggers do, PostgreSQL's do too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workbench.cache import postgres, schema
from workbench.cache.postgres import PgCache
from workbench.cache.store import Cache

pytestmark = pytest.mark.xdist_group("postgres")


def _sqlite_columns(path: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(path)
    try:
        return {
            t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")]
            for t in postgres.sqlite_tables(db)
        }
    finally:
        db.close()


def test_same_tables_and_columns_as_a_migrated_sqlite_cache(tmp_path: Path, pg_url: str) -> None:
    Cache.open(tmp_path / "c.db").close()
    expected = _sqlite_columns(tmp_path / "c.db")
    with PgCache.open(pg_url) as pg:
        rows = pg.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name IN "
            "(SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema = current_schema()) ORDER BY table_name, ordinal_position"
        ).fetchall()
        assert pg.version == schema.SCHEMA_VERSION
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    assert found == expected
    assert "instances" in found and "audit_log" in found and "image_registry" in found


def test_reopening_keeps_the_schema_and_a_newer_one_is_refused(pg_url: str) -> None:
    with PgCache.open(pg_url) as pg, pg.transaction():
        pg.execute("INSERT INTO mutes (reason, author, created_at) VALUES ('r', 'a', 'x')")
    with PgCache.open(pg_url) as pg:
        assert pg.execute("SELECT count(*) FROM mutes").fetchone()[0] == 1
        with pg.transaction():
            pg.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    from workbench.errors import CacheError

    with pytest.raises(CacheError, match="schema v999"):
        PgCache.open(pg_url)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_audit_log_is_append_only_and_finding_counts_follow_findings(
    backend: str, tmp_path: Path, pg_url: str
) -> None:
    store = Cache.open(tmp_path / "c.db") if backend == "sqlite" else PgCache.open(pg_url)
    try:
        with store.transaction():
            store.execute(
                "INSERT INTO audit_log (at, actor, action, prev_hash, hash) VALUES ('t','a','x','p','h')"
            )
        for stmt in ("UPDATE audit_log SET actor='b'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"), store.transaction():
                store.execute(stmt)
        insert = (
            "INSERT INTO findings (key, check_id, resource_uid, resource_kind, resource_id, provider,"
            " account, region, severity, area, status, first_seen, last_seen)"
            " VALUES (?, 'C-1', ?, 'instance', 'i', 'aws', '1', 'r', 'high', NULL, 'open', 't', 't')"
        )
        with store.transaction():
            store.executemany(insert, [("k1", "u1"), ("k2", "u2")])
            store.execute("UPDATE findings SET status='resolved' WHERE key='k1'")
            store.execute("UPDATE findings SET reason='same counts' WHERE key='k2'")
        with store.transaction():
            store.execute("DELETE FROM findings WHERE key='k2'")
        counts = store.execute(
            "SELECT check_id, severity, area, status, n FROM finding_counts ORDER BY status"
        ).fetchall()
        assert [tuple(r) for r in counts] == [
            ("C-1", "high", "", "open", 0),
            ("C-1", "high", "", "resolved", 1),
        ]
    finally:
        store.close()

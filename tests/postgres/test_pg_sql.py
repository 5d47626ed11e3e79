"""SQLite's expressions give SQLite's answers on PostgreSQL: each is run on both and compared."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from workbench.cache import pg_sql
from workbench.cache.postgres import PgCache

pytestmark = pytest.mark.xdist_group("postgres")

DOC = '{"a": {"b": [1, true, "s", null, 2.5]}, "t": false, "o": {"k": "v"}, "n": 7}'

EXPRESSIONS = [
    "json_extract(:doc, '$.a.b[0]')",
    "json_extract(:doc, '$.a.b[1]')",
    "json_extract(:doc, '$.t')",
    "json_extract(:doc, '$.a.b[2]')",
    "json_extract(:doc, '$.a.b[3]')",
    "json_extract(:doc, '$.missing')",
    "json_extract(:doc, '$.n') = 7",
    "json_extract(:doc, '$.n') > 6",
    "json_extract(:doc, '$.a.b[1]') = 1",
    "COALESCE(json_extract(:doc, '$.missing'), 0) = 0",
    "json_array_length(:doc, '$.a.b')",
    "json_type(:doc, '$.a.b[4]')",
    "(SELECT group_concat(value, '|') FROM json_each(:doc, '$.a.b'))",
    "(SELECT count(*) FROM json_each('[\"x\", \"y\"]') WHERE value IN ('x', 'y'))",
    "julianday('2026-01-02T12:00:00Z') - julianday('2026-01-01T00:00:00Z')",
    "CAST(julianday('2026-01-02T23:00:00Z') - julianday('2026-01-01T00:00:00Z') AS INTEGER)",
    "strftime('%Y-%m-%dT%H:%M:%SZ', '2026-03-01T10:00:00Z', '-' || 30 || ' days')",
    "strftime('%Y-%m-%d', '2026-03-01T10:00:00Z', '+36 hours')",
    "datetime('2026-03-01T10:00:00Z', '-1 day')",
    "date('2026-03-01T10:00:00Z')",
    "date('2026-03-01T10:00:00Z', '+1 month')",
    "json_quote('a\"b')",
    "julianday('not a time')",
    "CAST('12abc' AS INTEGER)",
    "CAST('abc' AS INTEGER)",
    "CAST(7.9 AS INTEGER)",
    "CAST(-7.9 AS INTEGER)",
    "printf('%.1f', 72)",
    "printf('%012d', 42)",
    "'abc' LIKE 'A%'",
    "'abc' GLOB 'a*'",
    "'Abc' GLOB 'a*'",
    "NULL IS NOT 1",
    "1 IS 1",
    "max(3, 9, 4)",
    "min(3, 9, 4)",
    "ifnull(NULL, 'x')",
    "COALESCE(CAST(NULL AS INTEGER), '?') || ' GiB'",
    "json_object('k', 1 > 0, 'n', 2)",
    "json_object('o', json_extract(:doc, '$.o'), 's', json_extract(:doc, '$.o.k'))",
    "(SELECT SUM(x > 1) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3))",
    "(SELECT x FROM (SELECT 5 AS x))",
    "json_valid('{')",
    "'50%' || ' done'",
]


@pytest.fixture(scope="module")
def both(pg_cluster: Any) -> Iterator[tuple[sqlite3.Connection, PgCache]]:
    import psycopg

    with psycopg.connect(pg_cluster.url(), autocommit=True) as db:
        db.execute('CREATE DATABASE "pg_sql_expressions"')
    lite = sqlite3.connect(":memory:")
    pg = PgCache.open(pg_cluster.url("pg_sql_expressions"))
    yield lite, pg
    lite.close()
    pg.close()


def _norm(value: Any) -> Any:
    """JSON text compared as data (PostgreSQL spaces it); a whole float as an int (8.0 == 8 both ways)."""
    import json

    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_an_expression_reads_the_same_on_postgres(
    expression: str, both: tuple[sqlite3.Connection, PgCache]
) -> None:
    lite, pg = both
    sql = f"SELECT {expression}"
    expected = lite.execute(sql, {"doc": DOC}).fetchone()[0]
    got = pg.execute(sql, {"doc": DOC}).fetchone()[0]
    if isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-6)
    else:
        # SQLite answers a JSON scalar in its own type; PostgreSQL as text that compares the same
        assert _norm(got) == _norm(expected) or str(got) == str(expected)


def test_translation_leaves_literals_alone_and_binds_parameters() -> None:
    t = pg_sql.translate("SELECT 'it''s ? :x %' AS a, \"weird ?\" FROM t WHERE a = ? AND b LIKE ?")
    assert t.sql == "SELECT 'it''s ? :x %%' AS a, \"weird ?\" FROM t WHERE a = %s AND b ILIKE %s"
    assert t.style == "qmark"
    n = pg_sql.translate("UPDATE t SET a = ?1 WHERE b = ?2")
    assert n.sql == "UPDATE t SET a = %(p1)s WHERE b = %(p2)s"
    assert pg_sql.bind(n.style, ["x", True]) == {"p1": "x", "p2": 1}
    ignore = pg_sql.translate("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)")
    assert ignore.sql.endswith("ON CONFLICT DO NOTHING") and ignore.insert_table == "meta"
    replace = pg_sql.translate("INSERT OR REPLACE INTO scan_kpis (scan_id, kpis) VALUES (?, ?)")
    assert replace.sql.endswith("ON CONFLICT (scan_id) DO UPDATE SET kpis = excluded.kpis")

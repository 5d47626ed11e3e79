"""Copy a whole cache between backends: SQLite → PostgreSQL (a laptop's cache into the team's) and back (a
snapshot of the team's for offline triage), or between two of a kind.

Everything is copied: the inventory with its history, sync runs, findings with their events, mutes, scans,
the fix journal, plans and claims, the audit chain (row for row, so it still verifies with its key), the image
registry and imported results. ``finding_counts`` is not copied but rebuilt, by the destination's triggers, from
the findings as they arrive; the search index of a SQLite destination is rebuilt on its first use. The
destination keeps its own ``cache_id`` (it is another cache), and takes the source's audit facts.

A SQLite cache is read and written only through SQLite (its own connections), never as a file. The
destination must be empty: a copy never merges into, or replaces, what a cache already holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.cache import postgres
from workbench.cache.postgres import PgCache
from workbench.cache.store import Cache
from workbench.errors import CacheError

# Rebuilt at the destination (by trigger, or on first use), or the destination's own.
NOT_COPIED = frozenset({"finding_counts", "search_pending"})
OWN_META = frozenset({"cache_id", "schema_version"})
BATCH = 5000


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def tables() -> list[str]:
    """Every table copied, in the schema's order."""
    db = postgres.sqlite_schema()
    try:
        return [t for t in postgres.sqlite_tables(db) if t not in NOT_COPIED]
    finally:
        db.close()


def _columns(store: Cache, table: str) -> list[str]:
    row = store.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in row.description]


def holds_anything(store: Cache) -> str | None:
    """The first table with a row of its own (meta aside, which every new cache has), or None."""
    for table in tables():
        if table == "meta":
            continue
        if store.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return table
    return None


def _batches(rows: Iterable[Any]) -> Iterator[list[Any]]:
    it = iter(rows)
    while batch := list(itertools.islice(it, BATCH)):
        yield batch


def copy_cache(src: str, dst: str) -> CopyReport:
    """Copy the cache at ``src`` into a new or empty cache at ``dst`` (paths or URLs)."""
    if src == dst:
        raise CacheError("cache copy: the source and the destination are the same cache")
    source = Cache.open(src, create=False)
    try:
        target = Cache.open(dst, create=True)
        try:
            where = holds_anything(target)
            if where is not None:
                raise CacheError(
                    f"cache copy: the destination {target.path} is not empty ({where} has rows); "
                    "copy into a new file or an empty database"
                )
            report = CopyReport()
            with target.transaction():
                for table in tables():
                    report.rows[table] = _copy_table(source, target, table)
                if isinstance(target, PgCache):
                    _advance_identities(target)
            if not isinstance(target, PgCache):
                from workbench import audit

                audit.anchor(
                    target
                )  # the head file beside the new cache names the chain's last entry
            return report
        finally:
            target.close()
    finally:
        source.close()


def _copy_table(source: Cache, target: Cache, table: str) -> int:
    cols = [c for c in _columns(source, table) if c in set(_columns(target, table))]
    names = ", ".join(cols)
    where = (
        f" WHERE key NOT IN ({', '.join(repr(k) for k in sorted(OWN_META))})"
        if table == "meta"
        else ""
    )
    rows = source.execute(f"SELECT {names} FROM {table}{where}")
    n = 0
    if isinstance(target, PgCache):
        with target.conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as out:
            for row in rows:
                out.write_row(tuple(int(v) if isinstance(v, bool) else v for v in row))
                n += 1
        return n
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})"
    for batch in _batches(rows):
        target.executemany(insert, [tuple(r) for r in batch])
        n += len(batch)
    return n


def _advance_identities(target: PgCache) -> None:
    """After rows with their own ids, the next id PostgreSQL hands out follows the largest copied."""
    for table in tables():
        pk = target.identity_of(table)
        if pk:
            target.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{pk}'), "
                f"COALESCE((SELECT MAX({pk}) FROM {table}), 0) + 1, false)"
            )

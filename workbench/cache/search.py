"""The cache's search index: an external-content FTS5 trigram index per resource table (``<table>_fts``
over its ``search`` column: id, name, tag keys and values), for filter-as-you-type.

A kind's index is built in one pass while it awaits a rebuild (marked in ``search_pending``: a new cache, until
its first sync ends), since that is cheaper than row by row. From then on, :class:`~workbench.cache.store.Cache`
keeps it current as it writes, in the rows' own transaction, with :func:`unindex` and :func:`index`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from workbench.cache import schema


def is_current(db: sqlite3.Connection, kind: str) -> bool:
    row = db.execute("SELECT 1 FROM search_pending WHERE kind=?", (kind,)).fetchone()
    return row is None


def unindex(db: sqlite3.Connection, table: str, uids: Sequence[tuple[str]]) -> None:
    """Take rows out of the index, before they change or go: an external-content index removes an entry
    by the text it indexed, which only the row still holds."""
    db.executemany(
        f"INSERT INTO {table}_fts({table}_fts, rowid, search) "
        f"SELECT 'delete', row_id, search FROM {table} WHERE uid=?",
        uids,
    )


def index(db: sqlite3.Connection, table: str, uids: Sequence[tuple[str]]) -> None:
    """Put rows (as they are now) into the index; each must be out of it (new, or :func:`unindex`'d)."""
    db.executemany(
        f"INSERT INTO {table}_fts(rowid, search) SELECT row_id, search FROM {table} WHERE uid=?",
        uids,
    )


def pending(db: sqlite3.Connection) -> list[str]:
    """The kinds awaiting a rebuild; a kind this vmwb does not know (a newer one's) is not ours to build."""
    return [k for (k,) in db.execute("SELECT kind FROM search_pending") if k in schema.TABLES]


def rebuild(db: sqlite3.Connection, kind: str) -> None:
    """Build ``kind``'s index from its rows, in the caller's transaction, and clear its mark."""
    table = schema.TABLES[kind]
    db.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES('rebuild')")
    db.execute("DELETE FROM search_pending WHERE kind=?", (kind,))

"""The cache's own facts, one text value per key in the ``meta`` table (schema migration 10).

Keys: ``cache_id`` (a random id made with the table: plans are bound to it), ``audit_key_id`` (the fingerprint
of the key that signs the audit chain), ``audit_legacy_end`` (the last unkeyed audit entry of an older log),
``audit_pending_lapsed`` (mute-lapsed entries a scan could not chain for want of the key; the next scan that
has it chains them: workbench/scan/mutes.py).
"""

from __future__ import annotations

import sqlite3

from workbench.cache.backend import Reader


def get(db: Reader, key: str) -> str | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    except (
        sqlite3.OperationalError
    ):  # a cache older than the table (opened read-only, not migrated)
        return None
    return None if row is None else str(row[0])


def set_default(db: Reader, key: str, value: str) -> None:
    """Store ``value`` unless the key already has one (inside the caller's transaction)."""
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))


def put(db: Reader, key: str, value: str | None) -> None:
    """Store ``value`` (None: remove the key), inside the caller's transaction."""
    if value is None:
        db.execute("DELETE FROM meta WHERE key=?", (key,))
    else:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )


def cache_id(db: Reader) -> str:
    value = get(db, "cache_id")
    if value is None:
        raise sqlite3.OperationalError("the cache has no id (its schema predates migration 10)")
    return value

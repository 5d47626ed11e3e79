"""Opening the cache's SQLite file: refusing what is not one, creating it private, and the pragmas every
connection gets. :mod:`workbench.cache.store` builds the cache on these."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from workbench.errors import CacheError

SQLITE_MAGIC = b"SQLite format 3\x00"

# SQLite's default: copy the WAL back into the file every 1,000 pages (4 MB).
AUTOCHECKPOINT_PAGES = 1000
# While a sync writes, the copy happens once, at its end: a big ingest dirties the same index pages over and
# over, and every checkpoint wrote them back again (at a million resources the writes alone took 21 s, not 30).
# The WAL grows meanwhile (about 1 GB at a million resources) and is cut back to JOURNAL_LIMIT afterwards.
BULK_AUTOCHECKPOINT_PAGES = 1_000_000
JOURNAL_LIMIT_BYTES = 64 * 1024 * 1024
# Pages are read through a memory map instead of a read() call each (address space, not memory).
MMAP_BYTES = 2 * 1024**3


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database, without touching it."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise CacheError(f"cannot read the cache {path}: {exc.strerror}") from exc
    if head and head != SQLITE_MAGIC:
        raise CacheError(
            f"{path} is not a vmwb cache (not an SQLite database); it was left untouched. "
            "Point --db at another file or move this one away."
        )


def create_private(path: Path) -> None:
    """Create the cache file with mode 0600 before SQLite opens it: it describes the estate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the cache's pragmas. ``isolation_level=None``: transactions are explicit."""
    if readonly:
        db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # The writer's page cache holds the hot index pages of a big ingest (default: 2 MB).
        db.execute("PRAGMA cache_size=-65536")
        db.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT_BYTES}")
    db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    return db

"""Opening the cache's SQLite file: telling a vmwb cache from anything else, creating it private, the pragmas
every connection gets, and SQLite's errors as one line each. :mod:`workbench.cache.store` builds the cache on
these.

The file is only ever touched through SQLite. Reading its header with ``open()`` would be enough to tell a
database from a text file, but closing that descriptor drops every POSIX lock this process holds on the file
(SQLite's "How To Corrupt An SQLite Database File", section 2.2): another process then believes nobody reads,
and deletes the WAL under this process's connections. So the file is identified by SQLite itself, from the
header fields it reads for us (``application_id``, ``user_version``) and the tables it lists.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import CacheError

# ``PRAGMA application_id`` of a vmwb cache: "vmwb" in ASCII, so `file(1)` and a hex dump show whose it is.
APPLICATION_ID = 0x766D7762
# A demo cache ("vmwd"): the one kind of cache `vmwb demo --db` may replace with a fresh estate.
DEMO_APPLICATION_ID = 0x766D7764
OUR_IDS = (APPLICATION_ID, DEMO_APPLICATION_ID)
# Tables every vmwb cache has had since schema v1: a cache from before the application_id is adopted by them.
OWN_TABLES = frozenset({"sync_runs", "scope_status", "instances", "findings", "journal"})

# SQLite's default: copy the WAL back into the file every 1,000 pages (4 MB).
AUTOCHECKPOINT_PAGES = 1000
# While a sync writes, the copy happens once, at its end: a big ingest dirties the same index pages over and
# over, and every checkpoint wrote them back again (at a million resources the writes alone took 21 s, not 30).
# The WAL grows meanwhile (about 1 GB at a million resources) and is cut back to JOURNAL_LIMIT afterwards.
BULK_AUTOCHECKPOINT_PAGES = 1_000_000
JOURNAL_LIMIT_BYTES = 64 * 1024 * 1024
# Pages are read through a memory map instead of a read() call each (address space, not memory).
MMAP_BYTES = 2 * 1024**3


@dataclass(frozen=True, slots=True)
class CacheFile:
    """What SQLite says a file is. ``state``: new (no tables yet) | cache | demo | adopted (a vmwb cache
    from before the application id)."""

    state: str
    version: int


# Errors of the file, never of the statement: a full disk, a read-only or failing file system, a damaged file.
FILE_ERRORS = (
    "SQLITE_READONLY",
    "SQLITE_FULL",
    "SQLITE_CANTOPEN",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_IOERR",
)


def is_file_error(exc: BaseException) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return isinstance(exc, sqlite3.Error) and name.startswith(FILE_ERRORS)


def sqlite_error(exc: sqlite3.Error, path: Path) -> CacheError:
    """SQLite's error as the one line the operator sees; nothing was written when it is raised."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return CacheError(
            f"the cache {path} is read-only (read-only file system or no write permission): "
            "nothing was written; use a writable --db"
        )
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return CacheError(
            f"the disk holding the cache {path} is full: nothing was written and the cache is as it "
            "was; free some space and run again"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return CacheError(
            f"cannot open the cache {path}: its folder is missing or not writable "
            "(a cache needs its folder writable for the -wal and -shm files)"
        )
    if name == "SQLITE_NOTADB" or "file is not a database" in text:
        return not_ours(path, "not an SQLite database")
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return CacheError(
            f"the cache {path} is damaged (database disk image is malformed); it was left untouched: "
            "restore a backup (<db>.v<N>.bak) or point --db at another file"
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return CacheError(
            f"disk I/O error on the cache {path} ({text}): the disk or file system failed; "
            "nothing more was written"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return CacheError(
            f"the cache {path} stayed locked by another vmwb process for 30 s; try again"
        )
    return CacheError(f"the cache {path}: {text}")


def os_error(exc: OSError, path: Path) -> CacheError:
    """Creating the cache file failed: the same lines as SQLite's own errors."""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return CacheError(
            f"cannot create the cache {path}: {exc.strerror} (read-only file system or no write "
            "permission); use a writable --db"
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return CacheError(
            f"cannot create the cache {path}: the disk is full; free some space and run again"
        )
    return CacheError(f"cannot create the cache {path}: {exc.strerror}")


def not_ours(path: Path, why: str) -> CacheError:
    return CacheError(
        f"{path} is not a vmwb cache ({why}); it was left untouched. "
        "Point --db at another file or move this one away."
    )


def identify(db: sqlite3.Connection, path: Path) -> CacheFile:
    """Read what the file is through ``db`` (no pragma has changed it yet); refuse what is not ours."""
    app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id == APPLICATION_ID:
        return CacheFile("cache", version)
    if app_id == DEMO_APPLICATION_ID:
        return CacheFile("demo", version)
    if app_id != 0:
        return _refuse(path, f"an SQLite database of another application, id {app_id:#010x}")
    if not tables and version == 0:
        return CacheFile("new", 0)
    if version > 0 and OWN_TABLES <= tables:
        return CacheFile("adopted", version)
    return _refuse(path, "an SQLite database of another application")


def _refuse(path: Path, why: str) -> CacheFile:
    raise not_ours(path, why)


def inspect(path: Path) -> CacheFile:
    """What the file at ``path`` is, through a read-only connection closed before returning."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise sqlite_error(exc, path) from exc
    try:
        return identify(db, path)
    except sqlite3.Error as exc:
        raise sqlite_error(exc, path) from exc
    finally:
        db.close()


def create_private(path: Path) -> None:
    """Create the cache file with mode 0600 before SQLite opens it: it describes the estate."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise os_error(exc, path) from exc
    os.close(fd)  # nobody holds a connection to a file created this instant


def open_raw(path: Path) -> sqlite3.Connection:
    """A read-write connection with no pragma applied yet, for :func:`identify` before anything changes."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)


def apply_pragmas(db: sqlite3.Connection, *, readonly: bool = False) -> sqlite3.Connection:
    if not readonly:
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


def writable(path: Path) -> bool:
    """Whether this process may write the cache file and its folder (for the -wal and -shm files).

    ``access(2)`` asks the kernel without opening the file (so no lock of this process is dropped): a
    read-only file system says no even to root, a file or folder without write permission says no to others.
    """
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


# How a cache this process may not write is opened: ``mode=ro`` where SQLite can read it so (it needs the
# -shm file, which a read-only folder cannot get), else ``immutable=1``: nobody can write a file on a
# read-only file system, so SQLite need not lock it. In both, every write is refused by SQLite itself.
READ_ONLY_URIS = ("mode=ro", "mode=ro&immutable=1")


def read_only_uri(path: Path, query: str = READ_ONLY_URIS[0]) -> str:
    # as_uri() escapes what a bare "file:" URI would read as its query or fragment ('?', '#')
    return f"{Path(path).resolve().as_uri()}?{query}"


def connect(
    path: Path, *, readonly: bool = False, query: str = READ_ONLY_URIS[0]
) -> sqlite3.Connection:
    """A connection with the cache's pragmas. ``isolation_level=None``: transactions are explicit.
    ``readonly``: opened with the URI ``query`` (one of :data:`READ_ONLY_URIS`)."""
    try:
        if readonly:
            db = sqlite3.connect(
                read_only_uri(path, query),
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        else:
            db = open_raw(path)
        return apply_pragmas(db, readonly=readonly)
    except sqlite3.Error as exc:
        raise sqlite_error(exc, path) from exc

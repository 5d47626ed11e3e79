"""One cache, many processes: nothing vmwb does outside SQLite may drop another connection's locks.

Closing any descriptor of a file drops every POSIX lock the process holds on it ("How To Corrupt An SQLite
Database File", section 2.2). A process that holds a WAL connection and then reads the file with ``open()``
loses its shared lock, and the next process to close its last connection believes nobody reads and deletes
the WAL under it. These tests run the real CLI in another process against a cache this process holds open.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from workbench.cache.store import Cache


def _vmwb(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_opening_the_cache_again_keeps_the_other_processes_off_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    Cache.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM sync_runs").fetchone()  # a read transaction stays open
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    assert wal.exists() and shm.exists()

    # This process opens the cache again (the TUI does, for a sync or a fix) while it holds the reader.
    Cache.open(db).close()
    # Another process runs a command and closes its last connection.
    out = _vmwb(db, "mute", "list")
    assert out.returncode == 0, out.stderr

    assert wal.exists() and shm.exists(), "the other process deleted the WAL of a live reader"
    holder.execute("COMMIT")
    assert holder.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    holder.close()

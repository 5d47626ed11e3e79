"""The cache file: refused when foreign or newer, private, migrated with a backup, replaced atomically."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest

from workbench.cache import schema
from workbench.cache.store import Cache
from workbench.errors import CacheError
from workbench.model import Instance, ScopeRef, TaskOutput

SCOPE = ScopeRef("aws", "1", "eu-west-1")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupt_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"not a database at all" * 100)
    before = _digest(path)
    with pytest.raises(CacheError, match="not a vmwb cache"):
        Cache.open(path)
    assert _digest(path) == before


def test_damaged_sqlite_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    before = _digest(path)
    with pytest.raises(CacheError):
        Cache.open(path)
    assert _digest(path) == before


def test_new_file_is_private(tmp_path: Path) -> None:
    Cache.open(tmp_path / "sub" / "cache.db").close()
    assert stat.S_IMODE((tmp_path / "sub" / "cache.db").stat().st_mode) == 0o600


def test_migration_backs_up_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cache.db"
    Cache.open(path).close()
    old = schema.SCHEMA_VERSION
    added: list[int] = []
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, lambda db: added.append(1)])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", old + 1)
    with Cache.open(path) as cache:
        assert cache.version == old + 1 and added == [1]
    backup = tmp_path / f"cache.db.v{old}.bak"
    assert backup.exists() and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == old


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    Cache.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 3}")
    db.close()
    before = _digest(path)
    with pytest.raises(CacheError, match="newer than this vmwb"):
        Cache.open(path)
    assert _digest(path) == before


def _output(*ids: str, state: object = "running") -> TaskOutput:
    out = TaskOutput()
    for i in ids:
        out.add(Instance(id=i, name=i, state=state))  # type: ignore[arg-type]
    return out


def test_replace_is_atomic_and_logs_removals(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "cache.db") as cache:
        run = cache.start_run({})
        cache.replace_task(run, SCOPE, "instances", _output("i-1", "i-2", "i-3"))
        with pytest.raises(sqlite3.Error):  # a value SQLite cannot bind: the whole task rolls back
            cache.replace_task(run, SCOPE, "instances", _output("i-1", state={1, 2}))
        assert cache.count("instance") == 3
        stats = cache.replace_task(run, SCOPE, "instances", _output("i-1", "i-2"))
        assert (stats.removed, stats.seen) == (1, 2)
        changes = cache.db.execute("SELECT uid, change FROM resource_changes").fetchall()
        assert [tuple(c) for c in changes] == [("aws:1:eu-west-1:instance:i-3", "removed")]
        unchanged = cache.replace_task(run, SCOPE, "instances", _output("i-1", "i-2"))
        assert (unchanged.added, unchanged.changed, unchanged.removed) == (0, 0, 0)
        changed = cache.replace_task(
            run, SCOPE, "instances", _output("i-1", "i-2", state="stopped")
        )
        assert changed.changed == 2
        cache.refresh_search()
        hits = cache.db.execute(
            "SELECT rowid FROM instances_fts WHERE instances_fts MATCH ?", ('"i-2"',)
        )
        assert len(hits.fetchall()) == 1


def test_a_read_only_connection_opens_a_folder_named_with_uri_characters(tmp_path: Path) -> None:
    """'#' and '?' in a folder name are the URI's fragment and query unless escaped (an incident folder)."""
    from workbench.cache.connection import connect

    folder = tmp_path / "incident #42?"
    folder.mkdir()
    with Cache.open(folder / "cache.db"):
        pass
    db = connect(folder / "cache.db", readonly=True)
    try:
        assert db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
    finally:
        db.close()

"""The cache marks itself (``application_id``, ``user_version``); SQLite files of others are refused untouched,
a vmwb cache from before the mark is adopted, and ``vmwb demo --db`` replaces only a demo cache."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from workbench.cache import schema
from workbench.cache.connection import APPLICATION_ID, DEMO_APPLICATION_ID, inspect
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.errors import CacheError


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _header(path: Path) -> tuple[int, int]:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        return int(app_id), int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def test_a_new_cache_carries_the_application_id_and_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    Cache.open(path).close()
    assert _header(path) == (APPLICATION_ID, schema.SCHEMA_VERSION)
    assert inspect(path).state == "cache"


def test_another_applications_sqlite_file_is_refused_and_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes (body) VALUES ('keep me')")
    db.commit()
    db.close()
    before = _digest(path)
    with pytest.raises(CacheError, match=r"is not a vmwb cache .*left untouched"):
        Cache.open(path)
    assert _digest(path) == before
    assert not Path(f"{path}-wal").exists()  # not even switched to WAL


def test_a_file_marked_by_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")  # even with no table yet
    db.close()
    before = _digest(path)
    with pytest.raises(CacheError, match="another application, id 0x000004d2"):
        Cache.open(path)
    assert _digest(path) == before


def test_the_cli_says_one_line_for_a_foreign_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"JFIF" * 500)
    before = _digest(path)
    assert main(["--db", str(path), "mute", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a vmwb cache" in err and "untouched" in err
    assert _digest(path) == before


def test_a_vmwb_cache_from_before_the_mark_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Cache.open(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 0")  # what every cache before the mark had
    db.close()
    assert inspect(path).state == "adopted"
    with Cache.open(path) as cache:
        assert cache.version == schema.SCHEMA_VERSION
    assert _header(path) == (APPLICATION_ID, schema.SCHEMA_VERSION)


def test_a_demo_cache_is_marked_as_one(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    Cache.open(path, demo=True).close()
    assert _header(path)[0] == DEMO_APPLICATION_ID
    with Cache.open(path) as cache:  # and opens as a cache like any other
        assert cache.is_demo


def test_demo_refuses_to_replace_a_cache_that_is_not_a_demo_one(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "work.db"
    with Cache.open(path) as cache:
        cache.start_run({"mine": True})
    before = _digest(path)
    assert main(["demo", "--no-ui", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a demo cache" in err
    assert _digest(path) == before


def test_demo_refuses_a_file_that_is_no_cache_at_all(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "thesis.txt"
    path.write_text("three years of work\n")
    assert main(["demo", "--no-ui", "--db", str(path)]) == 2
    assert "not a vmwb cache" in capsys.readouterr().err
    assert path.read_text() == "three years of work\n"


def test_an_earlier_demo_cache_is_replaced_with_its_wal(tmp_path: Path) -> None:
    from workbench.cli.demo import remove_demo_cache

    path = tmp_path / "demo.db"
    cache = Cache.open(path, demo=True)
    cache.start_run({})
    assert Path(f"{path}-wal").exists()
    cache.close()
    remove_demo_cache(path)
    assert not path.exists() and not Path(f"{path}-wal").exists()

"""A read-only file system and a full disk are one clear line each, a non-zero exit, and nothing lost.

The real conditions: a tiny tmpfs mounted for the test (needs root; skipped with that reason otherwise) and
remounted read-only; and, without root, SQLite's own ``max_page_count`` (a real SQLITE_FULL) and a
``mode=ro`` connection (a real SQLITE_READONLY).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cache.store import Cache
from workbench.cli import main
from workbench.errors import CacheError
from workbench.model import Instance, ScopeRef, TaskOutput

SCOPE = ScopeRef("aws", "1", "eu-west-1")


class TinyDisk:
    def __init__(self, root: Path) -> None:
        self.root = root

    def remount(self, *, read_only: bool) -> None:
        mode = "ro" if read_only else "rw"
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.root)], check=True)

    def fill(self) -> None:
        """Write a filler file until the disk refuses more."""
        fd = os.open(self.root / "filler", os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    if os.geteuid() != 0:
        pytest.skip(
            "mounting a tiny tmpfs needs root (the max_page_count / mode=ro tests run instead)"
        )
    root = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            f"mount is not allowed here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}"
        )
    try:
        yield TinyDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def _seed(path: Path, n: int = 20) -> None:
    with Cache.open(path) as cache:
        out = TaskOutput([Instance(id=f"i-{i}", name=f"vm-{i}") for i in range(n)])
        cache.replace_task(cache.start_run({}), SCOPE, "instances", out)


def _rows(path: Path) -> int:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(db.execute("SELECT count(*) FROM instances").fetchone()[0])
    finally:
        db.close()


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


MUTE = ["mute", "add", "--check", "SNP-01", "--reason", "test", "--expires", "30d"]


def test_a_new_cache_on_a_read_only_file_system_is_one_line(tiny_disk: TinyDisk, capsys) -> None:  # type: ignore[no-untyped-def]
    tiny_disk.remount(read_only=True)
    assert main(["--db", str(tiny_disk.root / "cache.db"), "mute", "list"]) == 2
    err = _one_line(capsys)
    assert "read-only file system" in err.lower()


def test_writing_a_cache_on_a_file_system_made_read_only_is_one_line(
    tiny_disk: TinyDisk,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    db = tiny_disk.root / "cache.db"
    _seed(db)
    tiny_disk.remount(read_only=True)
    assert main(["--db", str(db), *MUTE]) == 2
    err = _one_line(capsys)
    assert "read-only" in err or "cannot open" in err
    assert _rows(db) == 20


def test_a_full_disk_is_one_line_and_the_cache_keeps_its_rows(tiny_disk: TinyDisk, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tiny_disk.root / "cache.db"
    _seed(db)
    tiny_disk.fill()
    # A sync's worth of rows does not fit: the task's transaction fails as a whole.
    with Cache.open(db) as cache, pytest.raises(CacheError, match="is full"):
        big = TaskOutput([Instance(id=f"i-{i}", name="x" * 400) for i in range(5000)])
        cache.replace_task(cache.start_run({}), SCOPE, "instances", big)
    (tiny_disk.root / "filler").unlink()
    assert _rows(db) == 20


def test_a_full_disk_in_a_command_is_one_line(tiny_disk: TinyDisk, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tiny_disk.root / "cache.db"
    _seed(db)
    tiny_disk.fill()
    code = main(["--db", str(db), *MUTE])
    assert code == 2
    err = _one_line(capsys)
    assert "full" in err
    (tiny_disk.root / "filler").unlink()
    assert _rows(db) == 20


def test_a_full_database_without_root_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    _seed(db)
    with Cache.open(db) as cache:
        pages = cache.db.execute("PRAGMA page_count").fetchone()[0]
        cache.db.execute(f"PRAGMA max_page_count = {pages + 2}")
        big = TaskOutput([Instance(id=f"i-{i}", name="x" * 400) for i in range(5000)])
        with pytest.raises(CacheError, match="is full") as caught:
            cache.replace_task(cache.start_run({}), SCOPE, "instances", big)
        assert "\n" not in str(caught.value)
    assert _rows(db) == 20


def test_a_read_only_connection_refusing_a_write_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    _seed(db)
    readonly = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, isolation_level=None)
    cache = Cache(db, readonly)
    with pytest.raises(CacheError, match="is read-only"):
        cache.start_run({})
    readonly.close()
    assert _rows(db) == 20


def test_the_cli_in_another_process_exits_non_zero_with_one_line_on_a_full_disk(
    tiny_disk: TinyDisk,
) -> None:
    db = tiny_disk.root / "cache.db"
    _seed(db)
    tiny_disk.fill()
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "--db", str(db), *MUTE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode != 0
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    (tiny_disk.root / "filler").unlink()
    assert _rows(db) == 20

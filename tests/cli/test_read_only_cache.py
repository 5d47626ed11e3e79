"""A cache on read-only media: it reads (browse, scan's findings, exports) with one line saying it is
read-only, and every write (sync, mute, fix) refuses in one line with exit status 2, writing nothing.

Read-only media are real here: the cache's folder is bind-mounted read-only in a private mount namespace
(``unshare -m``; the tests run as root, for whom ``chmod 0444``/``0555`` does not stop a write, and a read-only
mount stops even root: ``EROFS``). Each command runs as its own ``python -m workbench`` process inside it.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.scan.mutes import add_mute

LIBVIRT = pytest.importorskip(
    "libvirt", reason="libvirt-python is not installed (the `libvirt` extra)"
)


def _can_mount_read_only(tmp: Path) -> str | None:
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    (tmp / "probe").mkdir()
    probe = tmp / "probe"
    script = (
        f"mount --bind {probe} {probe} && mount -o remount,bind,ro {probe} && ! touch {probe}/x"
    )
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, check=False)
    return None if done.returncode == 0 else f"cannot make a read-only bind mount: {done.stderr!r}"


def _run_read_only(
    folder: Path, commands: list[list[str]], db: Path, cfg: Path, out: Path
) -> list[tuple[int, str, str]]:
    """Each command as ``python -m workbench --db DB --config CFG ...`` with ``folder`` mounted read-only."""
    lines = [f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} || exit 99"]
    for n, argv in enumerate(commands):
        args = " ".join(f"'{a}'" for a in ["--db", str(db), "--config", str(cfg), *argv])
        lines.append(
            f"{sys.executable} -m workbench {args} >{out}/{n}.out 2>{out}/{n}.err; echo $? >{out}/{n}.rc"
        )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", "\n".join(lines)],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [
        (
            int((out / f"{n}.rc").read_text()),
            (out / f"{n}.out").read_text(),
            (out / f"{n}.err").read_text(),
        )
        for n in range(len(commands))
    ]


def _content(db: Path) -> list[str]:
    """Everything the cache holds, through SQLite (the test holds no connection to it meanwhile)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, Path]]:
    why = _can_mount_read_only(tmp_path)
    if why:
        pytest.skip(why)
    cfg = tmp_path / "vmwb.toml"
    cfg.write_text('[libvirt]\nuris = ["test:///default"]\n')
    monkeypatch.setenv("VMWB_CONFIG", str(cfg))
    folder = tmp_path / "media"
    db = folder / "cache.db"
    assert main(["--db", str(db), "sync"]) == 0
    assert main(["--db", str(db), "scan"]) == 0
    out = tmp_path / "out"
    out.mkdir()
    yield db, cfg, out


def test_reads_say_read_only_once_and_writes_refuse_in_one_line(
    cache: tuple[Path, Path, Path],
) -> None:
    db, cfg, out = cache
    before = _content(db)
    csv = out / "findings.csv"
    reads = [
        ["inventory", "instances"],
        ["scan", "--format", "csv", "--output", str(csv)],
        ["mute", "list"],
        ["compliance"],
        ["report", "--format", "md"],
        ["fix", "journal"],
    ]
    writes = [
        ["sync"],
        ["mute", "add", "--check", "BOOT-06", "--reason", "r", "--expires", "2030-01-01"],
        ["fix", "plan", "BOOT-06"],
    ]
    results = _run_read_only(db.parent, reads + writes, db, cfg, out)
    for argv, (rc, _stdout, stderr) in zip(reads, results[: len(reads)], strict=True):
        assert rc == 0, (argv, stderr)
        said = [line for line in stderr.splitlines() if "read-only" in line]
        assert len(said) == 1 and said[0].startswith("vmwb: note: the cache"), (argv, stderr)
        assert "Traceback" not in stderr and "error" not in stderr, (argv, stderr)
    assert "test" in results[0][1]  # the VM the sync found
    assert "BOOT-06" in csv.read_text()  # the last scan's findings, exported
    for argv, (rc, _stdout, stderr) in zip(writes, results[len(reads) :], strict=True):
        assert rc == 2, (argv, rc, stderr)
        assert stderr.splitlines() == [stderr.strip()] and "read-only" in stderr, (argv, stderr)
        assert "nothing was done" in stderr and "Traceback" not in stderr, (argv, stderr)
    assert _content(db) == before  # nothing written, nothing lost


def test_commits_still_in_the_wal_are_read(cache: tuple[Path, Path, Path]) -> None:
    """A cache left with its last commits in the -wal (its writer still open, or killed) is read whole: the
    read-only opening uses SQLite's -shm, it does not fall back to reading the main file alone."""
    from workbench.cache.store import Cache

    db, cfg, out = cache
    writer = Cache.open(db)
    try:
        writer.db.execute("PRAGMA wal_autocheckpoint=0")
        add_mute(
            writer,
            reason="only in the wal",
            author="t",
            role="operator",
            expires_at="2030-01-01T00:00:00Z",
            check="BOOT-06",
        )
        assert (db.parent / "cache.db-wal").stat().st_size > 0
        [(rc, stdout, stderr)] = _run_read_only(db.parent, [["mute", "list"]], db, cfg, out)
    finally:
        writer.close()
    assert rc == 0, stderr
    assert "only in the wal" in stdout


def test_a_closed_cache_alone_in_a_read_only_folder_is_read(
    cache: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """No -wal and no -shm beside it (a cache copied to a DVD or a read-only share): SQLite cannot make the
    -shm it needs for ``mode=ro``, so the cache is opened immutable, which nobody can write there anyway."""
    from workbench.cache.store import Cache

    db, cfg, out = cache
    copy = tmp_path / "dvd" / "cache.db"
    copy.parent.mkdir()
    with Cache.open(db) as source:
        source.backup(copy)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["cache.db"]
    [(rc, stdout, stderr), (wrc, _, werr)] = _run_read_only(
        copy.parent, [["inventory", "instances"], ["sync"]], copy, cfg, out
    )
    assert rc == 0 and "test" in stdout, stderr
    assert "read-only" in stderr and "Traceback" not in stderr
    assert wrc == 2 and "sync writes to it, so nothing was done" in werr
    assert sorted(p.name for p in copy.parent.iterdir()) == ["cache.db"]


NOBODY_SCRIPT = """
import contextlib, io, json, os, sys
from workbench.cli import main
work, db, warm = sys.argv[1:4]
commands = json.loads(sys.argv[4])
# Every import is made first, as root, on a writable cache: after setuid the interpreter cannot read /root.
for argv in commands:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["--db", warm, *[a.replace(work, work + "/warm") for a in argv]])
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
found = []
for argv in commands:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--db", db, *argv])
    found.append([rc, out.getvalue(), err.getvalue()])
print(json.dumps(found))
"""


def test_a_read_only_file_in_a_read_only_folder_for_another_user(tmp_path: Path) -> None:
    """chmod 0444 on the cache and 0555 on its folder, read by a user who is not its owner (nobody, by
    setuid in a child process; the tests run as root, whom chmod does not stop)."""
    import json
    import os
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="vmwb-ro-", dir="/tmp"))  # (tmp_path's parents are 0700)
    try:
        os.chmod(work, 0o777)
        cfg = work / "vmwb.toml"
        cfg.write_text('[libvirt]\nuris = ["test:///default"]\n')
        env = {
            **os.environ,
            "VMWB_CONFIG": str(cfg),
            "HOME": str(work),
            "XDG_CONFIG_HOME": str(work),
        }
        env["XDG_DATA_HOME"] = str(work)
        for folder in ("media", "warm"):
            (work / folder).mkdir()
            for command in (["sync"], ["scan"]):
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "workbench",
                        "--db",
                        str(work / folder / "cache.db"),
                        *command,
                    ],
                    env=env,
                    capture_output=True,
                    check=True,
                    timeout=120,
                )
        db = work / "media" / "cache.db"
        before = _content(db)
        db.chmod(0o444)
        db.parent.chmod(0o555)
        csv = work / "f.csv"
        commands = [
            ["inventory", "instances"],
            ["scan", "--format", "csv", "--output", str(csv)],
            ["sync"],
            ["mute", "add", "--check", "BOOT-06", "--reason", "r", "--expires", "30d"],
        ]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                NOBODY_SCRIPT,
                str(work),
                str(db),
                str(work / "warm" / "cache.db"),
                json.dumps(commands),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        (irc, iout, ierr), (src, _, serr), (yrc, _, yerr), (mrc, _, merr) = json.loads(done.stdout)
        assert (
            irc == 0 and "test" in iout and "vmwb: note: the cache" in ierr and "read-only" in ierr
        ), ierr
        assert src == 0 and "BOOT-06" in csv.read_text(), serr
        for rc, err, what in ((yrc, yerr, "sync"), (mrc, merr, "mute add")):
            assert rc == 2 and err.strip().splitlines() == [err.strip()], err
            assert f"{what} writes to it, so nothing was done" in err and "Traceback" not in err
        db.parent.chmod(0o755)
        assert _content(db) == before
    finally:
        for path in (work / "media", work):
            with contextlib.suppress(OSError):
                path.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)


APP_ON_READ_ONLY_MEDIA = r"""
import argparse, sys
from pathlib import Path
from workbench.cli.context import CliContext
from workbench.cli.ui import open_app
from workbench.screens.posture_common import write_cache

async def pilot(p):
    await p.pause()
    print("read_only", p.app.read_only)
    try:
        with write_cache(p.app):
            print("opened a writer")
    except Exception as exc:
        print("refused", type(exc).__name__, exc)
    p.app.exit(0)

ctx = CliContext(Path(sys.argv[1]), sys.argv[2])
sys.exit(open_app(ctx, argparse.Namespace(), headless=True, size=(120, 40), auto_pilot=pilot))
"""


def test_the_app_on_read_only_media_is_read_only_and_refuses_writes_up_front(
    cache: tuple[Path, Path, Path],
) -> None:
    db, cfg, out = cache
    before = _content(db)
    script = out / "app.py"
    script.write_text(APP_ON_READ_ONLY_MEDIA)
    folder = db.parent
    lines = [
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} || exit 99",
        f"{sys.executable} {script} {db} {cfg} >{out}/app.out 2>{out}/app.err; echo $? >{out}/app.rc",
    ]
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", "\n".join(lines)],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    said, err = (out / "app.out").read_text(), (out / "app.err").read_text()
    assert int((out / "app.rc").read_text()) == 0, err
    assert "read_only True" in said  # no fix can run: the wizard and the header say read-only
    assert "refused CacheError" in said and "is read-only" in said and "nothing was done" in said
    assert "opened a writer" not in said and "Traceback" not in err
    assert _content(db) == before

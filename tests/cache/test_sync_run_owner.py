"""A killed sync's run does not stay ``running`` forever: runs record their owner process (pid, start time,
host) and a heartbeat, and runs whose owner is gone are settled as ``interrupted``."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from workbench.cache.store import Cache
from workbench.process_owner import Owner


def _runs(db: Path) -> list[tuple[int, str, int | None]]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT run_id, status, owner_pid FROM sync_runs ORDER BY run_id")
        return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        conn.close()


def test_a_run_records_its_owner_and_a_live_owners_run_is_left_alone(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        run = cache.start_run({})
        row = cache.db.execute(
            "SELECT owner_pid, owner_start, owner_host, heartbeat_at FROM sync_runs WHERE run_id=?",
            (run,),
        ).fetchone()
        me = Owner.current()
        assert (row[0], row[1], row[2]) == (me.pid, me.start, me.host) and row[3]
        assert cache.settle_interrupted_runs() == []  # this process is alive: still running


def test_a_reused_pid_or_a_silent_remote_owner_is_gone(tmp_path: Path) -> None:
    me = Owner.current()
    assert not me.gone()
    assert Owner(me.pid, "1", me.host).gone()  # same pid, another start time: reused
    assert Owner(me.pid, me.start, "elsewhere", "2020-01-01T00:00:00Z").gone()
    assert not Owner(me.pid, me.start, "elsewhere", me.heartbeat).gone()
    assert Owner(None, None, socket.gethostname()).gone()  # recorded before owners were


def test_kill_9_of_a_sync_leaves_an_interrupted_run(aws_estate, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()
    db = tmp_path / "c.db"
    config = tmp_path / "config.toml"
    section = aws_estate.section
    config.write_text("[aws]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items()))
    Cache.open(db).close()
    with aws_estate.env():
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "--db", str(db), "--config", str(config), "sync"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(status == "running" and pid == proc.pid for _, status, pid in _runs(db)):
                break
            assert proc.poll() is None, "the sync ended before it could be killed"
            time.sleep(0.01)
        else:
            raise AssertionError("the sync never started its run")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [status for _, status, _ in _runs(db)] == ["running"]  # what a kill -9 leaves behind

    with Cache.open(db) as cache:  # opening (any command, the app) settles it
        assert [r[1] for r in _runs(db)] == ["interrupted"]
        assert cache.db.execute("SELECT finished_at FROM sync_runs").fetchone()[0]
        run = cache.start_run({})  # and a new sync starts normally beside it
    assert [status for _, status, _ in _runs(db)] == ["interrupted", "running"]
    assert run == 2

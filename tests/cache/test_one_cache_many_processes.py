"""The proof of "one cache, many processes": the Textual app (headless, in its own process, its readers open
and a sync of its own running) on one cache while CLI commands and another sync run in other processes at once.
No error, no lost row, the WAL present throughout, every exit status 0."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

APP = r"""
import json, sys
from pathlib import Path
from workbench.config import Config
from workbench.screens.app import create_app

db, stop, ready, section = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4])
app = create_app(db, Config(role="operator", sections={"aws": section}), read_only=False, role="operator")

async def pilot(p):
    await p.pause()
    app.sync.start()  # the app's own writer (a Cache.open in this process, beside its readers)
    ready.write_text("up")
    views, n = ["vm", "snap", "findings", "dash", "sync", "vol"], 0
    while not stop.exists() or app.sync.running:
        app.run_command(views[n % len(views)])
        if len(app.screen_stack) > 6:
            app.pop_screen()
        n += 1
        await p.pause(0.15)
    app.exit(0)

app.run(headless=True, size=(120, 40), auto_pilot=pilot)
sys.exit(app.return_code or 0)
"""


def _counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("instances", "volumes", "snapshots", "images", "firewall_rules", "grants")
        }
    finally:
        conn.close()


@pytest.mark.timeout(600)
def test_the_app_the_cli_and_a_sync_share_one_cache(aws_estate, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()
    # The estate is shared by the worker's tests, and some change it (fixes make snapshots, volumes, grants):
    # sync it first, so "before" is the estate this test syncs again, not the one seeded at session start.
    aws_estate.sync()
    db = aws_estate.copy_db(tmp_path)
    before = _counts(db)
    assert before["instances"] > 0
    config = tmp_path / "config.toml"
    config.write_text(
        "[aws]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in aws_estate.section.items())
    )
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    vmwb = [sys.executable, "-m", "workbench", "--db", str(db)]
    commands = [
        [*vmwb, "scan", "--format", "csv", "--output", str(tmp_path / "s.csv")],
        [*vmwb, "compliance"],
        [*vmwb, "mute", "list"],
        [*vmwb, "--config", str(config), "sync"],
        [*vmwb, "scan", "--format", "json", "--output", str(tmp_path / "s.json")],
        [*vmwb, "compliance"],
        [*vmwb, "mute", "list"],
    ]
    with aws_estate.env():
        app = subprocess.Popen(
            [
                sys.executable,
                "-c",
                APP,
                str(db),
                str(stop),
                str(ready),
                json.dumps(aws_estate.section),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not ready.exists():
                assert app.poll() is None, app.communicate()
                assert time.monotonic() < deadline, "the app never came up"
                time.sleep(0.05)
            procs = [
                subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for c in commands
            ]
            wal_gone = 0
            while any(p.poll() is None for p in procs):
                wal_gone += not (wal.exists() and shm.exists())  # the app's readers hold them
                time.sleep(0.02)
            results = [
                (c[5:], p.returncode, *p.communicate())
                for c, p in zip(commands, procs, strict=True)
            ]
            # Every command done; one more round while the app's own sync may still be writing.
            late = subprocess.run(
                [*vmwb, "mute", "list"], capture_output=True, text=True, check=False
            )
            assert wal.exists() and shm.exists()
        finally:
            stop.write_text("stop")
        _out, err = app.communicate(timeout=300)
    for argv, code, _stdout, stderr in results:
        assert code == 0, (argv, stderr)
        assert "error" not in stderr.lower(), (argv, stderr)
    assert late.returncode == 0, late.stderr
    assert app.returncode == 0, err[-2000:]
    assert wal_gone == 0, "the WAL or shm file vanished while the app held the cache"
    after = _counts(db)
    assert after == before, "a row was lost (or gained) by syncing the same estate"
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    runs = [r[0] for r in conn.execute("SELECT status FROM sync_runs ORDER BY run_id")]
    conn.close()
    assert runs[-2:] == ["ok", "ok"], runs  # the app's sync and the CLI's

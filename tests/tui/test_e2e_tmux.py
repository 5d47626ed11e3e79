"""End to end in a real terminal: ``vmwb demo`` in a detached tmux session (120×40), driven by send-keys.

It waits for the dashboard, jumps to snapshots (``:snap``), filters (``/``), opens a row's detail (Enter), then
quits with Ctrl+Q and checks that the process exited with 0 and that nothing in the estate (hostile names carry
OSC title sequences) renamed the pane. Skipped without tmux. The demo build dominates the time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
ROOT = Path(__file__).resolve().parents[2]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def pane(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    shot = ""
    while time.monotonic() < deadline:
        shot = pane(session)
        if text in shot:
            return shot
        time.sleep(0.25)
    raise AssertionError(f"{text!r} did not appear within {timeout}s; the pane shows:\n{shot}")


def test_demo_dashboard_filter_detail_quit(tmp_path: Path) -> None:
    session = f"vmwb-e2e-{uuid.uuid4().hex[:8]}"
    # The shell prints the app's exit status and stays: tmux 3.3a sometimes never fills in a dead pane's
    # #{pane_dead_status}, and a dead pane's screen can come back blank.
    command = (
        f"cd {ROOT} && {sys.executable} -m workbench demo --db {tmp_path / 'demo.db'};"
        " echo vmwb-exit=$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        title = tmux("display-message", "-p", "-t", session, "#{pane_title}")
        wait_for(session, "Open findings by severity", timeout=150)
        wait_for(session, "critical", timeout=60)  # the dashboard's worker has painted the panels

        tmux("send-keys", "-t", session, ":")
        wait_for(session, "views:", timeout=45)
        tmux("send-keys", "-t", session, "-l", "snap")
        tmux("send-keys", "-t", session, "Enter")
        wait_for(session, "Snapshots", timeout=45)
        wait_for(session, "rows: ", timeout=45)

        tmux("send-keys", "-t", session, "/")
        # Focus moves asynchronously: keys sent before the box shows would still reach the table.
        wait_for(session, "filter: words", timeout=45)
        time.sleep(0.3)
        tmux("send-keys", "-t", session, "-l", "public-backup")
        shot = wait_for(session, "rows: 1 ", timeout=45)
        assert "public-backup" in shot
        tmux("send-keys", "-t", session, "Enter")  # keeps the filter, focus back on the table
        time.sleep(0.5)
        tmux("send-keys", "-t", session, "Enter")  # opens the row
        shot = wait_for(session, "Detail: snapshot", timeout=45)
        assert "public-backup" in shot and "Related" in shot

        tmux("send-keys", "-t", session, "C-q")
        shot = wait_for(session, "vmwb-exit=", timeout=60)
        assert "vmwb-exit=0" in shot, shot
        assert tmux("display-message", "-p", "-t", session, "#{pane_title}") == title
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)

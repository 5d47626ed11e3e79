"""The demo bench: how long ``vmwb demo`` takes to a usable estate (issue target: ≤ 10 s to a usable screen).

Two measurements, both end to end with the real emulators and collectors:

- ``cli``: ``python -m workbench demo --no-ui`` in a fresh process (so interpreter start and every import
  count) with its stderr on a pseudo-terminal, where the command prints its progress: seconds to the first
  progress line and to exit.
- ``build``: :func:`workbench.demo.build_demo` in a second fresh process, its per-phase timings and the
  seconds at which each progress step arrived.

Both run in subprocesses because a module imported once stays imported: a second in-process run would
measure warm imports, which a user never gets. Note ``PYTHONDONTWRITEBYTECODE``: without cached bytecode,
every import compiles its sources and the figures are several times larger.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_BUILD = """
import json, sys, time
t0 = time.monotonic()
from workbench.demo import build_demo
steps = []
def progress(step, done=None, total=None):
    steps.append((round(time.monotonic() - t0, 2), step))
with build_demo(sys.argv[1], progress=progress) as estate:
    out = {"timings": {k: round(v, 2) for k, v in estate.timings.items()},
           "parts": estate.parts, "notes": estate.notes, "resources": estate.resources,
           "sync": estate.sync_status, "open_findings": estate.findings.get("open", 0),
           "milestones": [s for s in steps if not s[1].startswith("sync ")]}
print(json.dumps(out))
"""


def _cli(folder: Path) -> dict[str, Any]:
    """``vmwb demo --no-ui`` with stderr on a pty (progress is printed only to a terminal)."""
    master, slave = pty.openpty()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "demo", "--no-ui", "--db", str(folder / "cli.db")],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    first: float | None = None
    try:
        while os.read(master, 4096):  # EOF (OSError on Linux) once the child has exited
            first = first if first is not None else time.monotonic() - t0
    except OSError:
        pass
    finally:
        os.close(master)
    stdout, _ = proc.communicate()
    return {
        "exit": proc.returncode,
        "first_progress_s": round(first or 0.0, 2),
        "total_s": round(time.monotonic() - t0, 2),
        "summary": stdout.decode(errors="replace").strip().splitlines(),
    }


def _build(folder: Path) -> dict[str, Any]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _BUILD, str(folder / "build.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = round(time.monotonic() - t0, 2)
    return out


def bench_demo() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vmwb-bench-demo-") as tmp:
        folder = Path(tmp)
        return {
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]
            if Path("/proc/loadavg").exists()
            else None,
            "cpus": os.cpu_count(),
            "bytecode_cache": not sys.dont_write_bytecode,
            "cli": _cli(folder),
            "build": _build(folder),
        }

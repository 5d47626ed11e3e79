"""Which process owns a long-running piece of work (a sync run, a fix in flight), and whether it is gone.

A pid alone is not enough: pids are reused, so the owner is recorded as pid + the process's start time
(``/proc/<pid>/stat``, clock ticks since boot) + host, with a heartbeat the owner refreshes while it works.
The owner is gone when no process has that pid, or the process with that pid started at another time (a reused
pid), or, for an owner on another host (a cache on a shared disk), when its heartbeat is older than
``STALE_AFTER``. Work whose owner is gone was interrupted (``kill -9``, a crash, a reboot) and can be settled;
work whose owner lives must be left alone.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from workbench.clock import parse, utcnow

#: An owner on another host whose heartbeat is older than this is taken to be gone.
STALE_AFTER = dt.timedelta(minutes=15)


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux); None when it is gone or a zombie, or
    where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and ')': the fields after the last ')' are fixed.
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # exited; only its parent has not reaped it
        return None
    return fields[19]


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


@dataclass(frozen=True, slots=True)
class Owner:
    pid: int | None
    start: str | None
    host: str | None
    heartbeat: str | None = None

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(pid, process_start(pid), socket.gethostname(), utcnow())

    def gone(self, now: dt.datetime | None = None) -> bool:
        """Whether the process that owned the work has ended (so the work was interrupted)."""
        if self.pid is None:  # recorded before owners were: nothing can still be running it
            return True
        if self.host != socket.gethostname():
            beat = parse(self.heartbeat) if self.heartbeat else None
            now = now or dt.datetime.now(dt.UTC)
            return beat is None or now - beat > STALE_AFTER
        if not _pid_exists(self.pid):
            return True
        if self.start is not None:
            return process_start(self.pid) != self.start  # None: exited; other: the pid was reused
        return False

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"

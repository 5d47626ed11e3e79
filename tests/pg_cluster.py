"""A throw-away PostgreSQL cluster for the tests: ``initdb`` in a temporary folder, ``pg_ctl start`` on a free
loopback port with trust authentication on 127.0.0.1 only, stopped and removed at the end.

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` OS user (Debian's
``postgresql`` package creates it; ``tests/run.sh`` installs the package) and every command runs through
``runuser -u postgres --``. :func:`missing` says, in one line, why no cluster can be started here; the
fixtures then skip with that line, never silently.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "postgres"


def bindir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian keeps them per version), or None."""
    override = os.environ.get("VMWB_PG_BINDIR")
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing() -> str | None:
    """Why no test cluster can be started here (None: it can)."""
    if bindir() is None:
        return (
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "run tests/run.sh as root, or apt-get install postgresql"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return "running as root and there is no 'postgres' OS user to run the cluster as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster; ``url(db)`` is a libpq URL for one of its databases."""

    folder: Path
    port: int
    bin: Path
    user: str

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", SERVICE_USER, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls) -> Cluster:
        why = missing()
        if why:
            raise RuntimeError(why)
        found = bindir()
        assert found is not None
        folder = Path(tempfile.mkdtemp(prefix="vmwb-pg-"))
        user = SERVICE_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        folder.chmod(0o700)
        cluster = cls(folder, _free_port(), found, user)
        data = folder / "data"
        try:
            cluster._run(
                "initdb", "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"
            )
            # Loopback TCP only: the socket stays in the cluster's own folder, nothing listens outside.
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={cluster.port} "
                f"-c unix_socket_directories={folder} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off"
            )
            cluster._run(
                "pg_ctl", "-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start"
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cluster

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

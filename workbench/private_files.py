"""Files vmwb writes for the operator (plans, exports, backups, reports): mode 0600 from the first byte.

They describe the estate (resource ids, owners, grants, findings), so no other local user may read them, not
even for the moment between creating a file and tightening its mode. Never use these for a database file: the
cache is opened and written only through SQLite (workbench/cache/connection.py).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

PRIVATE_MODE = 0o600


@contextmanager
def _replaced(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A temporary 0600 file beside ``path``, fsync'd and renamed over it when the block ends cleanly.

    A reader never sees half a file, and a failed write leaves the previous file as it was.
    """
    target = Path(path)
    try:
        special = not stat.S_ISREG(target.stat().st_mode)
    except FileNotFoundError:
        special = False
    if special:
        # /dev/null, /dev/stdout, a pipe: written to, never replaced (as root a rename would swap the
        # device node for a regular file, for every process on the machine)
        with open(target, "wb") as out:
            yield out
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # mkstemp makes 0600 already; say it, umask-proof
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextmanager
def open_private(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A UTF-8 text file written whole, mode 0600 (see :func:`_replaced`)."""
    import io

    with _replaced(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        yield text
        text.flush()
        text.detach()  # the binary file is closed by _replaced, after fsync


@contextmanager
def open_private_binary(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    with _replaced(path) as raw:
        yield raw


def write_private_text(path: str | os.PathLike[str], text: str) -> None:
    with open_private(path) as out:
        out.write(text)


def write_private_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with open_private_binary(path) as out:
        out.write(data)

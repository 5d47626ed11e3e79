"""Files written for the operator are 0600 and replace the old file whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from workbench import secrets
from workbench.private_files import open_private, write_private_bytes, write_private_text


def test_written_private_and_whole(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the widest umask: the mode must not depend on it
    try:
        target = tmp_path / "plan.json"
        write_private_text(target, "first")
        write_private_bytes(tmp_path / "b.bin", b"\x00\x01")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "b.bin").stat().st_mode) == 0o600
    assert target.read_text() == "first"


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    write_private_text(target, "kept")
    with pytest.raises(RuntimeError), open_private(target) as out:
        out.write("half")
        raise RuntimeError("disk went away")
    assert target.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


def test_random_key_made_once_and_kept(memory_keyring: object) -> None:
    first = secrets.ensure_random_key("test-key")
    assert len(first) == 32
    assert secrets.ensure_random_key("test-key") == first
    secrets.delete_secret("test-key")
    assert secrets.ensure_random_key("test-key") != first


def test_a_pipe_or_device_is_written_to_never_replaced(tmp_path: Path) -> None:
    """``--output /dev/null`` or ``/dev/stdout``: the node stays what it was (as root, a rename over
    /dev/null made it a regular file for the whole machine). A FIFO stands in for the device here."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_private_text(fifo, "findings\n")
    reader.join(timeout=10)
    assert got == [b"findings\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)

"""An unexpected error in the app is one line and a failing exit status, never a traceback or status 0."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.cli.context import CliContext
from workbench.cli.ui import open_app
from workbench.errors import CacheError


def _raise_in_a_handler(error: Exception) -> Any:
    async def pilot(p: Any) -> None:
        await p.pause()

        def boom() -> None:
            raise error

        p.app.call_later(boom)  # raised inside a message handler, as a bug in a screen would be
        await p.pause()

    return pilot


def _run(tmp_path: Path, error: Exception) -> int:
    ctx = CliContext(tmp_path / "cache.db", None)
    return open_app(ctx, argparse.Namespace(), headless=True, auto_pilot=_raise_in_a_handler(error))


def test_an_unexpected_error_exits_non_zero_with_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = _run(tmp_path, RuntimeError("the index went away"))
    assert code == 70
    err = capsys.readouterr()
    text = err.out + err.err
    assert "vmwb: unexpected error: RuntimeError: the index went away" in text
    assert "Traceback" not in text


def test_a_cache_error_in_the_app_is_its_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = _run(tmp_path, CacheError("the disk holding the cache x is full"))
    assert code == 2
    err = capsys.readouterr()
    assert "vmwb: error: the disk holding the cache x is full" in err.out + err.err

"""The demo app marks its cache as a demo one from the start, so the next ``vmwb demo --db`` may replace it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.cache.store import Cache
from workbench.cli.context import CliContext
from workbench.cli.demo import remove_demo_cache
from workbench.cli.ui import open_app


def test_the_demo_apps_cache_is_a_demo_cache_even_before_the_estate_is_built(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.db"

    def build(progress: Any) -> Any:
        raise RuntimeError(
            "no emulator here"
        )  # the estate never comes: the cache is marked before it

    async def quit_at_once(pilot: Any) -> None:
        await pilot.pause()
        pilot.app.exit()

    ctx = CliContext(path, None)
    open_app(ctx, argparse.Namespace(), demo=build, headless=True, auto_pilot=quit_at_once)
    with Cache.open(path, create=False) as cache:
        assert cache.is_demo
    remove_demo_cache(path)  # refused for any cache that is not a demo one
    assert not path.exists()

"""``vmwb`` with no command: open the workbench on the cache.

Textual is imported here, inside the function, so ``vmwb --help`` and every headless command stay free of it.
"""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.context import CliContext
from workbench.errors import CacheError


def open_app(ctx: CliContext, args: argparse.Namespace, *, demo: Any = None, **run: Any) -> int:
    """Run the TUI until the operator quits; returns the exit code (``run``: Textual's ``App.run``
    options, for a headless run)."""
    if ctx.on_postgres:
        # The app's tables read the SQLite file directly (TableSource), not through the seam, so far.
        raise CacheError(
            f"the workbench app runs on a SQLite cache only, not {ctx.db_path}: every vmwb command "
            "works there; for the app, `vmwb cache copy URL FILE` and open the file"
        )
    # Create or migrate now, so the UI's read-only connections find a schema; a demo's cache is marked as
    # one from its first byte, so the next `vmwb demo --db` may replace it.
    if demo is not None:
        from workbench.cache.store import Cache

        Cache.open(ctx.db_path, demo=True).close()
        read_only = ctx.read_only
    else:
        # A cache on read-only media opens in read-only mode: no fix can run, and every write refuses.
        read_only = ctx.read_only or ctx.cache(create=True).read_only_note is not None
        ctx.close()  # the app opens its own connections (readers per thread, a writer for sync)
    from workbench.screens.app import create_app

    app = create_app(ctx.db_path, ctx.config, read_only=read_only, role=ctx.role, demo=demo)
    code = app.run(**run)
    if app.return_code:  # the app failed (it printed one line saying why): never exit 0
        return int(app.return_code)
    return int(code or 0)

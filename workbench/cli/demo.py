"""``vmwb demo``: the workbench on a seeded estate served by local emulators, no cloud account needed.

Without ``--db`` the cache goes to a private temporary folder removed on exit (its path is said then);
``--keep`` writes it beside the default cache instead (``demo.db`` in the user data folder) and leaves it there
to explore with the CLI (``vmwb --db PATH inventory vms``). ``--no-ui`` builds the cache
(emulators, sync, checks), prints what it built and exits; otherwise the app opens at once and shows the build's
progress, and the emulators stay up while it runs so fixes can be applied to them.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="open the workbench on a demo estate (local emulators)")
    p.add_argument(
        "--no-ui", action="store_true", help="build the demo cache, print a summary, exit"
    )
    p.add_argument(
        "--db",
        dest="demo_db",
        metavar="PATH",
        help="where to write the demo cache (default: a temporary file)",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave the demo cache in the user data folder (demo.db) to explore with the CLI",
    )
    p.set_defaults(func=run)


def kept_path() -> Path:
    """Where ``--keep`` leaves the demo cache: beside the default cache, never over it."""
    from workbench import config as config_mod

    return config_mod.default_db_path().with_name("demo.db")


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.demo import build_demo

    tmp: Path | None = None
    if args.demo_db:
        db = Path(args.demo_db).expanduser()
    elif args.keep:
        db = kept_path()
        db.parent.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="vmwb-demo-"))
        db = tmp / "demo.db"
    if db.exists():
        remove_demo_cache(db)  # a demo always starts from its own fresh estate
    try:
        if args.no_ui:
            return _headless(db, functools.partial(build_demo, keys=_keys_folder(db)))
        from workbench.cli.ui import open_app

        ctx.db_flag = str(db)
        ctx.read_only_flag = bool(args.read_only)
        ctx.role_flag = args.role or "operator"
        return open_app(
            ctx,
            args,
            demo=lambda progress: build_demo(db, progress=progress, keys=_keys_folder(db)),
        )
    finally:
        if tmp is not None and not args.no_ui:  # --no-ui keeps its cache for a later `vmwb --db`
            shutil.rmtree(tmp, ignore_errors=True)
            print(
                f"the demo cache was in {db} and is removed; `vmwb demo --keep` leaves one to explore",
                file=sys.stderr,
            )
        elif not args.no_ui:
            print(
                f"demo cache kept: {db} (explore it: vmwb --db {db} inventory vms)", file=sys.stderr
            )


def _keys_folder(db: Path) -> Path:
    """The demo's throw-away keys, beside its cache (never in the cache's own folder: see audit.py)."""
    return db.parent / f"{db.stem}-keys"


def remove_demo_cache(db: Path) -> None:
    """Delete an earlier demo cache (and its -wal, -shm) so the demo starts fresh; refuse anything else.

    Identified through SQLite (read-only, closed before the files go): only a cache marked as a demo one
    (``DEMO_APPLICATION_ID``) is ever deleted.
    """
    from workbench.cache.connection import inspect
    from workbench.errors import CacheError

    if inspect(db).state != "demo":
        raise CacheError(
            f"{db} is a vmwb cache but not a demo cache: `vmwb demo --db` replaces only demo caches; "
            "it was left untouched (give the demo another path)"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _headless(db: Path, build_demo: Any) -> int:
    def progress(step: str, done: int | None = None, total: int | None = None) -> None:
        if sys.stderr.isatty():
            print(f"  {step}", file=sys.stderr)

    with build_demo(db, progress=progress) as estate:
        print(f"demo cache: {estate.db_path}")
        print(f"config:     {estate.config.path}")
        print(f"platforms:  {', '.join(estate.parts)}")
        print(f"resources:  {estate.resources} (sync {estate.sync_status})")
        if estate.findings:
            print(f"findings:   {estate.findings.get('open', 0)} open")
        for note in estate.notes:
            print(f"note:       {note}")
        print("timings:    " + ", ".join(f"{k} {v:.1f}s" for k, v in estate.timings.items()))
    return 0

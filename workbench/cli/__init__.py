"""The ``vmwb`` command line: global options, then one subcommand per entry of the ``vmwb.commands`` group.

Each entry (:mod:`workbench.plugins`; the built-ins are ``workbench/cli/<name>.py:register``) is a
``register(subparsers)`` function that adds its own subcommand, so commands are added without touching this
file. Modules import their heavy dependencies inside their handlers:
``vmwb --help`` must stay fast and import no cloud SDK.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench import __version__, plugins
from workbench.cache.connection import sqlite_error
from workbench.cli.context import CliContext
from workbench.errors import WorkbenchError, operator_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmwb",
        description="VM Security Workbench: inventory, checks and guided fixes for VM estates. "
        "Without a command, opens the workbench on the cache.",
    )
    parser.add_argument("--version", action="version", version=f"vmwb {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in plugins.names("commands"):
        plugins.load("commands", name)(sub)
    return parser


def _global_options(parser: argparse.ArgumentParser) -> None:
    """The options every command takes; before the command (``vmwb --db X fix plan``) or after it."""
    parser.add_argument(
        "--db", metavar="PATH", help="the cache file (default: $VMWB_DB or the user data folder)"
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config file (default: $VMWB_CONFIG or the user config folder)",
    )
    parser.add_argument("--read-only", action="store_true", help="no fix can run")
    parser.add_argument(
        "--role",
        choices=("viewer", "responder", "operator"),
        help="what fixes you may run (default: from config, else operator)",
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; global options given after the command are taken too."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        late_parser = argparse.ArgumentParser(prog="vmwb", add_help=False)
        _global_options(late_parser)
        late, rest = late_parser.parse_known_args(extra)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        for name in ("db", "config", "role"):
            if getattr(late, name) is not None:
                setattr(args, name, getattr(late, name))
        args.read_only = args.read_only or late.read_only
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    ctx = CliContext.from_args(args)
    handler = getattr(args, "func", None)
    try:
        if handler is None:
            from workbench.cli.ui import open_app

            return open_app(ctx, args)
        return int(handler(ctx, args) or 0)
    except WorkbenchError as exc:
        line, code = operator_line(exc)
        print(line, file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("vmwb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except sqlite3.Error as exc:  # raised outside a Cache transaction (a reader's query)
        print(f"vmwb: error: {sqlite_error(exc, _named_db(ctx))}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output file in a read-only folder, a full disk
        where = f" {exc.filename}" if exc.filename else ""
        print(f"vmwb: error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line and a failing status (VMWB_DEBUG=1 re-raises)
        if os.environ.get("VMWB_DEBUG"):
            raise
        line, code = operator_line(exc)
        print(line, file=sys.stderr)
        return code
    finally:
        _close_quietly(ctx)


def _named_db(ctx: CliContext) -> Path:
    """The cache as the error line names it, even when the config that may name it does not parse."""
    try:
        return ctx.db_path
    except WorkbenchError:
        return Path(ctx.db_flag or "the cache")


def _close_quietly(ctx: CliContext) -> None:
    """Closing after a failed write (a full disk) must not raise over the line already printed."""
    try:
        ctx.close()
    except sqlite3.Error as exc:
        print(f"vmwb: error: {sqlite_error(exc, _named_db(ctx))}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

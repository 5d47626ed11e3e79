"""The ``vmwb`` command line: global options, then one subcommand per module of this package.

Each module ``workbench/cli/<name>.py`` that defines ``register(subparsers)`` adds its own subcommand, so
commands are added without touching this file. Modules import their heavy dependencies inside their handlers:
``vmwb --help`` must stay fast and import no cloud SDK.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.cli.context import CliContext
from workbench.errors import WorkbenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmwb",
        description="VM Security Workbench: inventory, checks and guided fixes for VM estates. "
        "Without a command, opens the workbench on the cache.",
    )
    parser.add_argument("--version", action="version", version=f"vmwb {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "context":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
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
        print(f"vmwb: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vmwb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (
        Exception
    ) as exc:  # a bug or an SDK surprise: one line for the operator, the trace on demand
        if os.environ.get("VMWB_DEBUG"):
            raise
        print(
            f"vmwb: error: unexpected {type(exc).__name__}: {exc} "
            "(VMWB_DEBUG=1 shows the traceback; please report it)",
            file=sys.stderr,
        )
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

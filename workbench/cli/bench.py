"""``vmwb bench NAME [--size N] [--json]``: run a benchmark and print its figures (see workbench.bench).

Benches are the ``vmwb.benches`` plugin group (:mod:`workbench.plugins`): a function that returns a JSON-able
dict of figures and takes a size keyword (``size``, or its first parameter, e.g. ``rows``) that ``--size`` sets.
"""

from __future__ import annotations

import argparse
import inspect
import json
from typing import TYPE_CHECKING, Any

from workbench import plugins
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="run a benchmark (ingest, concurrency, tui …)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--size", type=int, metavar="N", help="the bench's size (resources, rows …)")
    p.add_argument("--json", action="store_true", help="one line of JSON (default: indented)")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    # The config first: a bench that writes audit records (checks, demo) needs the keys where
    # ``[general] key_folder`` / ``[audit] key_file`` put them on a machine without an OS keyring.
    ctx.config  # noqa: B018 (read for its effect)
    figures = run_bench(args.name, args.size)
    rows = figures.get("table")
    if not args.json and isinstance(rows, list) and rows:
        from workbench.cli.sync import render_table

        print(render_table([[str(cell) for cell in row] for row in rows]))
        figures = {k: v for k, v in figures.items() if k != "table"}
    print(
        json.dumps(figures, default=str)
        if args.json
        else json.dumps(figures, indent=2, default=str)
    )
    return 0


def run_bench(name: str, size: int | None = None) -> dict[str, Any]:
    fn = plugins.load("benches", name)
    if size is None:
        figures: dict[str, Any] = fn()
        return figures
    params = list(inspect.signature(fn).parameters)
    if not params:
        raise WorkbenchError(f"bench {name!r} takes no size")
    key = "size" if "size" in params else params[0]
    sized: dict[str, Any] = fn(**{key: size})
    return sized

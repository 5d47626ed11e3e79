"""``vmwb bench NAME [--size N] [--json]``: run a benchmark and print its figures (see workbench.bench)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("bench", help="run a benchmark (ingest, concurrency, tui …)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--size", type=int, metavar="N", help="the bench's size (resources, rows …)")
    p.add_argument("--json", action="store_true", help="one line of JSON (default: indented)")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.bench.registry import run as run_bench

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

"""``vmwb cache copy SRC DST``: copy a whole cache between SQLite files and PostgreSQL databases.

SRC and DST are each a SQLite path or a ``postgresql://`` URL. The destination must be new or empty.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cache",
        help="copy a cache between SQLite and PostgreSQL",
        description="Copy a whole cache (inventory with history, findings, mutes, journal, audit chain, "
        "image registry) from SRC to DST, each a SQLite path or a postgresql:// URL. DST must be new or "
        "empty; the audit chain verifies there with the same key.",
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = sub.add_parser("copy", help="copy the cache at SRC into a new or empty DST")
    c.add_argument("src", metavar="SRC")
    c.add_argument("dst", metavar="DST")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cache.backend import redact
    from workbench.cache_copy import copy_cache

    report = copy_cache(args.src, args.dst)
    tables = sum(1 for n in report.rows.values() if n)
    print(
        f"copied {report.total} rows ({tables} tables with rows) from {redact(args.src)} "
        f"to {redact(args.dst)}"
    )
    return 0

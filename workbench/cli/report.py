"""``vmwb report``: a self-contained HTML or Markdown posture report."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="write a posture report (html or md)",
        description="Posture summary, KPIs and snapshot risk as charts, findings "
        "by area and framework, and changes since the previous scan.",
    )
    p.add_argument("--format", choices=("html", "md"), default="html")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cli._scan_common import config_params, emit
    from workbench.export.report import render

    text = render(ctx.cache(create=False), args.format, now=args.now, params=config_params(ctx))
    emit(text, args.output)
    return 0

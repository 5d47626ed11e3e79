"""``vmwb compliance``: per framework, the controls the catalogue covers and which pass or fail now."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compliance", help="controls covered, passing and failing per framework"
    )
    p.add_argument("--framework", help="show this framework's controls (e.g. cis_aws_compute)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.tabular import render_table
    from workbench.scan.compliance import summary
    from workbench.textsafe import safe

    frameworks = summary(ctx.cache(create=False))
    if args.framework:
        frameworks = [f for f in frameworks if f["framework"].startswith(args.framework)]
    if args.format == "json":
        print(json.dumps(frameworks, indent=2))
        return 0
    rows = [["FRAMEWORK", "VERSION", "CONTROLS", "PASSING", "FAILING", "NOT ASSESSED"]]
    rows += [
        [
            f["framework"],
            safe(", ".join(f["versions"]) or "-", 40),
            str(f["covered"]),
            str(f["passing"]),
            str(f["failing"]),
            str(f["not_assessed"]),
        ]
        for f in frameworks
    ]
    print(render_table(rows, [20, 8, 9, 8, 8, 0]), end="")
    if args.framework:
        for f in frameworks:
            rows = [["CONTROL", "STATUS", "OPEN", "MUTED", "CHECKS"]]
            rows += [
                [
                    c["id"] + (" (proposed)" if c["proposed"] else ""),
                    c["status"],
                    str(c["open"]),
                    str(c["muted"]),
                    " ".join(c["checks"]),
                ]
                for c in f["controls"]
            ]
            print(f"\n{f['title']}")
            print(render_table(rows, [22, 13, 5, 6, 0]), end="")
    return 0

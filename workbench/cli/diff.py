"""``vmwb diff [A] [B]``: what is new, resolved and changed between two scans (default: the last two)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff",
        help="compare two scans",
        description="Findings new, resolved and changed between scan A and "
        "scan B (default: the scan before the latest, and the latest).",
    )
    p.add_argument("a", nargs="?", type=int, help="the earlier scan id")
    p.add_argument("b", nargs="?", type=int, help="the later scan id")
    p.add_argument(
        "--source",
        default="vmwb",
        help="whose scans: vmwb (default) or an import's source (prowler, sarif:TOOL, custodian)",
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.tabular import render_table
    from workbench.scan.diff import diff_scans
    from workbench.textsafe import safe

    d = diff_scans(ctx.cache(create=False), args.a, args.b, source=args.source)
    if args.format == "json":
        print(json.dumps(d, indent=2, ensure_ascii=False))
        return 0
    print(
        f"scan {d['from_scan']} -> {d['to_scan']}: {len(d['new'])} new, {len(d['resolved'])} "
        f"resolved, {len(d['changed'])} changed"
    )
    rows = [["CHANGE", "SEVERITY", "CHECK", "RESOURCE", "STATUS", "REASON"]]
    for name in ("new", "resolved", "changed"):
        rows += [
            [
                f["change"],
                f["severity"],
                f["check_id"],
                safe(f["resource_id"], 30),
                f["status"],
                safe(f["reason"], 70),
            ]
            for f in d[name]
        ]
    if len(rows) > 1:
        print(render_table(rows, [9, 9, 8, 30, 9, 0]), end="")
    return 0

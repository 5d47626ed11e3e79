"""``vmwb diff [A] [B]``: what is new, resolved and changed between two scans (default: the last two);
``vmwb diff --since TIME``: the inventory's field-level changes since then (from the resource history)."""

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
    p.add_argument(
        "--since",
        metavar="TIME",
        help="list inventory changes (resources added, removed, fields changed) since TIME: "
        "monday, 2026-11-30, 3d",
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    if args.since is not None:
        return run_since(ctx, args)
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


def _cell(value: Any) -> str:
    return "-" if value is None else value if isinstance(value, str) else json.dumps(value)


def run_since(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cache.history import changes_since
    from workbench.cli.inventory import time_option
    from workbench.errors import WorkbenchError
    from workbench.export.tabular import render_table
    from workbench.textsafe import safe

    if args.a is not None or args.b is not None:
        raise WorkbenchError("--since compares the inventory with a time; give no scan ids with it")
    since = time_option(args.since, ctx)
    changes = changes_since(ctx.cache(create=False).db, since)
    if args.format == "json":
        out = [
            {
                "uid": c.uid,
                "kind": c.kind,
                "change": c.change,
                "at": c.at,
                "fields": [
                    {"field": f.field, "before": f.before, "after": f.after} for f in c.fields
                ],
            }
            for c in changes
        ]
        print(json.dumps({"since": since, "changes": out}, indent=2, ensure_ascii=False))
        return 0
    counts = {
        name: sum(c.change == name for c in changes) for name in ("added", "removed", "changed")
    }
    print(f"since {since}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    rows = [["CHANGE", "KIND", "RESOURCE", "AT", "FIELD", "BEFORE", "AFTER"]]
    for c in changes:
        head = [c.change, c.kind, safe(c.uid, 60), c.at]
        if not c.fields:
            rows.append([*head, "", "", ""])
        for f in c.fields:
            rows.append(
                [*head, safe(f.field, 30), safe(_cell(f.before), 40), safe(_cell(f.after), 40)]
            )
            head = ["", "", "", ""]
    if len(rows) > 1:
        print(render_table(rows, [6, 4, 8, 2, 5, 6, 0]), end="")
    return 0

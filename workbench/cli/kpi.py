"""``vmwb kpi``: patch KPIs and the snapshot-risk breakdown, from the cache and its history."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "kpi",
        help="patch and snapshot KPIs",
        description="Patch compliance, patched within 30 days, critical "
        "vulnerabilities remediated within 7 days, automated patch deployment "
        "success, and the snapshot risk breakdown.",
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cli._scan_common import config_params
    from workbench.export.tabular import render_table
    from workbench.scan.kpi import compute_kpis

    k = compute_kpis(ctx.cache(create=False), args.now, config_params(ctx))
    if args.format == "json":
        print(json.dumps(k, indent=2))
        return 0
    rows = [["KPI", "VALUE", "COUNT", "DEFINITION"]]
    for group in ("patch", "snapshots"):
        for name, item in k[group].items():
            if isinstance(item, dict):
                value = "n/a" if item["value"] is None else f"{item['value']:.1f}%"
                rows.append(
                    [
                        f"{group}.{name}",
                        value,
                        f"{item['count']}/{item['total']}",
                        item["definition"],
                    ]
                )
    print(render_table(rows, [40, 7, 13, 0]), end="")
    p, s = k["patch"], k["snapshots"]
    print(
        f"fleet: {p['fleet']} VMs, {p['reporting']} reporting patch state; {s['total']} snapshots"
    )
    return 0

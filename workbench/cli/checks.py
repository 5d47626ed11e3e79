"""``vmwb checks``: the check catalogue with all its metadata and the parameters in force."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "checks", help="list the check catalogue", description="List every check with its metadata."
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--area", help="only this area")
    p.add_argument("--provider", help="only checks of this provider")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cli._scan_common import config_params
    from workbench.export.tabular import render_table
    from workbench.scan.loader import load_catalogue

    checks = [
        c
        for c in load_catalogue()
        if (not args.area or c.area == args.area)
        and (not args.provider or args.provider in c.providers)
    ]
    overrides = config_params(ctx)
    if args.format == "json":
        out = []
        for c in checks:
            d = c.to_dict()
            values = c.resolve_params(overrides.get(c.id))
            for name, meta in d["params"].items():
                meta["value"] = values[
                    name
                ]  # what a scan uses: the default or the config's override
            out.append(d)
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    rows = [["ID", "SEVERITY", "AREA", "PROVIDERS", "FIX", "TITLE"]]
    rows += [
        [c.id, c.severity, c.area, ",".join(c.providers), c.fix or "-", c.title] for c in checks
    ]
    print(render_table(rows, [8, 9, 22, 15, 34, 0]), end="")
    return 0

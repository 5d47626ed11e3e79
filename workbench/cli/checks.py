"""``vmwb checks [CHECK_ID]``: the check catalogue, or one check's detail, with the parameters in force."""

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
    p.add_argument("check_id", nargs="?", metavar="CHECK_ID", help="one check's detail (SNP-01)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--area", help="only this area")
    p.add_argument("--provider", help="only checks of this provider")
    p.set_defaults(func=run)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cli._scan_common import config_params
    from workbench.export.tabular import render_table
    from workbench.scan.loader import load_catalogue

    overrides = config_params(ctx)
    if args.check_id:
        return _detail(args.check_id, overrides, args.format)
    checks = [
        c
        for c in load_catalogue()
        if (not args.area or c.area == args.area)
        and (not args.provider or args.provider in c.providers)
    ]
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


def _detail(check_id: str, overrides: dict[str, Any], fmt: str) -> int:
    """One check: what it looks at, why it matters, how to fix it, where it maps, what it is set to."""
    import textwrap

    from workbench.scan.loader import get_check

    check = get_check(check_id.strip().upper())
    d = check.to_dict()
    values = check.resolve_params(overrides.get(check.id))
    for name, meta in d["params"].items():
        meta["value"] = values[name]
    if fmt == "json":
        print(json.dumps(d, indent=2, ensure_ascii=False))
        return 0
    print(f"{d['id']}  {d['title']}")
    print(
        f"severity {d['severity']} · area {d['area_title']} · {', '.join(d['providers'])} · "
        f"{d['resource_kind']}"
    )
    for label, key in (("Rationale", "rationale"), ("Remediation", "remediation")):
        print(f"\n{label}:")
        print(textwrap.fill(d[key] or "-", 100, initial_indent="  ", subsequent_indent="  "))
    print(f"\nGuided fix: {d['fix'] or '-'}")
    if d["params"]:
        print("\nParameters (value in force):")
        for name, meta in d["params"].items():
            print(f"  {name} = {meta['value']!r}  {meta.get('description', '')}".rstrip())
    if d["frameworks"]:
        print("\nMappings:")
        for fw, m in d["frameworks"].items():
            ids = m.get("ids", m) if isinstance(m, dict) else m
            print(f"  {fw}: {', '.join(map(str, ids)) if isinstance(ids, list) else ids}")
    return 0

"""``vmwb findings export``: the current findings as JSON, JSON lines, CSV, SARIF or OCSF, without scanning.

Exporting is not scanning: ``vmwb scan`` evaluates the checks and records a scan (which ``vmwb diff`` and the
dashboard compare); this writes what the last scans found and records nothing, so exporting twice in three
formats leaves the scan history alone. Files are written mode 0600 (they describe the estate).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext

STATUSES = {
    "current": ("open", "muted"),
    "open": ("open",),
    "muted": ("muted",),
    "resolved": ("resolved",),
    "all": ("open", "muted", "resolved"),
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "findings", help="export the current findings (no scan is run or recorded)"
    )
    sub = p.add_subparsers(dest="findings_command", metavar="ACTION", required=True)
    ex = sub.add_parser("export", help="write the findings as json, jsonl, csv, sarif or ocsf")
    ex.add_argument(
        "--format", choices=("json", "jsonl", "csv", "sarif", "ocsf", "table"), default="json"
    )
    ex.add_argument("--output", metavar="FILE", help="write here (mode 0600) instead of stdout")
    ex.add_argument("--check", action="extend", nargs="+", default=[], metavar="ID")
    ex.add_argument("--provider", help="only findings in this provider")
    ex.add_argument(
        "--status", choices=tuple(STATUSES), default="current", help="default: open and muted"
    )
    ex.set_defaults(func=run_export)


def run_export(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.cli._scan_common import emit
    from workbench.cli.scan import render
    from workbench.export.tabular import finding_records

    cache = ctx.cache(create=False)
    records = finding_records(
        cache.db, statuses=STATUSES[args.status], check_ids=args.check or None
    )
    if args.provider:
        records = [r for r in records if r["provider"] == args.provider]
    emit(render(args.format, records, cache.db), args.output)
    return 0

"""``vmwb import prowler|sarif|custodian FILE``: another tool's findings beside vmwb's own.

    vmwb import prowler prowler-output-123456789012.ocsf.json
    vmwb import sarif trivy.sarif
    vmwb import custodian output/public-snapshots/          # a policy run's folder (or its resources.json)

Each import is a scan of its own source (see ``vmwb diff --source prowler``); importing the same file again
changes nothing; a newer file resolves what it no longer reports, for the rules it ran and the accounts it covers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext
    from workbench.scan.imports.landing import ImportResult, Parsed


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "import",
        help="import findings of Prowler, any SARIF scanner, or Cloud Custodian",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="import_command", metavar="TOOL", required=True)
    pr = sub.add_parser("prowler", help="Prowler 5.x json-ocsf output")
    pr.add_argument("file", metavar="FILE")
    pr.set_defaults(func=cmd_prowler)
    sa = sub.add_parser("sarif", help="a SARIF 2.1.0 log from any scanner")
    sa.add_argument("file", metavar="FILE")
    sa.set_defaults(func=cmd_sarif)
    cu = sub.add_parser(
        "custodian", help="a Cloud Custodian policy run (its folder or resources.json)"
    )
    cu.add_argument("file", metavar="PATH")
    cu.add_argument("--severity", default="medium", help="the findings' severity (default: medium)")
    cu.set_defaults(func=cmd_custodian)


def _report(result: ImportResult, path: str) -> int:
    if result.scan_id is None:
        print(
            f"{path}: already imported from {result.source} as scan {result.previous_scan_id}; "
            "nothing changed"
        )
        return 0
    c = result.counts
    line = (
        f"{result.source}: scan {result.scan_id}: {c.get('open', 0)} open, {c.get('muted', 0)} muted "
        f"({c.get('new', 0)} new, {c.get('reopened', 0)} reopened, {c.get('resolved', 0)} resolved)"
    )
    if result.not_in_cache:
        line += f"; {result.not_in_cache} for resources not in the cache"
    if result.mapped:
        line += f"; {result.mapped} map to a vmwb check, {result.fixable} with a guided fix"
        if result.fixable:
            line += " (vmwb fix list)"
    print(line)
    return 0


def _land(ctx: CliContext, source: str, path: Path, parsed: Parsed, tool: str | None = None) -> int:
    from workbench.scan.imports.landing import land

    result = land(
        ctx.cache(create=False, write="import"),
        source,
        path,
        parsed,
        actor=ctx.user,
        role=ctx.role,
        tool=tool,
    )
    return _report(result, str(path))


def cmd_prowler(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.scan.imports import prowler

    path = Path(args.file)
    return _land(ctx, prowler.SOURCE, path, prowler.read(path))


def cmd_sarif(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.scan.imports import sarif

    path = Path(args.file)
    log, digest = sarif.load(path)
    tool = sarif.tool_name(log)
    return _land(ctx, f"sarif:{tool}", path, sarif.read_log(log, digest), tool=tool)


def cmd_custodian(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.scan.imports import custodian

    status = 0
    for path in custodian.resources_files(Path(args.file)):  # one scan per policy run
        status |= _land(ctx, custodian.SOURCE, path, custodian.read(path, severity=args.severity))
    return status

"""``vmwb mute list|add|remove``: durable mute rules (regular expressions) with a reason, an author and an expiry.

A muted finding stays visible with status ``muted``; when the rule expires or is removed, its findings reopen on
the next scan. Adding and removing are written to the audit log.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("mute", help="manage mute rules", description=__doc__)
    sub = p.add_subparsers(dest="mute_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list mute rules")
    ls.add_argument("--all", action="store_true", help="include removed rules")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=run_list)
    add = sub.add_parser(
        "add", help="add a mute rule (patterns are regular expressions, matched in full)"
    )
    add.add_argument("--check", help="check id pattern, e.g. 'SNP-0[13]'")
    add.add_argument("--account", help="account pattern")
    add.add_argument("--region", help="region pattern")
    add.add_argument("--resource", help="resource id (or uid) pattern")
    add.add_argument("--tag", help="pattern matched against each key=value tag, e.g. 'env=sandbox'")
    add.add_argument("--reason", required=True, help="why (shown with every muted finding)")
    add.add_argument(
        "--expires",
        required=True,
        help="when the mute ends: a date (2026-12-31), a time, or a duration (30d, 12h)",
    )
    add.add_argument("--now", help=argparse.SUPPRESS)
    add.set_defaults(func=run_add)
    rm = sub.add_parser("remove", help="remove a mute rule (its findings reopen on the next scan)")
    rm.add_argument("mute_id", type=int)
    rm.add_argument("--reason", default="", help="why it is removed")
    rm.set_defaults(func=run_remove)


def _may_mute(ctx: CliContext) -> None:
    if ctx.role == "viewer":
        raise WorkbenchError("the viewer role cannot add or remove mutes")


def run_list(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.tabular import render_table
    from workbench.scan.mutes import list_mutes
    from workbench.textsafe import safe

    rules = list_mutes(ctx.cache().db, include_inactive=args.all)
    if args.format == "json":
        print(json.dumps(rules, indent=2))
        return 0
    rows = [["ID", "ACTIVE", "EXPIRES", "AUTHOR", "PATTERNS", "REASON"]]
    for r in rules:
        pats = " ".join(
            f"{f}={r[f + '_pattern']}"
            for f in ("check", "account", "region", "resource", "tag")
            if r[f + "_pattern"]
        )
        rows.append(
            [
                str(r["mute_id"]),
                "yes" if r["active"] else "no",
                r["expires_at"] or "",
                safe(r["author"], 12),
                safe(pats, 50),
                safe(r["reason"], 60),
            ]
        )
    print(render_table(rows, [4, 6, 20, 12, 50, 0]), end="")
    return 0


def run_add(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.scan.mutes import add_mute, parse_expiry

    _may_mute(ctx)
    mute_id = add_mute(
        ctx.cache(write="mute add"),
        reason=args.reason,
        author=ctx.user,
        expires_at=parse_expiry(args.expires, args.now),
        check=args.check,
        account=args.account,
        region=args.region,
        resource=args.resource,
        tag=args.tag,
        now=args.now,
    )
    print(f"mute {mute_id} added; it applies from the next scan")
    return 0


def run_remove(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.scan.mutes import remove_mute

    _may_mute(ctx)
    remove_mute(ctx.cache(write="mute remove"), args.mute_id, author=ctx.user, reason=args.reason)
    print(f"mute {args.mute_id} removed; its findings reopen on the next scan")
    return 0

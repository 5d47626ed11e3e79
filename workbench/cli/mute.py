"""``vmwb mute list|add|remove|report``: exceptions with an owner, a reason, a ticket and an expiry.

A muted finding stays visible with status ``muted``; when the rule expires, is removed, or a muted resource
changes in a way its check cares about, its findings reopen on the next scan. ``report`` lists the exceptions
that need a decision (expired, expiring, stale, without ticket). Adding and removing are audited, refusals too;
the rules are in workbench.scan.mutes, shared with the app.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

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
    add.add_argument("--ticket", help="the ticket that records the decision, e.g. SEC-42")
    add.add_argument("--owner", help="who answers for the exception (default: you)")
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
    rep = sub.add_parser(
        "report", help="the exceptions that need a decision: expired, expiring, stale, no ticket"
    )
    rep.add_argument(
        "--within", type=int, default=7, metavar="DAYS", help="expiring within DAYS (default 7)"
    )
    rep.add_argument("--all", action="store_true", help="every active mute, not only those")
    rep.add_argument("--format", choices=("table", "json"), default="table")
    rep.add_argument("--now", help=argparse.SUPPRESS)
    rep.set_defaults(func=run_report)


def run_list(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.tabular import render_table
    from workbench.scan.mutes import list_mutes, patterns_text
    from workbench.textsafe import safe

    rules = list_mutes(ctx.cache().db, include_inactive=args.all)
    if args.format == "json":
        print(json.dumps(rules, indent=2))
        return 0
    rows = [["ID", "ACTIVE", "EXPIRES", "OWNER", "TICKET", "PATTERNS", "REASON"]]
    for r in rules:
        rows.append(
            [
                str(r["mute_id"]),
                "yes" if r["active"] else "no",
                r["expires_at"] or "",
                safe(r["owner"] or r["author"], 16),
                safe(r["ticket"] or "-", 16),
                safe(patterns_text(r), 50),
                safe(r["reason"], 60),
            ]
        )
    print(render_table(rows, [4, 6, 20, 12, 8, 30, 0]), end="")
    return 0


def run_report(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.tabular import render_table
    from workbench.scan.mutes import patterns_text, report
    from workbench.textsafe import safe

    data = report(ctx.cache().db, args.now, within_days=args.within)
    if not args.all:
        data["mutes"] = [r for r in data["mutes"] if r["states"]]
    if args.format == "json":
        print(json.dumps(data, indent=2))
        return 0
    if not data["mutes"]:
        print(f"no mute needs a decision (none expired, expiring within {args.within}d or stale)")
        return 0
    rows = [["ID", "STATE", "EXPIRES", "OWNER", "TICKET", "COVERS", "PATTERNS", "REASON"]]
    for r in data["mutes"]:
        rows.append(
            [
                str(r["mute_id"]),
                ", ".join(r["states"]) or "ok",
                r["expires_at"] or "",
                safe(r["owner"] or r["author"], 16),
                safe(r["ticket"] or "-", 16),
                str(r["covers"]),
                safe(patterns_text(r), 40),
                safe(r["reason"], 50),
            ]
        )
    print(render_table(rows, [4, 10, 20, 8, 8, 6, 20, 0]), end="")
    return 0


def run_add(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.scan.mutes import add_mute, parse_expiry

    mute_id = add_mute(
        ctx.cache(write="mute add"),
        reason=args.reason,
        author=ctx.user,
        role=ctx.role,
        owner=args.owner,
        ticket=args.ticket,
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

    remove_mute(
        ctx.cache(write="mute remove"),
        args.mute_id,
        author=ctx.user,
        role=ctx.role,
        reason=args.reason,
    )
    print(f"mute {args.mute_id} removed; its findings reopen on the next scan")
    return 0

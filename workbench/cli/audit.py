"""``vmwb audit``: verify the hash chain of the audit log, export it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.textsafe import safe


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("audit", help="the audit log: verify its hash chain, export it")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    s = sub.add_parser("verify", help="detect edited or deleted entries")
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser("export", help="write every entry as JSON lines or CSV")
    s.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    s.add_argument("--output", "-o", metavar="FILE", help="default: standard output")
    s.set_defaults(func=cmd_export)


def cmd_verify(ctx: Any, args: argparse.Namespace) -> int:
    from workbench import audit

    cache = ctx.cache(create=False)
    problems = audit.verify(cache)
    count = audit.count(cache)
    if problems:
        for line in problems:
            print(safe(f"audit: {line}"))
        print(f"audit log NOT intact: {len(problems)} problem(s) in {count} entries")
        return 1
    print(f"audit log intact: {count} entries")
    return 0


def cmd_export(ctx: Any, args: argparse.Namespace) -> int:
    from workbench import audit

    cache = ctx.cache(create=False)
    if args.output:
        from workbench.private_files import open_private

        with open_private(args.output) as fh:
            n = audit.export(cache, fh, args.format)
        print(f"{n} entries written to {args.output}", file=sys.stderr)
    else:
        audit.export(cache, sys.stdout, args.format)
    return 0

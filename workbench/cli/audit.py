"""``vmwb audit``: verify the keyed chain of the audit log (against its head file and exported checkpoints),
export a checkpoint to keep elsewhere, export the log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.textsafe import safe


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("audit", help="the audit log: verify its chain, export it")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    s = sub.add_parser("verify", help="detect edited, forged, reordered or deleted entries")
    s.add_argument(
        "--head",
        metavar="FILE",
        action="append",
        default=[],
        help="also check against checkpoints exported earlier (repeatable)",
    )
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser(
        "export-head", help="print (or write) a checkpoint of the newest entry, to keep elsewhere"
    )
    s.add_argument("--output", "-o", metavar="FILE", help="append the checkpoint to this file")
    s.set_defaults(func=cmd_export_head)
    s = sub.add_parser("export", help="write every entry as JSON lines or CSV")
    s.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    s.add_argument("--output", "-o", metavar="FILE", help="default: standard output")
    s.set_defaults(func=cmd_export)


def _cache(ctx: Any) -> Any:
    _ = ctx.config  # [audit] key_file, before the chain key is needed
    return ctx.cache(create=False)


def _checkpoints(paths: list[str]) -> tuple[list[Any], list[str]]:
    from workbench import audit

    points, problems = [], []
    for name in paths:
        path = Path(name).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WorkbenchError(
                f"cannot read the checkpoint file {path}: {exc.strerror}"
            ) from None
        found, bad = audit.read_checkpoints(text, str(path))
        if not found and not bad:
            raise WorkbenchError(f"{path} holds no checkpoint")
        points.extend(found)
        problems.extend(bad)
    return points, problems


def cmd_verify(ctx: Any, args: argparse.Namespace) -> int:
    from workbench import audit

    cache = _cache(ctx)
    points, bad = _checkpoints(args.head)
    report = audit.check(cache, points, where=", ".join(args.head) or "the checkpoint")
    problems = bad + report.problems
    for line in report.notes:
        print(safe(f"audit: note: {line}"))
    if problems:
        for line in problems:
            print(safe(f"audit: {line}"))
        print(f"audit log NOT intact: {len(problems)} problem(s) in {report.entries} entries")
        return 1
    against = f", and {len(points)} checkpoint(s)" if points else ""
    print(f"audit log intact: {report.entries} entries (key, links, head file{against})")
    return 0


def cmd_export_head(ctx: Any, args: argparse.Namespace) -> int:
    from workbench import audit

    line = audit.checkpoint_json(audit.checkpoint(_cache(ctx)))
    if not args.output:
        print(line)
        return 0
    path = Path(args.output).expanduser()
    try:
        audit.append_line(path, line)
    except OSError as exc:
        raise WorkbenchError(f"cannot write the checkpoint to {path}: {exc.strerror}") from None
    print(f"checkpoint appended to {path}; keep a copy off this machine", file=sys.stderr)
    return 0


def cmd_export(ctx: Any, args: argparse.Namespace) -> int:
    from workbench import audit

    cache = _cache(ctx)
    if args.output:
        from workbench.private_files import open_private

        with open_private(args.output) as fh:
            n = audit.export(cache, fh, args.format)
        print(f"{n} entries written to {args.output}", file=sys.stderr)
    else:
        audit.export(cache, sys.stdout, args.format)
    return 0

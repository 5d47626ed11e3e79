"""``vmwb scan``: evaluate checks over the cache, store findings, print or export them.

Exit status: 0, or 1 when an open finding is at or above ``--fail-on``, or 2 when a check could not run.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext

FORMATS = ("table", "json", "jsonl", "csv", "sarif", "ocsf")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="run checks over the cache and record findings",
        description="Evaluate checks over the cached inventory (no cloud API is called), store the "
        "findings with their history, and print them. Filters combine.",
    )
    p.add_argument(
        "--check", action="extend", nargs="+", default=[], metavar="ID", help="only these checks"
    )
    p.add_argument("--area", help="only checks of this area (e.g. snapshot_backup)")
    p.add_argument(
        "--framework", help="only checks mapped to this framework (e.g. cis, nist_800_53)"
    )
    p.add_argument("--provider", help="only checks of (and findings in) this provider")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--output", metavar="FILE", help="write the findings here instead of stdout")
    p.add_argument(
        "--fail-on",
        choices=("critical", "high", "medium", "low"),
        metavar="SEVERITY",
        help="exit 1 when an open finding is at or above this severity",
    )
    p.add_argument("--now", help=argparse.SUPPRESS)  # fixes the clock (tests, reproducible reports)
    p.set_defaults(func=run)


def render(fmt: str, records: list[dict[str, Any]], db: Any) -> str:
    from workbench.export import ocsf, sarif, tabular
    from workbench.scan.loader import load_catalogue

    if fmt == "json":
        return tabular.to_json(records)
    if fmt == "jsonl":
        return tabular.to_jsonl(records)
    if fmt == "csv":
        return tabular.to_csv(records)
    if fmt == "sarif":
        return sarif.to_sarif(records, load_catalogue(), db)
    if fmt == "ocsf":
        return ocsf.to_ocsf(records, load_catalogue())
    return tabular.to_table(records)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.tabular import finding_records
    from workbench.scan.engine import run_scan

    cache = ctx.cache(create=False)
    if (
        cache.read_only_query is not None
    ):  # (the note said so) the findings as its last scan left them
        records = finding_records(cache.db, check_ids=args.check or None)
        return _emit(records, args, cache.db, errors=False)
    result = run_scan(
        cache,
        check_ids=args.check or None,
        area=args.area,
        framework=args.framework,
        provider=args.provider,
        now=args.now,
        config=ctx.config,
    )
    records = finding_records(cache.db, check_ids=result.checks)
    c = result.counts
    counts = (
        f"scan {result.scan_id}: {len(result.checks)} checks in {result.seconds:.2f} s; "
        f"{c['open']} open ({c['new']} new, {c['reopened']} reopened), {c['muted']} muted, "
        f"{c['resolved']} resolved"
    )
    status = _emit(records, args, cache.db, errors=bool(result.errors), counts=counts)
    if args.format != "table":
        print(
            "hint: `vmwb findings export` writes the findings without running or recording a scan",
            file=sys.stderr,
        )
    for check_id, error in result.errors.items():
        print(f"vmwb: check {check_id} did not run: {error}", file=sys.stderr)
    if c.get("audit_pending"):
        print(f"vmwb: {_unchained(cache, c['audit_pending'])}", file=sys.stderr)
        return status or 3
    return status


def _unchained(cache: Any, pending: int) -> str:
    """The one line for mute-lapsed entries that wait for the chain's key (and why)."""
    import json

    from workbench import audit
    from workbench.cache import meta
    from workbench.scan.mutes import PENDING_KEY

    waiting = json.loads(meta.get(cache.db, PENDING_KEY) or "[]")
    mute_ids = ", ".join(f"mute {w['mute_id']}" for w in waiting) or f"{pending} mute(s)"
    try:
        audit.chain_key(cache)
        why = "the key was missing during the scan"
    except audit.AuditUnavailable as exc:
        why = str(exc)
    return (
        f"the scan reopened the findings of {mute_ids}, but the audit entry could not be chained "
        f"({why}); it waits in the cache and the next scan with the key chains it (exit status 3)"
    )


def _emit(
    records: list[dict[str, Any]],
    args: argparse.Namespace,
    db: Any,
    *,
    errors: bool,
    counts: str | None = None,
) -> int:
    """Write the findings in the asked format; the exit status: 1 on --fail-on, 2 when a check failed (3 when the
    audit entry of a lapsed mute could not be chained: :func:`run`)."""
    from workbench.cache.posture import at_least
    from workbench.cli._scan_common import emit

    if args.provider:
        records = [r for r in records if r["provider"] == args.provider]
    emit(render(args.format, records, db), args.output)
    if counts:
        print(counts, file=sys.stderr)
    if args.fail_on and any(
        r["status"] == "open" and at_least(r["severity"], args.fail_on) for r in records
    ):
        return 1
    return 2 if errors else 0

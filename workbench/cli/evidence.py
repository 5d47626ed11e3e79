"""``vmwb evidence``: export a signed evidence bundle of a time window, and verify one offline.

vmwb evidence export --since 2026-11-30 --out bundle.tar
vmwb evidence verify bundle.tar --key team-signing.pub.pem
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evidence",
        help="signed evidence bundles for incident hand-over",
        description="Export what the cache knows about a time window (resources and their history, "
        "findings and their events, the fix journal, the audit entries and the chain head) as a tar "
        "whose manifest of SHA-256 sums is signed with the workbench's Ed25519 key; verify one offline.",
    )
    sub = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    e = sub.add_parser("export", help="write a signed bundle")
    e.add_argument("--since", required=True, metavar="DATE", help="ISO date or time (UTC)")
    e.add_argument("--until", metavar="DATE", help="ISO date or time (UTC); default: now")
    e.add_argument("--out", required=True, metavar="FILE", help="the bundle (tar, mode 0600)")
    e.set_defaults(func=cmd_export)
    v = sub.add_parser("verify", help="check a bundle's digests and signature")
    v.add_argument("bundle", metavar="FILE")
    v.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="PUBKEY",
        help="a trusted public key (PEM file or base64; `vmwb images export-key` prints it); "
        "repeatable; default: the keys trusted by [images] in the config",
    )
    v.set_defaults(func=cmd_verify)


def _when(text: str | None, flag: str) -> str | None:
    from workbench.clock import iso, parse

    if text is None:
        return None
    if parse(text) is None:
        raise WorkbenchError(f"{flag} {text!r} is not an ISO date or time (e.g. 2026-11-30)")
    return iso(text, strict=True)


def cmd_export(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.clock import utcnow
    from workbench.export.evidence import write_bundle
    from workbench.images import keys

    now = utcnow()
    since = _when(args.since, "--since")
    until = _when(args.until, "--until") or now
    assert since is not None  # --since is required
    if since > until:
        raise WorkbenchError(f"--since {since} is after --until {until}")
    signer = keys.ensure_signer(keys.key_name(ctx.config))
    cache = ctx.cache(create=False)
    manifest = write_bundle(
        cache.db, Path(args.out), since=since, until=until, now=now, actor=ctx.user, signer=signer
    )
    counts = ", ".join(
        f"{meta['records']} {name.removesuffix('.jsonl').replace('_', ' ')}"
        for name, meta in manifest["files"].items()
    )
    print(f"wrote {args.out}: {counts}; signed by {manifest['key_id']}")
    if not manifest["audit"]["intact_at_export"]:
        print("warning: the audit log was NOT intact at export (see manifest.json: audit.problems)")
        return 1
    return 0


def cmd_verify(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.export.evidence import verify_bundle
    from workbench.images import keys
    from workbench.textsafe import safe

    if args.key:
        trust = keys.TrustRoot()
        for i, spec in enumerate(args.key):
            trust.add(keys.parse_public_key(spec, f"--key[{i}]"), f"--key[{i}]")
    else:
        trust = keys.trust_root(ctx.config)
    verdict = verify_bundle(Path(args.bundle), trust)
    for line in verdict.problems:
        print(safe(f"evidence: {line}"))
    if not verdict.ok:
        print(f"bundle NOT verified: {len(verdict.problems)} problem(s)")
        return 1
    m = verdict.manifest
    window = m.get("window", {})
    print(
        safe(
            f"bundle verified: {len(verdict.checked)} files, signed by {m.get('key_id')}, "
            f"window {window.get('since')} to {window.get('until')}, written {m.get('created_at')} "
            f"by {m.get('created_by')}"
        )
    )
    if not m.get("audit", {}).get("intact_at_export", False):
        print("note: the audit log was NOT intact when this bundle was written (audit.problems)")
        return 1
    return 0

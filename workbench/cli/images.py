"""``vmwb images``: the approved-image registry and imported scan / hardening results.

    vmwb images list                       every cached image with approval, signature, scan, lineage
    vmwb images approve IMAGE --reason R   sign an approval (IMAGE: uid or provider id)
    vmwb images revoke REF --reason R      sign a revocation (REF: entry id, image id or uid)
    vmwb images verify                     check every entry; exit 1 when any is tampered or untrusted
    vmwb images export-key [--out FILE]    the public key (PEM), to pin in [images] trusted_keys
    vmwb images import-trivy FILE [--resource UID_OR_ID]
    vmwb images import-oscap FILE [--resource UID_OR_ID]
    vmwb images kpi                        critical vulnerabilities remediated within 7 days

Approve and revoke are refused in read-only mode and for the viewer role; approve, revoke and verify are
recorded in the audit log.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli.context import CliContext


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "images", help="approved-image registry, image scan and hardening results"
    )
    sub = p.add_subparsers(dest="images_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="cached images with approval, signature and scan state")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=cmd_list)
    ap = sub.add_parser("approve", help="approve an image (signed, audited)")
    ap.add_argument("image", metavar="IMAGE_UID_OR_ID")
    ap.add_argument("--reason", required=True)
    ap.set_defaults(func=cmd_approve)
    rv = sub.add_parser("revoke", help="revoke an approval (signed, audited)")
    rv.add_argument("ref", metavar="ENTRY_OR_IMAGE")
    rv.add_argument("--reason", required=True)
    rv.set_defaults(func=cmd_revoke)
    vf = sub.add_parser("verify", help="verify every registry entry's signature")
    vf.add_argument("--format", choices=("table", "json"), default="table")
    vf.set_defaults(func=cmd_verify)
    ek = sub.add_parser("export-key", help="print (or write) the public signing key as PEM")
    ek.add_argument("--out", metavar="FILE")
    ek.set_defaults(func=cmd_export_key)
    for tool in ("trivy", "oscap"):
        what = "a Trivy JSON report" if tool == "trivy" else "an XCCDF / ARF result file"
        imp = sub.add_parser(f"import-{tool}", help=f"import {what}")
        imp.add_argument("file", metavar="FILE")
        imp.add_argument(
            "--resource", metavar="UID_OR_ID", help="the image or instance it is about"
        )
        imp.set_defaults(func=cmd_import, tool=tool)
    kpi = sub.add_parser("kpi", help="critical vulnerabilities remediated within N days")
    kpi.add_argument("--days", type=int, default=7)
    kpi.set_defaults(func=cmd_kpi)


def _trust(ctx: CliContext) -> Any:
    from workbench.images import keys

    return keys.trust_root(ctx.config)


def cmd_list(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.images.overview import image_rows

    rows = image_rows(ctx.cache(), _trust(ctx), ctx.config)
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2, sort_keys=True)
        print()
        return 0
    from workbench.textsafe import safe

    head = (
        "IMAGE",
        "PROVIDER",
        "ACCOUNT",
        "APPROVAL",
        "SIGNATURE",
        "AGE",
        "PUBLISHER",
        "CRIT",
        "HARDEN",
        "VMS",
    )
    table: list[tuple[str, ...]] = [head]
    for r in rows:
        age = "" if r["age_days"] is None else f"{r['age_days']}d"
        score = "" if r["hardening_score"] is None else f"{r['hardening_score']:.0f}%"
        publisher = f"{r['publisher'] or ''}{'' if r['publisher_trusted'] else ' (untrusted)'}"
        cells = (
            r["image_id"],
            r["provider"],
            r["account"],
            r["approval"],
            r["signature"],
            age,
            publisher,
            r["critical_open"],
            score,
            r["instances"],
        )
        table.append(tuple(safe(str(c))[:48] for c in cells))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _signer(ctx: CliContext) -> Any:
    from workbench.images import keys

    return keys.ensure_signer(keys.key_name(ctx.config))


def cmd_approve(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.images import registry

    registry.require_writer(ctx.role, ctx.read_only)
    entry = registry.approve(
        ctx.cache(write="images approve"),
        args.image,
        args.reason,
        _signer(ctx),
        actor=ctx.user,
        role=ctx.role,
    )
    print(f"approved {entry.image_id} ({entry.provider}) as entry {entry.entry_id}")
    print(f"signed by {entry.key_id}")
    return 0


def cmd_revoke(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.images import registry

    registry.require_writer(ctx.role, ctx.read_only)
    entry = registry.revoke(
        ctx.cache(write="images revoke"),
        args.ref,
        args.reason,
        _signer(ctx),
        actor=ctx.user,
        role=ctx.role,
    )
    print(f"revoked entry {entry.revokes} ({entry.image_id}) with entry {entry.entry_id}")
    return 0


def cmd_verify(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench import audit
    from workbench.images import verify
    from workbench.textsafe import safe

    cache = ctx.cache(write="images verify")
    result = verify.verify(cache, _trust(ctx))
    audit.append(
        cache,
        ctx.user,
        ctx.role,
        "verify",
        "image-registry",
        verify.summary(result),
        "ok" if result.intact else "problems",
    )
    if args.format == "json":
        out = {
            "intact": result.intact,
            "entries": [
                {
                    "entry_id": s.entry.entry_id,
                    "action": s.entry.action,
                    "image_id": s.entry.image_id,
                    "status": s.status,
                    "message": s.message,
                }
                for s in result.statuses
            ],
            "problems": result.problems,
        }
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        for s in result.statuses:
            line = f"{s.entry.entry_id:>5}  {s.entry.action:<7}  {s.status:<13}  {s.entry.image_id}"
            print(safe(line if s.status in ("ok", "revoked") else f"{line}  -- {s.message}"))
        for problem in result.problems:
            print(f"PROBLEM: {safe(problem)}")
        counts = result.counts()
        print(
            ", ".join(f"{v} {k}" for k, v in counts.items())
            + f"; {len(result.problems)} problem(s)"
        )
    if not result.intact:
        msg = "vmwb: the image registry does not verify: do not trust the entries above"
        print(msg, file=sys.stderr)
        return 1
    return 0


def cmd_export_key(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.images import keys

    signer = _signer(ctx)
    pem = keys.public_pem(signer.public)
    if args.out:
        from workbench.private_files import write_private_text

        write_private_text(args.out, pem)
        print(f"wrote {signer.key_id} to {args.out}")
    else:
        sys.stdout.write(pem)
    print(
        f'# key id {signer.key_id}; pin with: trusted_keys = ["{keys.public_b64(signer.public)}"]',
        file=sys.stderr,
    )
    return 0


def cmd_import(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench import audit
    from workbench.errors import WorkbenchError
    from workbench.images import results
    from workbench.textsafe import safe

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkbenchError(f"cannot read {path}: {exc.strerror}") from exc
    cache = ctx.cache(write="images import")
    kw = {"source": path.name, "resource": args.resource, "actor": ctx.user}
    if args.tool == "trivy":
        done = [results.import_trivy(cache, data, **kw)]
    else:
        done = results.import_oscap(cache, data, **kw)
    for r in done:
        where = r.target.uid or f"{r.target.key} (not in the cache)"
        note = " (already imported)" if r.duplicate else ""
        print(safe(f"{r.tool} import {r.import_id} -> {where}{note}: {json.dumps(r.summary)}"))
        if not r.duplicate:
            audit.append(
                cache,
                ctx.user,
                ctx.role,
                "import",
                r.target.key,
                {"tool": r.tool, "import_id": r.import_id, "file": path.name},
            )
    return 0


def cmd_kpi(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.images import results

    kpi = results.critical_remediation_kpi(ctx.cache(), days=args.days)
    pct = "n/a" if kpi["percent"] is None else f"{kpi['percent']}%"
    print(
        f"{kpi['kpi']}: {pct} ({kpi['within']}/{kpi['eligible']}); open {kpi['open']}, "
        f"overdue {kpi['open_overdue']}"
    )
    return 0

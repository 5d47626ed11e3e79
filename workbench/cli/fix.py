"""``vmwb fix``: list, plan, dry-run, apply, verify, undo guided fixes; show the journal and what is due.

Every subcommand first reconciles journal entries a crash left pending. Confirmation: on a terminal the plan
is shown and confirmed interactively (an irreversible plan by typing the count or the resource id); in scripts
``--yes`` confirms reversible and additive plans only, and an irreversible plan needs ``--confirm``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workbench.textsafe import safe


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("fix", help="guided fixes: plan, dry-run, apply, undo")
    sub = p.add_subparsers(dest="fix_command", metavar="ACTION", required=True)

    s = sub.add_parser("list", help="the fixes, their class and the checks they resolve")
    s.add_argument("--check", help="only fixes for this check")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("plan", help="plan a fix for the open findings of a check (or a fix id)")
    s.add_argument("check", metavar="CHECK", help="a check id (SNP-01) or a fix id")
    s.add_argument("--fix", dest="fix_id", help="which fix, when the check has several")
    s.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="ID",
        help="only these resources (repeatable)",
    )
    s.add_argument("--region", action="append", default=[], help="only these regions")
    s.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a fix input (see `vmwb fix list`)",
    )
    s.add_argument("--narrow-to", metavar="CIDR", help="keep access from this CIDR")
    s.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="an allowlisted account id (repeatable)",
    )
    s.add_argument("--owner", help="owner tag value")
    s.add_argument("--environment", help="environment tag value")
    s.add_argument("--expiry-days", type=int, help="days until the expiry date")
    s.add_argument("--output", "-o", metavar="FILE", help="write the plan here (for `fix apply`)")
    s.set_defaults(func=cmd_plan)

    s = sub.add_parser(
        "dry-run", help="ask the API whether each call would succeed; change nothing"
    )
    s.add_argument("plan_file", metavar="PLAN")
    s.set_defaults(func=cmd_dry_run)

    s = sub.add_parser("apply", help="apply exactly the approved plan")
    s.add_argument("plan_file", metavar="PLAN")
    s.add_argument("--yes", action="store_true", help="confirm a reversible/additive plan")
    s.add_argument("--confirm", metavar="COUNT_OR_ID", help="confirm an irreversible plan")
    s.set_defaults(func=cmd_apply)

    s = sub.add_parser("verify", help="re-read live state and re-run the check per target")
    s.add_argument("plan_file", metavar="PLAN")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("undo", help="restore what one journal entry changed")
    s.add_argument("entry_id", metavar="JOURNAL_ID", type=int)
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.add_argument("--force", action="store_true", help="undo even if the resource changed since")
    s.set_defaults(func=cmd_undo)

    s = sub.add_parser("journal", help="the journal of executed calls")
    s.add_argument("--plan", dest="plan_id", help="only this plan's entries")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--json", action="store_true", help="JSON lines with before/after states")
    s.set_defaults(func=cmd_journal)

    s = sub.add_parser("due", help="instances marked to expire, and the lifecycle stage due")
    s.set_defaults(func=cmd_due)

    s = sub.add_parser(
        "export",
        help="write a plan as an Ansible playbook or Terraform, for configuration management",
        description="One Ansible task per call of the plan (tagged with the plan id), or Terraform "
        "resources and import blocks where a declarative form exists; calls with neither are listed.",
    )
    s.add_argument("plan_file", metavar="PLAN")
    s.add_argument("--format", choices=("ansible", "terraform"), required=True)
    s.add_argument(
        "--output", "-o", metavar="FILE", help="default: standard output (files are 0600)"
    )
    s.set_defaults(func=cmd_export)


def _engine(ctx: Any, write: str | None = None) -> Any:
    """The fix engine; ``write`` names the subcommand when it records (a read-only cache refuses it)."""
    from workbench.fixes.engine import FixEngine

    ctx.cache(write=write)
    engine = FixEngine.from_cli(ctx)
    for entry in engine.reconcile():
        print(
            f"reconciled journal entry {entry.entry_id} ({entry.fix_id}): {entry.error}",
            file=sys.stderr,
        )
    return engine


def _print(lines: list[str]) -> None:
    for line in lines:
        print(safe(line))


def cmd_list(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.export.tabular import render_table
    from workbench.fixes import lookup

    fixes = lookup.for_check(args.check) if args.check else lookup.all_fixes()
    rows = [["FIX", "SAFETY", "CHECKS", "TITLE"]]
    for fix in fixes:
        rows.append([fix.id, fix.safety, ",".join(fix.check_ids), fix.title])
        rows += [["", "", "", f"  input {s.name}: {s.description}"] for s in fix.inputs]
    print(render_table(rows, [36, 12, 14, 0]), end="")
    return 0


def _inputs(args: argparse.Namespace, fix: Any) -> dict[str, Any]:
    from workbench.errors import WorkbenchError

    inputs: dict[str, Any] = {}
    for text in args.input:
        name, sep, value = text.partition("=")
        if not sep:
            raise WorkbenchError(f"--input {text!r}: expected NAME=VALUE")
        inputs[name.strip()] = value
    shorthands = {
        "narrow_to": args.narrow_to,
        "allowlist": args.allow or None,
        "owner": args.owner,
        "environment": args.environment,
        "expiry_days": args.expiry_days,
    }
    names = {i.name for i in fix.inputs}
    for name, value in shorthands.items():
        if value is None:
            continue
        if name not in names:
            raise WorkbenchError(f"{fix.id} takes no {name.replace('_', '-')} input")
        inputs[name] = value
    return inputs


def cmd_plan(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.fixes import targets
    from workbench.fixes.plan import preview_lines

    engine = _engine(ctx, "fix plan")
    fix, found = targets.resolve(
        engine.cache, args.check, args.resource, fix_id=args.fix_id, regions=args.region
    )
    plan = engine.plan(fix.id, found, _inputs(args, fix))
    _print(preview_lines(plan))
    if args.output:
        path = plan.save(args.output)
        print(
            f"\nplan written to {path}; review it, then `vmwb fix dry-run {path}` and "
            f"`vmwb fix apply {path}`"
        )
    return 0


def cmd_dry_run(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.fixes.plan import Plan

    engine = _engine(ctx, "fix dry-run")
    results = engine.dry_run(Plan.load(args.plan_file))
    for r in results:
        print(safe(f"#{r.index + 1} {r.status:15} {r.call}"))
        if r.detail:
            print(safe(f"   {r.detail}"))
    bad = [r for r in results if r.status in ("would_fail", "dry_run_ignored")]
    return 1 if bad else 0


def _confirm(plan: Any, args: argparse.Namespace) -> str | None:
    """The confirmation to hand the engine, asked on a terminal when not given."""
    from workbench.errors import PermissionDenied

    irreversible = plan.safety == "irreversible"
    if irreversible and args.confirm:
        return str(args.confirm)
    if not irreversible and args.yes:
        return None
    if not sys.stdin.isatty():
        need = "--confirm COUNT_OR_ID" if irreversible else "--yes"
        raise PermissionDenied(f"not confirmed: pass {need} ({plan.confirmation_prompt()})")
    if irreversible:
        typed = input(f"IRREVERSIBLE: {plan.confirmation_prompt()}: ")
        return typed.strip()
    answer = input(
        f"Apply {len(plan.items)} call(s) to {len(plan.acting_targets)} resource(s)? [y/N] "
    )
    if answer.strip().lower() not in ("y", "yes"):
        raise PermissionDenied("not confirmed")
    return None


def cmd_apply(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.fixes.plan import Plan, preview_lines

    engine = _engine(ctx, "fix apply")
    plan = Plan.load(args.plan_file)
    if not plan.items:
        print("nothing to do: every target was already fixed when the plan was made")
        return 0
    if sys.stdin.isatty():
        _print(preview_lines(plan))
        print()
    confirm = _confirm(plan, args)

    def progress(result: Any, done: int, total: int) -> None:
        print(safe(f"[{done}/{total}] {result.status:8} {result.call}"))
        if result.status != "applied":
            print(safe(f"   {result.detail}"))

    result = engine.apply(plan, confirm=confirm, on_item=progress)
    for v in result.verified:
        print(safe(f"verify {v.resource_id}: {'FIXED' if v.fixed else 'NOT FIXED'} ({v.detail})"))
    ids = [str(i.journal_id) for i in result.items if i.journal_id]
    print(
        f"apply {result.status}; journal entries {', '.join(ids) or '-'} "
        f"(undo with `vmwb fix undo JOURNAL_ID`)"
    )
    return 0 if result.ok else 1


def cmd_verify(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.fixes.plan import Plan

    results = _engine(ctx, "fix verify").verify(Plan.load(args.plan_file))
    for v in results:
        print(safe(f"{v.resource_id}: {'FIXED' if v.fixed else 'NOT FIXED'} ({v.detail})"))
    return 0 if all(v.fixed for v in results) else 1


def cmd_undo(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.errors import PermissionDenied
    from workbench.fixes.undo_preview import preview_text, preview_undo

    engine = _engine(ctx, "fix undo")
    for line in preview_text(preview_undo(ctx.cache(), [args.entry_id])):
        print(safe(line))
    if not args.yes:
        if not sys.stdin.isatty():
            raise PermissionDenied("not confirmed: pass --yes")
        if input("Undo it? [y/N] ").strip().lower() not in ("y", "yes"):
            raise PermissionDenied("not confirmed")
    result = engine.undo(args.entry_id, force=args.force)
    for r in result.items:
        print(safe(f"{r.status:8} {r.call}" + (f"  ({r.detail})" if r.status != "applied" else "")))
    for v in result.verified:
        print(safe(f"{v.resource_id}: {v.detail}"))
    return 0 if result.status == "ok" else 1


def cmd_journal(ctx: Any, args: argparse.Namespace) -> int:
    engine = _engine(ctx)
    for e in engine.journal.recent(args.limit, args.plan_id):
        if args.json:
            row = {k: getattr(e, k) for k in e.__dataclass_fields__}
            print(json.dumps(row, sort_keys=True, default=str))
            continue
        undo = f" undo-of={e.undo_of}" if e.undo_of else ""
        print(
            safe(
                f"{e.entry_id:5} {e.created_at} {e.status:10} {e.fix_id} {e.resource_uid} "
                f"{e.item.operation} plan={e.plan_id}{undo} by {e.actor} ({e.role})"
            )
        )
        if e.error:
            print(safe(f"      {e.error}"))
    return 0


def cmd_due(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.fixes import lookup
    from workbench.fixes.aws.instance_lifecycle import due_instances
    from workbench.fixes.base import FixContext

    fix = lookup.get("aws.instance.stop_expired")
    fctx = FixContext(ctx.config, ctx.cache())
    inputs = fix.resolve_inputs(fctx, None)
    next_fix = {
        "stop_due": "aws.instance.stop_expired",
        "terminate_due": "aws.instance.terminate_expired",
    }
    from workbench.export.tabular import render_table

    due = list(due_instances(ctx.cache(), inputs))
    if not due:
        print(
            "nothing due: no instance has reached a sprawl lifecycle stage (tag → stop → terminate)"
        )
        return 0
    rows = [["INSTANCE", "REGION", "STATE", "STAGE", "DETAIL", "NEXT FIX"]]
    rows += [
        [
            safe(r["id"], 40),
            safe(r["region"]),
            safe(r["state"]),
            safe(r["stage"]),
            safe(r["detail"], 60),
            next_fix.get(r["stage"], ""),
        ]
        for r in due
    ]
    print(render_table(rows, [20, 14, 9, 14, 30, 0]), end="")
    return 0


def cmd_export(ctx: Any, args: argparse.Namespace) -> int:
    from workbench.fixes.plan import Plan
    from workbench.private_files import write_private_text

    plan = Plan.load(args.plan_file)
    if args.format == "ansible":
        from workbench.export import playbook

        out = playbook.render(plan, ctx.config.provider("aws"))
        text, missing, what = out.text, out.not_expressed, "no Ansible form"
    else:
        from workbench.export import terraform

        tf = terraform.render(plan)
        text, missing, what = tf.text, tf.not_expressed, "no declarative form"
    if args.output:
        write_private_text(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for line in missing:
        print(safe(f"{what}: {line}"), file=sys.stderr)
    return 0

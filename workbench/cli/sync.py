"""``vmwb sync``: collect every configured provider into the cache, with progress and a per-scope summary.

Exit status: 0 when every task succeeded, 1 when any task (or scope discovery) failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from workbench.cli.context import CliContext
    from workbench.providers.base import Provider
    from workbench.sync import SyncEvent, SyncResult


def _safe() -> Callable[[object], str]:
    try:
        from workbench.textsafe import safe
    except ImportError:  # pragma: no cover - textsafe ships with the core
        return lambda s: "" if s is None else str(s).encode("ascii", "backslashreplace").decode()
    return safe


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sync",
        help="collect inventory from the configured providers into the cache",
        description="Collect every (scope, task) of the configured providers into the cache. "
        "With no config and no --provider, AWS with the default credential chain.",
    )
    p.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME",
        help="sync only this provider (repeatable)",
    )
    p.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="P",
        help="AWS profile to use instead of the config's (repeatable)",
    )
    p.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="R",
        help="region to sync instead of the config's (repeatable)",
    )
    # Literal, not imported: the CLI must not import the engine to build its parser.
    p.add_argument(
        "--workers",
        type=int,
        default=64,
        metavar="N",
        help="concurrent collector tasks (default 64; I/O-bound, at most 8 per account and region)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="per-task timeout in seconds (default 600)",
    )
    p.set_defaults(func=run)


def build_providers(ctx: CliContext, args: argparse.Namespace) -> list[Provider]:
    """Providers from the config sections, narrowed and overridden by the flags."""
    from workbench import plugins
    from workbench.providers.base import Provider

    names: Sequence[str] = args.provider or ctx.config.configured_providers or ["aws"]
    providers = []
    for name in dict.fromkeys(names):
        overrides: dict[str, Any] = {}
        if args.region:
            overrides["regions"] = list(args.region)
        if args.profile and name == "aws":  # profiles are an AWS notion
            overrides["profiles"] = list(args.profile)
        providers.append(
            plugins.load_class("providers", name, Provider).from_config(
                ctx.config.provider(name), **overrides
            )
        )
    return providers


class Progress:
    """Progress on stderr: one ``\\r``-updated line on a terminal, one line per finished scope otherwise."""

    def __init__(self, stream: TextIO, tty: bool, expected: dict[str, int]) -> None:
        self.stream, self.tty, self.expected = stream, tty, expected
        self.safe = _safe()
        self.per_scope: dict[str, list[int]] = {}  # scope → [tasks done, resources, failures]

    def __call__(self, event: SyncEvent) -> None:
        if event.kind in ("task_done", "task_failed"):
            counts = self.per_scope.setdefault(event.scope_id, [0, 0, 0])
            counts[0] += 1
            counts[1] += event.resources
            counts[2] += event.kind == "task_failed"
            if not self.tty and counts[0] == self.expected.get(event.scope_id, -1):
                label = self.safe(event.label or event.scope_id)
                state = f"{counts[2]} failed" if counts[2] else "ok"
                self.stream.write(
                    f"[{event.done}/{event.total}] {label}: {state}, {counts[1]} resources\n"
                )
        if self.tty and event.kind != "finished":
            self.stream.write(
                f"\rsyncing: {event.done}/{event.total} tasks, "
                f"{event.seen_total} resources, {event.errors_total} errors "
            )
        if self.tty and event.kind == "finished":
            self.stream.write("\n")
        self.stream.flush()


def _count_tasks(providers: list[Provider], expected: dict[str, int]) -> None:
    """Record how many tasks each scope has, so the plain progress knows when a scope is finished."""
    for provider in providers:
        original = provider.tasks

        def tasks(scope: Any, _original: Any = original) -> list[str]:
            names = list(_original(scope))
            expected[scope.scope_id] = len(names)
            return names

        provider.tasks = tasks  # type: ignore[method-assign]


def summary(result: SyncResult) -> list[list[str]]:
    safe = _safe()
    rows = [["SCOPE", "TASK", "STATUS", "RESOURCES", "ERROR"]]
    for o in sorted(result.outcomes, key=lambda o: (o.scope_id, o.task)):
        rows.append(
            [safe(o.label or o.scope_id), o.task, o.status, str(o.resources), safe(o.error or "")]
        )
    return rows


def render_table(rows: list[list[str]], max_width: int = 80) -> str:
    widths = [min(max(len(r[i]) for r in rows), max_width) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row, widths, strict=True)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return "\n".join(lines)


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    from workbench.sync import SyncEngine

    providers = build_providers(ctx, args)
    expected: dict[str, int] = {}
    _count_tasks(providers, expected)
    progress = Progress(sys.stderr, sys.stderr.isatty(), expected)
    engine = SyncEngine(
        ctx.cache(write="sync"),
        providers,
        max_workers=max(1, args.workers),
        keep_raw_secrets=ctx.config.keep_raw_secrets,
        history_retention_days=ctx.config.policy.history_retention_days,
        task_timeout=args.timeout,
        on_event=progress,
    )
    params = {
        "providers": [p.name for p in providers],
        "profiles": args.profile,
        "regions": args.region,
    }
    result = engine.run(params)
    print(render_table(summary(result)))
    failed = len(result.failed)
    print(
        f"\n{result.status}: {result.resources} resources, {failed} failed task(s) "
        f"in {result.seconds:.1f} s"
    )
    return 1 if failed else 0

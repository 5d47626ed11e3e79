"""The sync engine: every (scope, task) of every provider, concurrently, into the cache.

Collectors run in a bounded thread pool; the cache is written only from the thread that called :meth:`run`
(SQLite has one writer), one task at a time, each in its own transaction. A task that fails (an API error after
its retries, a timeout, bad data) is recorded against its scope and leaves the cache's previous rows in place;
the other tasks go on. Progress is reported as :class:`SyncEvent` values that a CLI bar or the TUI can show.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.cache.rows import PreparedTask, prepare
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.model import ScopeRef, TaskOutput
from workbench.providers.base import Provider, ScopeFailure, TaskContext, describe_error

DISCOVER_TASK = "discover"

# Collectors wait on the network almost all the time (a thread costs ~8 MB of address space and little
# else), so the pool is far wider than the CPU count: 64 keeps a large estate's scopes all in flight.
DEFAULT_WORKERS = 64
# Cloud APIs meter requests per account and region (AWS: a token bucket per account, region and action
# family; a throttled call costs a back-off), so at most this many tasks of one scope run at once and the
# pool takes scopes round-robin, instead of one region holding every worker. 8 is above any provider's task
# count today: alone, a scope runs all its tasks at once.
PER_SCOPE_TASKS = 8
# The run's heartbeat (sync_runs.heartbeat_at) is refreshed this often while it collects: an owner on another
# host is judged by it alone (workbench/process_owner.py).
HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One progress step. ``kind``: discovered | task_done | task_failed | finished."""

    kind: str
    done: int
    total: int
    scope_id: str = ""
    label: str = ""
    task: str = ""
    resources: int = 0
    error: str | None = None
    seen_total: int = 0
    errors_total: int = 0


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    scope_id: str
    label: str
    task: str
    status: str  # ok | stale (landed, some rows kept from before) | failed | cancelled
    error: str | None
    resources: int
    seconds: float


@dataclass(slots=True)
class SyncResult:
    run_id: int
    status: str  # ok | partial | failed | cancelled
    outcomes: list[TaskOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]

    @property
    def resources(self) -> int:
        return sum(o.resources for o in self.outcomes)


EventSink = Callable[[SyncEvent], None]


class SyncEngine:
    def __init__(
        self,
        cache: Cache,
        providers: Sequence[Provider],
        *,
        max_workers: int = DEFAULT_WORKERS,
        per_scope: int = PER_SCOPE_TASKS,
        task_timeout: float = 600.0,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
        keep_raw_secrets: bool = False,
        history_retention_days: int | None = None,
    ) -> None:
        self.cache = cache
        self.providers = list(providers)
        self.max_workers = max_workers
        self.per_scope = max(1, per_scope)
        self.task_timeout = task_timeout
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.keep_raw_secrets = keep_raw_secrets
        self.history_retention_days = history_retention_days  # None: keep every version

    def run(self, params: dict[str, Any] | None = None) -> SyncResult:
        started = time.monotonic()
        run_id = self.cache.start_run(params or {"providers": [p.name for p in self.providers]})
        result = SyncResult(run_id=run_id, status="ok")
        pool = cf.ThreadPoolExecutor(self.max_workers, thread_name_prefix="vmwb-sync")
        try:
            with self.cache.bulk_writes():
                scopes = self._discover(pool, result)
                self._collect(pool, scopes, result)
                self.cache.prune_history(self.history_retention_days)
                self.cache.refresh_search()
                if self.cache.pop_moved_kinds():  # the planner's statistics only move with the rows
                    self.cache.analyze()
        finally:
            # Never wait for a hung collector: its result is discarded anyway.
            pool.shutdown(wait=False, cancel_futures=True)
        result.seconds = time.monotonic() - started
        result.status = _overall(result, self.cancel.is_set())
        failures = len(result.failed)
        self.cache.finish_run(run_id, result.status, result.resources, failures)
        self.on_event(
            SyncEvent(
                "finished",
                len(result.outcomes),
                len(result.outcomes),
                seen_total=result.resources,
                errors_total=failures,
            )
        )
        return result

    # -------------------------------------------------------------- discovery
    def _discover(self, pool: cf.ThreadPoolExecutor, result: SyncResult) -> list[ScopeRef]:
        futures = {pool.submit(p.discover): p for p in self.providers}
        scopes: list[ScopeRef] = []
        for fut in cf.as_completed(futures):
            provider = futures[fut]
            try:
                found = fut.result()
            except Exception as exc:  # a provider that cannot list its scopes at all
                found = [ScopeFailure(ScopeRef(provider.name, "*", "*"), describe_error(exc))]
            for item in found:
                if isinstance(item, ScopeFailure):
                    self.cache.record_failure(result.run_id, item.scope, DISCOVER_TASK, item.error)
                    result.outcomes.append(
                        TaskOutcome(
                            item.scope.scope_id,
                            item.scope.label,
                            DISCOVER_TASK,
                            "failed",
                            item.error,
                            0,
                            0.0,
                        )
                    )
                else:
                    scopes.append(item)
        return scopes

    # -------------------------------------------------------------- collection
    def _collect(
        self, pool: cf.ThreadPoolExecutor, scopes: list[ScopeRef], result: SyncResult
    ) -> None:
        by_name = {p.name: p for p in self.providers}
        queues = [
            collections.deque((scope, task) for task in by_name[scope.provider].tasks(scope))
            for scope in scopes
        ]
        total = sum(len(q) for q in queues) + len(result.outcomes)
        done = len(result.outcomes)
        self.on_event(SyncEvent("discovered", done, total))
        # Keyed by job number, not by future: a worker can start before submit() has returned its future.
        started_at: dict[int, float] = {}
        lock = threading.Lock()

        def work(n: int, scope: ScopeRef, task: str, ctx: TaskContext) -> PreparedTask:
            with lock:
                started_at[n] = time.monotonic()
            ctx.deadline = time.monotonic() + self.task_timeout
            out = TaskOutput()
            by_name[scope.provider].collect(scope, task, out, ctx)
            ctx.checkpoint()  # a task that overran its deadline is not written
            # Rows are built (and secrets redacted) here, off the writer's thread.
            return prepare(scope, task, out, keep_raw_secrets=self.keep_raw_secrets)

        pending: dict[cf.Future[PreparedTask], tuple[int, ScopeRef, str, str]] = {}
        running: collections.Counter[str] = collections.Counter()  # tasks in flight per scope
        numbers = itertools.count()

        def submit_more() -> None:
            """Fill the pool round-robin over scopes, at most ``per_scope`` tasks of each at once."""
            progress = True
            while progress and len(pending) < self.max_workers and not self.cancel.is_set():
                progress = False
                for queue in queues:
                    if not queue or len(pending) >= self.max_workers:
                        continue
                    scope, task = queue[0]
                    if running[scope.scope_id] >= self.per_scope:
                        continue
                    queue.popleft()
                    running[scope.scope_id] += 1
                    ctx = TaskContext(cancel=self.cancel, timeout=self.task_timeout)
                    n = next(numbers)
                    pending[pool.submit(work, n, scope, task, ctx)] = (n, scope, task, utcnow())
                    progress = True

        seen = sum(o.resources for o in result.outcomes)
        errors = len(result.failed)
        submit_more()
        beat = time.monotonic()
        while pending or any(queues):  # (queues left over only when cancelled)
            finished, _ = cf.wait(list(pending), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            now = time.monotonic()
            if now - beat >= HEARTBEAT_SECONDS:
                self.cache.heartbeat(result.run_id)
                beat = now
            settled: list[TaskOutcome] = []
            for fut, (n, scope, task, started_iso) in list(pending.items()):
                with lock:
                    t0 = started_at.get(n)
                overdue = (
                    fut not in finished and t0 is not None and now - t0 > self.task_timeout + 5
                )
                cancelled = self.cancel.is_set() and fut not in finished and fut.cancel()
                if fut not in finished and not overdue and not cancelled:
                    continue
                del pending[fut]
                running[scope.scope_id] -= 1
                settled.append(
                    self._settle(
                        fut,
                        scope,
                        task,
                        started_iso,
                        result.run_id,
                        overdue,
                        cancelled,
                        now - (t0 or now),
                    )
                )
            if self.cancel.is_set():  # what was never submitted is cancelled too
                for queue in queues:
                    while queue:
                        scope, task = queue.popleft()
                        error = "cancelled before it started"
                        self.cache.record_failure(result.run_id, scope, task, error)
                        settled.append(
                            TaskOutcome(
                                scope.scope_id, scope.label, task, "cancelled", error, 0, 0.0
                            )
                        )
            else:
                submit_more()
            for outcome in settled:
                result.outcomes.append(outcome)
                done += 1
                seen += outcome.resources
                errors += outcome.status != "ok"
                kind = "task_done" if outcome.status == "ok" else "task_failed"
                self.on_event(
                    SyncEvent(
                        kind,
                        done,
                        total,
                        outcome.scope_id,
                        outcome.label,
                        outcome.task,
                        outcome.resources,
                        outcome.error,
                        seen,
                        errors,
                    )
                )

    def _settle(
        self,
        fut: cf.Future[PreparedTask],
        scope: ScopeRef,
        task: str,
        started_iso: str,
        run_id: int,
        overdue: bool,
        cancelled: bool,
        seconds: float,
    ) -> TaskOutcome:
        error: str | None
        if cancelled:
            error, status = "cancelled before it started", "cancelled"
        elif overdue:
            error, status = f"timed out after {self.task_timeout:g} s", "failed"
        else:
            try:
                output = fut.result()
            except Exception as exc:
                error = describe_error(exc)
                status = "cancelled" if self.cancel.is_set() else "failed"
            else:
                try:
                    stats = self.cache.replace_task(
                        run_id, scope, task, output, started_at=started_iso
                    )
                except Exception as exc:  # bad data from the API must not stop the run
                    error, status = f"could not store: {describe_error(exc)}", "failed"
                else:  # stale: landed, but some of what it shows this sync could not read
                    status = "stale" if stats.kept else "ok"
                    return TaskOutcome(
                        scope.scope_id,
                        scope.label,
                        task,
                        status,
                        stats.kept_error,
                        stats.seen,
                        seconds,
                    )
        self.cache.record_failure(run_id, scope, task, error, started_at=started_iso)
        return TaskOutcome(scope.scope_id, scope.label, task, status, error, 0, seconds)


def _overall(result: SyncResult, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    if not result.outcomes:
        return "ok"
    failed = len(result.failed)
    if failed == 0:
        return "ok"
    return "failed" if failed == len(result.outcomes) else "partial"

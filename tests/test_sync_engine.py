"""The sync engine with a small in-memory provider: concurrency, failures, timeouts, discovery failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.cache.store import Cache
from workbench.model import Instance, ScopeRef, TaskOutput
from workbench.providers.base import Provider, ScopeFailure, TaskContext
from workbench.sync import SyncEngine


class FakeProvider(Provider):
    """Scopes r0..rN of account 1; behaviour per (region, task) from ``plan``."""

    name = "aws"
    title = "fake"

    def __init__(
        self,
        regions: int = 3,
        plan: dict[tuple[str, str], Any] | None = None,
        unreachable: bool = False,
    ) -> None:
        self.regions = [f"r{i}" for i in range(regions)]
        self.plan = plan or {}
        self.unreachable = unreachable
        self.started: list[float] = []
        self.lock = threading.Lock()

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> FakeProvider:
        return cls()

    def discover(self) -> list[ScopeRef | ScopeFailure]:
        found: list[ScopeRef | ScopeFailure] = [
            ScopeRef("aws", "1", r, f"1/{r}") for r in self.regions
        ]
        if self.unreachable:
            found.append(ScopeFailure(ScopeRef("aws", "2", "*", "role:x"), "AccessDenied: no"))
        return found

    def tasks(self, scope: ScopeRef) -> list[str]:
        return ["a", "b"]

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        with self.lock:
            self.started.append(time.monotonic())
        action = self.plan.get((scope.region, task))
        if action == "fail":
            raise RuntimeError("boom")
        if action == "hang":
            while True:
                time.sleep(0.05)
                ctx.checkpoint()
        time.sleep(0.2)
        for n in range(3):
            out.add(Instance(id=f"i-{task}{n}", name=f"{scope.region}-{task}{n}"))


def _run(tmp_path: Path, provider: FakeProvider, **kwargs: Any) -> tuple[Cache, Any]:
    cache = Cache.open(tmp_path / "c.db")
    return cache, SyncEngine(cache, [provider], **kwargs).run()


def test_tasks_run_concurrently(tmp_path: Path) -> None:
    provider = FakeProvider(regions=8)
    cache, result = _run(tmp_path, provider, max_workers=16)
    assert result.status == "ok" and len(result.outcomes) == 16
    assert cache.count("instance") == 48
    assert max(provider.started) - min(provider.started) < 0.2  # all started before any finished


def test_failure_keeps_old_rows_and_marks_stale(tmp_path: Path) -> None:
    cache, first = _run(tmp_path, FakeProvider())
    assert first.status == "ok"
    cache.close()
    events: list[Any] = []
    cache = Cache.open(tmp_path / "c.db")
    result = SyncEngine(
        cache, [FakeProvider(plan={("r1", "a"): "fail"})], on_event=events.append
    ).run()
    assert result.status == "partial"
    assert cache.count("instance") == 18
    row = cache.db.execute(
        "SELECT status, error FROM scope_status WHERE scope_id='aws:1:r1' AND task='a'"
    ).fetchone()
    assert tuple(row) == ("stale", "RuntimeError: boom")
    assert [e.kind for e in events].count("task_failed") == 1 and events[-1].kind == "finished"


def test_never_succeeded_is_failed_and_timeout_is_reported(tmp_path: Path) -> None:
    cache, result = _run(tmp_path, FakeProvider(plan={("r0", "b"): "hang"}), task_timeout=0.5)
    (bad,) = result.failed
    assert (bad.scope_id, bad.task) == ("aws:1:r0", "b") and "timed out" in (bad.error or "")
    status = cache.db.execute(
        "SELECT status FROM scope_status WHERE scope_id='aws:1:r0' AND task='b'"
    ).fetchone()[0]
    assert status == "failed"


def test_discovery_failure_is_recorded_and_others_go_on(tmp_path: Path) -> None:
    cache, result = _run(tmp_path, FakeProvider(unreachable=True))
    assert result.status == "partial"
    (bad,) = result.failed
    assert (bad.scope_id, bad.task, bad.error) == ("aws:2:*", "discover", "AccessDenied: no")
    assert cache.count("instance") == 18


def test_cancel_stops_the_run(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    _, result = _run(tmp_path, FakeProvider(), cancel=cancel)
    assert result.status == "cancelled"


class CountingProvider(FakeProvider):
    """Records the most tasks of one scope that ran at once."""

    def __init__(self, regions: int) -> None:
        super().__init__(regions=regions)
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def tasks(self, scope: ScopeRef) -> list[str]:
        return ["a", "b", "c", "d"]

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        with self.lock:
            self.running[scope.scope_id] = now = self.running.get(scope.scope_id, 0) + 1
            self.peak[scope.scope_id] = max(self.peak.get(scope.scope_id, 0), now)
        try:
            super().collect(scope, task, out, ctx)
        finally:
            with self.lock:
                self.running[scope.scope_id] -= 1


def test_per_scope_cap_spreads_workers_over_scopes(tmp_path: Path) -> None:
    provider = CountingProvider(regions=4)
    cache, result = _run(tmp_path, provider, max_workers=8, per_scope=2)
    assert result.status == "ok" and len(result.outcomes) == 16
    assert cache.count("instance") == 48  # 4 scopes x 4 tasks x 3
    assert provider.peak == {s: 2 for s in provider.peak} and len(provider.peak) == 4


def test_a_sync_leaves_planner_statistics(tmp_path: Path) -> None:
    """The checks' plans rely on knowing which indexes are selective: each sync ends with ANALYZE."""
    cache, _ = _run(tmp_path, FakeProvider(regions=2))
    stats = dict(cache.db.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'instances'"))
    assert stats["idx_instances_scope_task"].split()[0] == "12"  # 2 regions x 2 tasks x 3 VMs


def test_a_sync_that_changed_nothing_leaves_indexes_and_statistics_alone(tmp_path: Path) -> None:
    cache, _ = _run(tmp_path, FakeProvider(regions=2))
    marker = "999 1"  # statistics no ANALYZE would write: they stay until one runs
    cache.db.execute(
        "UPDATE sqlite_stat1 SET stat=? WHERE idx='idx_instances_scope_task'", (marker,)
    )
    stat = "SELECT stat FROM sqlite_stat1 WHERE idx='idx_instances_scope_task'"

    SyncEngine(cache, [FakeProvider(regions=2)]).run()  # the same estate again
    assert cache.db.execute(stat).fetchone()[0] == marker

    SyncEngine(cache, [FakeProvider(regions=3)]).run()  # one more region: rows moved
    assert cache.db.execute(stat).fetchone()[0].split()[0] == "18"

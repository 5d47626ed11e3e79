"""HYB-01: a scope whose collection fails, or has not succeeded for too long, is a blind spot."""

from __future__ import annotations

from collections.abc import Callable

from workbench import model
from workbench.cache.store import Cache
from workbench.model import TaskOutput
from workbench.scan.engine import evaluate
from workbench.scan.loader import get_check

NOW = "2026-11-26T12:00:00Z"


def _sync(
    cache: Cache, scope: model.ScopeRef, task: str, *, at: str, error: str | None = None
) -> None:
    run = cache.start_run({})
    if error is None:
        out = TaskOutput([model.Instance(id="i-1", state="running")])
        cache.replace_task(run, scope, task, out, started_at=at, now=at)
    else:
        cache.record_failure(run, scope, task, error, started_at=at)


def test_failing_stale_and_fresh_scopes(open_cache: Callable[[str], Cache]) -> None:
    cache = open_cache("hyb")
    failing = model.ScopeRef("aws", "111111111111", "eu-west-1")
    old = model.ScopeRef("gcp", "demo-prod", "global")
    fresh = model.ScopeRef("libvirt", "kvm-01", "local")
    _sync(cache, failing, "instances", at="2026-11-26T11:00:00Z")
    _sync(cache, failing, "snapshots", at="2026-11-26T11:00:00Z", error="AccessDenied: not allowed")
    _sync(cache, old, "instances", at="2026-11-20T00:00:00Z")
    _sync(cache, fresh, "domains", at="2026-11-26T11:30:00Z")
    rows = {r.resource_uid: r for r in evaluate(cache, get_check("HYB-01"), now=NOW)}
    assert set(rows) == {failing.scope_id, old.scope_id}
    assert "snapshots (AccessDenied: not allowed)" in rows[failing.scope_id].reason
    assert rows[old.scope_id].reason == "no successful sync for 156 h"
    # A longer tolerance passes the old scope; the failing one still fails.
    rows = evaluate(cache, get_check("HYB-01"), params={"max_age_hours": 200}, now=NOW)
    assert {r.resource_uid for r in rows} == {failing.scope_id}

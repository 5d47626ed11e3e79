"""The ingest bench: how fast normalized records go into the cache (issue target: ≥ 200,000 resources/s).

Records of mixed kinds are generated in memory first (with API-sized ``raw`` items and realistic tags), so
only the ingest is timed: one task per (scope, kind family), as a sync writes them, and pipelined as the sync
engine does it: :func:`prepare` (rows, JSON, hashes) in another thread, ``Cache.replace_task`` in this one
(sqlite3 releases the GIL while SQLite works). ``pipeline=False`` times both in one thread. The search
index's build that ends a new cache's first sync is timed separately; the checkpoint that ends it (the WAL
copied into the file) counts as ingest. Then two re-syncs of a tenth of the tasks: as they were, and with one
resource in 100 renamed.
"""

from __future__ import annotations

import dataclasses
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from workbench import model
from workbench.cache.rows import PreparedTask, prepare
from workbench.cache.store import Cache
from workbench.model import TaskOutput

# Per 100 resources: how a typical estate splits across kinds, by collector task.
MIX: tuple[tuple[str, str, int], ...] = (
    ("instances", "instance", 20),
    ("volumes", "volume", 25),
    ("snapshots", "snapshot", 25),
    ("snapshots", "grant", 3),
    ("images", "image", 5),
    ("network", "firewall_rule", 17),
    ("network", "firewall_group", 5),
)
PER_SCOPE = 5_000


def _record(kind: str, n: int) -> model.Record:
    rid = f"{kind[:3]}-{n:017x}"
    tags = {"Name": f"{kind}-{n}", "Owner": f"team-{n % 37}", "Environment": ("prod", "dev")[n % 2]}
    raw: dict[str, Any] = {
        "Id": rid,
        "State": {"Name": "running", "Code": 16},
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        "Placement": {"AvailabilityZone": "eu-west-1a", "Tenancy": "default"},
        "Description": f"generated {kind} number {n} for the ingest bench",
    }
    common: dict[str, Any] = {
        "id": rid,
        "name": tags["Name"],
        "created_at": "2026-01-01T00:00:00Z",
        "tags": tags,
        "raw": raw,
    }
    if kind == "instance":
        return model.Instance(
            **common,
            state="running",
            instance_type="t3.micro",
            platform="linux",
            image_id="ami-0123456789abcdef0",
            private_ip="10.0.0.1",
            imds_tokens=("optional", "required")[n % 2],
            firewall_groups=["sg-0123456789abcdef0"],
            volume_ids=[f"vol-{n:017x}"],
        )
    if kind == "volume":
        return model.Volume(
            **common,
            state="in-use",
            size_gb=8,
            volume_type="gp3",
            encrypted=bool(n % 3),
            attached_to=[f"ins-{n:017x}"],
        )
    if kind == "snapshot":
        return model.Snapshot(
            **common,
            state="completed",
            size_gb=8,
            encrypted=bool(n % 3),
            source_volume_id=f"vol-{n:017x}",
            public=n % 50 == 0,
        )
    if kind == "grant":
        return model.Grant(
            id=f"snap-{n:017x}/999988887777",
            name="999988887777",
            resource_kind="snapshot",
            resource_id=f"snap-{n:017x}",
            grantee_kind="account",
            grantee="999988887777",
            permission="createVolumePermission",
        )
    if kind == "image":
        return model.Image(
            **common,
            state="available",
            public=False,
            owner="123456789012",
            encrypted=True,
            boot_mode="uefi",
        )
    if kind == "firewall_rule":
        return model.FirewallRule(
            **common,
            group_id="sg-0123456789abcdef0",
            protocol="tcp",
            port_from=22,
            port_to=22,
            source=("0.0.0.0/0", "10.0.0.0/8")[n % 2],
            extra={"rule_id": f"sgr-{n:017x}"},
        )
    return model.FirewallGroup(**common, network_id="vpc-0123456789abcdef0", description="bench")


def generate(size: int) -> list[tuple[model.ScopeRef, str, TaskOutput]]:
    """``size`` records split into scopes of PER_SCOPE, each scope into its collector tasks."""
    weights = sum(w for _, _, w in MIX)
    jobs: list[tuple[model.ScopeRef, str, TaskOutput]] = []
    n = 0
    for s in range(max(1, -(-size // PER_SCOPE))):
        scope = model.ScopeRef("aws", f"{100000000000 + s // 16}", f"region-{s % 16}")
        budget = min(PER_SCOPE, size - n)
        outputs: dict[str, TaskOutput] = {}
        for task, kind, weight in MIX:
            out = outputs.setdefault(task, TaskOutput())
            for _ in range(budget * weight // weights):
                out.add(_record(kind, n))
                n += 1
        # The remainder of the budget (rounding) goes to instances.
        while n < size and sum(len(o.records) for o in outputs.values()) < budget:
            outputs["instances"].add(_record("instance", n))
            n += 1
        jobs.extend((scope, task, out) for task, out in outputs.items())
    return jobs


def _renamed(out: TaskOutput, every: int) -> TaskOutput:
    """``out`` with one record in ``every`` renamed."""
    records = [
        dataclasses.replace(rec, name=f"{rec.name}-renamed") if n % every == 0 else rec
        for n, rec in enumerate(out.records)
    ]
    return TaskOutput(records, out.relations)


def _prepared(jobs: list[tuple[model.ScopeRef, str, TaskOutput]], pipeline: bool) -> Any:
    """(scope, task, prepared) in order; with ``pipeline``, built a few tasks ahead in a thread."""
    if not pipeline:
        for scope, task, out in jobs:
            yield scope, task, prepare(scope, task, out)
        return
    ahead: queue.Queue[tuple[model.ScopeRef, str, PreparedTask] | None] = queue.Queue(maxsize=4)

    def produce() -> None:
        for scope, task, out in jobs:
            ahead.put((scope, task, prepare(scope, task, out)))
        ahead.put(None)

    thread = threading.Thread(target=produce, name="vmwb-bench-prepare", daemon=True)
    thread.start()
    while (item := ahead.get()) is not None:
        yield item
    thread.join()


def bench_ingest(
    size: int = 1_000_000, db_path: str | None = None, pipeline: bool = True
) -> dict[str, Any]:
    t0 = time.perf_counter()
    jobs = generate(size)
    generated = time.perf_counter() - t0
    total = sum(len(out.records) for _, _, out in jobs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(db_path) if db_path else Path(tmp) / "bench.db"
        with Cache.open(path) as cache:
            run_id = cache.start_run({"bench": "ingest"})
            wal = path.with_name(path.name + "-wal")
            with cache.bulk_writes():  # as a sync writes: one checkpoint, at the end
                t1 = time.perf_counter()
                for scope, task, prepared in _prepared(jobs, pipeline):
                    cache.replace_task(run_id, scope, task, prepared)
                ingest = time.perf_counter() - t1
                t2 = time.perf_counter()
                cache.refresh_search()
                fts = time.perf_counter() - t2
                wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
                t3 = time.perf_counter()
            checkpoint = time.perf_counter() - t3
            ingest += checkpoint  # the rows are only in the file once the WAL is copied back
            again = jobs[: max(1, len(jobs) // 10)]
            t3 = time.perf_counter()
            for scope, task, out in again:  # a re-sync: nothing changed
                cache.replace_task(run_id, scope, task, out)
            resync = time.perf_counter() - t3
            resync_n = sum(len(o.records) for _, _, o in again)
            # A re-sync where 1 resource in 100 was renamed: each write keeps the search index
            # current, so the sync's end has no index to rebuild.
            changed_jobs = [(s, t, _renamed(o, every=100)) for s, t, o in again]
            t4 = time.perf_counter()
            with cache.bulk_writes():
                for scope, task, out in changed_jobs:
                    cache.replace_task(run_id, scope, task, out)
                cache.refresh_search()
            changed_resync = time.perf_counter() - t4
            size_mb = path.stat().st_size / 1e6
    return {
        "bench": "ingest",
        "resources": total,
        "tasks": len(jobs),
        "generate_seconds": round(generated, 2),
        "pipeline": pipeline,
        "ingest_seconds": round(ingest, 2),
        "resources_per_second": round(total / ingest),
        "target_resources_per_second": 200_000,
        "checkpoint_seconds": round(checkpoint, 2),
        "wal_peak_megabytes": round(wal_mb, 1),
        "fts_refresh_seconds": round(fts, 2),
        "with_fts_resources_per_second": round(total / (ingest + fts)),
        "resync_resources_per_second": round(resync_n / resync) if resync else None,
        "resync_one_percent_renamed_seconds": round(changed_resync, 2),
        "db_megabytes": round(size_mb, 1),
    }

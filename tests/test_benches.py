"""The shipped benches run end to end at a small size and report what they measured (no timing asserted)."""

from __future__ import annotations

import sys

import pytest

from workbench.bench.concurrency import bench_concurrency
from workbench.bench.ingest import bench_ingest


def test_ingest_bench_writes_every_resource_and_reports_its_phases() -> None:
    figures = bench_ingest(size=3_000)
    assert figures["resources"] == 3_000
    for key in ("ingest_seconds", "checkpoint_seconds", "fts_refresh_seconds"):
        assert figures[key] >= 0
    assert figures["resources_per_second"] > figures["with_fts_resources_per_second"] > 0
    assert figures["wal_peak_megabytes"] > 0  # written through the WAL, copied back at the end


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the replay server's CPU is read in /proc"
)
def test_concurrency_bench_replays_every_call_and_measures_cpu_per_call() -> None:
    figures = bench_concurrency(size=1, latency=0.0)
    assert (figures["scopes"], figures["failed_tasks"]) == (3, 0)  # 1 region x 3 accounts
    # Every call of every sync was answered from the recording, and counted.
    assert figures["calls"] > 30 and figures["calls_not_recorded"] == 0
    assert figures["client_cpu_ms_per_call"] > 0 and figures["bare_boto3_cpu_ms_per_call"] > 0
    assert figures["endpoint_cpu_seconds"] is not None

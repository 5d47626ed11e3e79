"""The shipped benches run end to end at a small size and report what they measured (no timing asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from workbench.bench.concurrency import bench_concurrency
from workbench.bench.ingest import bench_ingest
from workbench.cli import main


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
    # Two regions: a scope synced alone asks STS from its own region, not the full run's first one.
    figures = bench_concurrency(size=2, latency=0.0)
    assert (figures["scopes"], figures["failed_tasks"]) == (6, 0)  # 2 regions x 3 accounts
    # Every call of every sync was answered from the recording, and counted.
    assert figures["calls"] > 30 and figures["calls_not_recorded"] == 0
    assert figures["client_cpu_ms_per_call"] > 0 and figures["bare_boto3_cpu_ms_per_call"] > 0
    assert figures["endpoint_cpu_seconds"] is not None


def test_checks_bench_reads_the_key_folder_on_a_machine_without_keyring(
    memory_keyring: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bench signs image approvals and anchors the audit chain: with no OS keyring, the keys must come
    # from ``[general] key_folder``, so the config is read before the bench runs.
    keyring.set_keyring(fail.Keyring())
    folder = tmp_path / "keys"
    config = tmp_path / "c.toml"
    config.write_text(f'[general]\nkey_folder = "{folder}"\n', encoding="utf-8")
    argv = ["--config", str(config), "--db", str(tmp_path / "db" / "c.db")]
    assert main([*argv, "bench", "checks", "--size", "3000", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["check_errors"] == {} and figures["findings_written"] > 0
    assert (folder / "vmwb--audit-chain").exists()

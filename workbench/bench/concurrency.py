"""The concurrency bench: with 100 ms added to every AWS call, a sync of R regions × 3 accounts against moto
should take no longer than 1.5 × its slowest single scope (issue target): scopes and tasks overlap, so
wall time is bounded by the slowest scope, not by the sum.

The latency is a botocore ``before-send`` hook (it delays every HTTP attempt, retries included). moto runs
in a separate process, as a real endpoint would: in this one it would take the GIL from the collectors.
Every scope alone is synced the same way (same engine settings, same latency) to find the slowest, after a
warm-up sync. The figures also say where the full run's time went: this process's CPU and moto's, which
set a floor no overlap of waits can go below.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

ACCOUNT_ROLES = (
    "arn:aws:iam::222233334444:role/SecurityAudit",
    "arn:aws:iam::333344445555:role/SecurityAudit",
)


def _latency(seconds: float) -> Any:
    def before_send(**kwargs: Any) -> None:
        time.sleep(seconds)

    return before_send


def _seed(endpoint: str, regions: list[str]) -> None:
    """A small footprint in every scope: one instance, one unattached volume, one snapshot."""
    import boto3

    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    sessions = [base]
    for arn in ACCOUNT_ROLES:
        sts = base.client("sts", region_name=regions[0], endpoint_url=endpoint)
        creds = sts.assume_role(RoleArn=arn, RoleSessionName="vmwb-bench")["Credentials"]
        sessions.append(
            boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        )
    for session in sessions:
        for region in regions:
            ec2 = session.client("ec2", region_name=region, endpoint_url=endpoint)
            ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)
            vol = ec2.create_volume(AvailabilityZone=f"{region}a", Size=8)["VolumeId"]
            ec2.create_snapshot(VolumeId=vol)


def _child_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a running child has used so far, where /proc tells it (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sync(db: Path, section: dict[str, Any], latency: float, workers: int) -> tuple[float, Any]:
    """One sync into a fresh cache file; the seconds are the engine's run only."""
    from workbench.cache.store import Cache
    from workbench.providers.aws.provider import AwsProvider
    from workbench.sync import SyncEngine

    provider = AwsProvider.from_config(section, hooks=[("before-send", _latency(latency))])
    db.unlink(missing_ok=True)
    with Cache.open(db) as cache:
        t0 = time.perf_counter()
        result = SyncEngine(cache, [provider], max_workers=workers, task_timeout=120).run()
        return time.perf_counter() - t0, result


def bench_concurrency(
    size: int = 16, latency: float = 0.1, workers: int | None = None
) -> dict[str, Any]:
    """``size`` regions × 3 accounts; every scope is also synced alone to find the slowest one."""
    from workbench.emulators.aws import start_moto_server
    from workbench.sync import DEFAULT_WORKERS

    workers = workers or DEFAULT_WORKERS

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    try:
        with (
            start_moto_server(separate_process=True) as server,
            tempfile.TemporaryDirectory() as tmp,
        ):
            import boto3

            ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=server.endpoint)
            regions = sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])[:size]
            _seed(server.endpoint, regions)
            common = {"regions": regions, "endpoint_url": server.endpoint}
            # The process's first sync also loads the service models and builds the client classes
            # (~2 s of CPU); the single scopes below are timed warm, so the full run is too.
            warm_s = _sync(
                Path(tmp) / "warm.db", {**common, "regions": regions[:1]}, latency, workers
            )[0]
            pid = getattr(server.server, "pid", 0)
            moto_before, cpu_before = _child_cpu_seconds(pid), time.process_time()
            full_s, full = _sync(
                Path(tmp) / "full.db",
                {**common, "role_arns": list(ACCOUNT_ROLES)},
                latency,
                workers,
            )
            client_cpu = time.process_time() - cpu_before
            moto_after = _child_cpu_seconds(pid)
            moto_cpu = None
            if moto_before is not None and moto_after is not None:
                moto_cpu = moto_after - moto_before
            singles: dict[str, float] = {}
            for region in regions:
                one = {**common, "regions": [region]}
                singles[f"123456789012/{region}"] = _sync(
                    Path(tmp) / "one.db", one, latency, workers
                )[0]
                for arn in ACCOUNT_ROLES:
                    acct = arn.split(":")[4]
                    cfg = {**one, "role_arns": [arn], "include_base": False}
                    singles[f"{acct}/{region}"] = _sync(
                        Path(tmp) / "one.db", cfg, latency, workers
                    )[0]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    slowest = max(singles, key=lambda k: singles[k])
    return {
        "bench": "concurrency",
        "scopes": len(singles),
        "tasks": len(full.outcomes),
        "failed_tasks": len(full.failed),
        "latency_per_call_seconds": latency,
        "workers": workers,
        "warm_up_seconds": round(warm_s, 2),
        "wall_seconds": round(full_s, 2),
        "slowest_scope": slowest,
        "slowest_scope_seconds": round(singles[slowest], 2),
        "median_scope_seconds": round(sorted(singles.values())[len(singles) // 2], 2),
        "ratio": round(full_s / singles[slowest], 2),
        "target_ratio": 1.5,
        # Where the full run's time goes: the sleeps overlap, the CPU does not. The run cannot end before
        # the CPU it needs is spent: each process's (each is mostly one GIL), and both on this many CPUs.
        "client_cpu_seconds": round(client_cpu, 2),
        "emulator_cpu_seconds": round(moto_cpu, 2) if moto_cpu is not None else None,
        "cpus": os.cpu_count(),
        "cpu_floor_seconds": _cpu_floor(client_cpu, moto_cpu),
    }


def _cpu_floor(client: float, emulator: float | None) -> float | None:
    if emulator is None:
        return None
    return round(max(client, emulator, (client + emulator) / (os.cpu_count() or 1)), 2)

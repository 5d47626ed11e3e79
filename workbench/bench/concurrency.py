"""The concurrency bench: with 100 ms per AWS call, a sync of R regions × 3 accounts should take no longer
than 1.5 × its slowest single scope (scopes and tasks overlap, so wall time is bounded by the slowest scope,
not by the sum), and cost the client no more than 1.5 × bare boto3's CPU per call.

moto spends milliseconds of CPU per call, which hid the client's own cost. So moto only answers once, through a
recording proxy (workbench/emulators/replay.py); every timed sync then runs against the replay server, a child
process that answers from memory after sleeping the latency (its CPU is reported, and negligible). The
bare-boto3 baseline makes exactly the calls the full sync made (captured at signing: operation, parameters,
region, credentials) with one plain client per (credentials, region, service), on as many threads.
"""

from __future__ import annotations

import contextlib
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


def _capture(calls: list[tuple[str, str, str, str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """Hooks that record each signed call (access key, region, service, operation, parameters)."""

    def params(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["vmwb_bench_params"] = dict(params)

    def signed(
        request: Any, region_name: str, signing_name: str, operation_name: str, **kw: Any
    ) -> None:
        signer = kw.get("request_signer")
        creds = getattr(signer, "_credentials", None)
        akid = getattr(creds, "access_key", "") if creds else ""
        api_params = request.context.get("vmwb_bench_params", {})
        calls.append((akid, region_name, signing_name, operation_name, api_params))

    return [("provide-client-params", params), ("before-sign", signed)]


def _sync(
    db: Path, section: dict[str, Any], workers: int, hooks: list[tuple[str, Any]]
) -> tuple[float, Any]:
    """One sync into a fresh cache file; the seconds are the engine's run only."""
    from workbench.cache.store import Cache
    from workbench.providers.aws.provider import AwsProvider
    from workbench.sync import SyncEngine

    provider = AwsProvider.from_config(section, hooks=hooks)
    db.unlink(missing_ok=True)
    with Cache.open(db) as cache:
        t0 = time.perf_counter()
        result = SyncEngine(cache, [provider], max_workers=workers, task_timeout=120).run()
        return time.perf_counter() - t0, result


def _bare_boto3(
    endpoint: str, calls: list[tuple[str, str, str, str, dict[str, Any]]], workers: int
) -> tuple[float, float]:
    """CPU seconds per call of making ``calls`` with plain boto3: the calls alone, and with the clients'
    creation (one per credentials, region and service) counted too, as a sync must."""
    import concurrent.futures as cf

    import boto3
    from botocore import xform_name

    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    creds: dict[str, dict[str, str]] = {"testing": {}}
    for _akid, region, service, op, params in calls:  # the same AssumeRole calls: the same answers
        if service == "sts" and op == "AssumeRole":
            sts = base.client("sts", region_name=region, endpoint_url=endpoint)
            got = sts.assume_role(**params)["Credentials"]
            creds[got["AccessKeyId"]] = {
                "aws_access_key_id": got["AccessKeyId"],
                "aws_secret_access_key": got["SecretAccessKey"],
                "aws_session_token": got["SessionToken"],
            }
    sessions = {k: boto3.Session(**v) if v else base for k, v in creds.items()}
    clients: dict[tuple[str, str, str], Any] = {}
    todo = []
    cpu0 = (
        time.process_time()
    )  # a careful boto3 user's clients: one per (credentials, region, service)
    for akid, region, service, op, params in calls:
        if akid not in sessions or service == "sts":
            continue
        key = (akid, region, service)
        if key not in clients:
            clients[key] = sessions[akid].client(service, region_name=region, endpoint_url=endpoint)
        todo.append((getattr(clients[key], xform_name(op)), params))
    creation = time.process_time() - cpu0

    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    def one(call: tuple[Any, dict[str, Any]]) -> None:
        # A recorded error answer (a setting moto lacks) costs the client the same CPU as a success.
        with contextlib.suppress(ClientError, BotoCoreError, ResponseParserError):
            call[0](**call[1])

    cpu0 = time.process_time()
    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, todo))
    calls_cpu = time.process_time() - cpu0
    n = max(len(todo), 1)
    return calls_cpu / n, (calls_cpu + creation) / n


def bench_concurrency(
    size: int = 16, latency: float = 0.1, workers: int | None = None
) -> dict[str, Any]:
    """``size`` regions × 3 accounts; every scope is also synced alone to find the slowest one."""
    from workbench.emulators import replay
    from workbench.emulators.aws import start_moto_server
    from workbench.sync import DEFAULT_WORKERS

    workers = workers or DEFAULT_WORKERS
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            recorded = Path(tmp) / "answers.pickle"
            with start_moto_server(separate_process=True) as server:
                import boto3

                ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=server.endpoint)
                regions = sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])[:size]
                _seed(server.endpoint, regions)
                with replay.recorder(server.endpoint) as (proxy, recording):
                    section = {
                        "regions": regions,
                        "endpoint_url": proxy,
                        "role_arns": list(ACCOUNT_ROLES),
                    }
                    _sync(Path(tmp) / "record.db", section, workers, [])
                recording.save(recorded)
            with replay.serve(recorded, latency) as (endpoint, server_pid):
                common = {"regions": regions, "endpoint_url": endpoint}
                # The process's first sync also loads the service models and builds the client classes
                # (~2 s of CPU); the single scopes below are timed warm, so the full run is too.
                warm_s = _sync(
                    Path(tmp) / "warm.db", {**common, "regions": regions[:1]}, workers, []
                )[0]
                calls: list[tuple[str, str, str, str, dict[str, Any]]] = []
                server_before, cpu_before = _child_cpu_seconds(server_pid), time.process_time()
                full_s, full = _sync(
                    Path(tmp) / "full.db",
                    {**common, "role_arns": list(ACCOUNT_ROLES)},
                    workers,
                    _capture(calls),
                )
                client_cpu = time.process_time() - cpu_before
                server_after = _child_cpu_seconds(server_pid)
                singles: dict[str, float] = {}
                for region in regions:
                    one = {**common, "regions": [region]}
                    singles[f"123456789012/{region}"] = _sync(
                        Path(tmp) / "one.db", one, workers, []
                    )[0]
                    for arn in ACCOUNT_ROLES:
                        acct = arn.split(":")[4]
                        cfg = {**one, "role_arns": [arn], "include_base": False}
                        singles[f"{acct}/{region}"] = _sync(Path(tmp) / "one.db", cfg, workers, [])[
                            0
                        ]
                served = replay.stats(endpoint)
                bare_per_call, bare_with_clients = _bare_boto3(endpoint, calls, workers)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    slowest = max(singles, key=lambda k: singles[k])
    per_call = client_cpu / max(len(calls), 1)
    server_cpu = None
    if server_before is not None and server_after is not None:
        server_cpu = server_after - server_before
    return {
        "bench": "concurrency",
        "endpoint": "replay (moto's answers recorded once, served from memory)",
        "scopes": len(singles),
        "tasks": len(full.outcomes),
        "failed_tasks": len(full.failed),
        "calls": len(calls),
        "calls_not_recorded": served["misses"],
        "latency_per_call_seconds": latency,
        "workers": workers,
        "warm_up_seconds": round(warm_s, 2),
        "wall_seconds": round(full_s, 2),
        "slowest_scope": slowest,
        "slowest_scope_seconds": round(singles[slowest], 2),
        "median_scope_seconds": round(sorted(singles.values())[len(singles) // 2], 2),
        "ratio": round(full_s / singles[slowest], 2),
        "target_ratio": 1.5,
        "client_cpu_seconds": round(client_cpu, 2),
        "client_cpu_ms_per_call": round(per_call * 1000, 2),
        "bare_boto3_cpu_ms_per_call": round(bare_per_call * 1000, 2),
        "bare_boto3_cpu_ms_per_call_with_clients": round(bare_with_clients * 1000, 2),
        "cpu_ratio": round(per_call / bare_per_call, 2) if bare_per_call else None,
        "cpu_ratio_with_clients": round(per_call / bare_with_clients, 2)
        if bare_with_clients
        else None,
        "target_cpu_ratio": 1.5,
        "endpoint_cpu_seconds": round(server_cpu, 2) if server_cpu is not None else None,
        "cpus": os.cpu_count(),
    }

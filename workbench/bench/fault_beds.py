"""Test beds for fault injection: each platform's emulator behind a :class:`FaultProxy`, a config that syncs
it through the proxy (with short timeouts, so a hang costs a second, not a minute), and the targets a fault can
hit (a list call, a per-resource call, a settings call, one region, account, project or subscription).

Used by ``vmwb bench faults`` and by the fault-injection suite (tests/faults/). A bed is a context manager:
entering starts the proxy (and whatever emulator it was not given), leaving stops what it started.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.emulators.fault_proxy import FaultProxy, ProxyFault

GCP_PROJECTS = ("demo-prod", "demo-dev")
AZURE_SUBS = ("00000000-0000-0000-0000-00000000d3m0", "11111111-2222-3333-4444-555555555555")
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": "/nonexistent/vmwb-faults-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vmwb-faults-aws-credentials",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
# Each call's timeout: short, so a hang costs seconds, but not so short that a loaded machine (2 cores, a
# full test run beside) times out calls that were not faulted. A ``hang`` waits longer (HANG_SECONDS).
CLIENT_TIMEOUT = 4.0
HANG_SECONDS = 5.0
AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a fault lands. ``match`` is the proxy rule's regex; ``tasks`` are synced in the trial;
    ``watch`` the (scope_id, task) pairs that must show the failure (stale, with the error)."""

    name: str
    match: str
    tasks: tuple[str, ...]
    watch: tuple[tuple[str, str], ...]
    # A per-resource call: the task lands, and the resources it could not read are kept.
    detail: bool = False
    faults: tuple[ProxyFault, ...] | None = None  # the classes that apply, when not the usual ones


@dataclass
class Bed:
    """One platform behind its fault proxy."""

    platform: str
    proxy: FaultProxy
    section: dict[str, Any]
    targets: list[Target]
    env: dict[str, str] = field(default_factory=dict)

    def config_toml(self, tasks: tuple[str, ...]) -> str:
        """The config file of a trial: this platform only, syncing ``tasks``."""
        lines = [f"[{self.platform}]"]
        for key, value in {**self.section, "tasks": list(tasks)}.items():
            lines.append(f"{key} = {_toml(value)}")
        return "\n".join(lines) + "\n"

    def environment(self) -> contextlib.AbstractContextManager[None]:
        """The bed's environment variables (AWS: fake credentials, no shared files), restored after."""
        return environment(self.env, AWS_UNSET if self.platform == "aws" else ())


@contextlib.contextmanager
def environment(env: dict[str, str], unset: tuple[str, ...] = ()) -> Iterator[None]:
    """``env`` set and ``unset`` removed in os.environ, as they were afterwards."""
    saved = {k: os.environ.get(k) for k in (*env, *unset)}
    try:
        for key in unset:
            os.environ.pop(key, None)
        os.environ.update(env)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def aws_bed(endpoint: str, regions: tuple[str, ...], role_arn: str) -> Iterator[Bed]:
    """moto (already seeded at ``endpoint``) behind a proxy; two accounts (the base one and ``role_arn``'s)."""
    main, other = f"aws:123456789012:{regions[0]}", f"aws:123456789012:{regions[1]}"
    second = f"aws:{role_arn.split(':')[4]}:{regions[0]}"
    targets = [
        Target(
            "instances list", r"action=DescribeInstances\b", ("instances",), ((main, "instances"),)
        ),
        Target(
            "snapshots list", r"action=DescribeSnapshots\b", ("snapshots",), ((main, "snapshots"),)
        ),
        Target(
            "snapshot permissions",
            r"action=DescribeSnapshotAttribute\b",
            ("snapshots",),
            ((main, "snapshots"),),
            detail=True,
        ),
        Target(
            "image permissions",
            r"action=DescribeImageAttribute\b",
            ("images",),
            ((main, "images"),),
            detail=True,
        ),
        Target(  # a setting is not a resource that can vanish: no not_found
            "one settings call",
            r"action=GetEbsEncryptionByDefault\b",
            ("settings",),
            ((main, "settings"),),
            detail=True,
            faults=("throttle", "denied", "server_error", "html"),
        ),
        Target(
            "one region",
            rf"region={regions[1]}\b",
            ("instances", "volumes"),
            ((other, "instances"), (other, "volumes")),
        ),
        Target(  # the assumed role's calls carry its own access key, not the base one
            "one account",
            r"action=Describe\w+ region=\S+ key=(?!testing\b)",
            ("instances", "volumes"),
            ((second, "instances"), (second, "volumes")),
        ),
    ]
    with FaultProxy(endpoint, "aws") as proxy:
        section = {
            "endpoint_url": proxy.endpoint,
            "regions": list(regions),
            "role_arns": [role_arn],
            "max_attempts": 2,
            "connect_timeout": CLIENT_TIMEOUT,
            "read_timeout": CLIENT_TIMEOUT,
        }
        yield Bed("aws", proxy, section, targets, dict(AWS_ENV))


@contextlib.contextmanager
def gcp_bed() -> Iterator[Bed]:
    """The GCP fixture server (the demo estate) behind a proxy."""
    from workbench.emulators.gcp import GcpFixtureServer

    prod, dev = (f"gcp:{p}:global" for p in GCP_PROJECTS)
    targets = [
        Target(
            "instances list",
            r"/demo-prod/aggregated/instances\b",
            ("instances",),
            ((prod, "instances"),),
        ),
        Target(
            "snapshots list",
            r"/demo-prod/global/snapshots[? ]",
            ("snapshots",),
            ((prod, "snapshots"),),
        ),
        Target(
            "snapshot IAM policy",
            r"/demo-prod/global/snapshots/[^/ ?]+/getIamPolicy",
            ("snapshots",),
            ((prod, "snapshots"),),
            detail=True,
        ),
        Target(
            "firewalls list", r"/demo-prod/global/firewalls[? ]", ("network",), ((prod, "network"),)
        ),
        Target(
            "one project",
            r"/projects/demo-dev/(aggregated|global)/",
            ("instances", "snapshots"),
            ((dev, "instances"), (dev, "snapshots")),
        ),
    ]
    with GcpFixtureServer.demo() as server, FaultProxy(server.endpoint, "gcp") as proxy:
        section = {
            "projects": list(GCP_PROJECTS),
            "endpoint": proxy.endpoint,
            "anonymous": True,
            "patch": False,
            "timeout": CLIENT_TIMEOUT,
            "retry_initial": 0.05,
            "retry_deadline": 3,
        }
        yield Bed("gcp", proxy, section, targets)


@contextlib.contextmanager
def azure_bed() -> Iterator[Bed]:
    """The Azure fixture server (the demo estate) behind a TLS proxy."""
    from workbench.emulators.azure import AzureFixtureServer

    sub, other = (f"azure:{s}:global" for s in AZURE_SUBS)
    compute = rf"/subscriptions/{AZURE_SUBS[0]}/providers/microsoft\.compute"
    targets = [
        Target("VMs list", compute + r"/virtualmachines\?", ("vms",), ((sub, "vms"),)),
        Target("snapshots list", compute + r"/snapshots\?", ("snapshots",), ((sub, "snapshots"),)),
        Target("disks list", compute + r"/disks\?", ("disks",), ((sub, "disks"),)),
        Target(
            "one subscription",
            rf"/subscriptions/{AZURE_SUBS[1]}/",
            ("disks", "snapshots"),
            ((other, "disks"), (other, "snapshots")),
        ),
    ]
    with (
        AzureFixtureServer.demo() as server,
        FaultProxy(server.endpoint, "azure", upstream_ca=server.ca_path, tls=True) as proxy,
    ):
        section = {
            "subscriptions": list(AZURE_SUBS),
            "endpoint": proxy.endpoint,
            "ca_bundle": proxy.ca_path or "",
            "fake_credential": True,
            "retry_total": 1,
            "read_timeout": CLIENT_TIMEOUT,
            "connection_timeout": CLIENT_TIMEOUT,
        }
        yield Bed("azure", proxy, section, targets)

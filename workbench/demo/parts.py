"""The emulated platforms the demo estate is made of, one :class:`DemoPart` each.

A part starts its emulator, seeds it, says how the provider reaches it (a config section) and stops it. Adding a
platform to the demo is adding one entry to :data:`PARTS`; a part whose extra or simulator is missing raises
:class:`PartUnavailable` from ``start`` and the demo goes on without it, with a visible note.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class PartUnavailable(Exception):
    """This platform cannot be emulated here (an optional extra or a simulator binary is missing)."""


@dataclass(frozen=True, slots=True)
class DemoPart:
    name: str  # the provider name, and the config section it writes
    title: str
    start: Callable[[], Any]  # -> a running emulator handle
    seed: Callable[[Any], Any]  # handle -> what was planted (a manifest)
    config: Callable[
        [Any, Any], dict[str, Any]
    ]  # (handle, planted) -> the provider's config section
    stop: Callable[[Any], None]
    # Modules its provider imports lazily: the demo imports them in the background while the emulators
    # start (google-cloud-compute alone takes seconds), so the sync does not wait for them.
    warm: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------- AWS (moto)
def _aws_start() -> Any:
    try:
        from workbench.emulators.aws import start_moto_server
    except ImportError as exc:  # moto[server] is a dependency, but a trimmed install may lack it
        raise PartUnavailable(f"moto is not installed ({exc})") from exc
    # The demo process talks only to the local emulator: fixed fake credentials keep the operator's real
    # ones (env, profiles, SSO) from ever being sent, even to localhost.
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # A child process serves and seeds: moto's request handling and the seeding's boto3 calls then use the
    # other core instead of sharing this process's GIL with the SDK imports and the other emulators.
    try:
        return start_moto_server(separate_process=True, seed=True)
    except (
        RuntimeError
    ) as exc:  # the demo goes on with the other platforms, and says why AWS is missing
        raise PartUnavailable(str(exc)) from exc


def _aws_seed(server: Any) -> Any:
    return server.manifest  # the child seeded before it answered


def _aws_config(server: Any, manifest: Any) -> dict[str, Any]:
    return {
        "endpoint_url": server.endpoint,
        "regions": list(manifest.regions),
        "role_arns": [manifest.role_arn],
        # Fixes use their own identity, one role per target account (the scanning one stays read-only).
        "fix_role_arn": "arn:aws:iam::{account}:role/VmwbRemediate",
        "max_attempts": 2,  # a local emulator either answers or does not: no long retry budget
    }


AWS = DemoPart(
    "aws",
    "AWS (moto)",
    _aws_start,
    _aws_seed,
    _aws_config,
    lambda server: server.stop(),
    ("workbench.providers.aws.provider",),
)


# ------------------------------------------------------------------------------ Azure (ARM fixture)
def _azure_start() -> Any:
    try:
        import trustme  # noqa: F401  (the fixture serves HTTPS: azure-core refuses tokens over http)
    except ImportError as exc:
        raise PartUnavailable(f"trustme is not installed ({exc})") from exc
    from workbench.emulators.azure import AzureFixtureServer

    return AzureFixtureServer.demo().start()  # the demo estate is loaded at construction


def _azure_seed(server: Any) -> Any:
    return sorted(server.subscriptions)  # already served: the planted estate is its subscriptions


def _azure_config(server: Any, subscriptions: Any) -> dict[str, Any]:
    return {
        "subscriptions": list(subscriptions),
        "endpoint": server.endpoint,
        "ca_bundle": server.ca_path,
        "fake_credential": True,  # accepted only for a loopback endpoint
        "retry_total": 2,
    }


AZURE = DemoPart(
    "azure",
    "Azure (ARM fixture)",
    _azure_start,
    _azure_seed,
    _azure_config,
    lambda s: s.stop(),
    ("azure.identity", "azure.mgmt.compute", "azure.mgmt.network"),
)


# ------------------------------------------------------------------------------ GCP (Compute fixture)
def _gcp_start() -> Any:
    from workbench.emulators.gcp import GcpFixtureServer

    return GcpFixtureServer.demo().start()  # plain http: the SDK accepts an http:// api_endpoint


def _gcp_seed(server: Any) -> Any:
    return sorted(server.projects)  # already served: the planted estate is its projects


def _gcp_config(server: Any, projects: Any) -> dict[str, Any]:
    return {
        "projects": list(projects),
        "endpoint": server.endpoint,
        "anonymous": True,  # the fixture checks no token; real credentials are never sent to it
        "retry_deadline": 10,  # a local fixture either answers or does not
    }


GCP = DemoPart(
    "gcp",
    "Google Cloud (Compute fixture)",
    _gcp_start,
    _gcp_seed,
    _gcp_config,
    lambda s: s.stop(),
    ("google.cloud.compute_v1", "google.cloud.osconfig_v1"),
)

# ---------------------------------------------------------------------------------- on-prem (onprem_parts)
from workbench.demo import onprem_parts as _onprem  # no cycle: onprem_parts imports parts lazily

LIBVIRT = DemoPart(
    "libvirt",
    "libvirt / KVM (test driver)",
    _onprem.libvirt_start,
    _onprem.libvirt_seed,
    _onprem.libvirt_config,
    _onprem.libvirt_stop,
    ("libvirt",),
)
VSPHERE = DemoPart(
    "vsphere",
    "VMware vSphere (vcsim)",
    _onprem.vsphere_start,
    _onprem.vsphere_seed,
    _onprem.vsphere_config,
    _onprem.vsphere_stop,
    ("pyVmomi", "pyVim.connect"),
)

PARTS: list[DemoPart] = [AWS, AZURE, GCP, LIBVIRT, VSPHERE]

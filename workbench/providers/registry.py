"""Provider lookup by name, without importing any provider (or its SDK) until it is asked for.

Built-in providers are listed here as ``module:Class`` strings; third-party ones register through the
``vmwb.providers`` entry-point group the same way.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from workbench.errors import ProviderError
from workbench.providers.base import Provider

BUILTIN: dict[str, str] = {
    "aws": "workbench.providers.aws.provider:AwsProvider",
    "gcp": "workbench.providers.gcp.provider:GcpProvider",
    "azure": "workbench.providers.azure.provider:AzureProvider",
    "libvirt": "workbench.providers.libvirt.provider:LibvirtProvider",
    "vsphere": "workbench.providers.vsphere.provider:VsphereProvider",
}


def available() -> dict[str, str]:
    """Every known provider name → its ``module:Class`` target, built-ins first."""
    found = dict(BUILTIN)
    for ep in entry_points(group="vmwb.providers"):
        found.setdefault(ep.name, ep.value)
    return found


def load(name: str) -> type[Provider]:
    target = available().get(name)
    if target is None:
        known = ", ".join(sorted(available()))
        raise ProviderError(f"unknown provider {name!r} (known: {known})")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProviderError(f"provider {name!r} cannot be loaded: {exc}") from exc
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ProviderError(f"{target} is not a Provider")
    return cls

"""Providers built from the config's sections: what "Sync now" (TUI) and the demo hand to the sync engine."""

from __future__ import annotations

from collections.abc import Iterable

from workbench import plugins
from workbench.config import Config
from workbench.errors import ProviderError
from workbench.providers.base import Provider


def from_config(config: Config, names: Iterable[str] | None = None) -> list[Provider]:
    """One provider per configured section (or per name in ``names``), in config order.

    Raises :class:`ProviderError` naming the provider when one cannot be built, so the operator sees which
    section is wrong rather than a traceback.
    """
    wanted = list(names) if names is not None else config.configured_providers
    if not wanted:
        raise ProviderError(
            "no provider is configured: add an [aws], [gcp], [azure], [libvirt] or "
            "[vsphere] section to the config (or try `vmwb demo`)"
        )
    providers: list[Provider] = []
    for name in wanted:
        cls = plugins.load_class("providers", name, Provider)
        try:
            providers.append(cls.from_config(config.provider(name)))
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"[{name}] cannot be used: {exc}") from exc
    return providers

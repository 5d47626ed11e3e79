"""Azure settings, credentials and clients: one ``AzureClients`` serves the collector and the fixes.

Credentials, in order:

- ``fake_credential = true``: a duck-typed TokenCredential for the demo and test fixture server only. It is
  refused unless ``endpoint`` is a loopback address, so a config copied to a real estate cannot send a fake token
  to ARM (it would fail anyway, but with a confusing 401).
- ``tenant_id`` + ``client_id``: a service principal whose secret is read from the OS keyring
  (``workbench.secrets``, service ``vmwb``, name ``azure:<tenant_id>:<client_id>``), never from the config.
- otherwise ``DefaultAzureCredential`` (env vars, workload identity, managed identity, ``az login``).

``endpoint`` is the ARM base URL (Azure China: ``https://management.chinacloudapi.cn``, US Government:
``https://management.usgovcloudapi.net``); the token scope and the Entra ID authority are derived from it.
``ca_bundle`` becomes ``connection_verify`` (the fixture server's trustme CA, a TLS-inspecting proxy).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from workbench.errors import ProviderError
from workbench.providers.azure.schema import AzureSection
from workbench.providers.azure.util import check_answer

PUBLIC_ARM = "https://management.azure.com"
# ARM host -> Entra ID authority host, for the sovereign clouds the SDK knows.
_AUTHORITIES = {
    "management.azure.com": "login.microsoftonline.com",
    "management.chinacloudapi.cn": "login.chinacloudapi.cn",
    "management.usgovcloudapi.net": "login.microsoftonline.us",
}
# The keys of the section: its schema (workbench.providers.azure.schema) is the one list.
_KEYS = frozenset(AzureSection.model_fields)


def secret_name(tenant_id: str, client_id: str) -> str:
    """The keyring entry holding a service principal's client secret."""
    return f"azure:{tenant_id}:{client_id}"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AzureSettings:
    """What the ``[azure]`` config section (plus CLI overrides) asks for."""

    subscriptions: tuple[str, ...] = ()
    tenant_id: str | None = None
    client_id: str | None = None
    endpoint: str = PUBLIC_ARM
    authority: str | None = None
    ca_bundle: str | None = None
    fake_credential: bool = False
    retry_total: int = 6
    read_timeout: float = 60.0
    connection_timeout: float = 10.0

    @classmethod
    def from_section(cls, section: Mapping[str, Any], **overrides: Any) -> AzureSettings:
        merged = dict(section)
        merged.update({k: v for k, v in overrides.items() if v})
        unknown = sorted(set(merged) - _KEYS)
        if unknown:
            raise ProviderError(
                f"[azure] unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
            )
        endpoint = str(merged.get("endpoint") or PUBLIC_ARM).rstrip("/")
        if urlsplit(endpoint).scheme != "https":
            # azure-core refuses bearer tokens over plain http anyway; say so before any call.
            raise ProviderError(f"[azure] endpoint must be an https:// URL, not {endpoint!r}")
        settings = cls(
            subscriptions=tuple(merged.get("subscriptions") or ()),
            tenant_id=merged.get("tenant_id") or None,
            client_id=merged.get("client_id") or None,
            endpoint=endpoint,
            authority=merged.get("authority") or None,
            ca_bundle=merged.get("ca_bundle") or None,
            fake_credential=bool(merged.get("fake_credential", False)),
            retry_total=int(merged.get("retry_total", 6)),
            read_timeout=float(merged.get("read_timeout", 60)),
            connection_timeout=float(merged.get("connection_timeout", 10)),
        )
        if settings.fake_credential and not _is_loopback(endpoint):
            raise ProviderError(
                "[azure] fake_credential is only for the local demo/test fixture "
                "(endpoint must be 127.0.0.1 or localhost)"
            )
        if bool(settings.tenant_id) != bool(settings.client_id):
            raise ProviderError("[azure] a service principal needs both tenant_id and client_id")
        return settings

    @property
    def credential_scopes(self) -> list[str]:
        """The token scope of the configured ARM endpoint (the SDK defaults to public Azure's)."""
        return [f"{self.endpoint}/.default"]

    @property
    def authority_host(self) -> str:
        if self.authority:
            return self.authority
        host = urlsplit(self.endpoint).hostname or ""
        return _AUTHORITIES.get(host, _AUTHORITIES["management.azure.com"])

    def client_kwargs(self) -> dict[str, Any]:
        # The retry policy of azure-core retries 408/429/5xx and honours Retry-After on 429/503.
        kwargs: dict[str, Any] = {
            "base_url": self.endpoint,
            "credential_scopes": self.credential_scopes,
            "retry_total": self.retry_total,
            "read_timeout": self.read_timeout,
            "connection_timeout": self.connection_timeout,
            "raw_response_hook": check_answer,  # every answer validated before it is read
        }
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs


class FakeCredential:
    """A duck-typed TokenCredential for the fixture server: ARM's pipeline only calls ``get_token``."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("vmwb-fixture-token", int(time.time()) + 3600)


def build_credential(settings: AzureSettings) -> Any:
    """The credential the settings ask for; raises ProviderError with what to do when it cannot."""
    if settings.fake_credential:
        return FakeCredential()
    authority = settings.authority_host
    if settings.tenant_id and settings.client_id:
        from workbench.secrets import SecretStoreError, get_secret

        name = secret_name(settings.tenant_id, settings.client_id)
        try:
            secret = get_secret(name)
        except SecretStoreError as exc:
            raise ProviderError(f"[azure] cannot read the client secret: {exc}") from exc
        if not secret:
            raise ProviderError(
                f"[azure] no client secret in the keyring under {name!r}: "
                "store it from the settings screen first"
            )
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            settings.tenant_id, settings.client_id, secret, authority=authority
        )
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=authority)


@dataclass(slots=True)
class AzureClients:
    """Compute and network clients per subscription, built once and shared (they are thread-safe)."""

    settings: AzureSettings
    credential: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> AzureClients:
        """What ``FixContext.clients("azure")`` builds from the ``[azure]`` section."""
        return cls(AzureSettings.from_section(section))

    def _credential(self) -> Any:
        if self.credential is None:
            self.credential = build_credential(self.settings)
        return self.credential

    def _client(self, kind: str, subscription: str) -> Any:
        key = (kind, subscription.lower())
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                if kind == "compute":
                    from azure.mgmt.compute import ComputeManagementClient as cls
                else:
                    from azure.mgmt.network import NetworkManagementClient as cls  # type: ignore[assignment]
                client = cls(self._credential(), subscription, **self.settings.client_kwargs())
                self._cache[key] = client
        return client

    def compute(self, subscription: str) -> Any:
        return self._client("compute", subscription)

    def network(self, subscription: str) -> Any:
        return self._client("network", subscription)

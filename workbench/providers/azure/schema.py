"""The ``[azure]`` config section's schema (validated when the config is read, before any SDK import)."""

from __future__ import annotations

from pydantic import Field

from workbench.config_schema import Section


class AzureSection(Section):
    subscriptions: list[str] = Field(default_factory=list)
    tenant_id: str | None = None
    client_id: str | None = None
    endpoint: str | None = None
    authority: str | None = None
    ca_bundle: str | None = None
    fake_credential: bool = False
    retry_total: int = Field(default=6, ge=0)
    read_timeout: float = Field(default=60.0, gt=0)
    connection_timeout: float = Field(default=10.0, gt=0)
    tasks: list[str] | None = None
    #: A separate service principal for fixes (workbench.fixes.azure.common).
    fix_client_id: str | None = None

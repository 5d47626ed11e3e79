"""The ``[gcp]`` config section's schema (validated when the config is read, before any SDK import)."""

from __future__ import annotations

from pydantic import Field

from workbench.config_schema import Section


class GcpSection(Section):
    projects: list[str] = Field(default_factory=list)
    credentials_file: str | None = None
    credentials_secret: str | None = None
    credentials_json: str | None = None
    endpoint: str | None = None
    anonymous: bool = False
    timeout: float = Field(default=30.0, gt=0)
    retry_deadline: float = Field(default=120.0, gt=0)
    retry_initial: float = Field(default=1.0, gt=0)
    patch: bool = True
    tasks: list[str] | None = None
    # Fixes may use their own identity (workbench.fixes.gcp.common).
    fix_credentials_file: str | None = None
    fix_credentials_secret: str | None = None

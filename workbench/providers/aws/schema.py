"""The ``[aws]`` config section's schema (validated when the config is read, before any SDK import)."""

from __future__ import annotations

from pydantic import Field

from workbench.config_schema import Section


class AwsSection(Section):
    profiles: list[str] = Field(default_factory=list)
    role_arns: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    endpoint_url: str | None = None
    max_attempts: int = Field(default=6, ge=1)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    role_session_name: str = "vmwb-audit"
    external_id: str | None = None
    role_duration_seconds: int | None = Field(default=None, ge=900)
    include_base: bool = True
    tasks: list[str] | None = None
    # Fixes use their own identity (workbench.fixes.aws.clients); ``{account}`` in the role is the target's.
    fix_profile: str | None = None
    fix_role_arn: str | None = None
    fix_external_id: str | None = None

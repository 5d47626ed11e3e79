"""The ``[vsphere]`` config section's schema (validated when the config is read, before pyVmomi is imported).

A password is never a key here: it lives in the keyring or an environment variable named by ``password_env``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from workbench.config_schema import Section


def _no_password(data: Any) -> Any:
    if isinstance(data, dict) and "password" in data:
        raise ValueError(
            "never put a password in the config: store it in the keyring as vsphere:<host> "
            "(service vmwb) or name an environment variable with password_env"
        )
    return data


class VsphereServer(Section):
    _refuse_password = model_validator(mode="before")(_no_password)

    host: str = Field(min_length=1)
    user: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    protocol: Literal["https", "http"] = "https"
    password_env: str | None = None
    verify_tls: bool = True


class VsphereSection(Section):
    _refuse_password = model_validator(mode="before")(_no_password)

    host: str | None = None
    user: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    protocol: Literal["https", "http"] = "https"
    password_env: str | None = None
    verify_tls: bool = True
    servers: list[VsphereServer] = Field(default_factory=list)
    tasks: list[str] | None = None

"""The ``[libvirt]`` config section's schema (validated when the config is read, before libvirt is imported)."""

from __future__ import annotations

from pydantic import Field

from workbench.config_schema import Section


class LibvirtHost(Section):
    name: str = Field(min_length=1)
    uri: str = Field(min_length=1)


class LibvirtSection(Section):
    hosts: list[LibvirtHost] = Field(default_factory=list)
    uris: list[str] = Field(default_factory=list)
    secure_xml: bool = False
    tasks: list[str] | None = None

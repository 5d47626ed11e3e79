"""The Google Cloud provider: one scope per project, one collector task per resource family.

A scope is ``(project, "global")``: every list call is project-wide (aggregated across zones and regions), so
splitting a project by region would multiply calls without making anything atomic that is not already. Each
record's zone or region is in ``extra``; zonal resource ids are ``<zone>/<name>`` because names repeat across
zones.

Config (``[gcp]``): ``projects`` (default: the project the credentials name), ``credentials_file``,
``credentials_secret`` (a keyring entry), ``credentials_json`` (moved to the keyring), ``endpoint``
(``http://127.0.0.1:PORT`` for the fixture server), ``anonymous``, ``timeout``, ``retry_deadline``,
``retry_initial``, ``patch`` (collect OS Config), ``tasks``. CLI override: ``projects``.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from workbench.errors import ProviderError
from workbench.model import ScopeRef, TaskOutput
from workbench.providers.base import (
    Provider,
    ScopeFailure,
    TaskContext,
    describe_error,
    scope_handle,
    select_tasks,
)
from workbench.providers.gcp import collect_compute, collect_network, collect_patch
from workbench.providers.gcp.clients import GcpClients, GcpSettings, load_credentials

Collector = Callable[[Any, TaskOutput, TaskContext], None]

TASKS: dict[str, Collector] = {
    "instances": collect_compute.collect_instances,
    "disks": collect_compute.collect_disks,
    "snapshots": collect_compute.collect_snapshots,
    "images": collect_compute.collect_images,
    "network": collect_network.collect_network,
    "project": collect_network.collect_project,
    "patch": collect_patch.collect_patch,
}


@dataclass(frozen=True, slots=True)
class GcpHandle:
    """A scope's ``handle``: the project id, its number, and the shared clients."""

    project: str
    number: str
    clients: GcpClients


class GcpProvider(Provider):
    name: ClassVar[str] = "gcp"
    title: ClassVar[str] = "Google Cloud"

    def __init__(self, settings: GcpSettings, tasks: tuple[str, ...] = tuple(TASKS)) -> None:
        self.settings = settings
        self.task_names = tasks

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> GcpProvider:
        settings = GcpSettings.from_section(section, **overrides)
        default = tuple(t for t in TASKS if settings.patch or t != "patch")
        return cls(settings, select_tasks("gcp", section.get("tasks"), TASKS, default))

    def discover(self) -> list[ScopeRef | ScopeFailure]:
        """One scope per project that answers ``projects.get``; the others are ScopeFailures."""
        creds, default_project = load_credentials(self.settings)
        projects = list(self.settings.projects) or ([default_project] if default_project else [])
        if not projects:
            raise ProviderError("[gcp] no project: set projects = [...] in [gcp]")
        clients = GcpClients(self.settings, creds)

        def probe(project: str) -> ScopeRef | ScopeFailure:
            try:
                got = clients.compute("ProjectsClient").get(project=project, **clients.call_kwargs)
            except Exception as exc:
                failed = ScopeRef("gcp", project, "global", label=f"{project} (unreachable)")
                return ScopeFailure(failed, describe_error(exc))
            handle = GcpHandle(project, str(got.id or ""), clients)
            return ScopeRef("gcp", project, "global", label=project, handle=handle)

        with cf.ThreadPoolExecutor(min(8, len(projects))) as pool:
            return list(pool.map(probe, dict.fromkeys(projects)))

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        handle = scope_handle(scope, GcpHandle)
        ctx.checkpoint()
        TASKS[task](handle, out, ctx)

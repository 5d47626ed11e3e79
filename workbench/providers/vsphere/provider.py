"""The VMware vSphere provider (vCenter or a standalone ESXi): one scope per ``(server, datacenter)``.

Config (``[vsphere]``)::

    host = "vc1.example.com"
    user = "audit@vsphere.local"     # a read-only role is enough to sync
    # port = 443, protocol = "https", verify_tls = true
    # password: keyring (service vmwb, name vsphere:vc1.example.com); demo/tests: password_env = "VAR"
    servers = [{host = "esxi-07.example.com", user = "root"}]   # more servers, same keys
    tasks = ["vms", "snapshots", "hosts", "datastores", "networks"]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from workbench.model import ScopeRef, TaskOutput
from workbench.providers.base import (
    Provider,
    ScopeFailure,
    TaskContext,
    describe_error,
    scope_handle,
    select_tasks,
)
from workbench.providers.vsphere import collect
from workbench.providers.vsphere.collect import VsphereHandle
from workbench.providers.vsphere.connection import (
    ServerSettings,
    SessionPool,
    import_pyvmomi,
    retrieve,
    servers_from_section,
    shared_pool,
)

Collector = Callable[[VsphereHandle, TaskOutput, TaskContext], None]
TASKS: dict[str, Collector] = {
    "vms": collect.collect_vms,
    "snapshots": collect.collect_snapshots,
    "hosts": collect.collect_hosts,
    "datastores": collect.collect_datastores,
    "networks": collect.collect_networks,
}


class VsphereProvider(Provider):
    name: ClassVar[str] = "vsphere"
    title: ClassVar[str] = "VMware vSphere"

    def __init__(
        self, servers: list[ServerSettings], tasks: tuple[str, ...], pool: SessionPool | None = None
    ) -> None:
        self.servers = servers
        self.task_names = tasks
        self.pool = pool or shared_pool()

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> VsphereProvider:
        tasks = select_tasks("vsphere", section.get("tasks"), TASKS)
        return cls(servers_from_section(section), tasks, overrides.get("pool"))

    def discover(self) -> list[ScopeRef | ScopeFailure]:
        vim, _ = import_pyvmomi()
        found: list[ScopeRef | ScopeFailure] = []
        for server in self.servers:
            try:
                si, lock = self.pool.get(server)
                with lock:
                    root = si.RetrieveContent().rootFolder
                    datacenters = sorted(
                        (props["name"], obj)
                        for obj, props in retrieve(si, root, vim.Datacenter, ["name"])
                    )
            except Exception as exc:  # one unreachable server must not hide the others
                found.append(
                    ScopeFailure(ScopeRef(self.name, server.host, "*"), describe_error(exc))
                )
                continue
            for dc_name, dc in datacenters:
                handle = VsphereHandle(server, self.pool, dc)
                found.append(
                    ScopeRef(
                        self.name,
                        server.host,
                        dc_name,
                        label=f"{server.host} / {dc_name}",
                        handle=handle,
                    )
                )
        return found

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        handle = scope_handle(scope, VsphereHandle)
        ctx.checkpoint()
        TASKS[task](handle, out, ctx)

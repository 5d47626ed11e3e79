"""The libvirt / KVM provider: one scope per host, ``(host name, "local")``.

Config (``[libvirt]``)::

    hosts = [{name = "kvm-lab-01", uri = "qemu+ssh://root@kvm-lab-01/system"}]
    uris = ["qemu:///system"]     # named by the host's own getHostname()
    secure_xml = false            # true: open read-write to see whether consoles have a password
    tasks = ["domains", "snapshots", "storage", "networks", "host"]

libvirt-python is the optional ``libvirt`` extra; without it every use raises a :class:`ProviderError` that
gives the exact command to enable it (see ``connection.MISSING_HINT``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from workbench.providers.libvirt import collect
from workbench.providers.libvirt.collect import LibvirtHandle
from workbench.providers.libvirt.connection import (
    ConnectionPool,
    LibvirtSettings,
    import_libvirt,
    shared_pool,
)

Collector = Callable[[LibvirtHandle, TaskOutput, TaskContext], None]
TASKS: dict[str, Collector] = {
    "domains": collect.collect_domains,
    "snapshots": collect.collect_snapshots,
    "storage": collect.collect_storage,
    "networks": collect.collect_networks,
    "host": collect.collect_host,
}
REGION = "local"


class LibvirtProvider(Provider):
    name: ClassVar[str] = "libvirt"
    title: ClassVar[str] = "libvirt / KVM"

    def __init__(self, settings: LibvirtSettings, pool: ConnectionPool | None = None) -> None:
        self.settings = settings
        self.pool = pool or shared_pool()
        self.task_names = settings.tasks or tuple(TASKS)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> LibvirtProvider:
        settings = LibvirtSettings.from_section(section)
        select_tasks("libvirt", settings.tasks, TASKS)  # checked here; __init__ fills the default
        import_libvirt()  # fail here, with the install command, rather than once per host
        return cls(settings, overrides.get("pool"))

    def _scope(self, host: str, uri: str) -> ScopeRef:
        handle = LibvirtHandle(host, uri, self.pool, self.settings.secure_xml)
        return ScopeRef(self.name, host, REGION, label=f"{host} ({uri})", handle=handle)

    def discover(self) -> list[ScopeRef | ScopeFailure]:
        found: list[ScopeRef | ScopeFailure] = [
            self._scope(h.name, h.uri) for h in self.settings.hosts
        ]
        for uri in self.settings.uris:
            try:
                host = str(self.pool.get(uri, write=self.settings.secure_xml).getHostname())
            except Exception as exc:  # one unreachable host must not hide the others
                found.append(ScopeFailure(ScopeRef(self.name, uri, REGION), describe_error(exc)))
                continue
            found.append(self._scope(host, uri))
        return found

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        handle = scope_handle(scope, LibvirtHandle)
        libvirt = import_libvirt()
        ctx.checkpoint()
        try:
            TASKS[task](handle, out, ctx)
        except libvirt.libvirtError as exc:
            raise ProviderError(f"{handle.host}: {task}: {exc}") from exc

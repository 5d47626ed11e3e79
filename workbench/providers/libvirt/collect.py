"""libvirt collectors: domains, snapshots, storage (pools, volumes, domain disks), networks, the host.

Every collector takes the scope's :class:`LibvirtHandle` and reads through its pooled connection. Ids:
a domain is its UUID; a volume or disk is its path (what domain disks refer to); a snapshot is
``<domain uuid>/<snapshot name>`` (names repeat across domains); a network is its name (what interfaces say).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from workbench.clock import iso_epoch
from workbench.errors import BadAnswer
from workbench.model import Host, Instance, Network, Snapshot, TaskOutput, Volume
from workbench.providers.base import TaskContext, describe_error
from workbench.providers.libvirt import domain_xml
from workbench.providers.libvirt.connection import ConnectionPool, import_libvirt
from workbench.providers.parallel import ItemFailed

# virDomainState → the model's lower-case states.
_STATES = {
    0: "unknown",
    1: "running",
    2: "running",
    3: "paused",
    4: "stopping",
    5: "stopped",
    6: "crashed",
    7: "suspended",
}
_GIB = 2**30


@dataclass(frozen=True, slots=True)
class LibvirtHandle:
    host: str
    uri: str
    pool: ConnectionPool
    secure_xml: bool = False

    def connection(self) -> Any:
        # secure_xml needs read-write (libvirt forbids VIR_DOMAIN_XML_SECURE read-only); see connection.py.
        return self.pool.get(self.uri, write=self.secure_xml)

    def xml_flags(self, *, inactive: bool = False) -> int:
        libvirt = import_libvirt()
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        if self.pool.is_read_write(self.uri):
            flags |= libvirt.VIR_DOMAIN_XML_SECURE
        return int(flags)


def _gone(exc: BaseException) -> bool:
    """The domain (or its snapshot) was undefined between the listing and this call."""
    libvirt = import_libvirt()
    codes = (
        libvirt.VIR_ERR_NO_DOMAIN,
        libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT,
        libvirt.VIR_ERR_NO_STORAGE_VOL,
        libvirt.VIR_ERR_NO_NETWORK,
    )
    return isinstance(exc, libvirt.libvirtError) and exc.get_error_code() in codes


def _item(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, or an :class:`ItemFailed` when that one call fails (its object's rows are kept)."""
    try:
        return fn(*args)
    except Exception as exc:
        return ItemFailed(describe_error(exc), _gone(exc))


def _listed(handle: LibvirtHandle, ctx: TaskContext) -> list[Any]:
    conn = handle.connection()
    found = list(conn.listAllDomains())
    ctx.checkpoint()
    return sorted(found, key=lambda d: d.name())  # libvirt's order is not stable


def _domains(handle: LibvirtHandle, ctx: TaskContext) -> list[tuple[Any, ET.Element | ItemFailed]]:
    """Every domain with its checked XML, or an :class:`ItemFailed` where that domain's XML could not be read."""
    flags = handle.xml_flags()
    out: list[tuple[Any, ET.Element | ItemFailed]] = []
    for dom in _listed(handle, ctx):
        ctx.checkpoint()
        out.append(
            (dom, _item(lambda d: domain_xml.parse_domain(d.XMLDesc(flags), d.UUIDString()), dom))
        )
    return out


def _all_read(
    domains: list[tuple[Any, ET.Element | ItemFailed]], task: str
) -> list[tuple[Any, ET.Element]]:
    """The domains' XML when every one was read: a task that needs all of them (which volumes are in use)
    fails instead of reading a domain it could not see as one that uses nothing."""
    for dom, root in domains:
        if isinstance(root, ItemFailed) and not root.gone:
            raise BadAnswer(
                f"{task}: the XML of domain {dom.name()!r} could not be read ({root.error})"
            )
    return [(dom, root) for dom, root in domains if not isinstance(root, ItemFailed)]


# ---------------------------------------------------------------- domains


def collect_domains(handle: LibvirtHandle, out: TaskOutput, ctx: TaskContext) -> None:
    handle.connection()  # opened first: whether passwords are visible depends on the connection's mode
    secure = handle.pool.is_read_write(handle.uri)
    inactive_flags = handle.xml_flags(inactive=True)
    for dom, root in _domains(handle, ctx):
        record = (
            root
            if isinstance(root, ItemFailed)
            else _item(_domain_record, dom, root, inactive_flags, secure)
        )
        if isinstance(record, ItemFailed):
            if record.gone:  # undefined since the listing: nothing to show
                continue
            # Only its identity is known this time: the cache keeps the row it had, marked stale.
            out.add(Instance(id=dom.UUIDString(), name=dom.name()), stale=record.error)
            continue
        out.add(record)
        for vol in record.volume_ids:
            out.relate("instance", record.id, "attached", "volume", vol)
        for nic in record.extra["interfaces"]:
            if nic.get("network"):
                out.relate("instance", record.id, "in_network", "network", nic["network"])


def _domain_record(dom: Any, root: ET.Element, inactive_flags: int, secure: bool) -> Instance:
    inactive = None
    if dom.isActive() and dom.isPersistent():
        # A fix changes the persistent config; the running guest keeps the old one until it restarts.
        inactive = domain_xml.parse_domain(dom.XMLDesc(inactive_flags), dom.UUIDString())
    return instance_record(dom, root, inactive, secure_xml=secure)


def instance_record(
    dom: Any, root: ET.Element, inactive: ET.Element | None, *, secure_xml: bool
) -> Instance:
    state, _reason = dom.state()
    fw = domain_xml.firmware(root)
    tpm = domain_xml.tpm(root)
    graphics = domain_xml.graphics(root, secure_xml=secure_xml)
    if inactive is not None:
        for live, saved in zip(
            graphics, domain_xml.graphics(inactive, secure_xml=secure_xml), strict=False
        ):
            if saved["listen"] != live["listen"]:
                live["listen_next_boot"] = saved["listen"]
    disks = domain_xml.disks(root)
    nics = domain_xml.interfaces(root)
    legacy = domain_xml.legacy_devices(root, disks)
    memory = domain_xml.memory_mib(root)
    vcpus = root.findtext("vcpu") or "?"
    try:
        autostart = bool(dom.autostart())
    except Exception:  # transient domains have no autostart flag
        autostart = None
    return Instance(
        id=dom.UUIDString(),
        name=dom.name(),
        raw={"xml": domain_xml.strip_secrets(ET.tostring(root, encoding="unicode"))},
        extra={
            "title": root.findtext("title") or "",
            "description": root.findtext("description") or "",
            "domain_type": root.get("type"),
            "memory_mib": memory,
            "vcpus": vcpus,
            "persistent": bool(dom.isPersistent()),
            "autostart": autostart,
            "loader": fw["loader"],
            "tpm": tpm,
            "graphics": graphics,
            "password_visible": secure_xml,
            "disks": disks,
            "interfaces": nics,
            "seclabels": domain_xml.seclabels(root),
            "cpu": domain_xml.cpu(root),
            "legacy_devices": legacy,
            "serial_count": sum(1 for d in legacy if d["kind"] == "serial"),
            "usb_count": sum(1 for d in legacy if d["kind"] == "usb"),
        },
        state=_STATES.get(state, "unknown"),
        instance_type=f"{vcpus} vCPU / {memory} MiB",
        platform=domain_xml.platform(root),
        boot_mode=fw["boot_mode"],
        secure_boot=fw["secure_boot"],
        vtpm=tpm is not None,
        managed=domain_xml.has_guest_agent(root),
        network_id=next((n["network"] for n in nics if n.get("network")), None),
        volume_ids=[d["source"] for d in disks if d["source"]],
    )


# ---------------------------------------------------------------- snapshots


def collect_snapshots(handle: LibvirtHandle, out: TaskOutput, ctx: TaskContext) -> None:
    # A domain whose snapshots cannot be listed fails the task (its rows are kept): which snapshots it has
    # is unknown, and the provider cannot name the ones the cache knew. One snapshot's XML is an item.
    for dom in _listed(handle, ctx):
        ctx.checkpoint()
        dom_id = dom.UUIDString()
        snaps = _item(dom.listAllSnapshots)
        if isinstance(snaps, ItemFailed):
            if snaps.gone:
                continue
            raise BadAnswer(
                f"snapshots of domain {dom.name()!r} could not be listed ({snaps.error})"
            )
        for snap in snaps:
            sid = f"{dom_id}/{snap.getName()}"
            record = _item(_snapshot_record, dom, snap, sid)
            if isinstance(record, ItemFailed):
                if not record.gone:
                    stale = Snapshot(id=sid, name=snap.getName(), source_instance_id=dom_id)
                    out.add(stale, stale=record.error)
                    out.relate("snapshot", sid, "snapshot_of", "instance", dom_id)
                continue
            out.add(record)
            out.relate("snapshot", sid, "snapshot_of", "instance", dom_id)


def _snapshot_record(dom: Any, snap: Any, sid: str) -> Snapshot:
    xml = domain_xml.parse_element(snap.getXMLDesc(), "domainsnapshot", f"snapshot {sid}")
    dom_id = dom.UUIDString()
    parent = xml.findtext("parent/name")
    return Snapshot(
        id=sid,
        name=snap.getName(),
        created_at=iso_epoch(xml.findtext("creationTime")),
        extra={
            "domain": dom.name(),
            "parent": parent,
            "parent_id": f"{dom_id}/{parent}" if parent else None,
            "current": bool(snap.isCurrent()),
            "children": int(snap.numChildren()),
            "description": xml.findtext("description") or "",
            "memory": xml.findtext("state") in ("running", "paused"),
        },
        state=xml.findtext("state") or "",
        source_instance_id=dom_id,
    )


# ---------------------------------------------------------------- storage


def collect_storage(handle: LibvirtHandle, out: TaskOutput, ctx: TaskContext) -> None:
    """Pool volumes and domain disks as volumes; a pool volume no domain disk refers to is orphaned."""
    users: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for dom, root in _all_read(_domains(handle, ctx), "storage"):
        for disk in domain_xml.disks(root):
            if disk["source"]:
                users.setdefault(disk["source"], []).append((dom.UUIDString(), disk))
    conn = handle.connection()
    seen: set[str] = set()
    for pool in sorted(conn.listAllStoragePools(), key=lambda p: p.name()):
        ctx.checkpoint()
        if not pool.isActive():
            continue  # an inactive pool cannot list its volumes
        for vol in sorted(pool.listAllVolumes(), key=lambda v: v.name()):
            path = vol.path()
            seen.add(path)
            record = _item(_pool_volume, vol, path, pool.name(), users.get(path, []))
            if isinstance(record, ItemFailed):
                if not record.gone:  # its size and encryption are unknown this time: kept as known
                    out.add(Volume(id=path, name=vol.name()), stale=record.error)
                continue
            out.add(record)
    for path, disk_users in sorted(users.items()):
        if path not in seen:  # a disk outside any pool (a path libvirt does not manage)
            name = path.rsplit("/", 1)[-1]
            out.add(
                volume_record(
                    path,
                    name,
                    disk_users,
                    pool=None,
                    size_gb=None,
                    allocation_gb=None,
                    fmt=disk_users[0][1].get("format") or "",
                    pool_encryption=None,
                )
            )


def _pool_volume(
    vol: Any, path: str, pool: str, disk_users: list[tuple[str, dict[str, Any]]]
) -> Volume:
    _kind, capacity, allocation = vol.info()
    vxml = domain_xml.parse_element(vol.XMLDesc(), "volume", f"volume {path}")
    enc = vxml.find("target/encryption")
    return volume_record(
        path,
        vol.name(),
        disk_users,
        pool=pool,
        size_gb=capacity / _GIB,
        allocation_gb=allocation / _GIB,
        fmt=_attr(vxml, "target/format", "type") or "",
        pool_encryption=enc.get("format") if enc is not None else None,
    )


def volume_record(
    path: str,
    name: str,
    disk_users: list[tuple[str, dict[str, Any]]],
    *,
    pool: str | None,
    size_gb: float | None,
    allocation_gb: float | None,
    fmt: str,
    pool_encryption: str | None,
) -> Volume:
    devices = sorted({disk["device"] for _, disk in disk_users})
    encryption = pool_encryption or next(
        (disk["encryption"] for _, disk in disk_users if disk["encryption"] != "none"), "none"
    )
    media = bool(devices) and set(devices) <= {"cdrom", "floppy"} or name.lower().endswith(".iso")
    return Volume(
        id=path,
        name=name,
        extra={
            "pool": pool,
            "path": path,
            "format": fmt,
            "allocation_gb": round(allocation_gb, 3) if allocation_gb is not None else None,
            "devices": devices,
            "media": media,  # installation media / driver floppies: not data disks
            "managed": pool is not None,
        },
        state="in-use" if disk_users else "available",
        size_gb=round(size_gb, 3) if size_gb is not None else None,
        volume_type=fmt,
        encrypted=encryption != "none",
        encryption_type="luks" if encryption == "luks" else encryption,
        attached_to=sorted({uid for uid, _ in disk_users}),
    )


# ---------------------------------------------------------------- networks and host


def collect_networks(handle: LibvirtHandle, out: TaskOutput, ctx: TaskContext) -> None:
    conn = handle.connection()
    for net in sorted(conn.listAllNetworks(), key=lambda n: n.name()):
        ctx.checkpoint()
        record = _item(_network_record, net)
        if isinstance(record, ItemFailed):
            if not record.gone:
                out.add(Network(id=net.name(), name=net.name()), stale=record.error)
            continue
        out.add(record)


def _network_record(net: Any) -> Network:
    xml = domain_xml.parse_element(net.XMLDesc(0), "network", f"network {net.name()}")
    ip = xml.find("ip")
    cidr = None
    if ip is not None and ip.get("address"):
        import ipaddress

        mask = ip.get("netmask") or ip.get("prefix") or "24"
        cidr = str(ipaddress.ip_interface(f"{ip.get('address')}/{mask}").network)
    forward = xml.find("forward")
    return Network(
        id=net.name(),
        name=net.name(),
        extra={
            "uuid": net.UUIDString(),
            "bridge": _attr(xml, "bridge", "name"),
            "forward": forward.get("mode", "nat") if forward is not None else "isolated",
            "active": bool(net.isActive()),
            "autostart": bool(net.autostart()),
        },
        is_default=net.name() == "default",
        cidr=cidr,
    )


def _attr(parent: ET.Element, child: str, name: str) -> str | None:
    el = parent.find(child)
    return el.get(name) if el is not None else None


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def collect_host(handle: LibvirtHandle, out: TaskOutput, ctx: TaskContext) -> None:
    conn = handle.connection()
    ctx.checkpoint()
    model, memory_mib, cpus, *_ = conn.getInfo()
    out.add(
        Host(
            id=handle.host,
            name=handle.host,
            extra={
                "uri": handle.uri,
                "hostname": conn.getHostname(),
                "hypervisor": conn.getType(),
                "cpu_model": model,
                "cpus": cpus,
                "memory_mib": memory_mib,
                "read_write": handle.pool.is_read_write(handle.uri),
            },
            version=f"libvirt {_version(conn.getLibVersion())}, {conn.getType()} {_version(conn.getVersion())}",
            # libvirt has no view of the host's sshd or shell: unknown, not "off".
            ssh_enabled=None,
            shell_enabled=None,
            lockdown_mode=None,
        )
    )

"""vSphere collectors: VMs (with their disks), snapshots, ESXi hosts, datastores, networks.

Ids are managed object ids (``vm-66``, ``host-21``, ``snapshot-80``): unique within a vCenter, which is the
scope's account, and what a fix needs to address the object again. The scope's region is the datacenter, so
every collector reads below that datacenter's folder only.

Datastores have no record class of their own: they are stored as :class:`Setting` rows
(``datastore:<name>``) with capacity, free space and type, which is what the dashboards use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workbench.clock import iso
from workbench.errors import BadAnswer
from workbench.model import Host, Instance, Network, Setting, Snapshot, TaskOutput, Volume
from workbench.providers.base import TaskContext
from workbench.providers.vsphere.connection import (
    ServerSettings,
    SessionPool,
    import_pyvmomi,
    retrieve,
)

# The isolation / hardening advanced settings the VM checks look at (DISA vSphere VM STIG, VMware hardening guide).
HARDENING_KEYS = (
    "isolation.tools.copy.disable",
    "isolation.tools.paste.disable",
    "isolation.tools.dnd.disable",
    "isolation.tools.setGUIOptions.enable",
    "isolation.tools.diskShrink.disable",
    "isolation.tools.diskWiper.disable",
    "isolation.tools.hgfsServerSet.disable",
    "isolation.device.connectable.disable",
    "RemoteDisplay.maxConnections",
    "RemoteDisplay.vnc.enabled",
    "tools.setInfo.sizeLimit",
    "tools.guestlib.enableHostInfo",
)
# VM logging keys (the security configuration guide's log rotation settings); absent means the vSphere 8 default.
LOG_KEYS = ("logging", "log.keepOld", "log.rotateSize")
# ESXi advanced options the host checks judge; a key absent from the answer is judged by its ESXi 8 default.
HOST_OPTION_KEYS = (
    "UserVars.ESXiShellTimeOut",
    "UserVars.ESXiShellInteractiveTimeOut",
    "UserVars.DcuiTimeOut",
    "Syslog.global.logHost",
    "Config.HostAgent.plugins.solo.enableMob",
    "Net.BlockGuestBPDU",
    "Mem.ShareForceSalting",
    "Security.AccountLockFailures",
)
_STATES = {"poweredOn": "running", "poweredOff": "stopped", "suspended": "suspended"}
_VM_PATHS = [
    "name",
    "config.uuid",
    "config.instanceUuid",
    "config.guestId",
    "config.guestFullName",
    "config.firmware",
    "config.bootOptions",
    "config.hardware.device",
    "config.extraConfig",
    "config.keyId",
    "config.createDate",
    "config.annotation",
    "config.version",
    "config.migrateEncryption",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "runtime.powerState",
    "runtime.host",
    "guest.toolsVersionStatus2",
    "guest.toolsRunningStatus",
    "guest.toolsVersion",
    "guest.ipAddress",
    "network",
]
_VM_DEVICES = "config.hardware.device"
# Every VM has these; an answer without them is not vCenter's (the others may be unset, e.g. guest.ipAddress).
_VM_REQUIRED = ("name", _VM_DEVICES, "runtime.powerState")
_TPM_LABEL = re.compile(r"\bTPM\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class VsphereHandle:
    server: ServerSettings
    pool: SessionPool
    datacenter: Any  # vim.Datacenter

    def session(self) -> tuple[Any, Any]:
        return self.pool.get(self.server)


def _read(
    handle: VsphereHandle, root: Any, kind: Any, paths: list[str], required: tuple[str, ...]
) -> list[tuple[Any, dict[str, Any], str | None]]:
    """Every ``kind`` object under ``root`` with its properties, and why it is a failed item or None: the
    properties the collector could not read for it, or ``required`` ones the answer does not have (every
    such object has them, so an answer without them is not the API's answer)."""
    si, lock = handle.session()
    missing: dict[str, str] = {}
    with lock:
        rows = list(retrieve(si, root, kind, paths, missing))
    found = []
    for obj, props in rows:
        error = missing.get(obj._moId)
        absent = [path for path in required if props.get(path) is None]
        if absent and error is None:
            error = f"the answer has no {', '.join(absent)}, so it is not the API's answer"
        found.append((obj, props, f"{obj._moId}: {error}" if error else None))
    return found


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    return str(value).strip().lower() in ("true", "1", "yes")


def _device_kind(vim: Any, dev: Any) -> str | None:
    kinds = (
        (vim.vm.device.VirtualFloppy, "floppy"),
        (vim.vm.device.VirtualCdrom, "cdrom"),
        (vim.vm.device.VirtualSerialPort, "serial"),
        (vim.vm.device.VirtualParallelPort, "parallel"),
        (vim.vm.device.VirtualUSB, "usb"),
        (vim.vm.device.VirtualUSBController, "usb"),
    )
    return next((kind for cls, kind in kinds if isinstance(dev, cls)), None)


def _backing(dev: Any) -> str:
    b = dev.backing
    if b is None:
        return ""
    for attr in ("serviceURI", "fileName", "deviceName", "pipeName"):
        value = getattr(b, attr, None)
        if value:
            return f"{type(b).__name__.rsplit('.', 1)[-1]} {value}"
    return type(b).__name__.rsplit(".", 1)[-1]


def legacy_devices(vim: Any, devices: list[Any]) -> list[dict[str, Any]]:
    """Floppy, CD, serial, parallel and USB devices in the shape the libvirt collector uses too."""
    out = []
    for dev in devices:
        kind = _device_kind(vim, dev)
        if kind is None:
            continue
        conn = dev.connectable
        # A USB controller has no connectable; it is "connected" in the STIG's sense by being present.
        connected = (
            bool(conn.connected or conn.startConnected) if conn is not None else kind == "usb"
        )
        out.append(
            {
                "kind": kind,
                "label": dev.deviceInfo.label if dev.deviceInfo else str(dev.key),
                "key": dev.key,
                "connected": connected,
                "backing": _backing(dev),
            }
        )
    return out


def _vm_records(vim: Any, obj: Any, p: dict[str, Any]) -> tuple[Instance, list[Volume]]:
    devices = list(p.get("config.hardware.device") or [])
    extra_config = {o.key: o.value for o in p.get("config.extraConfig") or []}
    firmware = p.get("config.firmware")
    boot = p.get("config.bootOptions")
    secure = bool(boot and boot.efiSecureBootEnabled) if firmware == "efi" else False
    tpm_cls = getattr(vim.vm.device, "VirtualTPM", None)
    # vcsim (API 6.5) has no VirtualTPM type and keeps a TPM as a bare VirtualDevice: match its label too.
    vtpm = any(
        (tpm_cls is not None and isinstance(d, tpm_cls))
        or bool(d.deviceInfo and _TPM_LABEL.search(d.deviceInfo.label or ""))
        for d in devices
    )
    vm_key = p.get("config.keyId")
    vm_id = obj._moId
    guest = (p.get("config.guestId") or "").lower()
    disks = [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
    volumes = [_disk_record(vm_id, d, vm_key is not None) for d in disks]
    vnc = _truthy(extra_config.get("RemoteDisplay.vnc.enabled"))
    graphics = []
    if vnc:  # the ESXi VNC server listens on every host interface, on the VM's own port
        graphics.append(
            {
                "type": "vnc",
                "listen": "0.0.0.0",
                "listen_type": "host",
                "exposed": True,
                "has_password": bool(extra_config.get("RemoteDisplay.vnc.password")),
                "port": int(extra_config.get("RemoteDisplay.vnc.port") or 0) or None,
                "autoport": False,
            }
        )
    host = p.get("runtime.host")
    instance = Instance(
        id=vm_id,
        name=p.get("name", ""),
        created_at=iso(p.get("config.createDate")),
        extra={
            "uuid": p.get("config.uuid"),
            "instance_uuid": p.get("config.instanceUuid"),
            "guest_full_name": p.get("config.guestFullName"),
            "annotation": p.get("config.annotation") or "",
            "hardware_version": p.get("config.version"),
            "vcpus": p.get("config.hardware.numCPU"),
            "memory_mib": p.get("config.hardware.memoryMB"),
            "firmware": firmware,
            "vm_encrypted": vm_key is not None,
            "tools_version_status": p.get("guest.toolsVersionStatus2"),
            "tools_running_status": p.get("guest.toolsRunningStatus"),
            "tools_version": p.get("guest.toolsVersion"),
            "hardening": {k: extra_config.get(k) for k in HARDENING_KEYS},
            "logging": {k: extra_config.get(k) for k in LOG_KEYS},
            "migrate_encryption": p.get("config.migrateEncryption"),
            "legacy_devices": legacy_devices(vim, devices),
            "graphics": graphics,
            "host": host._moId if host is not None else None,
        },
        state=_STATES.get(str(p.get("runtime.powerState")), "unknown"),
        instance_type=f"{p.get('config.hardware.numCPU')} vCPU / {p.get('config.hardware.memoryMB')} MiB",
        platform="windows"
        if "windows" in guest
        else ("" if not guest or guest.startswith("other") else "linux"),
        private_ip=p.get("guest.ipAddress"),
        boot_mode={"efi": "uefi", "bios": "legacy-bios"}.get(str(firmware)),
        secure_boot=secure,
        vtpm=vtpm,
        managed=p.get("guest.toolsRunningStatus") == "guestToolsRunning",
        network_id=next((n._moId for n in p.get("network") or []), None),
        volume_ids=[v.id for v in volumes],
    )
    return instance, volumes


def _disk_record(vm_id: str, disk: Any, vm_encrypted: bool) -> Volume:
    backing = disk.backing
    path = getattr(backing, "fileName", None) or f"{vm_id}/disk-{disk.key}"
    encrypted = vm_encrypted or getattr(backing, "keyId", None) is not None
    datastore = getattr(backing, "datastore", None)
    return Volume(
        id=path,
        name=disk.deviceInfo.label if disk.deviceInfo else path.rsplit("/", 1)[-1],
        extra={
            "path": path,
            "datastore": datastore._moId if datastore is not None else None,
            "disk_mode": getattr(backing, "diskMode", None),
            "thin": getattr(backing, "thinProvisioned", None),
            "media": False,
            "device_key": disk.key,
        },
        state="in-use",
        size_gb=round((disk.capacityInKB or 0) / 2**20, 3),
        volume_type=type(backing).__name__.rsplit(".", 1)[-1] if backing is not None else "",
        encrypted=encrypted,
        # VM Encryption keys come from the customer's own key provider (KMS).
        encryption_type="cmk" if encrypted else "none",
        attached_to=[vm_id],
    )


def collect_vms(handle: VsphereHandle, out: TaskOutput, ctx: TaskContext) -> None:
    vim, _ = import_pyvmomi()
    rows = _read(handle, handle.datacenter.vmFolder, vim.VirtualMachine, _VM_PATHS, _VM_REQUIRED)
    for obj, props, error in rows:
        ctx.checkpoint()
        if error is not None and _VM_DEVICES in error:
            # The VM's disks are volumes of this task: with its devices unknown they cannot be named, so the
            # task fails and keeps every row, rather than dropping those volumes.
            raise BadAnswer(error)
        instance, volumes = _vm_records(vim, obj, props)
        out.add(instance, stale=error)  # a VM read in part: the cache keeps the row it knew
        for vol in volumes:
            out.add(vol, stale=error)
            out.relate("instance", instance.id, "attached", "volume", vol.id)
        if instance.network_id:
            out.relate("instance", instance.id, "in_network", "network", instance.network_id)


def collect_snapshots(handle: VsphereHandle, out: TaskOutput, ctx: TaskContext) -> None:
    vim, _ = import_pyvmomi()
    rows = _read(handle, handle.datacenter.vmFolder, vim.VirtualMachine, ["name", "snapshot"], ())
    for obj, props, error in rows:
        ctx.checkpoint()
        if error is not None:  # which snapshots this VM has is unknown: the task keeps them all
            raise BadAnswer(error)
        info = props.get("snapshot")
        if info is None:
            continue
        current = info.currentSnapshot._moId if info.currentSnapshot is not None else None
        _walk(out, obj._moId, props.get("name", ""), info.rootSnapshotList, None, current)


def _walk(
    out: TaskOutput, vm_id: str, vm_name: str, nodes: Any, parent: Any, current: str | None
) -> None:
    for node in nodes or []:
        sid = node.snapshot._moId
        out.add(
            Snapshot(
                id=sid,
                name=node.name,
                created_at=iso(node.createTime),
                extra={
                    "vm": vm_name,
                    "parent": parent.name if parent is not None else None,
                    "parent_id": parent.snapshot._moId if parent is not None else None,
                    "current": sid == current,
                    "children": len(node.childSnapshotList or []),
                    "description": node.description or "",
                    "quiesced": bool(node.quiesced),
                    "memory": node.state == "poweredOn",
                },
                state=str(node.state or ""),
                source_instance_id=vm_id,
            )
        )
        out.relate("snapshot", sid, "snapshot_of", "instance", vm_id)
        _walk(out, vm_id, vm_name, node.childSnapshotList, node, current)


def collect_hosts(handle: VsphereHandle, out: TaskOutput, ctx: TaskContext) -> None:
    vim, _ = import_pyvmomi()
    paths = [
        "name",
        "config.service",
        "config.lockdownMode",
        "config.product",
        "config.network.vswitch",
        "config.network.portgroup",
        "config.dateTimeInfo",
        "configManager.advancedOption",
        "runtime.connectionState",
        "runtime.inMaintenanceMode",
    ]
    rows = _read(handle, handle.datacenter.hostFolder, vim.HostSystem, paths, ("name",))
    for obj, p, error in rows:
        ctx.checkpoint()
        services = {
            s.key: {"running": bool(s.running), "policy": s.policy, "label": s.label}
            for s in (p["config.service"].service if p.get("config.service") else [])
        }
        product = p.get("config.product")

        options, options_error = _host_options(handle, p.get("configManager.advancedOption"))
        error = error or options_error

        def running(key: str, services: dict[str, Any] = services) -> bool | None:
            return services[key]["running"] if key in services else None

        out.add(
            Host(
                id=obj._moId,
                name=p.get("name", ""),
                extra={
                    "services": services,
                    "connection_state": p.get("runtime.connectionState"),
                    "maintenance_mode": p.get("runtime.inMaintenanceMode"),
                    "build": product.build if product else None,
                    "port_groups": port_group_security(
                        p.get("config.network.vswitch"), p.get("config.network.portgroup")
                    ),
                    "ntp_servers": ntp_servers(p.get("config.dateTimeInfo")),
                    "options": options,
                },
                version=product.fullName if product else "",
                ssh_enabled=running("TSM-SSH"),
                shell_enabled=running("TSM"),
                lockdown_mode=p.get("config.lockdownMode"),
            ),
            stale=error,  # services not read are unknown, not stopped: the cache keeps what it knew
        )


def _host_options(handle: VsphereHandle, manager: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The judged advanced options (absent keys None: their default), or None and why when unreadable."""
    if manager is None:
        return None, None
    _si, lock = handle.session()
    try:
        with lock:
            answer = manager.QueryOptions()
    except Exception as exc:  # any fault: the host's row is kept stale, never rewritten as "unset"
        return None, f"{manager._moId}: advanced options unreadable: {type(exc).__name__}"
    found = {o.key: o.value for o in answer or [] if o.key in HOST_OPTION_KEYS}
    return {k: found.get(k) for k in HOST_OPTION_KEYS}, None


def port_group_security(vswitches: Any, port_groups: Any) -> list[dict[str, Any]]:
    """Each standard port group's effective security policy: its own override, else its vSwitch's."""
    switch_policy = {}
    for vs in vswitches or []:
        policy = vs.spec.policy if vs.spec is not None else None
        switch_policy[vs.name] = policy.security if policy is not None else None
    out = []
    for pg in port_groups or []:
        spec = pg.spec
        own = spec.policy.security if spec.policy is not None else None
        inherited = switch_policy.get(spec.vswitchName)
        effective = {}
        for attr in ("allowPromiscuous", "macChanges", "forgedTransmits"):
            value = getattr(own, attr, None) if own is not None else None
            if value is None and inherited is not None:
                value = getattr(inherited, attr, None)
            effective[attr] = value
        out.append({"name": spec.name, "vswitch": spec.vswitchName, **effective})
    return out


def ntp_servers(info: Any) -> list[str] | None:
    """The host's NTP servers; None when the answer has no date/time configuration (unknown, not unset)."""
    if info is None or info.ntpConfig is None:
        return None
    return list(info.ntpConfig.server or [])


def collect_datastores(handle: VsphereHandle, out: TaskOutput, ctx: TaskContext) -> None:
    vim, _ = import_pyvmomi()
    paths = ["name", "summary", "vm"]
    rows = _read(
        handle, handle.datacenter.datastoreFolder, vim.Datastore, paths, ("name", "summary")
    )
    for obj, p, error in rows:
        ctx.checkpoint()
        name = p.get("name")
        if (
            name is None
        ):  # a datastore's row is named by its name: without it the row cannot be kept
            raise BadAnswer(error or f"{obj._moId}: the answer has no name")
        s = p.get("summary")
        value = None
        if s is not None:
            value = {
                "moid": obj._moId,
                "type": s.type,
                "capacity_gb": round(s.capacity / 2**30, 1),
                "free_gb": round(s.freeSpace / 2**30, 1),
                "accessible": bool(s.accessible),
                "url": s.url,
                "vm_count": len(p.get("vm") or []),
            }
        out.add(Setting(id=f"datastore:{name}", name=name, value=value), stale=error)


def collect_networks(handle: VsphereHandle, out: TaskOutput, ctx: TaskContext) -> None:
    vim, _ = import_pyvmomi()
    rows = _read(handle, handle.datacenter.networkFolder, vim.Network, ["name"], ("name",))
    for obj, p, error in rows:
        ctx.checkpoint()
        kind = "dvportgroup" if isinstance(obj, vim.dvs.DistributedVirtualPortgroup) else "standard"
        out.add(Network(id=obj._moId, name=p.get("name", ""), extra={"type": kind}), stale=error)

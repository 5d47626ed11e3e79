"""vSphere fixes: isolation extraConfig (undoable), legacy device removal (undoable), old snapshots (irreversible).

Every call is one ``ReconfigVM_Task`` / ``RemoveSnapshot_Task`` waited to completion on the pooled session of the
server (``VsphereClients``). Live state is read with the PropertyCollector (see ``providers.vsphere.connection``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from workbench.clock import iso
from workbench.fixes.base import (
    REVERSIBLE,
    DryRunOutcome,
    Fix,
    FixContext,
    FixError,
    FixInput,
    PlanItem,
    Target,
)
from workbench.fixes.onprem import RETENTION_INPUT, DeleteOldSnapshotFix, host_item
from workbench.providers.vsphere.collect import legacy_devices
from workbench.providers.vsphere.connection import import_pyvmomi, retrieve

if TYPE_CHECKING:
    from workbench.fixes.journal import JournalEntry

# DISA vSphere 7.0 VM STIG VMCH-70-000001 (copy), -000002 (drag and drop), -000003 (paste), -000016 (devices).
ISOLATION = {
    "isolation.tools.copy.disable": "TRUE",
    "isolation.tools.paste.disable": "TRUE",
    "isolation.tools.dnd.disable": "TRUE",
    "isolation.device.connectable.disable": "TRUE",
}
REMOVABLE = ("floppy", "serial", "parallel")


def _vm_props(ctx: FixContext, target: Target, paths: list[str]) -> dict[str, Any] | None:
    vim, _ = import_pyvmomi()
    si, lock = ctx.clients("vsphere").session(target.account)
    with lock:
        vm = vim.VirtualMachine(target.resource_id, si._stub)
        for obj, props in retrieve(si, si.RetrieveContent().rootFolder, vim.VirtualMachine, paths):
            if obj._moId == vm._moId:
                return props
    return None


def _reconfig(ctx: FixContext, account: str, vm_id: str, spec: Any) -> None:
    from pyVim.task import WaitForTask

    vim, _ = import_pyvmomi()
    si, lock = ctx.clients("vsphere").session(account)
    with lock:
        WaitForTask(vim.VirtualMachine(vm_id, si._stub).ReconfigVM_Task(spec))


def _item(target: Target, operation: str, params: dict[str, Any], description: str) -> PlanItem:
    return host_item(target, "vim", operation, params, description)


class SetIsolation(Fix):
    id: ClassVar[str] = "vsphere.vm.set_isolation"
    title: ClassVar[str] = "Disable console copy/paste/drag-and-drop and guest device connection"
    provider: ClassVar[str] = "vsphere"
    safety: ClassVar[str] = REVERSIBLE
    resource_kind: ClassVar[str] = "instance"
    permissions: ClassVar[tuple[str, ...]] = ("VirtualMachine.Config.AdvancedConfig",)
    notes: ClassVar[tuple[str, ...]] = (
        "The settings take effect at the VM's next cold boot (power off and on), not at a guest reboot.",
    )
    verb: ClassVar[str] = "reconfigure"
    noun: ClassVar[str] = "VMs"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        props = _vm_props(ctx, target, ["config.extraConfig"])
        if props is None:
            return {"exists": False}
        extra = {o.key: o.value for o in props.get("config.extraConfig") or []}
        # An empty value is how vSphere deletes a key: treat it as absent.
        return {"exists": True, "settings": {k: (extra.get(k) or None) for k in ISOLATION}}

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists"):
            return []
        wanted = {k: v for k, v in ISOLATION.items() if str(live["settings"][k]).upper() != v}
        if not wanted:
            return []
        return [
            _item(
                target,
                "ReconfigVM_Task",
                {"vm": target.resource_id, "extraConfig": wanted},
                f"set {', '.join(sorted(wanted))} = TRUE",
            )
        ]

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        settings = live.get("settings", {})
        return all(str(settings.get(k)).upper() == v for k, v in ISOLATION.items())

    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        vim, _ = import_pyvmomi()
        values = item.params["extraConfig"]
        opts = [
            vim.option.OptionValue(key=k, value=v if v is not None else "")
            for k, v in values.items()
        ]
        _reconfig(ctx, item.account, item.params["vm"], vim.vm.ConfigSpec(extraConfig=opts))
        return {"extraConfig": values}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        return DryRunOutcome("plan_only", "vSphere has no dry-run for ReconfigVM_Task")

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = (entry.before or {}).get("settings") or {}
        changed = entry.item.params["extraConfig"]
        restore = {k: before.get(k) for k in changed}  # None → "" removes a key that was absent
        return [
            _item(
                entry.target,
                "ReconfigVM_Task",
                {"vm": entry.target.resource_id, "extraConfig": restore},
                "restore the previous isolation settings",
            )
        ]


def _device_spec(vim: Any, dev: Any) -> dict[str, Any]:
    """A device as JSON: enough to identify it (controller, unit) and to add it back on undo."""
    b = dev.backing
    backing: dict[str, Any] = {"type": type(b).__name__ if b is not None else None}
    for attr in (
        "deviceName",
        "fileName",
        "serviceURI",
        "direction",
        "pipeName",
        "endpoint",
        "noRxLoss",
    ):
        value = getattr(b, attr, None) if b is not None else None
        if value is not None:
            backing[attr] = value
    conn = dev.connectable
    return {
        "kind": next(d["kind"] for d in legacy_devices(vim, [dev])),
        "controller_key": dev.controllerKey,
        "unit": dev.unitNumber,
        "backing": backing,
        "start_connected": bool(conn.startConnected) if conn else False,
        "yield_on_poll": getattr(dev, "yieldOnPoll", None),
    }


def _device_from_spec(vim: Any, spec: dict[str, Any]) -> Any:
    classes = {
        "floppy": vim.vm.device.VirtualFloppy,
        "serial": vim.vm.device.VirtualSerialPort,
        "parallel": vim.vm.device.VirtualParallelPort,
    }
    data = dict(spec["backing"])
    backing_type = data.pop("type")
    backing = None
    if backing_type:
        backing_cls = getattr(vim, backing_type.removeprefix("vim."), None)
        if backing_cls is None:
            owner, _, leaf = backing_type.removeprefix("vim.").rpartition(".")
            backing_cls = getattr(_resolve(vim, owner), leaf)
        backing = backing_cls(**data)
    dev = classes[spec["kind"]](
        key=-1,
        controllerKey=spec["controller_key"],
        unitNumber=spec["unit"],
        backing=backing,
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=spec["start_connected"], connected=False, allowGuestControl=True
        ),
    )
    if spec.get("yield_on_poll") is not None:
        dev.yieldOnPoll = spec["yield_on_poll"]
    return dev


def _resolve(vim: Any, dotted: str) -> Any:
    obj = vim
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


class RemoveLegacyDevices(Fix):
    id: ClassVar[str] = "vsphere.vm.remove_legacy_devices"
    title: ClassVar[str] = "Remove floppy, serial and parallel devices from a powered-off VM"
    provider: ClassVar[str] = "vsphere"
    safety: ClassVar[str] = REVERSIBLE
    resource_kind: ClassVar[str] = "instance"
    permissions: ClassVar[tuple[str, ...]] = (
        "VirtualMachine.Config.RemoveDisk",
        "VirtualMachine.Config.AddRemoveDevice",
    )
    notes: ClassVar[tuple[str, ...]] = (
        "ESXi removes these devices only from a powered-off VM; the plan refuses a running one.",
        "Undo adds equivalent devices back (same controller, unit and backing; a new device key).",
        "CD/DVD and USB are left alone: disconnect media by hand where the guest still needs the drive.",
    )
    verb: ClassVar[str] = "reconfigure"
    noun: ClassVar[str] = "VMs"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        vim, _ = import_pyvmomi()
        props = _vm_props(ctx, target, ["config.hardware.device", "runtime.powerState"])
        if props is None:
            return {"exists": False}
        specs = [
            _device_spec(vim, d)
            for d in props.get("config.hardware.device") or []
            if any(k["kind"] in REMOVABLE for k in legacy_devices(vim, [d]))
        ]
        return {
            "exists": True,
            "power_state": str(props.get("runtime.powerState")),
            "devices": sorted(specs, key=lambda s: (s["controller_key"], s["unit"])),
        }

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or not live["devices"]:
            return []
        if live["power_state"] != "poweredOff":
            raise FixError(f"{target.resource_id} is {live['power_state']}: power it off first")
        remove = [
            {"kind": d["kind"], "controller_key": d["controller_key"], "unit": d["unit"]}
            for d in live["devices"]
        ]
        return [
            _item(
                target,
                "ReconfigVM_Task",
                {"vm": target.resource_id, "remove": remove},
                "remove " + ", ".join(d["kind"] for d in remove),
            )
        ]

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("devices")

    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        vim, _ = import_pyvmomi()
        target = Target("", "", "instance", item.params["vm"], "vsphere", item.account, item.region)
        changes = []
        if item.params.get("remove"):
            wanted = {(d["controller_key"], d["unit"]) for d in item.params["remove"]}
            props = _vm_props(ctx, target, ["config.hardware.device"]) or {}
            devices = [
                d
                for d in props.get("config.hardware.device") or []
                if (d.controllerKey, d.unitNumber) in wanted
            ]
            if len(devices) != len(wanted):
                raise FixError("the VM's devices changed since the plan")
            changes = [
                vim.vm.device.VirtualDeviceSpec(operation="remove", device=d) for d in devices
            ]
        for spec in item.params.get("add") or []:
            changes.append(
                vim.vm.device.VirtualDeviceSpec(
                    operation="add", device=_device_from_spec(vim, spec)
                )
            )
        _reconfig(ctx, item.account, item.params["vm"], vim.vm.ConfigSpec(deviceChange=changes))
        return {"changed": len(changes)}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        return DryRunOutcome("plan_only", "vSphere has no dry-run for ReconfigVM_Task")

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        devices = (entry.before or {}).get("devices") or []
        return (
            [
                _item(
                    entry.target,
                    "ReconfigVM_Task",
                    {"vm": entry.target.resource_id, "add": devices},
                    "add the removed devices back",
                )
            ]
            if devices
            else []
        )


class DeleteOldSnapshot(DeleteOldSnapshotFix):
    id: ClassVar[str] = "vsphere.snapshot.delete_old"
    title: ClassVar[str] = "Delete a VM snapshot older than the retention (default 72 hours)"
    provider: ClassVar[str] = "vsphere"
    permissions: ClassVar[tuple[str, ...]] = ("VirtualMachine.State.RemoveSnapshot",)
    inputs: ClassVar[tuple[FixInput, ...]] = (RETENTION_INPUT,)
    notes: ClassVar[tuple[str, ...]] = (
        "The snapshot's delta disk is consolidated into its parent; its point in time is gone for good.",
        "Consolidating a large, old delta generates heavy datastore I/O: prefer a quiet hour.",
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        vim, _ = import_pyvmomi()
        si, lock = ctx.clients("vsphere").session(target.account)
        with lock:
            rows = list(
                retrieve(
                    si, si.RetrieveContent().rootFolder, vim.VirtualMachine, ["name", "snapshot"]
                )
            )
        for _obj, props in rows:
            node = _find(props.get("snapshot"), target.resource_id)
            if node is not None:
                return {
                    "exists": True,
                    "vm": props["name"],
                    "snapshot": node.name,
                    "created_at": iso(node.createTime),
                }
        return {"exists": False}

    def delete_item(self, target: Target, live: dict[str, Any]) -> PlanItem:
        params = {"snapshot": target.resource_id, "removeChildren": False, "consolidate": True}
        return _item(
            target,
            "RemoveSnapshot_Task",
            params,
            f"delete snapshot {live['snapshot']} of {live['vm']} (created {live['created_at']})",
        )

    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        vim, _ = import_pyvmomi()
        si, lock = ctx.clients("vsphere").session(item.account)
        p = item.params
        with lock:
            snap = vim.vm.Snapshot(p["snapshot"], si._stub)
            _wait_state(
                si,
                snap.RemoveSnapshot_Task(
                    removeChildren=p["removeChildren"], consolidate=p["consolidate"]
                ),
            )
        return {"deleted": p["snapshot"]}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        return DryRunOutcome("plan_only", "vSphere has no dry-run for RemoveSnapshot_Task")


def _wait_state(si: Any, task: Any, timeout: float = 600.0) -> None:
    """Wait for a task by polling only ``info.state`` (and ``info.error``).

    Not pyVim's WaitForTask: it reads the whole ``info``, and vcsim 0.24 puts the Snapshot in ``info.entity``
    (typed ManagedEntity), which pyVmomi refuses to deserialize.
    """
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _task_prop(si, task, "info.state")
        if state == "success":
            return
        if state == "error":
            error = _task_prop(si, task, "info.error")
            raise FixError(getattr(error, "msg", None) or str(error))
        time.sleep(0.2)
    raise FixError("the vSphere task did not finish in time")


def _task_prop(si: Any, task: Any, path: str) -> Any:
    _, vmodl = import_pyvmomi()
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=task, skip=False)],
        propSet=[pc.PropertySpec(type=type(task), pathSet=[path])],
    )
    found = si.RetrieveContent().propertyCollector.RetrieveContents([spec])
    props = found[0].propSet if found else []
    return props[0].val if props else None


def _find(info: Any, moid: str) -> Any:
    stack = list(info.rootSnapshotList) if info is not None else []
    while stack:
        node = stack.pop()
        if node.snapshot._moId == moid:
            return node
        stack.extend(node.childSnapshotList or [])
    return None

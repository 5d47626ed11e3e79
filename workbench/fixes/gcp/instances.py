"""VM fixes: block project-wide SSH keys, disable the serial port (metadata), enable Shielded VM features.

Metadata fixes carry only the key they change; the live state holds that key's value and a digest of the rest
(so a plan goes stale when any metadata changes, without copying startup scripts into the journal).
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.base import REVERSIBLE, FixContext, PlanItem, Target
from workbench.fixes.gcp.common import GcpFix, is_not_found, value_digest, zone_and_name
from workbench.fixes.journal import JournalEntry
from workbench.providers.gcp.util import as_dict, truthy

SHIELDED = ("enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring")
_OFF = ("TERMINATED", "STOPPED")


def _where(target: Target) -> dict[str, str]:
    zone, name = zone_and_name(target)
    return {"project": target.account, "zone": zone, "instance": name}


class _InstanceFix(GcpFix):
    resource_kind: ClassVar[str] = "instance"
    safety: ClassVar[str] = REVERSIBLE
    noun: ClassVar[str] = "VMs"

    def _get(self, ctx: FixContext, target: Target) -> dict[str, Any] | None:
        client = self.compute(ctx, "InstancesClient")
        try:
            return as_dict(client.get(**_where(target), **self.clients(ctx).call_kwargs))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise


class _MetadataFlag(_InstanceFix):
    """Set one metadata key of a VM to a value; undo puts back the old value or removes the key."""

    key: ClassVar[str]
    value: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]] = (
        "compute.instances.get",
        "compute.instances.setMetadata",
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        vm = self._get(ctx, target)
        if vm is None:
            return {"exists": False}
        items = {
            i["key"]: i.get("value", "") for i in (vm.get("metadata") or {}).get("items") or []
        }
        others = {k: v for k, v in items.items() if k != self.key}
        return {"exists": True, "value": items.get(self.key), "others": value_digest(others)}

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or self.is_fixed(live, inputs):
            return []
        params = {**_where(target), "set": {self.key: self.value}}
        return [
            self.call(
                target, "instances.setMetadata", params, f"set metadata {self.key}={self.value}"
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = entry.before or {}
        if not before.get("exists"):
            return []
        params: dict[str, Any] = {k: entry.item.params[k] for k in ("project", "zone", "instance")}
        if before.get("value") is None:
            params["unset"] = [self.key]
            text = f"remove metadata {self.key} (it was not set)"
        else:
            params["set"] = {self.key: before["value"]}
            text = f"set metadata {self.key}={before['value']} as before"
        return [self.call(entry.target, "instances.setMetadata", params, text)]


class BlockProjectSshKeys(_MetadataFlag):
    id: ClassVar[str] = "gcp.instance.block_project_ssh_keys"
    title: ClassVar[str] = "Block project-wide SSH keys on a VM"
    key: ClassVar[str] = "block-project-ssh-keys"
    value: ClassVar[str] = "true"
    notes: ClassVar[tuple[str, ...]] = (
        (
            "Users who reach the VM only through a project-wide key lose SSH access to it; give them "
            "instance keys or OS Login first."
        ),
    )

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return bool(truthy(live.get("value")))


class DisableSerialPort(_MetadataFlag):
    id: ClassVar[str] = "gcp.instance.disable_serial_port"
    title: ClassVar[str] = "Disable the interactive serial console on a VM"
    key: ClassVar[str] = "serial-port-enable"
    # An explicit "false" on the VM, not a removed key: without it the VM inherits the project's value.
    value: ClassVar[str] = "false"

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return truthy(live.get("value")) is False


class EnableShieldedVm(_InstanceFix):
    id: ClassVar[str] = "gcp.instance.enable_shielded_vm"
    title: ClassVar[str] = "Enable Secure Boot, vTPM and integrity monitoring (stop, update, start)"
    permissions: ClassVar[tuple[str, ...]] = (
        "compute.instances.get",
        "compute.instances.stop",
        "compute.instances.start",
        "compute.instances.updateShieldedInstanceConfig",
    )
    notes: ClassVar[tuple[str, ...]] = (
        "A running VM is stopped for the change and started again: plan a maintenance window.",
        "The boot image must support Shielded VM (UEFI); otherwise the update is refused.",
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        vm = self._get(ctx, target)
        if vm is None:
            return {"exists": False}
        config = vm.get("shieldedInstanceConfig") or {}
        return {
            "exists": True,
            "status": vm.get("status", ""),
            "shielded": {k: bool(config.get(k)) for k in SHIELDED},
        }

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return all(live.get("shielded", {}).values()) and bool(live.get("shielded"))

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or self.is_fixed(live, inputs):
            return []
        where = _where(target)
        body = {k: True for k in SHIELDED}
        update = self.call(
            target,
            "instances.updateShieldedInstanceConfig",
            {**where, "body": body},
            "enable Secure Boot, vTPM and integrity monitoring",
        )
        if live["status"] in _OFF:
            return [update]
        update.requires = [0]
        return [
            self.call(
                target, "instances.stop", dict(where), "stop the VM (required for the change)"
            ),
            update,
            self.call(target, "instances.start", dict(where), "start the VM again", requires=[1]),
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        if live.get("status") in _OFF:
            return []
        return [f"{target.resource_id} is restarted: its workload is down while it stops and boots"]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item, target = entry.item, entry.target
        where = {k: item.params[k] for k in ("project", "zone", "instance")}
        if item.operation == "instances.stop":
            return [self.call(target, "instances.start", where, "start the VM again (undo stop)")]
        if item.operation == "instances.start":
            return [self.call(target, "instances.stop", where, "stop the VM (undo start)")]
        before = (entry.before or {}).get("shielded")
        if not before:
            return []
        return [
            self.call(
                target,
                "instances.updateShieldedInstanceConfig",
                {**where, "body": dict(before)},
                "restore the Shielded VM settings",
            )
        ]

"""Managed disks and snapshots: stop exports from any network, and revoke a live SAS export.

Both resource types share the ARM shape (``networkAccessPolicy``, ``publicNetworkAccess``, ``diskState``) and the
same two operations, so each fix is written once and declared twice (disk and snapshot).
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.azure.common import AzureFix, is_not_found, parse_arm, rest_json
from workbench.fixes.base import IRREVERSIBLE, REVERSIBLE, FixContext, PlanItem, Target
from workbench.fixes.journal import JournalEntry

SAS_STATES = {"activesas", "activesasfrozen"}
# What ARM reports when a property was never set: restoring "absent" means restoring its default.
DEFAULT_POLICY, DEFAULT_PUBLIC = "AllowAll", "Enabled"


class _DiskLike(AzureFix):
    """Disk and snapshot plumbing: which operation group, which name argument, which body argument."""

    group: ClassVar[str] = "disks"  # or "snapshots"
    name_arg: ClassVar[str] = "disk_name"
    body_arg: ClassVar[str] = "disk"
    op_prefix: ClassVar[str] = "Disks"

    def names(self, target: Target) -> dict[str, str]:
        _, group, name = parse_arm(target.resource_id)
        return {"resource_group_name": group, self.name_arg: name}

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        sub, group, name = parse_arm(target.resource_id)
        ops = getattr(self.client(ctx, "compute", sub), self.group)
        try:
            props = rest_json(ops.get(group, name)).get("properties") or {}
        except Exception as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        # Only what the plans depend on: a disk being attached or resized must not make a plan stale.
        return {
            "exists": True,
            "network_access_policy": props.get("networkAccessPolicy"),
            "public_network_access": props.get("publicNetworkAccess"),
            "disk_access_id": props.get("diskAccessId"),
            "sas_active": str(props.get("diskState") or "").lower() in SAS_STATES,
        }


class _DenyNetworkAccess(_DiskLike):
    title: ClassVar[str] = "Stop exports from any network (DenyAll, public network access Disabled)"
    safety: ClassVar[str] = REVERSIBLE
    notes: ClassVar[tuple[str, ...]] = (
        "Undo restores the exact previous networkAccessPolicy and publicNetworkAccess.",
        "A SAS URL generated before the change is revoked separately (azure.disk.revoke_sas).",
    )
    verb: ClassVar[str] = "lock down"

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        if not live.get("exists"):
            return True
        policy = str(live.get("network_access_policy") or DEFAULT_POLICY).lower()
        public = str(live.get("public_network_access") or DEFAULT_PUBLIC).lower()
        return policy != "allowall" or public == "disabled"  # the check's own condition (SNP-06)

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        body = {"properties": {"networkAccessPolicy": "DenyAll", "publicNetworkAccess": "Disabled"}}
        return [
            self.call(
                target,
                f"{self.op_prefix}_Update",
                {**self.names(target), self.body_arg: body},
                "set networkAccessPolicy DenyAll and publicNetworkAccess Disabled",
            )
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = ["no new SAS export or upload is possible until the policy is opened again"]
        if live.get("disk_access_id"):
            lines.append(f"private-endpoint exports through {live['disk_access_id']} stop too")
        return lines

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before, target = entry.before or {}, entry.target
        if not before.get("exists"):
            return []
        body = {
            "properties": {
                "networkAccessPolicy": before.get("network_access_policy") or DEFAULT_POLICY,
                "publicNetworkAccess": before.get("public_network_access") or DEFAULT_PUBLIC,
            }
        }
        text = ", ".join(f"{k} {v}" for k, v in body["properties"].items())
        return [
            self.call(
                target,
                f"{self.op_prefix}_Update",
                {**self.names(target), self.body_arg: body},
                f"restore {text}",
            )
        ]


class _RevokeSas(_DiskLike):
    title: ClassVar[str] = "Revoke the active SAS export (endGetAccess)"
    # The URL cannot be brought back (a new export mints another one) and a copy already taken cannot be
    # recalled: this is not undoable, whatever the state flag says.
    safety: ClassVar[str] = IRREVERSIBLE
    notes: ClassVar[tuple[str, ...]] = (
        "Exposure is never reversible: whoever downloaded the image through the SAS URL keeps the copy.",
        "Open an incident; the activity log's beginGetAccess entries say who exported it, and when.",
        "A running export (a copy in progress) fails when access is revoked.",
    )
    verb: ClassVar[str] = "revoke"
    noun: ClassVar[str] = "exports"

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not live.get("sas_active")

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        return [
            self.call(
                target,
                f"{self.op_prefix}_RevokeAccess",
                self.names(target),
                "revoke the SAS download URL (endGetAccess)",
            )
        ]


class _SnapshotMixin:
    group: ClassVar[str] = "snapshots"
    name_arg: ClassVar[str] = "snapshot_name"
    body_arg: ClassVar[str] = "snapshot"
    op_prefix: ClassVar[str] = "Snapshots"
    resource_kind: ClassVar[str] = "snapshot"
    noun: ClassVar[str] = "snapshots"


class DenyDiskNetworkAccess(_DenyNetworkAccess):
    id: ClassVar[str] = "azure.disk.deny_network_access"
    resource_kind: ClassVar[str] = "volume"
    noun: ClassVar[str] = "disks"
    permissions: ClassVar[tuple[str, ...]] = (
        "Microsoft.Compute/disks/read",
        "Microsoft.Compute/disks/write",
    )


class DenySnapshotNetworkAccess(_SnapshotMixin, _DenyNetworkAccess):
    id: ClassVar[str] = "azure.snapshot.deny_network_access"
    permissions: ClassVar[tuple[str, ...]] = (
        "Microsoft.Compute/snapshots/read",
        "Microsoft.Compute/snapshots/write",
    )


class RevokeDiskSas(_RevokeSas):
    id: ClassVar[str] = "azure.disk.revoke_sas"
    resource_kind: ClassVar[str] = "volume"
    permissions: ClassVar[tuple[str, ...]] = (
        "Microsoft.Compute/disks/read",
        "Microsoft.Compute/disks/endGetAccess/action",
    )


class RevokeSnapshotSas(_SnapshotMixin, _RevokeSas):
    id: ClassVar[str] = "azure.snapshot.revoke_sas"
    noun: ClassVar[str] = "exports"
    permissions: ClassVar[tuple[str, ...]] = (
        "Microsoft.Compute/snapshots/read",
        "Microsoft.Compute/snapshots/endGetAccess/action",
    )

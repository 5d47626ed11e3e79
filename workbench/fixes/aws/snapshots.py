"""EBS snapshot sharing: revoke public access, revoke accounts outside the allowlist.

Calls use the flat ``GroupNames`` / ``UserIds`` form of ModifySnapshotAttribute (moto ignores the structured
``CreateVolumePermission={"Add"/"Remove": ...}`` form; both are valid on AWS). Undo adds back exactly the grants
the call removed, taken from the journal's before-state (see ``sharing``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.aws.common import is_not_found
from workbench.fixes.aws.sharing import (
    RevokeForeignSharing,
    RevokePublicSharing,
    SharingFix,
    grants_state,
)
from workbench.fixes.base import FixContext, Target


class _SnapshotSharing(SharingFix):
    resource_kind: ClassVar[str] = "snapshot"
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeSnapshotAttribute",
        "ec2:ModifySnapshotAttribute",
        "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
    )
    noun: ClassVar[str] = "snapshots"
    operation: ClassVar[str] = "ModifySnapshotAttribute"
    id_param: ClassVar[str] = "SnapshotId"
    attribute: ClassVar[str] = "createVolumePermission"
    groups_param: ClassVar[str] = "GroupNames"
    restore_description: ClassVar[str] = "restore the sharing removed"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            resp = self.ec2(ctx, target).describe_snapshot_attribute(
                SnapshotId=target.resource_id, Attribute=self.attribute
            )
        except ClientError as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        return grants_state(resp.get("CreateVolumePermissions", []))

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = []
        try:
            ec2 = self.ec2(ctx, target)
            snap = ec2.describe_snapshots(SnapshotIds=[target.resource_id])["Snapshots"][0]
            vol_id = snap.get("VolumeId")
            if vol_id:
                try:
                    vols = ec2.describe_volumes(VolumeIds=[vol_id])["Volumes"]
                    users = sorted(
                        {a["InstanceId"] for v in vols for a in v.get("Attachments", [])}
                    )
                    lines.append(
                        f"source volume {vol_id}, attached to {', '.join(users) or 'nothing'}"
                    )
                except Exception:
                    lines.append(f"source volume {vol_id} (no longer exists)")
        except Exception as exc:  # blast radius is informative; never block a plan on it
            lines.append(f"related resources unknown: {exc}")
        return lines


class RevokePublicSnapshot(_SnapshotSharing, RevokePublicSharing):
    id: ClassVar[str] = "aws.snapshot.revoke_public"
    title: ClassVar[str] = "Revoke public snapshot sharing"
    public_description: ClassVar[str] = "remove public (all) create-volume permission"

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = super().blast_radius(ctx, target, live, inputs)
        return ["every AWS account loses create-volume access", *lines]


class RevokeForeignSnapshotShares(_SnapshotSharing, RevokeForeignSharing):
    id: ClassVar[str] = "aws.snapshot.revoke_foreign_shares"
    title: ClassVar[str] = "Revoke snapshot sharing with accounts outside the allowlist"
    foreign_description: ClassVar[str] = (
        "remove create-volume permission of {count} account(s) outside the allowlist"
    )

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lost = self.foreign(target, live, inputs)
        lines = super().blast_radius(ctx, target, live, inputs)
        return [f"accounts that lose access: {', '.join(lost) or 'none'}", *lines]

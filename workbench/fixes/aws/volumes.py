"""Orphaned EBS volumes: snapshot, wait for the snapshot, then delete the volume."""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix, is_not_found, tag_map
from workbench.fixes.base import IRREVERSIBLE, FixContext, PlanItem, Target


class DeleteOrphanVolume(AwsFix):
    id: ClassVar[str] = "aws.volume.delete_orphan"
    title: ClassVar[str] = "Delete an unattached volume (snapshot first)"
    resource_kind: ClassVar[str] = "volume"
    safety: ClassVar[str] = IRREVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeVolumes",
        "ec2:CreateSnapshot",
        "ec2:DescribeSnapshots",
        "ec2:CreateTags",
        "ec2:DeleteVolume",
    )
    notes: ClassVar[tuple[str, ...]] = (
        "The snapshot keeps the data (and costs storage); a new volume made from it gets a new id.",
    )
    verb: ClassVar[str] = "delete"
    noun: ClassVar[str] = "volumes"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            vols = self.ec2(ctx, target).describe_volumes(VolumeIds=[target.resource_id])["Volumes"]
        except ClientError as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        if not vols:
            return {"exists": False}
        vol = vols[0]
        return {
            "exists": True,
            "state": vol.get("State", ""),
            "attached_to": sorted(a["InstanceId"] for a in vol.get("Attachments", [])),
            "size_gb": vol.get("Size"),
            "tags": tag_map(vol.get("Tags")),
        }

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        # The check flags volumes in state "available"; one attached since is no longer an orphan.
        return not live.get("exists") or live.get("state") != "available"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        vid = target.resource_id
        tags = [{"Key": "vmwb:source-volume", "Value": vid}]
        tags += [
            {"Key": k, "Value": v}
            for k, v in sorted(live.get("tags", {}).items())
            if not k.startswith("aws:")
        ][:40]
        params = {
            "VolumeId": vid,
            "Description": f"vmwb: {vid} before deleting it as orphaned",
            "TagSpecifications": [{"ResourceType": "snapshot", "Tags": tags}],
        }
        return [
            self.call(
                target, "CreateSnapshot", params, f"snapshot {vid} first", wait="snapshot_completed"
            ),
            self.call(target, "DeleteVolume", {"VolumeId": vid}, "delete the volume", requires=[0]),
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        size = live.get("size_gb")
        return [
            (
                f"{target.resource_id} ({size} GiB) is attached to nothing; it is deleted after its "
                "snapshot completes"
            )
        ]

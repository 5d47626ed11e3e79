"""EBS snapshot sharing: revoke public access, revoke accounts outside the allowlist.

Calls use the flat ``GroupNames`` / ``UserIds`` form of ModifySnapshotAttribute (moto ignores the structured
``CreateVolumePermission={"Add"/"Remove": ...}`` form; both are valid on AWS). Undo adds back exactly the grants
the call removed, taken from the journal's before-state.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix, is_not_found
from workbench.fixes.base import REVERSIBLE, FixContext, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry

EXPOSURE_NOTE = (
    "Exposure is never reversible: while it was shared, anyone allowed could have copied it. "
    "Open an incident to find out who did."
)
ATTR = "createVolumePermission"


class _SnapshotSharing(AwsFix):
    resource_kind: ClassVar[str] = "snapshot"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute", "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
    )  # fmt: skip
    notes: ClassVar[tuple[str, ...]] = (EXPOSURE_NOTE,)
    noun: ClassVar[str] = "snapshots"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            resp = self.ec2(ctx, target).describe_snapshot_attribute(
                SnapshotId=target.resource_id, Attribute=ATTR
            )
        except ClientError as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        perms = resp.get("CreateVolumePermissions", [])
        return {
            "exists": True,
            "public": any(p.get("Group") == "all" for p in perms),
            "accounts": sorted({p["UserId"] for p in perms if p.get("UserId")}),
        }

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

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item, target, before = entry.item, entry.target, entry.before or {}
        if (
            item.operation != "ModifySnapshotAttribute"
            or item.params.get("OperationType") != "remove"
        ):
            return []
        params: dict[str, Any] = {
            "SnapshotId": item.params["SnapshotId"], "Attribute": ATTR, "OperationType": "add",
        }  # fmt: skip
        if "all" in item.params.get("GroupNames", []) and before.get("public"):
            params["GroupNames"] = ["all"]
        restored = [a for a in item.params.get("UserIds", []) if a in before.get("accounts", [])]
        if restored:
            params["UserIds"] = restored
        if len(params) == 3:
            return []
        return [self.call(target, "ModifySnapshotAttribute", params, "restore the sharing removed")]


class RevokePublicSnapshot(_SnapshotSharing):
    id: ClassVar[str] = "aws.snapshot.revoke_public"
    title: ClassVar[str] = "Revoke public snapshot sharing"
    check_ids: ClassVar[tuple[str, ...]] = ("SNP-01",)
    verb: ClassVar[str] = "make private"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or not live.get("public"):
            return []
        params = {"SnapshotId": target.resource_id, "Attribute": ATTR, "OperationType": "remove",
                  "GroupNames": ["all"]}  # fmt: skip
        return [self.call(target, "ModifySnapshotAttribute", params,
                          "remove public (all) create-volume permission")]  # fmt: skip

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not live.get("public")

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = super().blast_radius(ctx, target, live, inputs)
        return ["every AWS account loses create-volume access", *lines]


class RevokeForeignSnapshotShares(_SnapshotSharing):
    id: ClassVar[str] = "aws.snapshot.revoke_foreign_shares"
    title: ClassVar[str] = "Revoke snapshot sharing with accounts outside the allowlist"
    check_ids: ClassVar[tuple[str, ...]] = ("SNP-03",)
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput("allowlist", "accounts that keep access (comma-separated ids)", kind="accounts",
                 default=(), config_key="allowed_accounts"),
    )  # fmt: skip
    verb: ClassVar[str] = "unshare"

    @staticmethod
    def foreign(target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
        allowed = set(inputs.get("allowlist") or ()) | {target.account}
        return [a for a in live.get("accounts", []) if a not in allowed]

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        foreign = self.foreign(target, live, inputs) if live.get("exists") else []
        if not foreign:
            return []
        params = {"SnapshotId": target.resource_id, "Attribute": ATTR, "OperationType": "remove",
                  "UserIds": foreign}  # fmt: skip
        return [self.call(target, "ModifySnapshotAttribute", params,
                          f"remove create-volume permission of {len(foreign)} account(s) "
                          "outside the allowlist")]  # fmt: skip

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        # The owner is never in the grants, so only the allowlist matters here.
        allowed = set(inputs.get("allowlist") or ())
        return not live.get("exists") or all(a in allowed for a in live.get("accounts", []))

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lost = self.foreign(target, live, inputs)
        lines = super().blast_radius(ctx, target, live, inputs)
        return [f"accounts that lose access: {', '.join(lost) or 'none'}", *lines]

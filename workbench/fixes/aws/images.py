"""AMI launch permissions: make an image private, remove accounts outside the allowlist.

Calls use the flat ``UserGroups`` / ``UserIds`` form of ModifyImageAttribute (valid on AWS, and the form moto
honours). Undo adds back exactly the grants removed, from the journal's before-state.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix, is_not_found
from workbench.fixes.aws.snapshots import EXPOSURE_NOTE
from workbench.fixes.base import REVERSIBLE, FixContext, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry

ATTR = "launchPermission"


class _ImageSharing(AwsFix):
    resource_kind: ClassVar[str] = "image"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeImages", "ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute",
        "ec2:DescribeInstances",
    )  # fmt: skip
    notes: ClassVar[tuple[str, ...]] = (EXPOSURE_NOTE,)
    noun: ClassVar[str] = "images"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        ec2 = self.ec2(ctx, target)
        try:
            # DescribeImageAttribute on a deregistered image is not reliably a NotFound; ask first.
            if not ec2.describe_images(ImageIds=[target.resource_id]).get("Images"):
                return {"exists": False}
            resp = ec2.describe_image_attribute(ImageId=target.resource_id, Attribute=ATTR)
        except ClientError as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        perms = resp.get("LaunchPermissions", [])
        return {
            "exists": True,
            "public": any(p.get("Group") == "all" for p in perms),
            "accounts": sorted({p["UserId"] for p in perms if p.get("UserId")}),
            "organizations": sorted(
                {p.get("OrganizationArn") or p.get("OrganizationalUnitArn") or "" for p in perms}
                - {""}
            ),
        }

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        try:
            pages = (
                self.ec2(ctx, target)
                .get_paginator("describe_instances")
                .paginate(Filters=[{"Name": "image-id", "Values": [target.resource_id]}])
            )
            ids = sorted(i["InstanceId"] for p in pages for r in p["Reservations"]
                         for i in r["Instances"])  # fmt: skip
        except Exception as exc:
            return [f"instances launched from it: unknown ({exc})"]
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        return [
            f"instances of this account launched from it (they keep running): {shown or 'none'}"
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item, target, before = entry.item, entry.target, entry.before or {}
        if item.operation != "ModifyImageAttribute" or item.params.get("OperationType") != "remove":
            return []
        params: dict[str, Any] = {
            "ImageId": item.params["ImageId"], "Attribute": ATTR, "OperationType": "add",
        }  # fmt: skip
        if "all" in item.params.get("UserGroups", []) and before.get("public"):
            params["UserGroups"] = ["all"]
        restored = [a for a in item.params.get("UserIds", []) if a in before.get("accounts", [])]
        if restored:
            params["UserIds"] = restored
        if len(params) == 3:
            return []
        return [self.call(target, "ModifyImageAttribute", params, "restore the launch permissions")]


class MakeImagePrivate(_ImageSharing):
    id: ClassVar[str] = "aws.image.make_private"
    title: ClassVar[str] = "Make an AMI private"
    check_ids: ClassVar[tuple[str, ...]] = ("IMG-01",)
    verb: ClassVar[str] = "make private"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or not live.get("public"):
            return []
        params = {"ImageId": target.resource_id, "Attribute": ATTR, "OperationType": "remove",
                  "UserGroups": ["all"]}  # fmt: skip
        return [self.call(target, "ModifyImageAttribute", params,
                          "remove the public (all) launch permission")]  # fmt: skip

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not live.get("public")


class RevokeForeignLaunch(_ImageSharing):
    id: ClassVar[str] = "aws.image.revoke_foreign_launch"
    title: ClassVar[str] = "Remove AMI launch permissions of accounts outside the allowlist"
    check_ids: ClassVar[tuple[str, ...]] = ("IMG-07",)
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
        params = {"ImageId": target.resource_id, "Attribute": ATTR, "OperationType": "remove",
                  "UserIds": foreign}  # fmt: skip
        return [self.call(target, "ModifyImageAttribute", params,
                          f"remove launch permission of {len(foreign)} account(s) "
                          "outside the allowlist")]  # fmt: skip

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        allowed = set(inputs.get("allowlist") or ())
        return not live.get("exists") or all(a in allowed for a in live.get("accounts", []))

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lost = self.foreign(target, live, inputs)
        return [f"accounts that can no longer launch it: {', '.join(lost) or 'none'}"]

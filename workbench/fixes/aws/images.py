"""AMI launch permissions: make an image private, remove accounts outside the allowlist.

Calls use the flat ``UserGroups`` / ``UserIds`` form of ModifyImageAttribute (valid on AWS, and the form moto
honours). Undo adds back exactly the grants removed, from the journal's before-state (see ``sharing``).
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


class _ImageSharing(SharingFix):
    resource_kind: ClassVar[str] = "image"
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeImages",
        "ec2:DescribeImageAttribute",
        "ec2:ModifyImageAttribute",
        "ec2:DescribeInstances",
    )
    noun: ClassVar[str] = "images"
    operation: ClassVar[str] = "ModifyImageAttribute"
    id_param: ClassVar[str] = "ImageId"
    attribute: ClassVar[str] = "launchPermission"
    groups_param: ClassVar[str] = "UserGroups"
    restore_description: ClassVar[str] = "restore the launch permissions"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        ec2 = self.ec2(ctx, target)
        try:
            # DescribeImageAttribute on a deregistered image is not reliably a NotFound; ask first.
            if not ec2.describe_images(ImageIds=[target.resource_id]).get("Images"):
                return {"exists": False}
            resp = ec2.describe_image_attribute(
                ImageId=target.resource_id, Attribute=self.attribute
            )
        except ClientError as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        perms = resp.get("LaunchPermissions", [])
        return {
            **grants_state(perms),
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
            ids = sorted(
                i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]
            )
        except Exception as exc:
            return [f"instances launched from it: unknown ({exc})"]
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        return [
            f"instances of this account launched from it (they keep running): {shown or 'none'}"
        ]


class MakeImagePrivate(_ImageSharing, RevokePublicSharing):
    id: ClassVar[str] = "aws.image.make_private"
    title: ClassVar[str] = "Make an AMI private"
    public_description: ClassVar[str] = "remove the public (all) launch permission"


class RevokeForeignLaunch(_ImageSharing, RevokeForeignSharing):
    id: ClassVar[str] = "aws.image.revoke_foreign_launch"
    title: ClassVar[str] = "Remove AMI launch permissions of accounts outside the allowlist"
    foreign_description: ClassVar[str] = (
        "remove launch permission of {count} account(s) outside the allowlist"
    )

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lost = self.foreign(target, live, inputs)
        return [f"accounts that can no longer launch it: {', '.join(lost) or 'none'}"]

"""Region-wide account settings: snapshot and image block public access, IMDS defaults, EBS encryption.

The target is the region's setting row (``resource_kind = "setting"``, ``resource_id`` = the key the AWS
collector uses). Each fix reads the setting, sets it, and undoes by restoring the value it read before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix
from workbench.fixes.base import ADDITIVE, REVERSIBLE, FixContext, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry
from workbench.model import make_uid


class _RegionSetting(AwsFix):
    resource_kind: ClassVar[str] = "setting"
    safety: ClassVar[str] = REVERSIBLE
    noun: ClassVar[str] = "regions"
    also_targets: ClassVar[tuple[str, ...]] = ("region", "account")
    setting_key: ClassVar[str]

    def normalize_target(self, target: Target) -> Target:
        # A region-level finding may be on the region or account; the fix acts on the region's setting.
        if target.resource_kind == "setting" and target.resource_id == self.setting_key:
            return target
        uid = make_uid(target.provider, target.account, target.region, "setting", self.setting_key)
        return replace(
            target,
            resource_uid=uid,
            resource_kind="setting",
            resource_id=self.setting_key,
            resource_name="",
        )


class SnapshotBlockPublicAccess(_RegionSetting):
    id: ClassVar[str] = "aws.snapshot.block_public_access"
    title: ClassVar[str] = "Enable snapshot block public access for a region"
    setting_key: ClassVar[str] = "snapshot_block_public_access"
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:GetSnapshotBlockPublicAccessState",
        "ec2:EnableSnapshotBlockPublicAccess",
        "ec2:DisableSnapshotBlockPublicAccess",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput(
            "state",
            "block-all-sharing also hides snapshots that are public now",
            kind="choice",
            default="block-all-sharing",
            choices=("block-all-sharing", "block-new-sharing"),
        ),
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        resp = self.ec2(ctx, target).get_snapshot_block_public_access_state()
        return {"state": resp.get("State", "unblocked")}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        # As SNP-02 tests it: the region blocks sharing in the mode asked for (all sharing by default).
        return live.get("state") == (inputs.get("state") or "block-all-sharing")

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        state = inputs.get("state") or "block-all-sharing"
        return [
            self.call(
                target,
                "EnableSnapshotBlockPublicAccess",
                {"State": state},
                f"block public sharing of snapshots in {target.region} ({state})",
            )
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        if inputs.get("state") == "block-new-sharing":
            return [f"{target.region}: snapshots can no longer be made public; public ones stay"]
        return [
            (
                f"{target.region}: every public snapshot of the account stops being public, and none "
                "can be made public"
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = (entry.before or {}).get("state", "unblocked")
        if before == "unblocked":
            return [
                self.call(
                    entry.target,
                    "DisableSnapshotBlockPublicAccess",
                    {},
                    "turn snapshot block public access off again",
                )
            ]
        return [
            self.call(
                entry.target,
                "EnableSnapshotBlockPublicAccess",
                {"State": before},
                f"restore snapshot block public access {before}",
            )
        ]


class ImageBlockPublicAccess(_RegionSetting):
    id: ClassVar[str] = "aws.image.block_public_access"
    title: ClassVar[str] = "Enable image (AMI) block public access for a region"
    setting_key: ClassVar[str] = "image_block_public_access"
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:GetImageBlockPublicAccessState",
        "ec2:EnableImageBlockPublicAccess",
        "ec2:DisableImageBlockPublicAccess",
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        resp = self.ec2(ctx, target).get_image_block_public_access_state()
        return {"state": resp.get("ImageBlockPublicAccessState", "unblocked")}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return live.get("state") == "block-new-sharing"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        return [
            self.call(
                target,
                "EnableImageBlockPublicAccess",
                {"ImageBlockPublicAccessState": "block-new-sharing"},
                f"block new public sharing of AMIs in {target.region}",
            )
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        return [f"{target.region}: AMIs can no longer be made public; AMIs public now stay public"]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        return [
            self.call(
                entry.target,
                "DisableImageBlockPublicAccess",
                {},
                "turn image block public access off again",
            )
        ]


class ImdsDefaults(_RegionSetting):
    id: ClassVar[str] = "aws.account.imds_defaults"
    title: ClassVar[str] = "Require IMDSv2 in the account's instance metadata defaults"
    setting_key: ClassVar[str] = "imds_defaults"
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:GetInstanceMetadataDefaults",
        "ec2:ModifyInstanceMetadataDefaults",
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        level = self.ec2(ctx, target).get_instance_metadata_defaults().get("AccountLevel") or {}
        return {"http_tokens": level.get("HttpTokens") or "no-preference"}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return live.get("http_tokens") == "required"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        return [
            self.call(
                target,
                "ModifyInstanceMetadataDefaults",
                {"HttpTokens": "required"},
                f"new instances in {target.region} require IMDSv2 by default",
            )
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        return [
            (
                f"{target.region}: instances launched from now on without their own IMDS options; "
                "running instances are not changed"
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = (entry.before or {}).get("http_tokens") or "no-preference"
        return [
            self.call(
                entry.target,
                "ModifyInstanceMetadataDefaults",
                {"HttpTokens": before},
                f"restore the IMDS default HttpTokens={before}",
            )
        ]


class EbsEncryptionByDefault(_RegionSetting):
    id: ClassVar[str] = "aws.ebs.encryption_by_default"
    title: ClassVar[str] = "Enable EBS encryption by default in a region"
    # Additive: undo turns the default off, but volumes created meanwhile stay encrypted.
    safety: ClassVar[str] = ADDITIVE
    setting_key: ClassVar[str] = "ebs_encryption_by_default"
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:GetEbsEncryptionByDefault",
        "ec2:EnableEbsEncryptionByDefault",
        "ec2:DisableEbsEncryptionByDefault",
    )
    notes: ClassVar[tuple[str, ...]] = (
        (
            "Existing volumes are not encrypted by this; volumes created while it is on stay encrypted "
            "after an undo."
        ),
    )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        resp = self.ec2(ctx, target).get_ebs_encryption_by_default()
        return {"enabled": bool(resp.get("EbsEncryptionByDefault"))}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return bool(live.get("enabled"))

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        return [
            self.call(
                target,
                "EnableEbsEncryptionByDefault",
                {},
                f"encrypt every new EBS volume in {target.region}",
            )
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        return [
            (
                f"{target.region}: every new EBS volume is encrypted with the account's default EBS "
                "KMS key; existing volumes are unchanged"
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        if (entry.before or {}).get("enabled"):
            return []
        return [
            self.call(
                entry.target,
                "DisableEbsEncryptionByDefault",
                {},
                "turn EBS encryption by default off again",
            )
        ]

"""EC2 instances: require IMDSv2, tag the owner and environment.

Instance lifecycle (mark → stop → terminate) is in ``instance_lifecycle``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix, is_not_found, tag_map, undo_create_tags
from workbench.fixes.base import REVERSIBLE, FixContext, FixError, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry

GONE_STATES = ("terminated", "shutting-down")
# A transition counts as its destination: a plan made while "stopping" must not go stale at "stopped".
SETTLED = {"pending": "running", "stopping": "stopped", "shutting-down": "terminated"}


def describe_instance(fix: AwsFix, ctx: FixContext, target: Target) -> dict[str, Any] | None:
    """The instance as DescribeInstances returns it, or None when it no longer exists."""
    from botocore.exceptions import ClientError

    try:
        resp = fix.ec2(ctx, target).describe_instances(InstanceIds=[target.resource_id])
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    found = [i for r in resp.get("Reservations", []) for i in r.get("Instances", [])]
    return found[0] if found else None


def instance_basics(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The fields every instance fix's live state starts from."""
    if raw is None:
        return {"exists": False}
    state = raw.get("State", {}).get("Name", "")
    return {
        "exists": True,
        "state": SETTLED.get(state, state),
        "tags": tag_map(raw.get("Tags")),
    }


class RequireImdsV2(AwsFix):
    id: ClassVar[str] = "aws.instance.require_imdsv2"
    title: ClassVar[str] = "Require IMDSv2 on an instance"
    resource_kind: ClassVar[str] = "instance"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeInstances",
        "ec2:ModifyInstanceMetadataOptions",
    )
    notes: ClassVar[tuple[str, ...]] = (
        (
            "Check first that nothing on the instance still calls IMDSv1 (CloudWatch metric "
            "MetadataNoToken = 0): such software loses its instance credentials."
        ),
    )
    noun: ClassVar[str] = "instances"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        raw = describe_instance(self, ctx, target)
        if raw is None:
            return {"exists": False}
        options = raw.get("MetadataOptions") or {}
        state = raw.get("State", {}).get("Name", "")
        # Only what the change depends on: a pending -> running transition must not make a plan stale.
        return {
            "exists": True,
            "gone": state in GONE_STATES,
            "http_tokens": options.get("HttpTokens") or "optional",
            "http_endpoint": options.get("HttpEndpoint") or "enabled",
        }

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return (
            not live.get("exists")
            or bool(live.get("gone"))
            or live.get("http_tokens") == "required"
            or live.get("http_endpoint") == "disabled"
        )

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        params = {"InstanceId": target.resource_id, "HttpTokens": "required"}
        return [
            self.call(
                target,
                "ModifyInstanceMetadataOptions",
                params,
                "require session tokens (IMDSv2) for instance metadata",
            )
        ]

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        return [
            (
                f"software on {target.resource_id} that uses IMDSv1 can no longer read metadata "
                "or its role credentials"
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = (entry.before or {}).get("http_tokens") or "optional"
        params = {"InstanceId": entry.item.params["InstanceId"], "HttpTokens": before}
        return [
            self.call(
                entry.target,
                "ModifyInstanceMetadataOptions",
                params,
                f"restore HttpTokens={before}",
            )
        ]


class TagOwner(AwsFix):
    id: ClassVar[str] = "aws.instance.tag_owner"
    title: ClassVar[str] = "Tag owner and environment on an instance missing them"
    resource_kind: ClassVar[str] = "instance"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput("owner", "value of the owner tag (team or person)"),
        FixInput("environment", "value of the environment tag (prod, staging, dev …)"),
        FixInput("owner_tag", "owner tag key", default="owner", config_key="owner_tag"),
        FixInput(
            "environment_tag",
            "environment tag key (SPR-04 requires owner and env)",
            default="env",
            config_key="environment_tag",
        ),
    )
    noun: ClassVar[str] = "instances"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        live = instance_basics(describe_instance(self, ctx, target))
        live.pop("state", None)  # tagging does not depend on the power state
        return live

    def missing(self, live: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
        # Keys compare case-insensitively, as SPR-04 does: an "Owner" tag already satisfies "owner".
        present = {k.lower() for k, v in live.get("tags", {}).items() if str(v).strip()}
        keys = (inputs.get("owner_tag") or "owner", inputs.get("environment_tag") or "env")
        return [k for k in keys if k.lower() not in present]

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not self.missing(live, inputs)

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        values: dict[str, str | None] = {
            inputs.get("owner_tag") or "owner": inputs.get("owner"),
            inputs.get("environment_tag") or "env": inputs.get("environment"),
        }
        tags: list[dict[str, str]] = []
        for key in self.missing(live, inputs):
            value = values.get(key)
            if not value:
                name = "owner" if key == (inputs.get("owner_tag") or "owner") else "environment"
                raise FixError(f"{self.id}: {target.resource_id} has no {key!r} tag: give --{name}")
            tags.append({"Key": key, "Value": value})
        params = {"Resources": [target.resource_id], "Tags": tags}
        return [
            self.call(
                target,
                "CreateTags",
                params,
                "add the missing tags " + ", ".join(t["Key"] for t in tags),
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        return undo_create_tags(self, entry, (entry.before or {}).get("tags", {}))

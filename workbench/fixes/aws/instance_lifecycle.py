"""The sprawl lifecycle (Custodian's mark-for-op): tag owner + expiry → stop after the date → terminate after
a grace period, snapshotting every volume first. Each stage is its own fix the operator runs;
:func:`due_instances` shows, from the cache, which stage each marked instance is due for.

Dates are plain ``YYYY-MM-DD`` tag values. The plan's inputs carry ``as_of`` (the day it was made), so a plan
recomputed at apply time gives the same calls.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix, undo_create_tags
from workbench.fixes.aws.instances import GONE_STATES, describe_instance, instance_basics
from workbench.fixes.base import (
    IRREVERSIBLE,
    REVERSIBLE,
    FixContext,
    FixError,
    FixInput,
    PlanItem,
    Target,
)
from workbench.fixes.journal import JournalEntry

_COMMON_INPUTS = (
    FixInput("expiry_tag", "expiry tag key", default="expires-on", config_key="expiry_tag"),
    FixInput(
        "stopped_tag",
        "tag key recording the stop date",
        default="stopped-on",
        config_key="stopped_tag",
    ),
    FixInput("owner_tag", "owner tag key", default="owner", config_key="owner_tag"),
    FixInput(
        "grace_days",
        "days between stop and terminate",
        kind="int",
        default=14,
        config_key="grace_days",
    ),
    FixInput("as_of", "the day the plan is made for (default today)", kind="date"),
)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def lifecycle_stage(live: dict[str, Any], inputs: dict[str, Any]) -> tuple[str, str]:
    """(stage, detail): gone | unmarked | marked | stop_due | stopped | terminate_due."""
    if not live.get("exists") or live.get("state") in GONE_STATES:
        return "gone", "terminated or no longer exists"
    tags = live.get("tags", {})
    expiry_key = inputs.get("expiry_tag") or "expires-on"
    expires = _date(tags.get(expiry_key)) if expiry_key in tags else None
    if expires is None:
        return "unmarked", f"no valid {expiry_key} tag"
    as_of = _date(inputs.get("as_of")) or dt.datetime.now(dt.UTC).date()
    if live.get("state") in ("running", "pending"):
        if as_of > expires:
            return "stop_due", f"expired on {expires}"
        return "marked", f"stops after {expires}"
    stopped_on = _date(tags.get(inputs.get("stopped_tag") or "stopped-on")) or expires
    terminate_on = stopped_on + dt.timedelta(days=int(inputs.get("grace_days") or 0))
    if as_of >= terminate_on:
        return "terminate_due", f"stopped since {stopped_on}, grace ended {terminate_on}"
    return "stopped", f"terminates on or after {terminate_on}"


class _Lifecycle(AwsFix):
    resource_kind: ClassVar[str] = "instance"
    noun: ClassVar[str] = "instances"

    def resolve_inputs(self, ctx: FixContext, raw: Any) -> dict[str, Any]:
        inputs = super().resolve_inputs(ctx, raw)
        inputs["as_of"] = inputs.get("as_of") or ctx.today.isoformat()
        return inputs

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        return instance_basics(describe_instance(self, ctx, target))

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item = entry.item
        if item.operation == "CreateTags":
            return undo_create_tags(self, entry, (entry.before or {}).get("tags", {}))
        if item.operation == "StopInstances":
            return [
                self.call(
                    entry.target,
                    "StartInstances",
                    {"InstanceIds": item.params["InstanceIds"]},
                    "start the instance again",
                )
            ]
        return []


class MarkExpiry(_Lifecycle):
    id: ClassVar[str] = "aws.instance.mark_expiry"
    title: ClassVar[str] = "Tag a stale instance with an owner and an expiry date"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput("owner", "owner tag value, for instances without one"),
        FixInput(
            "expiry_days",
            "days from today until the instance is stopped",
            kind="int",
            default=30,
            config_key="expiry_days",
        ),
        *_COMMON_INPUTS,
    )
    notes: ClassVar[tuple[str, ...]] = (
        (
            "Marking resolves nothing by itself: `vmwb fix due` shows when the stop, then the terminate, "
            "are due."
        ),
    )

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return lifecycle_stage(live, inputs)[0] != "unmarked"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        as_of = _date(inputs["as_of"]) or dt.date.today()
        expires = as_of + dt.timedelta(days=int(inputs.get("expiry_days") or 0))
        tags = [{"Key": inputs["expiry_tag"], "Value": expires.isoformat()}]
        owner_key = inputs["owner_tag"]
        if not str(live.get("tags", {}).get(owner_key, "")).strip():
            if not inputs.get("owner"):
                raise FixError(
                    f"{self.id}: {target.resource_id} has no {owner_key!r} tag: give --owner"
                )
            tags.insert(0, {"Key": owner_key, "Value": inputs["owner"]})
        params = {"Resources": [target.resource_id], "Tags": tags}
        return [self.call(target, "CreateTags", params, f"mark to expire on {expires}")]


class StopExpired(_Lifecycle):
    id: ClassVar[str] = "aws.instance.stop_expired"
    title: ClassVar[str] = "Stop an instance past its expiry date"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeInstances",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = _COMMON_INPUTS
    notes: ClassVar[tuple[str, ...]] = (
        (
            "A stopped instance loses its public IPv4 address (unless it is an Elastic IP) and the data "
            "on instance-store volumes."
        ),
    )
    verb: ClassVar[str] = "stop"

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return lifecycle_stage(live, inputs)[0] != "stop_due"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        iid = target.resource_id
        tag = {"Key": inputs["stopped_tag"], "Value": inputs["as_of"]}
        return [
            self.call(target, "StopInstances", {"InstanceIds": [iid]}, "stop the expired instance"),
            self.call(
                target,
                "CreateTags",
                {"Resources": [iid], "Tags": [tag]},
                "record the stop date (starts the grace period)",
                requires=[0],
            ),
        ]


class TerminateExpired(_Lifecycle):
    id: ClassVar[str] = "aws.instance.terminate_expired"
    title: ClassVar[str] = "Terminate an expired instance after its grace period (snapshots first)"
    safety: ClassVar[str] = IRREVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeInstances",
        "ec2:CreateSnapshot",
        "ec2:DescribeSnapshots",
        "ec2:CreateTags",
        "ec2:TerminateInstances",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = _COMMON_INPUTS
    verb: ClassVar[str] = "terminate"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        raw = describe_instance(self, ctx, target)
        live = instance_basics(raw)
        if raw is not None:
            live["volumes"] = sorted(
                m["Ebs"]["VolumeId"] for m in raw.get("BlockDeviceMappings", []) if m.get("Ebs")
            )
            live["instance_store"] = raw.get("RootDeviceType") == "instance-store"
        return live

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return lifecycle_stage(live, inputs)[0] != "terminate_due"

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        iid = target.resource_id
        owner = live.get("tags", {}).get(inputs["owner_tag"])
        items = []
        for vol in live.get("volumes", []):
            tags = [
                {"Key": "vmwb:source-instance", "Value": iid},
                {"Key": "vmwb:source-volume", "Value": vol},
            ]
            if owner:
                tags.append({"Key": inputs["owner_tag"], "Value": owner})
            params = {
                "VolumeId": vol,
                "Description": f"vmwb: {vol} of {iid} before terminating it ({inputs['as_of']})",
                "TagSpecifications": [{"ResourceType": "snapshot", "Tags": tags}],
            }
            items.append(
                self.call(
                    target,
                    "CreateSnapshot",
                    params,
                    f"snapshot {vol} first",
                    wait="snapshot_completed",
                )
            )
        items.append(
            self.call(
                target,
                "TerminateInstances",
                {"InstanceIds": [iid]},
                "terminate the instance",
                requires=list(range(len(items))),
            )
        )
        return items

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = [
            (
                f"volumes snapshotted, then deleted if DeleteOnTermination: "
                f"{', '.join(live.get('volumes', [])) or 'none'}"
            )
        ]
        if live.get("instance_store"):
            lines.append("instance-store root: its data cannot be snapshotted and is lost")
        return lines


def due_instances(cache: Any, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every AWS instance of the cache with an expiry tag, and the lifecycle stage it is in or due for."""
    expiry_key = inputs.get("expiry_tag") or "expires-on"
    rows = cache.db.execute(
        "SELECT uid, account, region, id, name, state, tags FROM instances "
        "WHERE provider='aws' AND tags LIKE ? ORDER BY account, region, id",
        (f"%{json.dumps(expiry_key)}%",),
    ).fetchall()
    out = []
    for uid, account, region, rid, name, state, tags in rows:
        live = {"exists": True, "state": state, "tags": json.loads(tags or "{}")}
        stage, detail = lifecycle_stage(live, inputs)
        out.append(
            {
                "uid": uid,
                "account": account,
                "region": region,
                "id": rid,
                "name": name or "",
                "state": state,
                "stage": stage,
                "detail": detail,
            }
        )
    return out

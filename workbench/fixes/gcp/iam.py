"""Snapshots and images: remove allUsers and allAuthenticatedUsers from the resource's IAM policy.

The live state is the policy's bindings (sorted, without the etag, which changes on every write): undo puts
back exactly the bindings that were there, and "restored exactly" compares like with like.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.base import REVERSIBLE, FixContext, PlanItem, Target
from workbench.fixes.gcp.common import GcpFix, is_not_found
from workbench.fixes.journal import JournalEntry
from workbench.providers.gcp.util import as_dict

PUBLIC = ("allUsers", "allAuthenticatedUsers")


def _bindings(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        {"role": b.get("role", ""), "members": sorted(b.get("members") or [])}
        for b in policy.get("bindings") or []
    ]
    return sorted(found, key=lambda b: b["role"])


class _RemovePublicAccess(GcpFix):
    safety: ClassVar[str] = REVERSIBLE
    notes: ClassVar[tuple[str, ...]] = (
        (
            "Removing the binding stops new copies; anything already copied stays exposed: "
            "treat the data as disclosed (rotate secrets it held)."
        ),
    )
    client_kind: ClassVar[str]
    collection: ClassVar[str]  # "snapshots" | "images"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        client = self.compute(ctx, self.client_kind)
        try:
            policy = client.get_iam_policy(
                project=target.account,
                resource=target.resource_id,
                **self.clients(ctx).call_kwargs,
            )
        except Exception as exc:
            if is_not_found(exc):
                return {"exists": False}
            raise
        data = as_dict(policy)
        return {"exists": True, "version": data.get("version") or 1, "bindings": _bindings(data)}

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or self.is_fixed(live, inputs):
            return []
        kept = []
        for b in live["bindings"]:
            members = [m for m in b["members"] if m not in PUBLIC]
            if members:
                kept.append({"role": b["role"], "members": members})
        removed = sorted({m for b in live["bindings"] for m in b["members"] if m in PUBLIC})
        params = {
            "project": target.account,
            "resource": target.resource_id,
            "policy": {"version": live["version"], "bindings": kept},
        }
        return [
            self.call(
                target,
                f"{self.collection}.setIamPolicy",
                params,
                f"remove {', '.join(removed)} from the IAM policy",
            )
        ]

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not any(m in PUBLIC for b in live.get("bindings", []) for m in b["members"])

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = entry.before or {}
        if not before.get("exists"):
            return []
        params = {
            "project": entry.item.params["project"],
            "resource": entry.item.params["resource"],
            "policy": {"version": before.get("version") or 1, "bindings": before["bindings"]},
        }
        return [
            self.call(
                entry.target,
                f"{self.collection}.setIamPolicy",
                params,
                "restore the IAM bindings as they were",
            )
        ]


class RemovePublicSnapshotAccess(_RemovePublicAccess):
    id: ClassVar[str] = "gcp.snapshot.remove_public_access"
    title: ClassVar[str] = "Remove allUsers / allAuthenticatedUsers from a snapshot's IAM policy"
    resource_kind: ClassVar[str] = "snapshot"
    permissions: ClassVar[tuple[str, ...]] = (
        "compute.snapshots.getIamPolicy",
        "compute.snapshots.setIamPolicy",
    )
    noun: ClassVar[str] = "snapshots"
    client_kind: ClassVar[str] = "SnapshotsClient"
    collection: ClassVar[str] = "snapshots"


class RemovePublicImageAccess(_RemovePublicAccess):
    id: ClassVar[str] = "gcp.image.remove_public_access"
    title: ClassVar[str] = "Remove allUsers / allAuthenticatedUsers from an image's IAM policy"
    resource_kind: ClassVar[str] = "image"
    permissions: ClassVar[tuple[str, ...]] = (
        "compute.images.getIamPolicy",
        "compute.images.setIamPolicy",
    )
    noun: ClassVar[str] = "images"
    client_kind: ClassVar[str] = "ImagesClient"
    collection: ClassVar[str] = "images"

"""What the on-premises fixes (libvirt, vSphere) share: plan items addressed to the target's host, and the
old-snapshot deletion every hypervisor offers (same check, inputs, retention rule and verification).
"""

from __future__ import annotations

import abc
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from workbench.fixes.base import IRREVERSIBLE, Fix, FixInput, PlanItem, Target


def host_item(
    target: Target, service: str, operation: str, params: dict[str, Any], description: str
) -> PlanItem:
    """One call on the target's host or server (``account``), in its region (datacenter, ``local``)."""
    return PlanItem(
        target_uid=target.resource_uid,
        service=service,
        operation=operation,
        params=params,
        description=description,
        region=target.region,
        account=target.account,
    )


#: The same retention SNP-08 applies to hypervisor snapshots (its ``hypervisor_max_age_hours``).
RETENTION_INPUT = FixInput(
    "retention_hours",
    "only snapshots older than this many hours are deleted",
    "int",
    72,
    policy="hypervisor_snapshot_retention_hours",
)


def within_retention(created_at: str | None, hours: int) -> bool:
    """True for a snapshot younger than ``hours`` (not this fix's business); an unknown age is not."""
    cutoff = datetime.now(UTC) - timedelta(hours=hours)
    return bool(created_at) and str(created_at) > cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")


class DeleteOldSnapshotFix(Fix):
    """Delete one snapshot older than the ``retention_hours`` input; subclasses read it and build the call.

    ``read_live`` returns ``{"exists": False}`` or ``{"exists": True, "created_at": ..., ...}``.
    """

    safety: ClassVar[str] = IRREVERSIBLE
    resource_kind: ClassVar[str] = "snapshot"
    verb: ClassVar[str] = "delete"
    noun: ClassVar[str] = "snapshots"

    @abc.abstractmethod
    def delete_item(self, target: Target, live: dict[str, Any]) -> PlanItem:
        """The call that deletes the snapshot ``live`` describes."""

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists"):
            return []
        if within_retention(live["created_at"], int(inputs["retention_hours"])):
            return []
        return [self.delete_item(target, live)]

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists")

"""The ARM REST form of the Azure fix calls (workbench/fixes/azure): which resource each operation acts on,
with what method, body and API version. Both exporters (Ansible, Terraform) read it, so they name one resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.fixes.base import PlanItem


@dataclass(frozen=True, slots=True)
class ArmCall:
    method: str
    path: str  # under the resource group, with the fix's parameter names as fields
    action: str  # a POST sub-action (endGetAccess), or ""
    api_version: str
    body_key: str | None  # the parameter holding the request body


ARM_CALLS = {
    "Disks_Update": ArmCall(
        "PATCH", "Microsoft.Compute/disks/{disk_name}", "", "2023-04-02", "disk"
    ),
    "Disks_RevokeAccess": ArmCall(
        "POST", "Microsoft.Compute/disks/{disk_name}", "endGetAccess", "2023-04-02", None
    ),
    "Snapshots_Update": ArmCall(
        "PATCH", "Microsoft.Compute/snapshots/{snapshot_name}", "", "2023-04-02", "snapshot"
    ),
    "Snapshots_RevokeAccess": ArmCall(
        "POST", "Microsoft.Compute/snapshots/{snapshot_name}", "endGetAccess", "2023-04-02", None
    ),
    "SecurityRules_CreateOrUpdate": ArmCall(
        "PUT",
        "Microsoft.Network/networkSecurityGroups/{network_security_group_name}"
        "/securityRules/{security_rule_name}",
        "",
        "2023-09-01",
        "security_rule_parameters",
    ),
}


def resource_id(item: PlanItem, call: ArmCall) -> str:
    """The ARM id of the resource ``item`` acts on (without the sub-action)."""
    p = item.params
    group = f"/subscriptions/{item.account}/resourceGroups/{p['resource_group_name']}"
    return f"{group}/providers/" + call.path.format(**p)


def body(item: PlanItem, call: ArmCall) -> Any:
    return item.params.get(call.body_key) if call.body_key else None

"""What every Azure fix shares: its clients, the literal executor, and ARM id parsing.

A :class:`PlanItem`'s ``operation`` is the ARM REST operationId (``Disks_Update``, ``SecurityRules_CreateOrUpdate``)
and its ``params`` are the SDK method's keyword arguments with the request body as plain REST JSON, so
``apply_item`` makes exactly one call (``compute.disks.begin_update(**params)``) and waits for its long-running
operation. ``account`` is the subscription.

ARM has no dry-run mode: dry-run re-reads the resource with the fix identity (so a missing resource or a denied
read shows up) and reports ``plan_only``; it changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from workbench.fixes.base import DryRunOutcome, Fix, FixContext, FixError, PlanItem, Target

LRO_TIMEOUT = 600.0  # seconds to wait for one ARM long-running operation

# operationId -> (client, operation group, SDK method, the GET that re-reads the same resource)
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "Disks_Update": ("compute", "disks", "begin_update"),
    "Disks_RevokeAccess": ("compute", "disks", "begin_revoke_access"),
    "Snapshots_Update": ("compute", "snapshots", "begin_update"),
    "Snapshots_RevokeAccess": ("compute", "snapshots", "begin_revoke_access"),
    "SecurityRules_CreateOrUpdate": ("network", "security_rules", "begin_create_or_update"),
}
# The name arguments that identify the resource of each operation group, for the dry-run re-read.
_GET_ARGS = {
    "disks": ("resource_group_name", "disk_name"),
    "snapshots": ("resource_group_name", "snapshot_name"),
    "security_rules": ("resource_group_name", "network_security_group_name", "security_rule_name"),
}


class AzureFixClients:
    """The builder FixContext uses for provider ``azure`` (``from_config(section)``).

    ``[azure] fix_client_id`` names a second service principal of the same tenant (its secret in the keyring
    like the first) so the scanning identity can stay Reader-only.
    """

    @staticmethod
    def from_config(section: Mapping[str, Any]) -> Any:
        from workbench.providers.azure.settings import AzureClients

        merged = dict(section)
        fix_client = merged.pop("fix_client_id", None)
        if fix_client:
            merged["client_id"] = fix_client
        return AzureClients.from_config(merged)


def parse_arm(resource_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a top-level ARM id; FixError when it is not one."""
    parts = resource_id.strip("/").split("/")
    if (
        len(parts) < 8
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != "resourcegroups"
    ):
        raise FixError(f"{resource_id!r} is not an Azure resource id")
    return parts[1], parts[3], parts[7]


def is_not_found(exc: BaseException) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    return isinstance(exc, ResourceNotFoundError)


def rest_json(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    return dict(model.as_dict()) if hasattr(model, "as_dict") else dict(model)


class AzureFix(Fix):
    provider: ClassVar[str] = "azure"

    def client(self, ctx: FixContext, kind: str, subscription: str) -> Any:
        clients = ctx.clients("azure")
        return clients.compute(subscription) if kind == "compute" else clients.network(subscription)

    def call(
        self, target: Target, operation: str, params: dict[str, Any], description: str
    ) -> PlanItem:
        if operation not in OPERATIONS:
            raise FixError(f"{self.id}: unknown Azure operation {operation!r}")
        return PlanItem(
            target_uid=target.resource_uid,
            service=OPERATIONS[operation][0],
            operation=operation,
            params=params,
            description=description,
            region=target.region,
            account=target.account,
        )

    def _method(self, ctx: FixContext, item: PlanItem) -> tuple[Any, str]:
        kind, group, method = OPERATIONS[item.operation]
        return getattr(self.client(ctx, kind, item.account), group), method

    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        group, method = self._method(ctx, item)
        poller = getattr(group, method)(**item.params)
        result = poller.result(timeout=LRO_TIMEOUT)
        if not poller.done():
            raise FixError(f"{item.operation} did not finish within {LRO_TIMEOUT:g} s")
        body = rest_json(result)
        props = body.get("properties") or {}
        return {"status": poller.status(), "provisioningState": props.get("provisioningState")}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        from azure.core.exceptions import HttpResponseError

        group, _ = self._method(ctx, item)
        args = [item.params[name] for name in _GET_ARGS[OPERATIONS[item.operation][1]]]
        try:
            group.get(*args)
        except HttpResponseError as exc:
            code = getattr(getattr(exc, "error", None), "code", None) or exc.status_code
            return DryRunOutcome(
                "would_fail", f"re-reading the resource failed ({code}): {exc.message}"
            )
        return DryRunOutcome(
            "plan_only",
            "ARM has no dry-run: the resource was re-read with the fix identity; "
            "the plan is the preview",
        )

"""What every Google Cloud fix shares: its clients, the literal executor, and target parsing.

``apply_item`` turns a :class:`PlanItem` into exactly one Compute Engine call (``instances.setMetadata`` →
``InstancesClient.set_metadata``) and waits for its Operation. Two calls are read-modify-write by nature and
carry only their *change* in the plan: ``instances.setMetadata`` names the keys it sets or unsets (the other
metadata, startup scripts included, never enters a plan or the journal), and ``*.setIamPolicy`` sends the
planned bindings. The executor adds the concurrency token (metadata fingerprint, policy etag) it reads just
before the call, so a change made between the engine's freshness check and the call fails with 412 instead of
being overwritten.

Compute Engine has no dry-run mode: dry-run reports ``plan_only`` and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from workbench.fixes.base import DryRunOutcome, Fix, FixContext, FixError, PlanItem, Target

OPERATION_TIMEOUT = (
    600.0  # seconds to wait for one Compute Engine Operation (a VM stop can take minutes)
)


def gcp_clients(section: Mapping[str, Any]) -> Any:
    """Fix clients from ``[gcp]``: ``fix_credentials_file`` / ``fix_credentials_secret`` when set, so the
    scanning identity can stay read-only; otherwise the scanning credentials."""
    from workbench.providers.gcp.clients import GcpClients, GcpSettings

    merged = dict(section)
    for key in ("credentials_file", "credentials_secret"):
        if section.get(f"fix_{key}"):
            merged.pop("credentials_file", None)
            merged.pop("credentials_secret", None)
            merged.pop("credentials_json", None)
            merged[key] = section[f"fix_{key}"]
    return GcpClients.from_settings(GcpSettings.from_section(merged))


class GcpFixClients:
    """The builder FixContext uses for provider ``gcp`` (``from_config(section)``)."""

    @staticmethod
    def from_config(section: Mapping[str, Any]) -> Any:
        return gcp_clients(section)


def zone_and_name(target: Target) -> tuple[str, str]:
    """An instance's cache id ``<zone>/<name>`` → (zone, name)."""
    zone, _, name = target.resource_id.partition("/")
    if not name:
        raise FixError(f"{target.resource_id!r} is not a zonal id (<zone>/<name>)")
    return zone, name


def value_digest(value: Any) -> str:
    """A short digest of a value that must not be copied into plans or the journal (a startup script)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def is_not_found(exc: BaseException) -> bool:
    from google.api_core import exceptions

    return isinstance(exc, exceptions.NotFound)


# operation → (client class, method, name of the body argument or None, body message type or None)
OPERATIONS: dict[str, tuple[str, str, str | None, str | None]] = {
    "instances.stop": ("InstancesClient", "stop", None, None),
    "instances.start": ("InstancesClient", "start", None, None),
    "instances.updateShieldedInstanceConfig": (
        "InstancesClient",
        "update_shielded_instance_config",
        "shielded_instance_config_resource",
        "ShieldedInstanceConfig",
    ),
    "firewalls.patch": ("FirewallsClient", "patch", "firewall_resource", "Firewall"),
}


class GcpFix(Fix):
    provider: ClassVar[str] = "gcp"

    def clients(self, ctx: FixContext) -> Any:
        return ctx.clients("gcp")

    def compute(self, ctx: FixContext, kind: str) -> Any:
        return self.clients(ctx).compute(kind)

    def call(
        self,
        target: Target,
        operation: str,
        params: dict[str, Any],
        description: str,
        *,
        requires: list[int] | None = None,
    ) -> PlanItem:
        return PlanItem(
            target_uid=target.resource_uid,
            service="compute",
            operation=operation,
            params=params,
            description=description,
            region=target.region,
            account=target.account,
            requires=list(requires or []),
        )

    # ------------------------------------------------------------------ execution
    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        from google.cloud import compute_v1

        kw = self.clients(ctx).call_kwargs
        params = dict(item.params)
        if item.operation == "instances.setMetadata":
            return self._set_metadata(ctx, params, kw)
        if item.operation.endswith(".setIamPolicy"):
            return self._set_iam_policy(ctx, item.operation, params, kw)
        spec = OPERATIONS.get(item.operation)
        if spec is None:
            raise FixError(f"{self.id}: unknown operation {item.operation!r}")
        kind, method, body_arg, body_type = spec
        if body_arg and body_type:
            body = params.pop("body")
            params[body_arg] = getattr(compute_v1, body_type).from_json(
                json.dumps(body), ignore_unknown_fields=False
            )
        operation = getattr(self.compute(ctx, kind), method)(**params, **kw)
        operation.result(timeout=OPERATION_TIMEOUT)
        return {"operation": getattr(operation, "name", ""), "status": "DONE"}

    def _set_metadata(self, ctx: FixContext, params: dict[str, Any], kw: dict[str, Any]) -> Any:
        from google.cloud import compute_v1

        client = self.compute(ctx, "InstancesClient")
        where = {k: params[k] for k in ("project", "zone", "instance")}
        current = client.get(**where, **kw).metadata
        items = {i.key: i.value for i in current.items}
        for key in params.get("unset", []):
            items.pop(key, None)
        items.update(params.get("set", {}))
        metadata = compute_v1.Metadata(
            fingerprint=current.fingerprint,
            items=[compute_v1.Items(key=k, value=v) for k, v in items.items()],
        )
        client.set_metadata(**where, metadata_resource=metadata, **kw).result(
            timeout=OPERATION_TIMEOUT
        )
        return {"set": sorted(params.get("set", {})), "unset": sorted(params.get("unset", []))}

    def _set_iam_policy(
        self, ctx: FixContext, operation: str, params: dict[str, Any], kw: dict[str, Any]
    ) -> Any:
        from google.cloud import compute_v1

        kind = "SnapshotsClient" if operation.startswith("snapshots.") else "ImagesClient"
        client = self.compute(ctx, kind)
        where = {"project": params["project"], "resource": params["resource"]}
        etag = client.get_iam_policy(**where, **kw).etag
        wanted = params["policy"]
        policy = compute_v1.Policy(
            etag=etag,
            version=wanted.get("version") or 1,
            bindings=[
                compute_v1.Binding(role=b["role"], members=list(b["members"]))
                for b in wanted.get("bindings", [])
            ],
        )
        request = compute_v1.GlobalSetPolicyRequest(policy=policy)
        got = client.set_iam_policy(**where, global_set_policy_request_resource=request, **kw)
        return {"bindings": len(got.bindings)}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        return DryRunOutcome(
            "plan_only", "Compute Engine has no dry-run mode: the plan is the preview"
        )

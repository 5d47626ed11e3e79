"""What every AWS fix shares: the literal executor, DryRun, not-found handling and tag undo.

``apply_item`` turns a :class:`PlanItem` into exactly one boto3 call (``ModifySnapshotAttribute`` →
``client.modify_snapshot_attribute(**params)``), so what the operator approved is what runs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.base import DryRunOutcome, Fix, FixContext, PlanItem, Target
from workbench.fixes.journal import JournalEntry
from workbench.providers.aws.util import jsonable

# Waiters an item may ask for: name -> (waiter parameter, response key holding the id).
WAITS: dict[str, tuple[str, str]] = {"snapshot_completed": ("SnapshotIds", "SnapshotId")}
WAIT_CONFIG = {"Delay": 15, "MaxAttempts": 240}  # an hour: a large volume's first snapshot is slow

_DENIED = ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(exc: BaseException) -> bool:
    code = error_code(exc)
    return code.endswith(".NotFound") or code in ("InvalidAMIID.Unavailable", "NotFound")


def snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def summarize(response: Any) -> dict[str, Any]:
    """The response without transport metadata, as JSON-able data for the journal."""
    if not isinstance(response, dict):
        return {}
    return dict(jsonable(response))


class AwsFix(Fix):
    provider: ClassVar[str] = "aws"

    # ------------------------------------------------------------------ helpers
    def client(self, ctx: FixContext, service: str, region: str, account: str) -> Any:
        return ctx.clients("aws").client(service, region, account)

    def ec2(self, ctx: FixContext, target: Target) -> Any:
        return self.client(ctx, "ec2", target.region, target.account)

    def call(
        self,
        target: Target,
        operation: str,
        params: dict[str, Any],
        description: str,
        *,
        service: str = "ec2",
        requires: list[int] | None = None,
        wait: str | None = None,
    ) -> PlanItem:
        return PlanItem(
            target_uid=target.resource_uid,
            service=service,
            operation=operation,
            params=params,
            description=description,
            region=target.region,
            account=target.account,
            requires=list(requires or []),
            wait=wait,
        )

    # ------------------------------------------------------------------ execution
    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        client = self.client(ctx, item.service, item.region, item.account)
        response = getattr(client, snake(item.operation))(**item.params)
        if item.wait:
            param, key = WAITS[item.wait]
            client.get_waiter(item.wait).wait(**{param: [response[key]]}, WaiterConfig=WAIT_CONFIG)
        return summarize(response)

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        from botocore.exceptions import ClientError

        client = self.client(ctx, item.service, item.region, item.account)
        shape = client.meta.service_model.operation_model(item.operation).input_shape
        if shape is None or "DryRun" not in shape.members:
            return DryRunOutcome("plan_only", "the API has no DryRun: the plan is the preview")
        try:
            getattr(client, snake(item.operation))(**item.params, DryRun=True)
        except ClientError as exc:
            code = error_code(exc)
            if code == "DryRunOperation":
                return DryRunOutcome("would_succeed", "DryRun: the request would have succeeded")
            message = exc.response.get("Error", {}).get("Message") or ""
            if code in _DENIED:
                return DryRunOutcome("would_fail", f"permission denied ({code}): {message}".strip())
            return DryRunOutcome("would_fail", f"{code}: {message}".strip())
        # The endpoint answered as if DryRun were absent: it may have made the change. Say so loudly.
        return DryRunOutcome(
            "dry_run_ignored",
            "the endpoint ignored DryRun and answered normally: check the resource",
        )


def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or [] if "Key" in t}


def undo_create_tags(
    fix: AwsFix, entry: JournalEntry, before_tags: dict[str, str]
) -> list[PlanItem]:
    """Restore each key a CreateTags set: its old value where it had one, else delete it."""
    item, target = entry.item, entry.target
    keys = [t["Key"] for t in item.params.get("Tags", [])]
    restore = [{"Key": k, "Value": before_tags[k]} for k in keys if k in before_tags]
    remove = [{"Key": k} for k in keys if k not in before_tags]
    resources = item.params["Resources"]
    out: list[PlanItem] = []
    if restore:
        out.append(
            fix.call(
                target,
                "CreateTags",
                {"Resources": resources, "Tags": restore},
                f"restore tags {', '.join(t['Key'] for t in restore)}",
            )
        )
    if remove:
        out.append(
            fix.call(
                target,
                "DeleteTags",
                {"Resources": resources, "Tags": remove},
                f"remove tags {', '.join(t['Key'] for t in remove)}",
            )
        )
    return out

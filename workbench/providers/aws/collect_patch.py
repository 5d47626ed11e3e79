"""SSM patch collector: which instances are managed, whether their agent is online, their patch state, and
whether a State Manager association runs Patch Manager on them (automatic patching or scheduled scans)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from workbench.clock import iso
from workbench.model import PatchState, TaskOutput
from workbench.providers.aws.util import jsonable, pages
from workbench.providers.base import TaskContext, describe_error, patch_api_state

# What SSM answers where the account has not signed up for it, or the region is not opted in: the service is
# not enabled there (a known state), unlike AccessDenied, which is a permission problem and fails the task.
SSM_NOT_ENABLED = frozenset({"SubscriptionRequiredException", "OptInRequired"})
PATCH_STATE_BATCH = 50  # describe_instance_patch_states takes at most 50 instance ids
# The SSM documents that run Patch Manager (scan or install) from an association.
PATCH_DOCUMENTS = frozenset(
    {"AWS-RunPatchBaseline", "AWS-RunPatchBaselineAssociation", "AWS-RunPatchBaselineWithHooks"}
)


def patch_associated(
    ssm: Any, ctx: TaskContext, managed: set[str]
) -> tuple[set[str] | None, str | None]:
    """The managed instances some Patch Manager association targets, or ``None`` and why when that cannot be
    told (the call was refused, or a target vmwb does not resolve): then every instance is "unknown", never
    "not patched". Targets by tag are resolved by SSM itself (a ``tag:`` filter on the managed instances).
    An association's targets are taken as alternatives, so doubt leans to "covered", not to a finding."""
    try:
        associations = [
            a
            for a in pages(ssm, "list_associations", ctx, "Associations")
            if a.get("Name") in PATCH_DOCUMENTS
        ]
        covered: set[str] = set()
        for assoc in associations:
            for target in assoc.get("Targets") or ():
                key, values = target.get("Key", ""), list(target.get("Values") or ())
                if key == "InstanceIds":
                    covered |= managed if "*" in values else managed & set(values)
                elif key.startswith("tag:") or key == "tag-key":
                    found = pages(
                        ssm,
                        "describe_instance_information",
                        ctx,
                        "InstanceInformationList",
                        Filters=[{"Key": key, "Values": values}],
                    )
                    covered |= {info["InstanceId"] for info in found}
                else:
                    label = assoc.get("AssociationName") or assoc.get("AssociationId")
                    return None, f"association {label} targets {key}, which vmwb does not resolve"
    except ClientError as exc:
        return None, f"associations unknown: {describe_error(exc)}"
    return covered, None


def _last_install(state: dict[str, Any]) -> str | None:
    if state.get("Operation") == "Install":
        return iso(state.get("OperationEndTime"))
    return iso(state.get("LastNoRebootInstallOperationTime"))


def ssm_not_enabled(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in SSM_NOT_ENABLED


def collect_patch(ssm: Any, out: TaskOutput, ctx: TaskContext) -> None:
    try:
        infos = {
            info["InstanceId"]: info
            for info in pages(ssm, "describe_instance_information", ctx, "InstanceInformationList")
        }
    except ClientError as exc:
        if not ssm_not_enabled(exc):
            raise
        out.add(
            patch_api_state("ssm", False, f"Systems Manager not enabled: {describe_error(exc)}")
        )
        return
    out.add(patch_api_state("ssm", True))
    ids = sorted(infos)
    states: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), PATCH_STATE_BATCH):
        batch = ids[start : start + PATCH_STATE_BATCH]
        for state in pages(
            ssm, "describe_instance_patch_states", ctx, "InstancePatchStates", InstanceIds=batch
        ):
            states[state["InstanceId"]] = state
    # No managed instance, nothing to ask (a region without SSM costs no extra call).
    covered, why = patch_associated(ssm, ctx, set(ids)) if ids else (set(), None)
    for iid in ids:
        info, state = infos[iid], states.get(iid, {})
        out.add(
            PatchState(
                id=iid,
                name=info.get("ComputerName") or "",
                raw=jsonable({"information": info, "patch_state": state or None}),
                extra={
                    "managed": True,
                    "ping_status": info.get("PingStatus"),
                    "agent_version": info.get("AgentVersion"),
                    "platform": info.get("PlatformName"),
                    "baseline_id": state.get("BaselineId"),
                    "operation": state.get("Operation"),
                    "pending_reboot": state.get("InstalledPendingRebootCount"),
                    **({"patch_association_error": why} if why else {}),
                },
                last_install_at=_last_install(state) if state else None,
                last_scan_at=iso(state.get("OperationEndTime")) if state else None,
                installed_count=state.get("InstalledCount"),
                missing_count=state.get("MissingCount"),
                failed_count=state.get("FailedCount"),
                critical_missing=state.get("CriticalNonCompliantCount"),
                security_missing=state.get("SecurityNonCompliantCount"),
                agent_online=info.get("PingStatus") == "Online",
                auto_patch=None if covered is None else iid in covered,
            )
        )

"""SSM patch collector: which instances are managed, whether their agent is online, their patch state."""

from __future__ import annotations

from typing import Any

from workbench.cache.store import TaskOutput
from workbench.model import PatchState
from workbench.providers.aws.util import iso, jsonable, pages
from workbench.providers.base import TaskContext

PATCH_STATE_BATCH = 50  # describe_instance_patch_states takes at most 50 instance ids


def _last_install(state: dict[str, Any]) -> str | None:
    if state.get("Operation") == "Install":
        return iso(state.get("OperationEndTime"))
    return iso(state.get("LastNoRebootInstallOperationTime"))


def collect_patch(ssm: Any, out: TaskOutput, ctx: TaskContext) -> None:
    infos = {
        info["InstanceId"]: info
        for info in pages(ssm, "describe_instance_information", ctx, "InstanceInformationList")
    }
    ids = sorted(infos)
    states: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), PATCH_STATE_BATCH):
        batch = ids[start : start + PATCH_STATE_BATCH]
        for state in pages(
            ssm, "describe_instance_patch_states", ctx, "InstancePatchStates", InstanceIds=batch
        ):
            states[state["InstanceId"]] = state
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
                },
                last_install_at=_last_install(state) if state else None,
                last_scan_at=iso(state.get("OperationEndTime")) if state else None,
                installed_count=state.get("InstalledCount"),
                missing_count=state.get("MissingCount"),
                failed_count=state.get("FailedCount"),
                critical_missing=state.get("CriticalNonCompliantCount"),
                security_missing=state.get("SecurityNonCompliantCount"),
                agent_online=info.get("PingStatus") == "Online",
            )
        )

"""OS Config (VM Manager) collector: per-instance inventory, vulnerability reports and patch jobs as PatchState rows.

Only instances whose agent has reported (an inventory, a vulnerability report or a patch job outcome exists) get a
row, as for AWS where only SSM-managed instances do: a VM with no row is not under VM Manager.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from workbench.clock import iso
from workbench.model import PatchState, TaskOutput
from workbench.providers.base import TaskContext, patch_api_state
from workbench.providers.gcp.util import (
    Json,
    aggregated,
    as_dict,
    last,
    link_parts,
    pages,
    resource_id,
)

log = logging.getLogger(__name__)

OSCONFIG = "osconfig.googleapis.com"
MAX_CVES = 50  # CVE ids kept per instance in extra; the full report stays in raw
# Newest finished patch jobs read per project (one instanceDetails list each): a weekly deployment makes ~50 a
# year, so this covers every instance patched in the last year or more.
MAX_JOBS = 100
_DONE_JOBS = {"SUCCEEDED", "COMPLETED_WITH_ERRORS", "CANCELED", "TIMED_OUT"}
_INSTALLED = {"SUCCEEDED", "SUCCEEDED_REBOOT_REQUIRED"}
_FAILED = {"FAILED", "TIMED_OUT", "NO_AGENT_DETECTED"}


def _instances(handle: Any, ctx: TaskContext) -> dict[tuple[str, str], tuple[str, str]]:
    """(zone, numeric id or name) → (cache id, name) for every instance of the project."""
    client = handle.clients.compute("InstancesClient")
    pager = client.aggregated_list(project=handle.project, **handle.clients.call_kwargs)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for vm in aggregated(pager, ctx, "instances"):
        ref = (resource_id(vm), vm.get("name", ""))
        zone = last(vm.get("zone"))
        found[(zone, str(vm.get("id", "")))] = ref
        found[(zone, vm.get("name", ""))] = ref
    return found


def _reports(handle: Any, zone: str, kind: str, ctx: TaskContext) -> list[Json]:
    from google.cloud import osconfig_v1

    client = handle.clients.osconfig()
    parent = f"projects/{handle.project}/locations/{zone}/instances/-"
    if kind == "inventories":
        request: Any = osconfig_v1.ListInventoriesRequest(
            parent=parent, view=osconfig_v1.InventoryView.FULL
        )
        pager = client.list_inventories(request=request, **handle.clients.call_kwargs)
        field = "inventories"
    else:
        request = osconfig_v1.ListVulnerabilityReportsRequest(parent=parent)
        pager = client.list_vulnerability_reports(request=request, **handle.clients.call_kwargs)
        field = "vulnerability_reports"
    return [as_dict(r) for page in pages(pager, ctx) for r in getattr(page, field)]


def _owner(name: str) -> tuple[str, str]:
    """``projects/N/locations/<zone>/instances/<id>/inventory`` → (zone, id)."""
    parts = name.split("/")
    return (parts[3], parts[5]) if len(parts) > 5 else ("", "")


def _patch_jobs(
    handle: Any, instances: dict[tuple[str, str], tuple[str, str]], ctx: TaskContext
) -> dict[tuple[str, str], Json]:
    """Per instance: its newest install time and whether its newest outcome failed, from finished patch jobs."""
    from google.api_core.exceptions import Forbidden, PermissionDenied

    client = handle.clients.osconfig("OsConfigServiceClient")
    kw = handle.clients.call_kwargs
    try:
        pager = client.list_patch_jobs(parent=f"projects/{handle.project}", **kw)
        jobs = [as_dict(j) for page in pages(pager, ctx) for j in page.patch_jobs]
    except (Forbidden, PermissionDenied) as exc:  # REST answers Forbidden, gRPC PermissionDenied
        if service_disabled(exc):
            raise
        # Patch jobs need roles/osconfig.patchJobViewer, which a reports-only auditor may lack: keep the rest.
        log.warning(
            "[gcp] %s: patch jobs not readable (%s); no last install times", handle.project, exc
        )
        return {}
    # Dry runs install nothing; running jobs have no final outcome yet.
    done = [j for j in jobs if j.get("state") in _DONE_JOBS and not j.get("dryRun")]
    done.sort(key=lambda j: iso(j.get("createTime")) or "", reverse=True)
    history: dict[tuple[str, str], Json] = {}
    for job in done[:MAX_JOBS]:
        # A PatchJob has no end time: a finished job's last update is when it finished.
        ended = iso(job.get("updateTime"))
        pager = client.list_patch_job_instance_details(parent=job["name"], **kw)
        for page in pages(pager, ctx):
            for detail in map(as_dict, page.patch_job_instance_details):
                parts = link_parts(detail.get("name"))
                zone, system_id = parts.get("zones", ""), str(detail.get("instanceSystemId", ""))
                ref = instances.get((zone, system_id)) or instances.get(
                    (zone, parts.get("instances", ""))
                )
                state = detail.get("state")
                if ref is None or state not in _INSTALLED | _FAILED:
                    continue
                seen = history.setdefault(ref, {"last_install_at": None})
                if "failed" not in seen:  # jobs come newest first: the first outcome is the latest
                    seen.update(failed=state in _FAILED, job=job["name"], state=state)
                    if state in _FAILED:
                        seen["failure_reason"] = detail.get("failureReason")
                if state in _INSTALLED and seen["last_install_at"] is None:
                    seen["last_install_at"] = ended
    return history


def service_disabled(exc: BaseException) -> bool:
    """Whether a Google API error says the API is not enabled in the project (ErrorInfo SERVICE_DISABLED)."""
    if getattr(exc, "reason", None) == "SERVICE_DISABLED":
        return True
    text = str(exc)
    return "SERVICE_DISABLED" in text or "has not been used in project" in text


def collect_patch(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    from google.api_core.exceptions import Forbidden, PermissionDenied

    instances = _instances(handle, ctx)
    zones = sorted({zone for zone, _ in instances})
    try:
        _collect_reports(handle, instances, zones, out, ctx)
    except (Forbidden, PermissionDenied) as exc:
        if not service_disabled(exc):
            raise
        out.records.clear()
        out.add(patch_api_state(OSCONFIG, False, "OS Config API not enabled: patch state unknown"))
        return
    out.add(patch_api_state(OSCONFIG, True))


def _collect_reports(
    handle: Any,
    instances: dict[tuple[str, str], tuple[str, str]],
    zones: list[str],
    out: TaskOutput,
    ctx: TaskContext,
) -> None:
    inventories: dict[tuple[str, str], Json] = {}
    reports: dict[tuple[str, str], Json] = {}
    for zone in zones:
        for inv in _reports(handle, zone, "inventories", ctx):
            ref = instances.get(_owner(inv.get("name", "")))
            if ref:
                inventories[ref] = inv
        for rep in _reports(handle, zone, "vulnerabilityReports", ctx):
            ref = instances.get(_owner(rep.get("name", "")))
            if ref:
                reports[ref] = rep
    jobs = _patch_jobs(handle, instances, ctx)
    for ref in sorted(set(inventories) | set(reports) | set(jobs)):
        out.add(patch_state(ref, inventories.get(ref), reports.get(ref), jobs.get(ref)))


def patch_state(
    ref: tuple[str, str], inventory: Json | None, report: Json | None, jobs: Json | None = None
) -> PatchState:
    inventory, report, jobs = inventory or {}, report or {}, jobs or {}
    kinds = Counter(i.get("type") for i in (inventory.get("items") or {}).values())
    vulns = report.get("vulnerabilities") or []
    severity = Counter((v.get("details") or {}).get("severity", "UNSPECIFIED") for v in vulns)
    cves = sorted({(v.get("details") or {}).get("cve", "") for v in vulns} - {""})
    os_info = inventory.get("osInfo") or {}
    times = [t for t in (iso(inventory.get("updateTime")), iso(report.get("updateTime"))) if t]
    fixable = [v for v in vulns if v.get("availableInventoryItemIds") or v.get("items")]
    return PatchState(
        id=ref[0],
        name=ref[1],
        raw={
            "inventory": {k: v for k, v in inventory.items() if k != "items"} or None,
            "vulnerability_report": report or None,
        },
        extra={
            "managed": True,
            "os": os_info.get("longName") or os_info.get("shortName"),
            "agent_version": os_info.get("osconfigAgentVersion"),
            "vulnerabilities": dict(severity),
            "high_missing": severity.get("HIGH", 0),
            "cves": cves[:MAX_CVES],
            # The newest job outcome: its name, the instance's state and any failure reason.
            "last_patch_job": {
                k: v for k, v in jobs.items() if k not in ("last_install_at", "failed")
            }
            or None,
        },
        last_install_at=jobs.get("last_install_at"),
        # As for AWS (the last operation's failed patches): 1 when the newest job failed on the VM, else 0.
        failed_count=int(jobs["failed"]) if "failed" in jobs else None,
        last_scan_at=max(times) if times else None,
        installed_count=kinds.get("INSTALLED_PACKAGE") if inventory else None,
        missing_count=kinds.get("AVAILABLE_PACKAGE", 0) if inventory else len(fixable),
        critical_missing=severity.get("CRITICAL", 0) if report else None,
        security_missing=len(fixable) if report else None,
        agent_online=bool(inventory),
    )

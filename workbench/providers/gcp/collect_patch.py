"""OS Config (VM Manager) collector: per-instance inventory and vulnerability reports as PatchState rows.

Only instances whose agent has reported (an inventory or a vulnerability report exists) get a row, as for AWS
where only SSM-managed instances do: a VM with no row is not under VM Manager.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from workbench.cache.store import TaskOutput
from workbench.model import PatchState
from workbench.providers.base import TaskContext
from workbench.providers.gcp.util import Json, aggregated, as_dict, iso, last, pages, zonal_id

MAX_CVES = 50  # CVE ids kept per instance in extra; the full report stays in raw


def _instances(handle: Any, ctx: TaskContext) -> dict[tuple[str, str], tuple[str, str]]:
    """(zone, numeric id or name) → (cache id, name) for every instance of the project."""
    client = handle.clients.compute("InstancesClient")
    pager = client.aggregated_list(project=handle.project, **handle.clients.call_kwargs)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for vm in aggregated(pager, ctx, "instances"):
        ref = (zonal_id(vm.get("selfLink")), vm.get("name", ""))
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


def collect_patch(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    instances = _instances(handle, ctx)
    zones = sorted({zone for zone, _ in instances})
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
    for ref in sorted(set(inventories) | set(reports)):
        out.add(patch_state(ref, inventories.get(ref), reports.get(ref)))


def patch_state(ref: tuple[str, str], inventory: Json | None, report: Json | None) -> PatchState:
    inventory, report = inventory or {}, report or {}
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
        },
        last_scan_at=max(times) if times else None,
        installed_count=kinds.get("INSTALLED_PACKAGE") if inventory else None,
        missing_count=kinds.get("AVAILABLE_PACKAGE", 0) if inventory else len(fixable),
        critical_missing=severity.get("CRITICAL", 0) if report else None,
        security_missing=len(fixable) if report else None,
        agent_online=bool(inventory),
    )

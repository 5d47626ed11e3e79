"""Virtual machines with their instance view, network attachments and patch assessment.

One task writes both ``instance`` and ``patch_state`` rows: both come from the same instance views, and a
separate task would list every VM a second time. Instance views are fetched for the whole subscription with
``statusOnly=true`` (one paged call); a VM missing from that answer gets its own ``instanceView`` call.
"""

from __future__ import annotations

from typing import Any

from workbench.clock import iso
from workbench.model import Instance, PatchState, TaskOutput
from workbench.providers.azure.util import (
    Json,
    arm_id,
    ids_of,
    paged,
    parse_id,
    props,
    ref_id,
    tags,
)
from workbench.providers.base import TaskContext

# PowerState/<code> -> the model's lower-case state vocabulary (deallocated VMs are stopped and unbilled).
_POWER = {
    "running": "running",
    "starting": "pending",
    "stopping": "stopping",
    "deallocating": "stopping",
    "stopped": "stopped",
    "deallocated": "stopped",
}
_AUTO_PATCH = {"automaticbyplatform", "automaticbyos"}


def _power_state(view: Json) -> str | None:
    for status in view.get("statuses") or []:
        code = str(status.get("code") or "")
        if code.startswith("PowerState/"):
            return code.split("/", 1)[1].lower()
    return None


def _agent_ready(view: Json) -> bool | None:
    agent = view.get("vmAgent")
    if not isinstance(agent, dict):
        return None
    statuses = agent.get("statuses") or []
    return any(str(s.get("displayStatus", "")).lower() == "ready" for s in statuses)


def _image_id(storage: Json) -> str | None:
    """A custom/gallery image's ARM id, or the marketplace URN (publisher:offer:sku:version) as ``az`` prints it."""
    ref = storage.get("imageReference") or {}
    if ref.get("id"):
        return arm_id(ref["id"])
    if ref.get("sharedGalleryImageId") or ref.get("communityGalleryImageId"):
        return str(ref.get("sharedGalleryImageId") or ref.get("communityGalleryImageId"))
    parts = [ref.get(k) for k in ("publisher", "offer", "sku")]
    if not all(parts):
        return None
    version = ref.get("exactVersion") or ref.get("version") or "latest"
    return ":".join([*(str(p) for p in parts), str(version)]).lower()


def _os_settings(os_profile: Json, os_type: str) -> dict[str, Any]:
    linux = os_profile.get("linuxConfiguration")
    windows = os_profile.get("windowsConfiguration")
    config = linux if isinstance(linux, dict) else windows if isinstance(windows, dict) else {}
    patch = config.get("patchSettings") or {}
    out: dict[str, Any] = {
        "patch_mode": patch.get("patchMode"),
        "assessment_mode": patch.get("assessmentMode"),
        "provision_vm_agent": config.get("provisionVMAgent"),
    }
    if isinstance(linux, dict) or os_type == "linux":
        disabled = (linux or {}).get("disablePasswordAuthentication")
        # Unknown (no osProfile: a VM attached from a specialised disk) stays None, not "enabled".
        out["password_auth"] = None if disabled is None else not disabled
    return out


def _profile(identity: Any) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(identity, dict) or not identity.get("type"):
        return None, {}
    kind = str(identity["type"])
    user = sorted(arm_id(k) or "" for k in (identity.get("userAssignedIdentities") or {}))
    parts = [p for p in (kind, *user) if p]
    return ",".join(parts), {"principal_id": identity.get("principalId"), "identity_type": kind}


class NetworkIndex:
    """NICs, public IPs and subnet NSGs of a subscription, so a VM's exposure is resolved in memory."""

    def __init__(self, nics: list[Json], pips: list[Json], nsgs: list[Json]) -> None:
        self.nics = {arm_id(n["id"]): n for n in nics}
        self.pips = {arm_id(p["id"]): props(p).get("ipAddress") for p in pips}
        self.subnet_nsg: dict[str, str] = {}
        for nsg in nsgs:
            for subnet in ids_of(props(nsg).get("subnets") or []):
                self.subnet_nsg[subnet] = arm_id(nsg["id"]) or ""

    def resolve(self, nic_refs: list[Json]) -> dict[str, Any]:
        public: list[str] = []
        private: list[str] = []
        groups: list[str] = []
        subnets: list[str] = []
        ordered = sorted(nic_refs, key=lambda r: not props(r).get("primary", False))
        for ref in ordered:
            nic = self.nics.get(ref_id(ref))
            if nic is None:
                continue
            nic_props = props(nic)
            nsg = ref_id(nic_props.get("networkSecurityGroup"))
            if nsg:
                groups.append(nsg)
            for conf in nic_props.get("ipConfigurations") or []:
                cp = props(conf)
                if cp.get("privateIPAddress"):
                    private.append(cp["privateIPAddress"])
                ip = self.pips.get(ref_id(cp.get("publicIPAddress")))
                if ip:
                    public.append(ip)
                subnet = ref_id(cp.get("subnet"))
                if subnet:
                    subnets.append(subnet)
                    if subnet in self.subnet_nsg:
                        groups.append(self.subnet_nsg[subnet])
        return {
            "public": public,
            "private": private,
            "groups": list(dict.fromkeys(groups)),
            "subnets": list(dict.fromkeys(subnets)),
        }


def instance_record(vm: Json, view: Json, net: NetworkIndex) -> Instance:
    p = props(vm)
    storage = p.get("storageProfile") or {}
    os_disk = storage.get("osDisk") or {}
    os_profile = p.get("osProfile") or {}
    os_type = str(os_disk.get("osType") or "").lower()
    if not os_type:
        os_type = (
            "linux"
            if "linuxConfiguration" in os_profile
            else ("windows" if "windowsConfiguration" in os_profile else "")
        )
    security = p.get("securityProfile") or {}
    security_type = security.get("securityType")
    uefi = security.get("uefiSettings") or {}
    trusted = str(security_type or "").lower() in ("trustedlaunch", "confidentialvm")
    generation = view.get("hyperVGeneration") or p.get("hyperVGeneration")
    boot_mode = (
        "uefi"
        if trusted or str(generation).upper() == "V2"
        else ("legacy-bios" if str(generation).upper() == "V1" else None)
    )
    nics = net.resolve(((p.get("networkProfile") or {}).get("networkInterfaces")) or [])
    volumes = [
        d
        for d in [ref_id(os_disk.get("managedDisk"))]
        + [ref_id(dd.get("managedDisk")) for dd in storage.get("dataDisks") or []]
        if d
    ]
    profile, identity_extra = _profile(vm.get("identity"))
    power = _power_state(view)
    subnet = nics["subnets"][0] if nics["subnets"] else None
    raw = {**vm, "properties": {**p, "instanceView": view}} if view else vm
    return Instance(
        id=arm_id(vm["id"]) or "",
        name=vm.get("name", ""),
        created_at=iso(p.get("timeCreated")),
        tags=tags(vm),
        raw=raw,
        state=_POWER.get(power or "", power or ""),
        instance_type=str((p.get("hardwareProfile") or {}).get("vmSize") or ""),
        platform=os_type,
        image_id=_image_id(storage),
        public_ip=nics["public"][0] if nics["public"] else None,
        private_ip=nics["private"][0] if nics["private"] else None,
        boot_mode=boot_mode,
        # A Standard (non-Trusted-Launch) VM has no Secure Boot or vTPM at all: False, not unknown.
        secure_boot=bool(uefi.get("secureBootEnabled")) if trusted else False,
        vtpm=bool(uefi.get("vTpmEnabled")) if trusted else False,
        encryption_at_host=bool(security.get("encryptionAtHost", False)),
        profile=profile,
        managed=_agent_ready(view),
        network_id=subnet.split("/subnets/")[0] if subnet else None,
        subnet_id=subnet,
        firewall_groups=nics["groups"],
        volume_ids=volumes,
        extra={
            "location": vm.get("location"),
            "zones": vm.get("zones") or [],
            "resource_group": parse_id(vm["id"])[1].lower(),
            "vm_id": p.get("vmId"),
            "power_state": power,
            "security_type": security_type or "Standard",
            "hyper_v_generation": generation,
            "public_ips": nics["public"],
            "private_ips": nics["private"],
            "subnet_ids": nics["subnets"],
            "nic_ids": ids_of(((p.get("networkProfile") or {}).get("networkInterfaces")) or []),
            **_os_settings(os_profile, os_type),
            **identity_extra,
        },
    )


def patch_record(vm_id: str, name: str, view: Json, extra: dict[str, Any]) -> PatchState | None:
    status = view.get("patchStatus")
    if not isinstance(status, dict):
        return None
    available = status.get("availablePatchSummary") or {}
    installed = status.get("lastPatchInstallationSummary") or {}
    crit_sec = available.get("criticalAndSecurityPatchCount")
    other = available.get("otherPatchCount")
    missing = None if crit_sec is None and other is None else (crit_sec or 0) + (other or 0)
    patch_mode = str(extra.get("patch_mode") or "").lower()
    return PatchState(
        id=vm_id,
        name=name,
        raw=status,
        last_scan_at=iso(available.get("lastModifiedTime")),
        last_install_at=iso(installed.get("lastModifiedTime")),
        installed_count=installed.get("installedPatchCount"),
        missing_count=missing,
        failed_count=installed.get("failedPatchCount"),
        # Azure reports critical and security updates as one number; both columns carry it so a KPI over
        # either counts every VM with such a patch outstanding.
        critical_missing=crit_sec,
        security_missing=crit_sec,
        agent_online=_agent_ready(view),
        auto_patch=patch_mode in _AUTO_PATCH if patch_mode else None,
        extra={
            "assessment_status": available.get("status"),
            "assessment_mode": extra.get("assessment_mode"),
            "patch_mode": extra.get("patch_mode"),
            "reboot_pending": available.get("rebootPending"),
            "other_missing": other,
            "install_status": installed.get("status"),
            "pending_count": installed.get("pendingPatchCount"),
        },
    )


def collect_vms(clients: Any, subscription: str, out: TaskOutput, ctx: TaskContext) -> None:
    compute, network = clients.compute(subscription), clients.network(subscription)
    vms = list(paged(compute.virtual_machines.list_all(), ctx))
    views: dict[str, Json] = {}
    for item in paged(compute.virtual_machines.list_all(status_only="true"), ctx):
        view = props(item).get("instanceView")
        if isinstance(view, dict):
            views[arm_id(item["id"]) or ""] = view
    net = NetworkIndex(
        list(paged(network.network_interfaces.list_all(), ctx)),
        list(paged(network.public_ip_addresses.list_all(), ctx)),
        list(paged(network.network_security_groups.list_all(), ctx)),
    )
    for vm in vms:
        vid = arm_id(vm["id"]) or ""
        view = views.get(vid)
        if view is None:
            ctx.checkpoint()
            _, group, name = parse_id(vm["id"])
            view = dict(compute.virtual_machines.instance_view(group, name).as_dict())
        rec = instance_record(vm, view, net)
        out.add(rec)
        for vol in rec.volume_ids:
            out.relate("instance", rec.id, "attached", "volume", vol)
        for group_id in rec.firewall_groups:
            out.relate("instance", rec.id, "protected_by", "firewall_group", group_id)
        for subnet in rec.extra["subnet_ids"]:
            out.relate("instance", rec.id, "in_network", "subnet", subnet)
        if rec.image_id and rec.image_id.startswith("/subscriptions/"):
            out.relate("instance", rec.id, "launched_from", "image", rec.image_id)
        patch = patch_record(rec.id, rec.name, view, rec.extra)
        if patch is not None:
            out.add(patch)

"""Managed disks, snapshots, managed images and compute galleries (with their public/community sharing)."""

from __future__ import annotations

from typing import Any

from workbench.clock import iso
from workbench.model import Grant, Image, Snapshot, TaskOutput, Volume
from workbench.providers.azure.util import Json, arm_id, paged, parse_id, props, tags
from workbench.providers.base import TaskContext

# diskState -> the model's state vocabulary, so provider-neutral checks (unattached = "available") work.
# Reserved: attached to a deallocated VM. ActiveSAS: a download URL is live (an export is in progress).
DISK_STATES = {
    "attached": "in-use",
    "reserved": "in-use",
    "unattached": "available",
    "activesas": "active-sas",
    "activesasfrozen": "active-sas",
    "readytoupload": "ready-to-upload",
    "activeupload": "active-upload",
}
SAS_STATES = {"activesas", "activesasfrozen"}
# encryption.type -> the model's encryption_type.
_ENCRYPTION = {
    "encryptionatrestwithplatformkey": "platform",
    "encryptionatrestwithcustomerkey": "cmk",
    "encryptionatrestwithplatformandcustomerkeys": "cmk",
    "confidentialvmencryptedwithcustomerkey": "cmk",
}


def network_exposure(p: Json) -> dict[str, Any]:
    """The export settings of a disk or snapshot and whether they let anyone on the internet download it.

    ``networkAccessPolicy=AllowAll`` lets a SAS URL be generated and used from any network; only
    ``publicNetworkAccess=Disabled`` (or a policy of AllowPrivate/DenyAll) keeps the export off the internet.
    """
    policy = p.get("networkAccessPolicy")
    public_network = p.get("publicNetworkAccess")
    disk_state = str(p.get("diskState") or "")
    # ARM omits networkAccessPolicy on old disks; its default is AllowAll.
    open_policy = str(policy or "AllowAll").lower() == "allowall"
    return {
        "network_access_policy": policy,
        "public_network_access": public_network,
        "disk_access_id": arm_id(p.get("diskAccessId")),
        "disk_state": disk_state or None,
        "sas_active": disk_state.lower() in SAS_STATES,
        "public_access": open_policy and str(public_network or "Enabled").lower() != "disabled",
    }


def _encryption(p: Json) -> tuple[str | None, str | None, Json]:
    enc = p.get("encryption") or {}
    kind = str(enc.get("type") or "")
    des = arm_id(enc.get("diskEncryptionSetId"))
    mapped = _ENCRYPTION.get(kind.lower()) if kind else None
    settings = p.get("encryptionSettingsCollection") or {}
    extra = {"encryption": kind or None, "ade_enabled": bool(settings.get("enabled"))}
    return mapped, des, extra


def volume_record(disk: Json) -> Volume:
    p = props(disk)
    exposure = network_exposure(p)
    enc_type, des, enc_extra = _encryption(p)
    state = str(p.get("diskState") or "").lower()
    managed_by = arm_id(disk.get("managedBy"))
    return Volume(
        id=arm_id(disk["id"]) or "",
        name=disk.get("name", ""),
        created_at=iso(p.get("timeCreated")),
        tags=tags(disk),
        raw=disk,
        state=DISK_STATES.get(state, state),
        size_gb=p.get("diskSizeGB"),
        volume_type=str((disk.get("sku") or {}).get("name") or ""),
        encrypted=True,  # every managed disk is encrypted at rest (SSE); the question is whose key
        kms_key=des,
        encryption_type=enc_type,
        attached_to=[managed_by] if managed_by else [],
        public_access=exposure["public_access"],
        extra={
            "location": disk.get("location"),
            "resource_group": parse_id(disk["id"])[1].lower(),
            "os_type": p.get("osType"),
            "zones": disk.get("zones") or [],
            **exposure,
            **enc_extra,
        },
    )


def snapshot_record(snap: Json) -> Snapshot:
    p = props(snap)
    exposure = network_exposure(p)
    enc_type, des, enc_extra = _encryption(p)
    creation = p.get("creationData") or {}
    source = arm_id(creation.get("sourceResourceId"))
    disk_state = str(p.get("diskState") or "").lower()
    state = (
        "active-sas" if disk_state in SAS_STATES else str(p.get("provisioningState") or "").lower()
    )
    return Snapshot(
        id=arm_id(snap["id"]) or "",
        name=snap.get("name", ""),
        created_at=iso(p.get("timeCreated")),
        tags=tags(snap),
        raw=snap,
        state="completed" if state == "succeeded" else state,
        size_gb=p.get("diskSizeGB"),
        encrypted=True,
        kms_key=des,
        source_volume_id=source if source and "/microsoft.compute/disks/" in source else None,
        # A snapshot is never "public" the way a shared EBS snapshot is: downloading it still takes a SAS.
        # Its network exposure lives in extra (public_access, sas_active) for the Azure checks.
        public=False,
        extra={
            "location": snap.get("location"),
            "resource_group": parse_id(snap["id"])[1].lower(),
            "incremental": p.get("incremental"),
            "encryption_type": enc_type,
            **exposure,
            **enc_extra,
        },
    )


def image_record(image: Json, subscription: str) -> Image:
    p = props(image)
    os_disk = (p.get("storageProfile") or {}).get("osDisk") or {}
    generation = str(p.get("hyperVGeneration") or "")
    return Image(
        id=arm_id(image["id"]) or "",
        name=image.get("name", ""),
        tags=tags(image),
        raw=image,
        state=str(p.get("provisioningState") or "").lower(),
        public=False,  # managed images cannot be shared outside RBAC
        owner=subscription,
        encrypted=True,
        boot_mode="uefi" if generation.upper() == "V2" else "legacy-bios" if generation else None,
        platform=str(os_disk.get("osType") or "").lower(),
        extra={
            "kind": "managed_image",
            "location": image.get("location"),
            "source_vm": arm_id((p.get("sourceVirtualMachine") or {}).get("id")),
        },
    )


def gallery_records(gallery: Json, subscription: str) -> tuple[Image, list[Grant]]:
    """A compute gallery as an ``image`` row (the gallery is the unit of sharing) plus its grants."""
    p = props(gallery)
    sharing = p.get("sharingProfile") or {}
    permission = str(sharing.get("permissions") or "Private")
    gid = arm_id(gallery["id"]) or ""
    community = sharing.get("communityGalleryInfo") or {}
    grants: list[Grant] = []
    if permission.lower() == "community":
        grants.append(
            Grant(
                id=f"{gid}/community",
                resource_kind="image",
                resource_id=gid,
                grantee_kind="public",
                grantee="community",
                permission="Community",
                extra={"public_names": community.get("publicNames") or []},
            )
        )
    for group in sharing.get("groups") or []:
        kind = "account" if str(group.get("type", "")).lower() == "subscriptions" else "principal"
        for member in group.get("ids") or []:
            grants.append(
                Grant(
                    id=f"{gid}/{member}",
                    resource_kind="image",
                    resource_id=gid,
                    grantee_kind=kind,
                    grantee=str(member),
                    permission=permission,
                )
            )
    image = Image(
        id=gid,
        name=gallery.get("name", ""),
        tags=tags(gallery),
        raw=gallery,
        state=str(p.get("provisioningState") or "").lower(),
        public=permission.lower() == "community",
        owner=subscription,
        extra={
            "kind": "gallery",
            "location": gallery.get("location"),
            "sharing": permission,
            "public_names": community.get("publicNames") or [],
            "description": p.get("description"),
        },
    )
    return image, grants


def collect_disks(clients: Any, subscription: str, out: TaskOutput, ctx: TaskContext) -> None:
    # The instance -> volume edges come from the vms task (the VM's storage profile); a second copy here
    # would duplicate them in the relations table.
    for disk in paged(clients.compute(subscription).disks.list(), ctx):
        out.add(volume_record(disk))


def collect_snapshots(clients: Any, subscription: str, out: TaskOutput, ctx: TaskContext) -> None:
    for snap in paged(clients.compute(subscription).snapshots.list(), ctx):
        rec = snapshot_record(snap)
        out.add(rec)
        if rec.source_volume_id:
            out.relate("snapshot", rec.id, "snapshot_of", "volume", rec.source_volume_id)


def collect_images(clients: Any, subscription: str, out: TaskOutput, ctx: TaskContext) -> None:
    compute = clients.compute(subscription)
    for image in paged(compute.images.list(), ctx):
        out.add(image_record(image, subscription))
    for gallery in paged(compute.galleries.list(), ctx):
        rec, grants = gallery_records(gallery, subscription)
        out.add(rec)
        for grant in grants:
            out.add(grant)

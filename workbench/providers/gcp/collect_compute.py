"""Compute Engine collectors: instances, disks, snapshots and images (the last two with IAM grants)."""

from __future__ import annotations

from typing import Any

from workbench import secret_scan
from workbench.clock import iso
from workbench.errors import BadAnswer
from workbench.model import Grant, Image, Instance, Snapshot, TaskOutput, Volume
from workbench.providers.base import TaskContext
from workbench.providers.gcp.util import (
    Json,
    aggregated,
    as_dict,
    image_ref,
    items,
    last,
    meta_items,
    resource_id,
    truthy,
    vanished,
    zonal_id,
)
from workbench.providers.parallel import ItemFailed, map_items

# Compute Engine status → the model's lower-case states.
STATES = {
    "PROVISIONING": "pending",
    "STAGING": "pending",
    "RUNNING": "running",
    "STOPPING": "stopping",
    "STOPPED": "stopped",
    "TERMINATED": "stopped",
    "SUSPENDING": "suspending",
    "SUSPENDED": "suspended",
    "REPAIRING": "repairing",
}
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_SA_SUFFIX = "-compute@developer.gserviceaccount.com"
# Metadata keys whose values the guest runs: scanned for secrets, which are then kept out of the cache's raw copy.
SCRIPT_KEYS = (
    "startup-script",
    "shutdown-script",
    "user-data",
    "windows-startup-script-ps1",
    "windows-startup-script-cmd",
    "windows-startup-script-bat",
    "sysprep-specialize-script-ps1",
)
PUBLIC_MEMBERS = {"allUsers": "public", "allAuthenticatedUsers": "all_authenticated"}


def _handle_call(handle: Any, kind: str, method: str, **kwargs: Any) -> Any:
    client = handle.clients.compute(kind)
    return getattr(client, method)(**kwargs, **handle.clients.call_kwargs)


def _disk_images(handle: Any, ctx: TaskContext) -> dict[str, str | None]:
    """Disk id → the image it was created from: an instance's attached disks do not carry it."""
    pager = _handle_call(handle, "DisksClient", "aggregated_list", project=handle.project)
    return {
        resource_id(d): image_ref(d.get("sourceImage"), handle.project)
        for d in aggregated(pager, ctx, "disks")
    }


def _platform(*license_lists: list[str] | None) -> str:
    text = " ".join(str(x) for lst in license_lists for x in lst or []).lower()
    return "windows" if "windows" in text else "linux"


def collect_instances(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    images = _disk_images(handle, ctx)
    pager = _handle_call(handle, "InstancesClient", "aggregated_list", project=handle.project)
    for item in aggregated(pager, ctx, "instances"):
        rec = instance_record(item, images)
        out.add(rec)
        for vol in rec.volume_ids:
            out.relate("instance", rec.id, "attached", "volume", vol)
        if rec.image_id:
            out.relate("instance", rec.id, "launched_from", "image", rec.image_id)
        for net in rec.firewall_groups:
            out.relate("instance", rec.id, "protected_by", "firewall_group", net)
        if rec.subnet_id:
            out.relate("instance", rec.id, "in_network", "subnet", rec.subnet_id)


def script_secrets(item: Json) -> tuple[Json, list[Json]]:
    """Likely secrets in the VM's metadata scripts (kind, line, fingerprint and key; never the text), and the
    item with the value of every script that holds one replaced by a note (a secret found is redacted)."""
    meta = meta_items(item.get("metadata"))
    found = [
        {**hit, "key": key}
        for key in SCRIPT_KEYS
        if meta.get(key)
        for hit in secret_scan.scan(meta[key])
    ]
    if not found:
        return item, []
    leaky = {h["key"] for h in found}
    metadata = dict(item.get("metadata") or {})
    metadata["items"] = [
        {
            **i,
            "value": f"[not stored: {sum(h['key'] == i.get('key') for h in found)} likely secret(s)]",
        }
        if i.get("key") in leaky
        else i
        for i in metadata.get("items") or []
    ]
    return {**item, "metadata": metadata}, found


def instance_record(item: Json, disk_images: dict[str, str | None]) -> Instance:
    meta = meta_items(item.get("metadata"))
    raw, secrets = script_secrets(item)
    nics = item.get("networkInterfaces") or []
    nats = [ac["natIP"] for nic in nics for ac in nic.get("accessConfigs") or [] if ac.get("natIP")]
    # An external IPv6 address (ipv6AccessConfigs, type DIRECT_IPV6) is as public as an external IPv4 one.
    nats += [
        ac["externalIpv6"]
        for nic in nics
        for ac in nic.get("ipv6AccessConfigs") or []
        if ac.get("externalIpv6")
    ]
    disks = item.get("disks") or []
    boot = next((d for d in disks if d.get("boot")), disks[0] if disks else {})
    shielded = item.get("shieldedInstanceConfig") or {}
    accounts = [
        {"email": sa.get("email", ""), "scopes": list(sa.get("scopes") or [])}
        for sa in item.get("serviceAccounts") or []
    ]
    status = item.get("status", "")
    state = STATES.get(status, status.lower())
    features = {f.get("type") for f in boot.get("guestOsFeatures") or []}
    zone = last(item.get("zone"))
    image_id = disk_images.get(zonal_id(boot.get("source")))
    return Instance(
        id=resource_id(item),
        name=item.get("name", ""),
        created_at=iso(item.get("creationTimestamp")),
        tags=dict(item.get("labels") or {}),
        raw=raw,
        extra={
            "zone": zone,
            "user_data_secrets": secrets,
            "region": zone.rsplit("-", 1)[0] if zone else None,
            "numeric_id": item.get("id"),
            "status": status,
            "network_tags": list((item.get("tags") or {}).get("items") or []),
            "service_accounts": accounts,
            "default_service_account": any(
                a["email"].endswith(DEFAULT_SA_SUFFIX) for a in accounts
            ),
            "full_api_access": any(CLOUD_PLATFORM in a["scopes"] for a in accounts),
            "serial_port_enable": truthy(meta.get("serial-port-enable")),
            "block_project_ssh_keys": truthy(meta.get("block-project-ssh-keys")),
            "os_login": truthy(meta.get("enable-oslogin")),
            "os_login_2fa": truthy(meta.get("enable-oslogin-2fa")),
            "instance_ssh_keys": bool(meta.get("ssh-keys") or meta.get("sshKeys")),
            "startup_script": "startup-script" in meta or "windows-startup-script-ps1" in meta,
            "integrity_monitoring": shielded.get("enableIntegrityMonitoring"),
            "confidential_compute": bool(
                (item.get("confidentialInstanceConfig") or {}).get("enableConfidentialCompute")
            ),
            "can_ip_forward": bool(item.get("canIpForward")),
            "last_start": iso(item.get("lastStartTimestamp")),
            "last_stop": iso(item.get("lastStopTimestamp")),
            "metadata_fingerprint": (item.get("metadata") or {}).get("fingerprint"),
        },
        state=state,
        instance_type=last(item.get("machineType")),
        platform=_platform([image_id or ""], *(d.get("licenses") for d in disks)),
        image_id=image_id,
        public_ip=nats[0] if nats else None,
        private_ip=nics[0].get("networkIP") if nics else None,
        state_changed_at=iso(
            item.get("lastStopTimestamp") if state == "stopped" else item.get("lastStartTimestamp")
        ),
        boot_mode="uefi" if "UEFI_COMPATIBLE" in features else None,
        secure_boot=shielded.get("enableSecureBoot", False) if shielded else False,
        vtpm=shielded.get("enableVtpm", False) if shielded else False,
        profile=accounts[0]["email"] if accounts else None,
        deletion_protection=bool(item.get("deletionProtection")),
        network_id=last(nics[0].get("network")) if nics else None,
        subnet_id=zonal_id(nics[0].get("subnetwork"))
        if nics and nics[0].get("subnetwork")
        else None,
        firewall_groups=sorted({last(n.get("network")) for n in nics if n.get("network")}),
        volume_ids=[zonal_id(d.get("source")) for d in disks if d.get("source")],
    )


def encryption(key: Json | None) -> tuple[str, str, str | None]:
    """(model encryption_type, GCP's own term, KMS key) of a disk/snapshot/image encryption key."""
    key = key or {}
    if key.get("kmsKeyName"):
        return "cmk", "cmek", key["kmsKeyName"]
    if key.get("rawKey") or key.get("rsaEncryptedKey") or key.get("sha256"):
        return "csek", "csek", None
    return "platform", "google-managed", None


def collect_disks(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    pager = _handle_call(handle, "DisksClient", "aggregated_list", project=handle.project)
    for item in aggregated(pager, ctx, "disks"):
        users = [zonal_id(u) for u in item.get("users") or []]
        enc_type, enc_term, kms = encryption(item.get("diskEncryptionKey"))
        did = resource_id(item)
        out.add(
            Volume(
                id=did,
                name=item.get("name", ""),
                created_at=iso(item.get("creationTimestamp")),
                tags=dict(item.get("labels") or {}),
                raw=item,
                extra={
                    "zone": last(item.get("zone")) or None,
                    "region": last(item.get("region")) or None,
                    "encryption": enc_term,
                    "source_image": image_ref(item.get("sourceImage"), handle.project),
                    "source_snapshot": last(item.get("sourceSnapshot")) or None,
                    "resource_policies": [last(p) for p in item.get("resourcePolicies") or []],
                    "status": item.get("status"),
                    "last_attach": iso(item.get("lastAttachTimestamp")),
                    "last_detach": iso(item.get("lastDetachTimestamp")),
                },
                state="in-use" if users else "available",
                size_gb=float(item["sizeGb"]) if item.get("sizeGb") else None,
                volume_type=last(item.get("type")),
                encrypted=True,  # Compute Engine encrypts every disk; the question is whose key
                kms_key=kms,
                encryption_type=enc_type,
                attached_to=users,
            )
        )
        for user in users:
            out.relate("volume", did, "attached", "instance", user)


def grants(resource_kind: str, resource_id: str, policy: Json) -> list[Grant]:
    """One Grant per member of the resource's IAM policy; roles of a member are joined."""
    by_member: dict[str, list[str]] = {}
    for binding in policy.get("bindings") or []:
        for member in binding.get("members") or []:
            by_member.setdefault(member, []).append(binding.get("role", ""))
    found = []
    for member, roles in by_member.items():
        kind = PUBLIC_MEMBERS.get(member, "principal")
        found.append(
            Grant(
                id=f"{resource_id}/{member}",
                name=member,
                raw={"member": member, "roles": roles},
                extra={"roles": roles, "etag": policy.get("etag")},
                resource_kind=resource_kind,
                resource_id=resource_id,
                grantee_kind=kind,
                grantee=member,
                permission=",".join(sorted(set(roles))),
            )
        )
    return found


def _policies(handle: Any, kind: str, names: list[str], ctx: TaskContext) -> list[Any]:
    """Each resource's IAM policy, or an :class:`ItemFailed` where its call failed."""

    def fetch(name: str) -> Json:
        policy = as_dict(
            _handle_call(handle, kind, "get_iam_policy", project=handle.project, resource=name)
        )
        if not policy.get("etag"):  # every policy the API answers carries its etag
            raise BadAnswer(f"getIamPolicy of {name}: the answer has no etag")
        return policy

    return map_items(fetch, names, ctx, vanished)


def collect_snapshots(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    pager = _handle_call(handle, "SnapshotsClient", "list", project=handle.project)
    found = list(items(pager, ctx))
    policies = _policies(handle, "SnapshotsClient", [s["name"] for s in found], ctx)
    for item, policy in zip(found, policies, strict=True):
        sid = item["name"]
        failed = policy if isinstance(policy, ItemFailed) else None
        if failed and failed.gone:  # deleted since the list
            continue
        policy = {} if failed else policy
        rows = grants("snapshot", sid, policy)
        enc_type, enc_term, kms = encryption(item.get("snapshotEncryptionKey"))
        source = zonal_id(item.get("sourceDisk")) if item.get("sourceDisk") else None
        public = any(g.grantee_kind in ("public", "all_authenticated") for g in rows)
        out.add(
            Snapshot(
                id=sid,
                name=sid,
                created_at=iso(item.get("creationTimestamp")),
                tags=dict(item.get("labels") or {}),
                raw=item,
                extra={
                    "encryption_type": enc_type,
                    "encryption": enc_term,
                    "storage_locations": list(item.get("storageLocations") or []),
                    "auto_created": bool(item.get("autoCreated")),
                    "source_disk_id": item.get("sourceDiskId"),
                    "iam_etag": policy.get("etag"),
                },
                state=(item.get("status") or "").lower(),
                size_gb=float(item["diskSizeGb"]) if item.get("diskSizeGb") else None,
                encrypted=True,
                kms_key=kms,
                source_volume_id=source,
                public=None if failed else public,
            ),
            stale=failed.error if failed else None,  # who may use it is unknown this time
        )
        for grant in rows:
            out.add(grant)
        if source:
            out.relate("snapshot", sid, "snapshot_of", "volume", source)


def collect_images(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    pager = _handle_call(handle, "ImagesClient", "list", project=handle.project)
    found = list(items(pager, ctx))
    policies = _policies(handle, "ImagesClient", [i["name"] for i in found], ctx)
    for item, policy in zip(found, policies, strict=True):
        iid = item["name"]
        failed = policy if isinstance(policy, ItemFailed) else None
        if failed and failed.gone:  # deleted since the list
            continue
        policy = {} if failed else policy
        rows = grants("image", iid, policy)
        enc_type, enc_term, kms = encryption(item.get("imageEncryptionKey"))
        deprecated = item.get("deprecated") or {}
        dep_state = deprecated.get("state") or None
        features = {f.get("type") for f in item.get("guestOsFeatures") or []}
        out.add(
            Image(
                id=iid,
                name=iid,
                created_at=iso(item.get("creationTimestamp")),
                tags=dict(item.get("labels") or {}),
                raw=item,
                extra={
                    "deprecation_state": dep_state,
                    "replacement": last(deprecated.get("replacement")) or None,
                    "encryption_type": enc_type,
                    "encryption": enc_term,
                    "kms_key": kms,
                    "source_disk": zonal_id(item.get("sourceDisk"))
                    if item.get("sourceDisk")
                    else None,
                    "licenses": [last(x) for x in item.get("licenses") or []],
                    "iam_etag": policy.get("etag"),
                },
                state=(item.get("status") or "").lower(),
                public=None
                if failed
                else any(g.grantee_kind in ("public", "all_authenticated") for g in rows),
                owner=handle.project,
                encrypted=True,
                boot_mode="uefi" if "UEFI_COMPATIBLE" in features else None,
                deprecated_at=iso(deprecated.get("deprecated"))
                or (iso(item.get("creationTimestamp")) if dep_state else None),
                family=item.get("family") or None,
                platform=_platform(item.get("licenses")),
            ),
            stale=failed.error if failed else None,
        )
        for grant in rows:
            out.add(grant)

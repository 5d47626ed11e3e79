"""EC2 compute collectors: instances, volumes, snapshots (with their grants) and images (with theirs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workbench import secret_scan
from workbench.clock import iso
from workbench.model import Grant, Image, Instance, Snapshot, TaskOutput, Volume
from workbench.providers.aws.util import (
    expect,
    jsonable,
    pages,
    tag_dict,
    transition_time,
    vanished,
)
from workbench.providers.base import TaskContext
from workbench.providers.parallel import ItemFailed, map_items

# Attribute calls are one per snapshot/image; a few in flight hide the latency without tripping the
# API's request-rate limits (adaptive retries slow the client down further if they do).
ATTRIBUTE_WORKERS = 8


def _platform(item: dict[str, Any]) -> str:
    if (item.get("Platform") or "").lower() == "windows":
        return "windows"
    details = (item.get("PlatformDetails") or "").lower()
    return "windows" if "windows" in details else "linux"


def _instance_attributes(ec2: Any, item: dict[str, Any]) -> dict[str, Any]:
    """Termination protection, and what user data holds (scanned here: the script itself is never stored)."""
    iid = item["InstanceId"]
    found: dict[str, Any] = {}
    op = "DescribeInstanceAttribute"
    prot = ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
    found["deletion_protection"] = (expect(prot, "DisableApiTermination", op) or {}).get("Value")
    data = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    expect(data, "InstanceId", op)  # (no user data: AWS leaves UserData empty or out)
    script = (data.get("UserData") or {}).get("Value")
    found["user_data_present"] = bool(script)
    found["user_data_secrets"] = (
        secret_scan.scan(secret_scan.decode_user_data(script)) if script else []
    )
    return found


def collect_instances(ec2: Any, out: TaskOutput, ctx: TaskContext) -> None:
    items = [
        item
        for reservation in pages(ec2, "describe_instances", ctx, "Reservations")
        for item in reservation.get("Instances") or []
    ]
    live = [i for i in items if (i.get("State") or {}).get("Name") != "terminated"]
    attributes = dict(
        zip(
            (i["InstanceId"] for i in live),
            map_items(
                lambda i: _instance_attributes(ec2, i), live, ctx, vanished, ATTRIBUTE_WORKERS
            ),
            strict=True,
        )
    )
    for item in items:
        record = instance_record(item)
        attrs = attributes.get(item["InstanceId"])
        if isinstance(attrs, ItemFailed):
            if attrs.gone:  # terminated and gone since the list: nothing to show
                continue
            out.add(record, stale=attrs.error)
        else:
            if attrs is not None:
                record.deletion_protection = attrs.pop("deletion_protection")
                record.extra.update(attrs)
            out.add(record)
        iid = item["InstanceId"]
        for vol in _instance_volumes(item):
            out.relate("instance", iid, "attached", "volume", vol)
        if item.get("ImageId"):
            out.relate("instance", iid, "launched_from", "image", item["ImageId"])
        for sg in item.get("SecurityGroups") or []:
            out.relate("instance", iid, "protected_by", "firewall_group", sg["GroupId"])
        if item.get("SubnetId"):
            out.relate("instance", iid, "in_network", "subnet", item["SubnetId"])


def _instance_volumes(item: dict[str, Any]) -> list[str]:
    return [
        bdm["Ebs"]["VolumeId"]
        for bdm in item.get("BlockDeviceMappings") or []
        if bdm.get("Ebs", {}).get("VolumeId")
    ]


def instance_record(item: dict[str, Any]) -> Instance:
    tags = tag_dict(item)
    meta = item.get("MetadataOptions") or {}
    profile = (item.get("IamInstanceProfile") or {}).get("Arn")
    reason = item.get("StateTransitionReason") or ""
    tpm = item.get("TpmSupport")
    return Instance(
        id=item["InstanceId"],
        name=tags.get("Name", ""),
        created_at=iso(item.get("LaunchTime")),
        tags=tags,
        raw=jsonable(item),
        extra={
            "launch_time": iso(item.get("LaunchTime")),
            "state_reason": reason or None,
            "key_name": item.get("KeyName"),
            "ipv6": [
                a["Ipv6Address"]
                for ni in item.get("NetworkInterfaces") or []
                for a in ni.get("Ipv6Addresses") or []
            ],
            "imds_hop_limit": meta.get("HttpPutResponseHopLimit"),
            "tpm_support": tpm,
        },
        state=((item.get("State") or {}).get("Name") or "").lower(),
        instance_type=item.get("InstanceType", ""),
        platform=_platform(item),
        image_id=item.get("ImageId"),
        public_ip=item.get("PublicIpAddress"),
        private_ip=item.get("PrivateIpAddress"),
        state_changed_at=transition_time(reason),
        imds_tokens=meta.get("HttpTokens"),
        imds_endpoint=meta.get("HttpEndpoint"),
        boot_mode=item.get("CurrentInstanceBootMode") or item.get("BootMode"),
        vtpm=(tpm == "v2.0") if tpm else None,
        profile=profile,
        network_id=item.get("VpcId"),
        subnet_id=item.get("SubnetId"),
        firewall_groups=[sg["GroupId"] for sg in item.get("SecurityGroups") or []],
        volume_ids=_instance_volumes(item),
    )


def _encryption_type(encrypted: bool | None, kms_key: str | None) -> str | None:
    if not encrypted:
        return "none"
    # Telling the AWS-managed key from a customer key needs KMS; only the alias form is certain.
    return "platform" if kms_key and kms_key.endswith("alias/aws/ebs") else None


def collect_volumes(ec2: Any, out: TaskOutput, ctx: TaskContext) -> None:
    for item in pages(ec2, "describe_volumes", ctx, "Volumes"):
        tags = tag_dict(item)
        attached = [
            a["InstanceId"]
            for a in item.get("Attachments") or []
            if a.get("InstanceId") and a.get("State") in ("attached", "attaching", None)
        ]
        out.add(
            Volume(
                id=item["VolumeId"],
                name=tags.get("Name", ""),
                created_at=iso(item.get("CreateTime")),
                tags=tags,
                raw=jsonable(item),
                extra={
                    "availability_zone": item.get("AvailabilityZone"),
                    "snapshot_id": item.get("SnapshotId") or None,
                },
                state=item.get("State", ""),
                size_gb=item.get("Size"),
                volume_type=item.get("VolumeType", ""),
                encrypted=item.get("Encrypted"),
                kms_key=item.get("KmsKeyId"),
                encryption_type=_encryption_type(item.get("Encrypted"), item.get("KmsKeyId")),
                attached_to=attached,
            )
        )


def _grants(
    resource_kind: str, resource_id: str, permission: str, entries: Iterable[dict[str, Any]]
) -> list[Grant]:
    grants = []
    for entry in entries:
        if entry.get("Group") == "all":
            kind, grantee = "public", "all"
        elif entry.get("UserId"):
            kind, grantee = "account", entry["UserId"]
        elif entry.get("OrganizationArn") or entry.get("OrganizationalUnitArn"):
            kind, grantee = (
                "principal",
                entry.get("OrganizationArn") or entry["OrganizationalUnitArn"],
            )
        else:
            continue
        grants.append(
            Grant(
                id=f"{resource_id}/{grantee}",
                name=grantee,
                raw=entry,
                resource_kind=resource_kind,
                resource_id=resource_id,
                grantee_kind=kind,
                grantee=grantee,
                permission=permission,
            )
        )
    return grants


def collect_snapshots(ec2: Any, out: TaskOutput, ctx: TaskContext) -> None:
    items = list(pages(ec2, "describe_snapshots", ctx, "Snapshots", OwnerIds=["self"]))

    def permissions(item: dict[str, Any]) -> list[dict[str, Any]]:
        resp = ec2.describe_snapshot_attribute(
            SnapshotId=item["SnapshotId"], Attribute="createVolumePermission"
        )
        return list(expect(resp, "CreateVolumePermissions", "DescribeSnapshotAttribute") or [])

    attributes = map_items(permissions, items, ctx, vanished, ATTRIBUTE_WORKERS)
    for item, perms in zip(items, attributes, strict=True):
        sid = item["SnapshotId"]
        failed = perms if isinstance(perms, ItemFailed) else None
        if failed and failed.gone:  # deleted since the list
            continue
        grants = [] if failed else _grants("snapshot", sid, "createVolumePermission", perms)
        tags = tag_dict(item)
        volume = item.get("VolumeId")
        if volume == "vol-ffffffff":  # AWS's placeholder for "copied, no source volume"
            volume = None
        snapshot = Snapshot(
            id=sid,
            name=tags.get("Name", ""),
            created_at=iso(item.get("StartTime")),
            tags=tags,
            raw=jsonable(item),
            extra={
                "description": item.get("Description") or "",
                "storage_tier": item.get("StorageTier"),
            },
            state=item.get("State", ""),
            size_gb=item.get("VolumeSize"),
            encrypted=item.get("Encrypted"),
            kms_key=item.get("KmsKeyId"),
            source_volume_id=volume,
            public=None if failed else any(g.grantee_kind == "public" for g in grants),
        )
        # Who may use it is unknown this time when its call failed: the cache keeps what it knew.
        out.add(snapshot, stale=failed.error if failed else None)
        for grant in grants:
            out.add(grant)
        if volume:
            out.relate("snapshot", sid, "snapshot_of", "volume", volume)


def _image_encrypted(item: dict[str, Any]) -> bool | None:
    ebs = [b["Ebs"] for b in item.get("BlockDeviceMappings") or [] if b.get("Ebs")]
    if not ebs:
        return None
    return all(bool(e.get("Encrypted")) for e in ebs)


def collect_images(ec2: Any, out: TaskOutput, ctx: TaskContext) -> None:
    items = list(pages(ec2, "describe_images", ctx, "Images", Owners=["self"]))

    def permissions(item: dict[str, Any]) -> list[dict[str, Any]]:
        resp = ec2.describe_image_attribute(ImageId=item["ImageId"], Attribute="launchPermission")
        return list(expect(resp, "LaunchPermissions", "DescribeImageAttribute") or [])

    attributes = map_items(permissions, items, ctx, vanished, ATTRIBUTE_WORKERS)
    for item, perms in zip(items, attributes, strict=True):
        iid = item["ImageId"]
        failed = perms if isinstance(perms, ItemFailed) else None
        if failed and failed.gone:  # deregistered since the list
            continue
        grants = [] if failed else _grants("image", iid, "launchPermission", perms)
        tags = tag_dict(item)
        public: bool | None = bool(item.get("Public")) or any(
            g.grantee_kind == "public" for g in grants
        )
        if failed and not public:
            public = None  # the listing says not public, but launch permissions were not read
        image = Image(
            id=iid,
            name=tags.get("Name") or item.get("Name", ""),
            created_at=iso(item.get("CreationDate")),
            tags=tags,
            raw=jsonable(item),
            extra={
                "image_name": item.get("Name"),
                "snapshot_ids": [
                    b["Ebs"]["SnapshotId"]
                    for b in item.get("BlockDeviceMappings") or []
                    if b.get("Ebs", {}).get("SnapshotId")
                ],
            },
            state=item.get("State", ""),
            public=public,
            owner=item.get("OwnerId"),
            encrypted=_image_encrypted(item),
            boot_mode=item.get("BootMode"),
            tpm_support=item.get("TpmSupport"),
            deprecated_at=iso(item.get("DeprecationTime")),
            platform=_platform(item),
        )
        out.add(image, stale=failed.error if failed else None)
        for grant in grants:
            out.add(grant)

"""Helpers for the fix tests: targets, findings rows, EC2 resources (shared by the fix test modules)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.fixes.base import Target
from workbench.model import make_uid

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
TODAY = dt.date(2026, 11, 26)


def target(kind: str, rid: str, check_id: str = "", region: str = REGION) -> Target:
    return Target(
        check_id, make_uid("aws", ACCOUNT, region, kind, rid), kind, rid, "aws", ACCOUNT, region
    )


def add_finding(cache: Cache, check_id: str, kind: str, rid: str, region: str = REGION) -> None:
    """A findings row as the checks engine writes it (its tests may run before it exists)."""
    uid = make_uid("aws", ACCOUNT, region, kind, rid)
    now = utcnow()
    with cache.transaction():
        cache.db.execute(
            "INSERT INTO findings (key, check_id, resource_uid, resource_kind, resource_id, provider, "
            "account, region, severity, status, evidence, first_seen, last_seen) "
            "VALUES (?,?,?,?,?,'aws',?,?,'high','open',?,?,?)",
            (
                f"{check_id}|{uid}",
                check_id,
                uid,
                kind,
                rid,
                ACCOUNT,
                region,
                json.dumps({}),
                now,
                now,
            ),
        )


def volume_id(ec2: Any) -> str:
    return str(ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"])


def snapshot_id(ec2: Any) -> str:
    return str(ec2.create_snapshot(VolumeId=volume_id(ec2))["SnapshotId"])


def instance_id(ec2: Any, tags: dict[str, str] | None = None) -> str:
    kwargs: dict[str, Any] = {}
    if tags:
        kwargs["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    resp = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, **kwargs)
    return str(resp["Instances"][0]["InstanceId"])

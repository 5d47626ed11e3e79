"""The AWS collector against the seeded moto estate: the cache holds exactly what was planted."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator

import pytest

from workbench.cache import schema
from workbench.emulators.aws_manifest import (
    ALLOWLISTED_ACCOUNT,
    FOREIGN_ACCOUNT,
    HOSTILE_NAME,
    HOSTILE_NAME_XML,
    MAIN_ACCOUNT,
    SECOND_ACCOUNT,
)
from workbench.model import make_uid
from workbench.providers.aws.collect_network import rule_records
from workbench.providers.aws.util import transition_time

KINDS = (
    "instance",
    "volume",
    "snapshot",
    "image",
    "firewall_group",
    "network",
    "subnet",
    "grant",
    "patch_state",
)


@pytest.fixture(scope="module")
def db(aws_estate) -> Iterator[sqlite3.Connection]:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(f"file:{aws_estate.db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def _uids(db: sqlite3.Connection, kind: str, where: str = "1=1") -> set[str]:
    return {r[0] for r in db.execute(f"SELECT uid FROM {schema.TABLES[kind]} WHERE {where}")}


@pytest.mark.parametrize("kind", KINDS)
def test_cache_holds_exactly_the_planted_resources(aws_estate, db, kind) -> None:  # type: ignore[no-untyped-def]
    assert _uids(db, kind) == aws_estate.manifest.uids[kind]


def test_every_scope_task_succeeded(db) -> None:  # type: ignore[no-untyped-def]
    rows = db.execute("SELECT scope_id, task, status, error FROM scope_status").fetchall()
    assert {r["status"] for r in rows} == {"ok"}, [tuple(r) for r in rows if r["status"] != "ok"]
    assert {r["scope_id"] for r in rows} == {
        f"aws:{a}:{r}" for a in (MAIN_ACCOUNT, SECOND_ACCOUNT) for r in ("eu-west-1", "us-east-1")
    }


def test_instance_properties(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    m = aws_estate.manifest
    assert _uids(db, "instance", "imds_tokens='optional'") == m.category("imdsv1_instances")
    assert _uids(db, "instance", "imds_tokens='required'") == m.category("imdsv2_instances")
    assert _uids(db, "instance", "state='stopped'") == m.category("stopped_instances")
    assert _uids(db, "instance", "public_ip IS NOT NULL") == m.category("public_ip_instances")
    assert _uids(db, "instance", "profile LIKE '%instance-profile/app-server'") == m.category(
        "profile_instances"
    )
    no_owner = {
        r["uid"]
        for r in db.execute("SELECT uid, tags FROM instances")
        if "Owner" not in json.loads(r["tags"])
    }
    assert no_owner == m.category("missing_owner_tag")
    for row in db.execute("SELECT * FROM instances WHERE state='stopped'"):
        changed = dt.datetime.fromisoformat(row["state_changed_at"])
        assert abs(changed - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)
        assert json.loads(row["raw"])["InstanceId"] == row["id"]
        assert json.loads(row["firewall_groups"]) and json.loads(row["volume_ids"])


def test_hostile_names_are_stored_verbatim(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    (inst,) = [u for u in aws_estate.manifest.category("hostile_names") if ":instance:" in u]
    assert db.execute("SELECT name FROM instances WHERE uid=?", (inst,)).fetchone()[0] == (
        HOSTILE_NAME_XML
    )
    (patch,) = [u for u in aws_estate.manifest.category("hostile_names") if ":patch_state:" in u]
    assert db.execute("SELECT name FROM patch_states WHERE uid=?", (patch,)).fetchone()[0] == (
        HOSTILE_NAME
    )


def test_volumes(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    m = aws_estate.manifest
    assert _uids(db, "volume", "state='available'") == m.category("unattached_volumes")
    assert _uids(db, "volume", "attached_to='[]'") == m.category("unattached_volumes")
    planted_plain = m.category("unencrypted_volumes")
    assert planted_plain <= _uids(db, "volume", "encrypted=0")
    assert planted_plain.isdisjoint(_uids(db, "volume", "encrypted=1"))


def test_snapshots_grants_and_public_flag(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    m = aws_estate.manifest
    assert _uids(db, "snapshot", "public=1") == m.category("public_snapshots")
    assert m.category("unencrypted_snapshots") <= _uids(db, "snapshot", "encrypted=0")
    assert _uids(db, "grant", "grantee_kind='public'") == m.category("public_grants")
    assert _uids(db, "grant", "grantee_kind='account'") == m.category("account_grants")
    foreign = {
        r[0]
        for r in db.execute(
            "SELECT resource_uid FROM grants WHERE grantee=? AND resource_kind='snapshot'",
            (FOREIGN_ACCOUNT,),
        )
    }
    assert foreign == m.category(f"snapshots_shared_{FOREIGN_ACCOUNT}")
    allowed = {
        r[0]
        for r in db.execute(
            "SELECT resource_uid FROM grants WHERE grantee=?", (ALLOWLISTED_ACCOUNT,)
        )
    }
    assert allowed == m.category(f"snapshots_shared_{ALLOWLISTED_ACCOUNT}")
    perm = {r[0] for r in db.execute("SELECT DISTINCT permission FROM grants")}
    assert perm == {"createVolumePermission", "launchPermission"}


def test_images(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    m = aws_estate.manifest
    assert _uids(db, "image", "public=1") == m.category("public_images")
    shared = {
        r[0]
        for r in db.execute(
            "SELECT resource_uid FROM grants WHERE resource_kind='image' AND grantee_kind='account'"
        )
    }
    assert shared == m.category(f"images_shared_{FOREIGN_ACCOUNT}")
    rows = db.execute("SELECT name, encrypted, boot_mode, owner FROM images").fetchall()
    # moto drops Encrypted from an image's block devices, so every planted image reads unencrypted.
    assert {r["name"]: r["encrypted"] for r in rows} == {
        "golden-public": 0,
        "golden-shared": 0,
        "golden-private": 0,
    }
    assert {r["boot_mode"] for r in rows} == {"uefi"} and {r["owner"] for r in rows} == {
        MAIN_ACCOUNT
    }


def test_firewall_rules(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    m = aws_estate.manifest

    def world_ports(uid: str) -> set[tuple[int, str]]:
        gid = uid.rsplit(":", 1)[1]
        return {
            (r["port_from"], r["source"])
            for r in db.execute(
                "SELECT port_from, source FROM firewall_rules WHERE group_id=? AND world_open=1 "
                "AND direction='ingress'",
                (gid,),
            )
        }

    main_ssh = [u for u in m.category("world_ssh_groups") if MAIN_ACCOUNT in u]
    assert world_ports(main_ssh[0]) == {(22, "0.0.0.0/0"), (22, "::/0")}
    assert world_ports(next(iter(m.category("world_rdp_groups")))) == {(3389, "0.0.0.0/0")}
    assert world_ports(next(iter(m.category("world_mysql_groups")))) == {
        (3306, "0.0.0.0/0"),
        (3306, "::/0"),
    }
    narrow = next(iter(m.category("narrow_groups"))).rsplit(":", 1)[1]
    rows = db.execute(
        "SELECT * FROM firewall_rules WHERE group_id=? AND direction='ingress'", (narrow,)
    ).fetchall()
    assert {(r["source_kind"], r["world_open"]) for r in rows} == {("cidr", 0), ("group", 0)}
    assert all(json.loads(r["extra"])["rule_id"].startswith("sgr-") for r in rows)
    default = next(iter(m.category("default_group_with_rules"))).rsplit(":", 1)[1]
    assert world_ports(f"x:{default}") == {(80, "0.0.0.0/0")}
    assert _uids(db, "firewall_group", "is_default=1") == m.category("default_groups")


def test_networks_and_flow_logs(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    m = aws_estate.manifest
    assert _uids(db, "network", "flow_logs=1") == m.category("vpcs_with_flow_logs")
    assert _uids(db, "network", "flow_logs=0") == m.category("vpcs_without_flow_logs")
    assert _uids(db, "network", "is_default=1") == m.category("default_vpcs")
    logged = {u.rsplit(":", 1)[1] for u in m.category("vpcs_with_flow_logs")}
    subnets = db.execute("SELECT network_id, flow_logs FROM subnets").fetchall()
    assert {(r["network_id"] in logged) == bool(r["flow_logs"]) for r in subnets} == {True}


def test_settings(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    rows = db.execute("SELECT account, region, id, value, extra FROM settings").fetchall()
    ebs = {
        (r["account"], r["region"]): r["value"]
        for r in rows
        if r["id"] == "ebs_encryption_by_default"
    }
    # value is a TEXT column (JSON-able Any): SQLite stores the 0/1 as '0'/'1'.
    assert ebs == {k: str(int(v)) for k, v in aws_estate.manifest.settings.items()}
    assert {r["id"] for r in rows} == {
        "ebs_encryption_by_default",
        "ebs_default_kms_key",
        "snapshot_block_public_access",
        "image_block_public_access",
        "imds_defaults",
        "patch_api",  # Systems Manager answered: enabled (HYB-02 reports the scopes where it is not)
    }
    # moto 5.2 lacks these: recorded as unknown with the reason, not as a failed task.
    for r in rows:
        if r["id"] not in ("ebs_encryption_by_default", "patch_api"):
            assert r["value"] is None and json.loads(r["extra"])["error"]


def test_relations(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    rel = {(r[0], r[1], r[2]) for r in db.execute("SELECT src_uid, kind, dst_uid FROM relations")}
    m = aws_estate.manifest
    roots = m.category("root_volumes")
    attached = {d for s, k, d in rel if k == "attached"}
    assert roots <= attached
    for inst in m.uids["instance"]:
        assert any(s == inst and k == "launched_from" for s, k, _ in rel)
    for row in db.execute("SELECT uid, firewall_groups FROM instances"):
        groups = {
            f"{row['uid'].rsplit(':', 2)[0]}:firewall_group:{g}"
            for g in json.loads(row["firewall_groups"])
        }
        assert groups == {d for s, k, d in rel if s == row["uid"] and k == "protected_by"}
    snap_of = {s for s, k, _ in rel if k == "snapshot_of"}
    planted = m.uids["snapshot"] - m.category("image_snapshots")
    assert planted <= snap_of


def test_patch_states(aws_estate, db) -> None:  # type: ignore[no-untyped-def]
    rows = db.execute("SELECT * FROM patch_states ORDER BY id").fetchall()
    assert {r["uid"] for r in rows} == aws_estate.manifest.category("managed_instances")
    assert sorted(r["agent_online"] for r in rows) == [0, 1, 1]
    assert {r["instance_uid"] for r in rows} <= aws_estate.manifest.uids["instance"]
    # One VM is in no AWS-RunPatchBaseline association; one is targeted by id, one by its Owner tag.
    unpatched = {r["instance_uid"] for r in rows if r["auto_patch"] == 0}
    assert unpatched == aws_estate.manifest.category("no_patch_association")
    assert sorted(r["auto_patch"] for r in rows) == [0, 1, 1]


def test_transition_time() -> None:
    assert transition_time("User initiated (2024-01-01 10:00:00 GMT)") == "2024-01-01T10:00:00Z"
    assert transition_time("User initiated (2024-01-01 10:00:00 UTC)") == "2024-01-01T10:00:00Z"
    assert transition_time("") is None and transition_time(None) is None


def test_rule_records_split_every_source() -> None:
    group = {
        "GroupId": "sg-1",
        "GroupName": "g",
        "IpPermissions": [
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 23,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                "UserIdGroupPairs": [{"GroupId": "sg-2", "UserId": "1"}],
                "PrefixListIds": [{"PrefixListId": "pl-1"}],
            }
        ],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }
    ids = {("sg-1", False, "tcp", 22, 23, "::/0"): "sgr-6"}
    rows = rule_records(group, ids)
    assert [
        (r.direction, r.protocol, r.port_from, r.port_to, r.source, r.source_kind) for r in rows
    ] == [
        ("ingress", "tcp", 22, 23, "0.0.0.0/0", "cidr"),
        ("ingress", "tcp", 22, 23, "10.0.0.0/8", "cidr"),
        ("ingress", "tcp", 22, 23, "::/0", "cidr"),
        ("ingress", "tcp", 22, 23, "sg-2", "group"),
        ("ingress", "tcp", 22, 23, "pl-1", "service"),
        ("egress", "-1", None, None, "0.0.0.0/0", "cidr"),
    ]
    assert rows[2].extra["rule_id"] == "sgr-6" and rows[0].extra["rule_id"] is None
    assert len({r.id for r in rows}) == len(rows)


def test_image_encrypted_needs_every_ebs_device_encrypted() -> None:
    from workbench.providers.aws.collect_compute import _image_encrypted

    dev = {"DeviceName": "/dev/xvda"}
    assert _image_encrypted({"BlockDeviceMappings": [{**dev, "Ebs": {"Encrypted": True}}]}) is True
    both = [{**dev, "Ebs": {"Encrypted": True}}, {**dev, "Ebs": {"Encrypted": False}}]
    assert _image_encrypted({"BlockDeviceMappings": both}) is False
    assert _image_encrypted({"BlockDeviceMappings": [{**dev, "VirtualName": "ephemeral0"}]}) is None


def test_uid_matches_model() -> None:
    assert make_uid("aws", "1", "r", "instance", "i-1") == "aws:1:r:instance:i-1"

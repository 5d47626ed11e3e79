"""Every AWS fix moto can run: plan, dry-run changes nothing, apply, verify, undo restores.

State is asserted twice: through the fix's own ``read_live`` / ``is_fixed`` (the check's condition) and
directly with boto3, so a fix that only fools itself fails.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fix_estate import ACCOUNT, instance_id, snapshot_id, target, volume_id

from workbench.fixes import lookup
from workbench.fixes.base import NotUndoable, Target
from workbench.fixes.engine import FixEngine
from workbench.fixes.plan import Plan

pytestmark = pytest.mark.usefixtures("moto")


def cycle(
    engine: FixEngine,
    fix_id: str,
    tgt: Target,
    inputs: dict[str, Any] | None = None,
    *,
    check_dry_run: bool = True,
    undo: bool = True,
) -> tuple[Plan, dict[str, Any]]:
    """plan → dry-run (nothing changes) → apply → verify → undo (before-state restored)."""
    fix = lookup.get(fix_id)
    norm = fix.normalize_target(tgt)
    before = fix.read_live(engine.ctx, norm)
    plan = engine.plan(fix_id, [tgt], inputs)
    assert plan.items, "expected calls"
    assert not fix.is_fixed(before, plan.inputs)
    plan = Plan.from_json(plan.to_json())  # what the operator approves is the file
    if check_dry_run:
        results = engine.dry_run(plan)
        assert {r.status for r in results} <= {"would_succeed", "plan_only"}, results
        assert fix.read_live(engine.ctx, norm) == before, "dry-run changed the estate"
    result = engine.apply(plan, confirm=plan.confirmation)
    assert result.status == "ok", result.items
    assert [v.fixed for v in result.verified] == [True]
    after = fix.read_live(engine.ctx, norm)
    assert fix.is_fixed(after, plan.inputs)
    entries = engine.journal.for_plan(plan.plan_id)
    assert [e.status for e in entries] == ["verified"] * len(plan.items)
    assert all(e.before is not None and e.after is not None for e in entries)
    if undo:
        for entry in reversed(entries):
            res = engine.undo(entry.entry_id)
            assert res.status == "ok", res.items
        assert fix.read_live(engine.ctx, norm) == before, "undo did not restore the before-state"
        assert {e.status for e in engine.journal.for_plan(plan.plan_id)} == {"undone"}
    return plan, after


def _cvp(ec2: Any, sid: str) -> list[dict[str, str]]:
    return ec2.describe_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")[
        "CreateVolumePermissions"
    ]


def test_revoke_public_snapshot(engine: FixEngine, ec2: Any) -> None:
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
        UserIds=["111122223333"],
    )
    plan, _ = cycle(
        engine, "aws.snapshot.revoke_public", target("snapshot", sid, "SNP-01"), undo=False
    )
    assert plan.items[0].params["GroupNames"] == ["all"]
    assert _cvp(ec2, sid) == [{"UserId": "111122223333"}]  # the account share is untouched
    entry = engine.journal.for_plan(plan.plan_id)[0]
    engine.undo(entry.entry_id)
    assert sorted(_cvp(ec2, sid), key=str) == [{"Group": "all"}, {"UserId": "111122223333"}]


def test_revoke_foreign_snapshot_shares_keeps_allowlist(engine: FixEngine, ec2: Any) -> None:
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=["111122223333", "444455556666"],
    )
    plan, after = cycle(
        engine,
        "aws.snapshot.revoke_foreign_shares",
        target("snapshot", sid, "SNP-03"),
        {"allowlist": "111122223333"},
        undo=False,
    )
    assert after["accounts"] == ["111122223333"]
    assert _cvp(ec2, sid) == [{"UserId": "111122223333"}]
    assert any("444455556666" in line for line in plan.targets[0].blast_radius)
    engine.undo(engine.journal.for_plan(plan.plan_id)[0].entry_id)
    assert sorted(p["UserId"] for p in _cvp(ec2, sid)) == ["111122223333", "444455556666"]


def _image(ec2: Any) -> str:
    iid = instance_id(ec2)
    return str(ec2.create_image(InstanceId=iid, Name="golden-image")["ImageId"])


def test_make_image_private(engine: FixEngine, ec2: Any) -> None:
    ami = _image(ec2)
    ec2.modify_image_attribute(
        ImageId=ami, Attribute="launchPermission", OperationType="add", UserGroups=["all"]
    )
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["Public"] is True
    cycle(engine, "aws.image.make_private", target("image", ami, "IMG-01"), undo=False)
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["Public"] is False
    entry = engine.journal.recent(1)[0]
    engine.undo(entry.entry_id)
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["Public"] is True


def test_revoke_foreign_image_launch(engine: FixEngine, ec2: Any) -> None:
    ami = _image(ec2)
    ec2.modify_image_attribute(
        ImageId=ami,
        Attribute="launchPermission",
        OperationType="add",
        UserIds=["111122223333", "444455556666"],
    )
    cycle(
        engine,
        "aws.image.revoke_foreign_launch",
        target("image", ami, "SNP-03"),
        {"allowlist": ["444455556666"]},
    )
    perms = ec2.describe_image_attribute(ImageId=ami, Attribute="launchPermission")
    assert sorted(p["UserId"] for p in perms["LaunchPermissions"]) == [
        "111122223333",
        "444455556666",
    ]


def _tokens(ec2: Any, iid: str) -> str:
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return str(inst["MetadataOptions"]["HttpTokens"])


def test_require_imdsv2(engine: FixEngine, ec2: Any) -> None:
    iid = instance_id(ec2)
    assert _tokens(ec2, iid) == "optional"
    # moto 5.2.5 ignores DryRun on ModifyInstanceMetadataOptions (it applies the change), so the dry-run of
    # this fix is tested with botocore's Stubber in test_fix_aws_stubber.py.
    cycle(
        engine,
        "aws.instance.require_imdsv2",
        target("instance", iid, "CFG-01"),
        check_dry_run=False,
        undo=False,
    )
    assert _tokens(ec2, iid) == "required"
    engine.undo(engine.journal.recent(1)[0].entry_id)
    assert _tokens(ec2, iid) == "optional"


def _ingress(ec2: Any, gid: str) -> list[tuple[Any, ...]]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    return sorted(
        (
            r["IpProtocol"],
            r["FromPort"],
            r["ToPort"],
            r.get("CidrIpv4") or r.get("CidrIpv6"),
            r.get("Description", ""),
        )
        for r in rules["SecurityGroupRules"]
        if not r["IsEgress"]
    )


def _open_group(ec2: Any) -> str:
    gid = str(ec2.create_security_group(GroupName="web", Description="web")["GroupId"])
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh from anywhere"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "ssh v6"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 3389,
                "ToPort": 3389,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            },
        ],
    )
    return gid


def test_revoke_world_admin_ingress(engine: FixEngine, ec2: Any) -> None:
    gid = _open_group(ec2)
    original = _ingress(ec2, gid)
    # A finding on one normalized rule row maps onto its group.
    rule = target("firewall_rule", f"{gid}/ingress/tcp/22-22/0.0.0.0/0", "NET-01")
    cycle(engine, "aws.sg.revoke_world_admin_ingress", rule, undo=False)
    assert _ingress(ec2, gid) == [
        ("tcp", 443, 443, "0.0.0.0/0", ""),
        ("tcp", 3389, 3389, "10.0.0.0/8", ""),
    ]
    for entry in reversed(engine.journal.recent(2)):
        assert engine.undo(entry.entry_id).status == "ok"
    assert _ingress(ec2, gid) == original  # the exact rules, descriptions included


def test_narrow_world_admin_ingress_to_cidr(engine: FixEngine, ec2: Any) -> None:
    gid = _open_group(ec2)
    original = _ingress(ec2, gid)
    plan, _ = cycle(
        engine,
        "aws.sg.revoke_world_admin_ingress",
        target("firewall_group", gid),
        {"narrow_to": "203.0.113.0/24"},
        undo=False,
    )
    ops = [i.operation for i in plan.items]
    assert ops == [
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
    ]
    assert plan.items[1].requires == [0]  # never revoke before the narrow rule exists
    assert ("tcp", 22, 22, "203.0.113.0/24", "ssh from anywhere") in _ingress(ec2, gid)
    assert not any(r[3] in ("0.0.0.0/0", "::/0") and r[1] == 22 for r in _ingress(ec2, gid))
    results = engine.undo_plan(plan.plan_id)
    assert all(r.status == "ok" for r in results)
    assert _ingress(ec2, gid) == original


def test_ebs_encryption_by_default(engine: FixEngine, ec2: Any) -> None:
    cycle(
        engine,
        "aws.ebs.encryption_by_default",
        target("setting", "ebs_encryption_by_default", "SNP-05"),
        undo=False,
    )
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    engine.undo(engine.journal.recent(1)[0].entry_id)
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False


def _tags(ec2: Any, iid: str) -> dict[str, str]:
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def _state(ec2: Any, iid: str) -> str:
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return str(inst["State"]["Name"])


def test_tag_owner_adds_only_missing_tags(engine: FixEngine, ec2: Any) -> None:
    iid = instance_id(ec2, {"owner": "alice", "Name": "web-1"})
    cycle(
        engine,
        "aws.instance.tag_owner",
        target("instance", iid, "SPR-04"),
        {"owner": "bob", "environment": "staging"},
        undo=False,
    )
    assert _tags(ec2, iid) == {"owner": "alice", "Name": "web-1", "env": "staging"}
    engine.undo(engine.journal.recent(1)[0].entry_id)
    assert _tags(ec2, iid) == {"owner": "alice", "Name": "web-1"}


def test_sprawl_lifecycle_mark_stop_terminate(make_engine: Any, ec2: Any) -> None:
    iid = instance_id(ec2, {"Name": "old-batch"})
    tgt = target("instance", iid, "SPR-01")
    engine = make_engine()
    plan, _ = cycle(engine, "aws.instance.mark_expiry", tgt, {"owner": "team-a", "expiry_days": 7})
    marked = engine.plan("aws.instance.mark_expiry", [tgt], {"owner": "team-a", "expiry_days": 7})
    engine.apply(marked)
    assert _tags(ec2, iid)["expires-on"] == "2026-12-03" and _tags(ec2, iid)["owner"] == "team-a"

    # Not due yet: the stop fix has nothing to do.
    assert not engine.plan("aws.instance.stop_expired", [tgt]).items
    later = make_engine(today=dt.date(2026, 12, 10))
    cycle(later, "aws.instance.stop_expired", tgt)  # plan, dry-run, apply, verify, undo (start)
    stop = later.plan("aws.instance.stop_expired", [tgt])
    later.apply(stop)
    assert _state(ec2, iid) == "stopped" and _tags(ec2, iid)["stopped-on"] == "2026-12-10"

    # Within the grace period (14 days) nothing is due; after it, terminate snapshots every volume first.
    assert not later.plan("aws.instance.terminate_expired", [tgt]).items
    much_later = make_engine(today=dt.date(2026, 12, 24))
    plan = much_later.plan("aws.instance.terminate_expired", [tgt])
    vols = [i.params["VolumeId"] for i in plan.items if i.operation == "CreateSnapshot"]
    assert vols and plan.items[-1].operation == "TerminateInstances"
    assert plan.items[-1].requires == list(range(len(vols)))
    assert {r.status for r in much_later.dry_run(plan)} == {"would_succeed"}
    assert _state(ec2, iid) == "stopped"
    with pytest.raises(Exception, match="type"):
        much_later.apply(plan)  # irreversible: not confirmed
    result = much_later.apply(plan, confirm=iid)
    assert result.status == "ok" and result.verified[0].fixed
    assert _state(ec2, iid) == "terminated"
    snaps = ec2.describe_snapshots(Filters=[{"Name": "tag:vmwb:source-instance", "Values": [iid]}])
    assert sorted(s["VolumeId"] for s in snaps["Snapshots"]) == sorted(vols)
    with pytest.raises(NotUndoable):
        much_later.undo(much_later.journal.for_plan(plan.plan_id)[-1].entry_id)


def test_delete_orphan_volume_snapshots_first(engine: FixEngine, ec2: Any) -> None:
    vid = volume_id(ec2)
    plan = engine.plan("aws.volume.delete_orphan", [target("volume", vid, "SPR-03")])
    assert [i.operation for i in plan.items] == ["CreateSnapshot", "DeleteVolume"]
    assert plan.confirmation == vid
    assert {r.status for r in engine.dry_run(plan)} == {"would_succeed"}
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"]
    result = engine.apply(plan, confirm="1")
    assert result.status == "ok" and result.verified[0].fixed
    assert not ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid]}])["Volumes"]
    snaps = ec2.describe_snapshots(
        OwnerIds=[ACCOUNT], Filters=[{"Name": "volume-id", "Values": [vid]}]
    )
    assert len(snaps["Snapshots"]) == 1
    with pytest.raises(NotUndoable):
        engine.undo(engine.journal.for_plan(plan.plan_id)[-1].entry_id)

"""End to end against moto: the AWS collector syncs, the checks find the problem, the fix (planned from the
findings) is applied, a re-sync and re-scan resolve the finding; undo brings it back on the next scan.

Covers every fix moto can run. The three whose APIs moto lacks (snapshot/image block public access, IMDS
defaults) are tested with Stubber in test_fix_aws_stubber.py; marking an expiry resolves no finding by itself
(its finding resolves when the stop is applied).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest
from fix_estate import REGION, instance_id, snapshot_id, volume_id

from workbench.cache.store import Cache
from workbench.fixes import targets
from workbench.fixes.engine import FixEngine

_MISSING = [
    m
    for m in ("workbench.providers.aws.provider", "workbench.scan.engine")
    if importlib.util.find_spec(m) is None
]
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"needs {', '.join(_MISSING)} (not built yet)"),
    pytest.mark.usefixtures("moto"),
    pytest.mark.slow,
]

TASKS = ["instances", "volumes", "snapshots", "images", "network", "settings"]
FOREIGN, FRIEND = "444455556666", "111122223333"


def _resync(cache: Cache, checks: list[str]) -> set[tuple[str, str]]:
    """Sync the region, scan the checks; the open (check, resource id) pairs."""
    from workbench.providers.aws.provider import AwsProvider
    from workbench.scan.engine import run_scan
    from workbench.sync import SyncEngine

    provider = AwsProvider.from_config({"regions": [REGION], "tasks": TASKS})
    result = SyncEngine(cache, [provider], max_workers=4).run()
    assert not result.failed, result.failed
    params = {"SNP-03": {"allowlisted_accounts": [FRIEND]}}
    run_scan(cache, check_ids=checks, params=params)
    rows = cache.db.execute("SELECT check_id, resource_id FROM findings WHERE status='open'")
    return {(c, r) for c, r in rows}


def _estate(ec2: Any) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One broken resource per fix: check id -> (fix id, resource id, inputs)."""
    public = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=public,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    shared = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=shared,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=[FOREIGN, FRIEND],
    )
    ami = ec2.create_image(InstanceId=instance_id(ec2), Name="golden")["ImageId"]
    ec2.modify_image_attribute(
        ImageId=ami, Attribute="launchPermission", OperationType="add", UserGroups=["all"]
    )
    gid = ec2.create_security_group(GroupName="admin", Description="admin")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    tagged = {"owner": "ops", "env": "prod"}
    expired = instance_id(ec2, {**tagged, "expires-on": "2020-01-01"})
    stale = instance_id(ec2, {**tagged, "expires-on": "2020-01-01", "stopped-on": "2020-01-02"})
    ec2.stop_instances(InstanceIds=[stale])
    return {
        "SNP-01": ("aws.snapshot.revoke_public", public, {}),
        "SNP-03": ("aws.snapshot.revoke_foreign_shares", shared, {"allowlist": [FRIEND]}),
        "IMG-01": ("aws.image.make_private", ami, {}),
        "CFG-01": ("aws.instance.require_imdsv2", instance_id(ec2, tagged), {}),
        "NET-01": ("aws.sg.revoke_world_admin_ingress", gid, {"narrow_to": "198.51.100.0/24"}),
        "SNP-05": ("aws.ebs.encryption_by_default", REGION, {}),
        "SPR-03": ("aws.volume.delete_orphan", volume_id(ec2), {}),
        "SPR-04": (
            "aws.instance.tag_owner",
            instance_id(ec2),
            {"owner": "ops", "environment": "dev"},
        ),
        "SPR-08": ("aws.instance.stop_expired", expired, {}),
        "SPR-09": ("aws.instance.terminate_expired", stale, {}),
    }


def test_findings_resolve_after_resync_and_reopen_after_undo(
    make_engine: Callable[..., FixEngine], ec2: Any, cache: Cache
) -> None:
    import datetime as dt

    estate = _estate(ec2)
    checks = sorted(estate)
    before = _resync(cache, checks)
    for check, (_, rid, _) in estate.items():
        assert (check, rid) in before, f"{check} did not flag {rid}"

    engine = make_engine(today=dt.datetime.now(dt.UTC).date())
    plans = {}
    for check, (fix_id, rid, inputs) in estate.items():
        fix, found = targets.resolve(
            cache, check, [rid] if check != "SNP-05" else [], fix_id=fix_id
        )
        plan = engine.plan(fix.id, found, inputs)
        assert plan.items, check
        result = engine.apply(plan, confirm=plan.confirmation)
        assert result.ok, (check, result.items, result.verified)
        plans[check] = plan

    after = _resync(cache, checks)
    for check, (_, rid, _) in estate.items():
        assert (check, rid) not in after, f"{check} still open for {rid} after the fix"

    for check, plan in plans.items():
        if plan.safety != "irreversible":
            assert all(r.status == "ok" for r in engine.undo_plan(plan.plan_id)), check
    reopened = _resync(cache, checks)
    for check, (fix_id, rid, _) in estate.items():
        if check not in ("SPR-03", "SPR-09"):  # deleted / terminated: nothing to undo
            assert (check, rid) in reopened, f"undo of {fix_id} did not bring back {check}"

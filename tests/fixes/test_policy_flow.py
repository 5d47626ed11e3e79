"""One policy: ``[policy] org_accounts`` is what SNP-03 and IMG-07 allow, what the KPIs count against, and
what the sharing fixes keep, so the fix's verify and the next scan agree (against moto, end to end).

Before, the checks read ``[checks.SNP-03] allowlisted_accounts`` and the fixes ``[fixes] allowed_accounts``:
with only the first set, the fix removed an account the check allows (and verify said "fixed").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fix_estate import REGION, instance_id, snapshot_id

from workbench.cache.store import Cache
from workbench.config import Config, parse
from workbench.fixes import lookup, targets
from workbench.fixes.engine import FixEngine
from workbench.scan import kpi
from workbench.scan.loader import config_overrides, get_check

pytestmark = [pytest.mark.usefixtures("moto"), pytest.mark.slow]

FOREIGN, FRIEND = "444455556666", "111122223333"
TASKS = ["instances", "volumes", "snapshots", "images"]


def _resync(cache: Cache, config: Config) -> dict[tuple[str, str], str]:
    """Sync the region and scan the sharing checks with ``config``: open (check, resource id) -> reason."""
    from workbench.providers.aws.provider import AwsProvider
    from workbench.scan.engine import run_scan
    from workbench.sync import SyncEngine

    provider = AwsProvider.from_config({"regions": [REGION], "tasks": TASKS})
    assert not SyncEngine(cache, [provider], max_workers=2).run().failed
    run_scan(cache, check_ids=["SNP-03", "IMG-07"], config=config)
    rows = cache.db.execute(
        "SELECT check_id, resource_id, reason FROM findings WHERE status='open'"
    )
    return {(c, r): reason for c, r, reason in rows}


def _shared(ec2: Any) -> tuple[str, str]:
    snap = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=snap,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=[FOREIGN, FRIEND],
    )
    ami = ec2.create_image(InstanceId=instance_id(ec2), Name="golden")["ImageId"]
    ec2.modify_image_attribute(
        ImageId=ami, Attribute="launchPermission", OperationType="add", UserIds=[FOREIGN, FRIEND]
    )
    return snap, ami


def _granted(ec2: Any, snap: str, ami: str) -> tuple[set[str], set[str]]:
    s = ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")
    i = ec2.describe_image_attribute(ImageId=ami, Attribute="launchPermission")
    return (
        {p["UserId"] for p in s["CreateVolumePermissions"] if "UserId" in p},
        {p["UserId"] for p in i["LaunchPermissions"] if "UserId" in p},
    )


@pytest.mark.parametrize(
    "written",
    [
        {"policy": {"org_accounts": [FRIEND]}},
        # The old place of the check's allowlist alone: migrated, so the fixes keep FRIEND too.
        {"checks": {"SNP-03": {"allowlisted_accounts": [FRIEND]}}},
    ],
    ids=["policy", "legacy-check-key"],
)
def test_the_policy_reaches_the_findings_the_kpis_and_the_fixs_verify(
    written: dict[str, Any], make_engine: Callable[..., FixEngine], ec2: Any, cache: Cache
) -> None:
    config = parse(written)
    assert config.policy.org_accounts == [FRIEND]
    snap, ami = _shared(ec2)

    before = _resync(cache, config)
    assert FOREIGN in before[("SNP-03", snap)] and FRIEND not in before[("SNP-03", snap)]
    assert FOREIGN in before[("IMG-07", ami)] and FRIEND not in before[("IMG-07", ami)]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    shared = kpi.compute_kpis(cache, now, config_overrides(config))["snapshots"]
    assert shared["shared_outside_allowlist"]["count"] == 1

    engine = make_engine(config=config, today=dt.datetime.now(dt.UTC).date())
    for check, fix_id, rid in (
        ("SNP-03", "aws.snapshot.revoke_foreign_shares", snap),
        ("IMG-07", "aws.image.revoke_foreign_launch", ami),
    ):
        fix, found = targets.resolve(cache, check, [rid], fix_id=fix_id)
        plan = engine.plan(fix.id, found)  # no inputs given: the allowlist comes from the policy
        assert plan.inputs["allowlist"] == [FRIEND], check
        assert [item.params["UserIds"] for item in plan.items] == [[FOREIGN]], check
        result = engine.apply(plan, confirm=plan.confirmation)
        assert result.ok and all(v.fixed for v in result.verified), check

    assert _granted(ec2, snap, ami) == ({FRIEND}, {FRIEND})
    after = _resync(cache, config)  # the next scan agrees with the verify
    assert ("SNP-03", snap) not in after and ("IMG-07", ami) not in after


def test_every_fix_input_bound_to_the_policy_defaults_like_the_checks_it_fixes() -> None:
    """With no ``[policy]`` value, a bound fix input and the bound check parameters start from one default."""
    for fix in lookup.all_fixes():
        for spec in fix.inputs:
            if spec.policy is None:
                continue
            for check_id in fix.check_ids:
                bound = [p for p in get_check(check_id).params.values() if p.policy == spec.policy]
                assert bound, (fix.id, spec.name, check_id)
                want = list(spec.default) if isinstance(spec.default, tuple) else spec.default
                for param in bound:
                    assert param.default == want, (fix.id, spec.name, check_id, param.name)


def test_the_retention_policy_reaches_the_check_and_the_hypervisor_fixes() -> None:
    config = parse(
        {"policy": {"hypervisor_snapshot_retention_hours": 12, "snapshot_retention_days": 30}}
    )
    assert config_overrides(config)["SNP-08"] == {
        "retention_days": 30,
        "hypervisor_max_age_hours": 12,
    }
    from workbench.fixes.base import FixContext

    ctx = FixContext(config)
    for fix_id in ("libvirt.snapshot.delete_old", "vsphere.snapshot.delete_old"):
        assert lookup.get(fix_id).resolve_inputs(ctx, {})["retention_hours"] == 12
    legacy = parse({"fixes": {"vsphere_snapshot_retention_hours": 24}})
    assert lookup.get("libvirt.snapshot.delete_old").resolve_inputs(FixContext(legacy), {}) == {
        "retention_hours": 24
    }


def test_trusted_publishers_and_approved_owners_reach_the_images_view() -> None:
    from workbench.images.overview import trusted_publishers

    config = parse(
        {"policy": {"trusted_publishers": ["Acme-Images"], "approved_owners": ["999900001111"]}}
    )
    trusted = trusted_publishers(config)
    assert {"acme-images", "999900001111", "debian-cloud"} <= trusted
    assert config_overrides(config)["IMG-03"] == {"approved_owners": ["999900001111"]}
    assert "acme-images" not in trusted_publishers(Config())

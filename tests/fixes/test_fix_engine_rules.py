"""The engine's safety rules: roles, read-only mode, stale and altered plans, failures, targets, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fix_estate import add_finding, instance_id, snapshot_id, target, volume_id

from workbench import audit
from workbench.cache.store import Cache
from workbench.config import parse
from workbench.errors import PermissionDenied
from workbench.fixes import lookup, targets
from workbench.fixes.base import FixError, StalePlan
from workbench.fixes.claims import PlanRefused
from workbench.fixes.engine import FixEngine
from workbench.fixes.plan import Plan, PlanFileError, preview_lines

pytestmark = pytest.mark.usefixtures("moto")


def _public_snapshot(ec2: Any) -> str:
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    return sid


def test_registry_has_exactly_the_agreed_fix_ids() -> None:
    # Other providers register their own ids beside these.
    assert {f for f in lookup.fix_ids() if f.startswith("aws.")} == {
        "aws.snapshot.revoke_public",
        "aws.snapshot.revoke_foreign_shares",
        "aws.snapshot.block_public_access",
        "aws.image.make_private",
        "aws.image.revoke_foreign_launch",
        "aws.image.block_public_access",
        "aws.instance.require_imdsv2",
        "aws.account.imds_defaults",
        "aws.sg.revoke_world_admin_ingress",
        "aws.ebs.encryption_by_default",
        "aws.instance.mark_expiry",
        "aws.instance.stop_expired",
        "aws.instance.terminate_expired",
        "aws.volume.delete_orphan",
        "aws.instance.tag_owner",
    }
    for fix in (lookup.get(f) for f in lookup.fix_ids() if f.startswith("aws.")):
        assert fix.safety in ("reversible", "additive", "irreversible") and fix.permissions
    assert [f.id for f in lookup.for_check("SNP-01")] == ["aws.snapshot.revoke_public"]


def test_viewer_may_run_no_fix_and_the_refusal_is_audited(
    make_engine: Callable[..., FixEngine], ec2: Any, cache: Cache
) -> None:
    sid = _public_snapshot(ec2)
    with pytest.raises(PermissionDenied, match="viewer"):
        make_engine(role="viewer").plan("aws.snapshot.revoke_public", [target("snapshot", sid)])
    last = list(audit.entries(cache))[-1]
    assert (last.action, last.role, last.result) == (
        "plan",
        "viewer",
        "denied: role viewer may not run fixes",
    )


def test_responder_runs_reversible_fixes_only(
    make_engine: Callable[..., FixEngine], ec2: Any
) -> None:
    responder = make_engine(role="responder")
    sid = _public_snapshot(ec2)
    plan = responder.plan("aws.snapshot.revoke_public", [target("snapshot", sid)])
    assert responder.apply(plan).status == "ok"
    with pytest.raises(PermissionDenied, match="reversible fixes only"):
        responder.plan("aws.volume.delete_orphan", [target("volume", volume_id(ec2))])
    with pytest.raises(PermissionDenied, match="additive"):
        responder.plan(
            "aws.ebs.encryption_by_default", [target("setting", "ebs_encryption_by_default")]
        )
    # A plan made by an operator cannot be applied by a responder either: the engine checks, not the file.
    vid = volume_id(ec2)
    plan = make_engine().plan("aws.volume.delete_orphan", [target("volume", vid)])
    with pytest.raises(PermissionDenied):
        responder.apply(plan, confirm=vid)
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"]


def test_read_only_mode_runs_nothing(make_engine: Callable[..., FixEngine], ec2: Any) -> None:
    sid = _public_snapshot(ec2)
    operator = make_engine()
    plan = operator.plan("aws.snapshot.revoke_public", [target("snapshot", sid)])
    entry_count = len(operator.journal.recent())
    read_only = make_engine(read_only=True)
    for action in (read_only.dry_run, read_only.apply):
        with pytest.raises(PermissionDenied, match="read-only"):
            action(plan)
    assert read_only.plan(
        "aws.snapshot.revoke_public", [target("snapshot", sid)]
    ).items  # planning reads
    operator.apply(plan)
    with pytest.raises(PermissionDenied, match="read-only"):
        read_only.undo(operator.journal.recent(1)[0].entry_id)
    assert len(operator.journal.recent()) == entry_count + 1
    # The role and read-only mode come from the config when no flag is given.
    config = parse({"general": {"role": "viewer", "read_only": True}})
    engine = FixEngine(operator.cache, config, user="tester")
    assert (engine.role, engine.read_only) == ("viewer", True)


def test_stale_plan_is_refused(engine: FixEngine, ec2: Any) -> None:
    sid = _public_snapshot(ec2)
    plan = engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid)])
    ec2.modify_snapshot_attribute(
        SnapshotId=sid,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=["111122223333"],
    )
    with pytest.raises(StalePlan, match="changed since the plan"):
        engine.apply(plan)
    assert engine.journal.recent() == []
    assert list(audit.entries(engine.cache))[-1].result.startswith("refused")  # type: ignore[union-attr]


def test_edited_plan_file_is_refused(engine: FixEngine, ec2: Any) -> None:
    sid = _public_snapshot(ec2)
    plan = engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid)])
    data = json.loads(plan.to_json())
    data["items"][0]["params"]["GroupNames"] = ["everyone"]
    with pytest.raises(PlanFileError, match="edited"):
        Plan.from_json(json.dumps(data))
    # Even with a recomputed checksum: the cache recorded the plan it made, and this is not it.
    forged = Plan.from_json(plan.to_json())
    forged.items[0].params["UserIds"] = ["999988887777"]
    forged = Plan.from_json(forged.to_json())
    with pytest.raises(PlanRefused, match="differs from the plan this cache made"):
        engine.apply(forged)


def test_apply_continues_past_a_failed_item_and_skips_its_dependants(
    engine: FixEngine, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vols = [volume_id(ec2), volume_id(ec2)]
    plan = engine.plan("aws.volume.delete_orphan", [target("volume", v) for v in vols])
    fix = lookup.get("aws.volume.delete_orphan")
    original = fix.apply_item

    def flaky(ctx: Any, item: Any) -> Any:  # a fault in the first snapshot only
        if item.index == 0:
            raise RuntimeError("snapshot quota exceeded")
        return original(ctx, item)

    monkeypatch.setattr(fix, "apply_item", flaky)
    progress: list[tuple[str, int, int]] = []
    result = engine.apply(
        plan, confirm="2", on_item=lambda r, d, t: progress.append((r.status, d, t))
    )
    assert [r.status for r in result.items] == ["failed", "skipped", "applied", "applied"]
    assert progress == [("failed", 1, 4), ("skipped", 2, 4), ("applied", 3, 4), ("applied", 4, 4)]
    assert result.status == "partial"
    assert [v.fixed for v in result.verified] == [False, True]
    assert ec2.describe_volumes(VolumeIds=[vols[0]])["Volumes"]  # its volume was not deleted
    statuses = [e.status for e in engine.journal.for_plan(plan.plan_id)]
    assert statuses == ["failed", "verified", "verified"]


def test_irreversible_needs_the_typed_count_or_id(engine: FixEngine, ec2: Any) -> None:
    vols = [volume_id(ec2), volume_id(ec2)]
    plan = engine.plan("aws.volume.delete_orphan", [target("volume", v) for v in vols])
    assert plan.confirmation_prompt() == "type 2 to delete 2 volumes"
    for wrong in (None, "", "3", vols[0]):
        with pytest.raises(PermissionDenied, match="type 2"):
            engine.apply(plan, confirm=wrong)
    assert all(ec2.describe_volumes(VolumeIds=[v])["Volumes"] for v in vols)
    assert "IRREVERSIBLE: type 2 to delete 2 volumes" in preview_lines(plan)


def test_targets_come_from_open_findings(engine: FixEngine, ec2: Any, cache: Cache) -> None:
    sid, other = _public_snapshot(ec2), _public_snapshot(ec2)
    add_finding(cache, "SNP-01", "snapshot", sid)
    add_finding(cache, "SNP-01", "snapshot", other)
    fix, found = targets.resolve(cache, "SNP-01")
    assert fix.id == "aws.snapshot.revoke_public"
    assert sorted(t.resource_id for t in found) == sorted([sid, other])
    _, found = targets.resolve(cache, "SNP-01", [sid])
    assert [t.resource_id for t in found] == [sid]
    gid = str(ec2.create_security_group(GroupName="g", Description="d")["GroupId"])
    for port in (22, 3389):
        add_finding(cache, "NET-01", "firewall_rule", f"{gid}/ingress/tcp/{port}-{port}/0.0.0.0/0")
    _, found = targets.resolve(cache, "NET-01")
    assert [(t.resource_kind, t.resource_id) for t in found] == [("firewall_group", gid)]
    with pytest.raises(FixError, match="does not fix"):
        targets.resolve(cache, "SNP-01", fix_id="aws.volume.delete_orphan")
    with pytest.raises(FixError, match="no open findings"):
        targets.resolve(cache, "SPR-03")


def test_plan_preview_lists_the_exact_calls(engine: FixEngine, ec2: Any) -> None:
    iid = instance_id(ec2, {"Name": "[bold]web[/bold]"})
    plan = engine.plan("aws.instance.require_imdsv2", [target("instance", iid, "CFG-01")])
    text = "\n".join(preview_lines(plan))
    assert f"ec2.ModifyInstanceMetadataOptions(HttpTokens='required', InstanceId='{iid}')" in text
    assert "Class: reversible" in text and "ec2:ModifyInstanceMetadataOptions" in text
    assert "Blast radius:" in text and "Finding: CFG-01" in text

"""Fixes whose APIs moto 5.2.5 lacks, run against botocore's Stubber (the real client, its real request
validation, canned responses in the exact order the engine must call them).

- Snapshot block public access (Get/Enable/DisableSnapshotBlockPublicAccess): NotImplementedError in moto.
- Image block public access (Get/Enable/DisableImageBlockPublicAccess): NotImplementedError in moto.
- Account IMDS defaults (Get/ModifyInstanceMetadataDefaults): NotImplementedError in moto.
- The dry-run of require-IMDSv2: moto applies ModifyInstanceMetadataOptions even with DryRun=True.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fix_estate import REGION, target

from workbench.fixes.aws.clients import AwsClients
from workbench.fixes.engine import FixEngine

pytestmark = pytest.mark.usefixtures("aws_env")


def _stubbed(make_engine: Callable[..., FixEngine]) -> tuple[FixEngine, Any]:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("ec2", region_name=REGION)
    stub = Stubber(client)
    stub.activate()
    engine = make_engine(clients={"aws": AwsClients.from_factory(lambda s, r, a: client)})
    return engine, stub


def _setting_cycle(
    make_engine: Callable[..., FixEngine],
    fix_id: str,
    setting: str,
    get: tuple[str, dict[str, Any], dict[str, Any]],
    enable: tuple[str, dict[str, Any], dict[str, Any]],
    undo: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    """Queue the calls of plan → dry-run → apply → verify → undo, then drive the engine through them."""
    engine, stub = _stubbed(make_engine)
    get_op, off, on = get
    enable_op, enable_params, enable_resp = enable
    undo_op, undo_params, undo_resp = undo

    def reads(*states: dict[str, Any]) -> None:
        for state in states:
            stub.add_response(get_op, state, {})

    reads(off)  # plan
    reads(off)  # dry-run: freshness check, then the call with DryRun
    stub.add_client_error(
        enable_op,
        "DryRunOperation",
        "Request would have succeeded",
        412,
        expected_params={**enable_params, "DryRun": True},
    )
    reads(off, off)  # apply: freshness check, before-state
    stub.add_response(enable_op, enable_resp, enable_params)
    reads(on, on)  # after-state, verify
    reads(on, on)  # undo: still as the fix left it, before-state of the undo call
    stub.add_response(undo_op, undo_resp, undo_params)
    reads(off, off)  # after-state of the undo call, restored check

    tgt = target("setting", setting)
    plan = engine.plan(fix_id, [tgt])
    assert [(i.operation, i.params) for i in plan.items] == [(_camel(enable_op), enable_params)]
    assert [r.status for r in engine.dry_run(plan)] == ["would_succeed"]
    result = engine.apply(plan)
    assert result.status == "ok" and result.verified[0].fixed
    entry = engine.journal.for_plan(plan.plan_id)[0]
    assert entry.status == "verified"
    undone = engine.undo(entry.entry_id)
    assert undone.status == "ok" and undone.verified[0].fixed  # before-state restored exactly
    stub.assert_no_pending_responses()
    assert engine.journal.get(entry.entry_id).status == "undone"  # type: ignore[union-attr]


def _camel(op: str) -> str:
    return "".join(part.capitalize() for part in op.split("_"))


def test_snapshot_block_public_access(make_engine: Callable[..., FixEngine]) -> None:
    _setting_cycle(
        make_engine,
        "aws.snapshot.block_public_access",
        "snapshot_block_public_access",
        (
            "get_snapshot_block_public_access_state",
            {"State": "unblocked"},
            {"State": "block-all-sharing"},
        ),
        (
            "enable_snapshot_block_public_access",
            {"State": "block-all-sharing"},
            {"State": "block-all-sharing"},
        ),
        ("disable_snapshot_block_public_access", {}, {"State": "unblocked"}),
    )


def test_image_block_public_access(make_engine: Callable[..., FixEngine]) -> None:
    _setting_cycle(
        make_engine,
        "aws.image.block_public_access",
        "image_block_public_access",
        (
            "get_image_block_public_access_state",
            {"ImageBlockPublicAccessState": "unblocked"},
            {"ImageBlockPublicAccessState": "block-new-sharing"},
        ),
        (
            "enable_image_block_public_access",
            {"ImageBlockPublicAccessState": "block-new-sharing"},
            {"ImageBlockPublicAccessState": "block-new-sharing"},
        ),
        ("disable_image_block_public_access", {}, {"ImageBlockPublicAccessState": "unblocked"}),
    )


def test_account_imds_defaults(make_engine: Callable[..., FixEngine]) -> None:
    _setting_cycle(
        make_engine,
        "aws.account.imds_defaults",
        "imds_defaults",
        (
            "get_instance_metadata_defaults",
            {"AccountLevel": {"HttpTokens": "optional"}},
            {"AccountLevel": {"HttpTokens": "required"}},
        ),
        ("modify_instance_metadata_defaults", {"HttpTokens": "required"}, {"Return": True}),
        ("modify_instance_metadata_defaults", {"HttpTokens": "optional"}, {"Return": True}),
    )


def _instance(tokens: str) -> dict[str, Any]:
    return {
        "Reservations": [
            {
                "Instances": [
                    {
                        "InstanceId": "i-0abc",
                        "State": {"Code": 16, "Name": "running"},
                        "MetadataOptions": {"HttpTokens": tokens, "HttpEndpoint": "enabled"},
                    }
                ]
            }
        ]
    }


def test_require_imdsv2_dry_run_sends_dry_run_and_changes_nothing(
    make_engine: Callable[..., FixEngine],
) -> None:
    engine, stub = _stubbed(make_engine)
    describe = {"InstanceIds": ["i-0abc"]}
    stub.add_response("describe_instances", _instance("optional"), describe)  # plan
    stub.add_response("describe_instances", _instance("optional"), describe)  # freshness
    stub.add_client_error(
        "modify_instance_metadata_options",
        "DryRunOperation",
        "would succeed",
        412,
        expected_params={"InstanceId": "i-0abc", "HttpTokens": "required", "DryRun": True},
    )
    plan = engine.plan("aws.instance.require_imdsv2", [target("instance", "i-0abc")])
    assert [r.status for r in engine.dry_run(plan)] == ["would_succeed"]
    stub.assert_no_pending_responses()  # no call without DryRun was made
    assert engine.journal.recent() == []


def test_dry_run_ignored_by_the_endpoint_is_reported(make_engine: Callable[..., FixEngine]) -> None:
    engine, stub = _stubbed(make_engine)
    describe = {"InstanceIds": ["i-0abc"]}
    stub.add_response("describe_instances", _instance("optional"), describe)
    stub.add_response("describe_instances", _instance("optional"), describe)
    stub.add_response(
        "modify_instance_metadata_options",
        {"InstanceId": "i-0abc"},
        {"InstanceId": "i-0abc", "HttpTokens": "required", "DryRun": True},
    )
    plan = engine.plan("aws.instance.require_imdsv2", [target("instance", "i-0abc")])
    assert [r.status for r in engine.dry_run(plan)] == ["dry_run_ignored"]


def test_dry_run_permission_denied(make_engine: Callable[..., FixEngine]) -> None:
    engine, stub = _stubbed(make_engine)
    stub.add_response("get_ebs_encryption_by_default", {"EbsEncryptionByDefault": False}, {})
    stub.add_response("get_ebs_encryption_by_default", {"EbsEncryptionByDefault": False}, {})
    stub.add_client_error("enable_ebs_encryption_by_default", "UnauthorizedOperation", "no", 403)
    plan = engine.plan(
        "aws.ebs.encryption_by_default", [target("setting", "ebs_encryption_by_default")]
    )
    [result] = engine.dry_run(plan)
    assert result.status == "would_fail" and "permission denied" in result.detail

"""The SSM patch collector with botocore's Stubber (moto 5.2 lacks these SSM calls)."""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.stub import Stubber

from workbench.model import PatchState, TaskOutput
from workbench.providers.aws.collect_patch import collect_patch
from workbench.providers.base import TaskContext

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_patch_states_from_ssm() -> None:
    ssm = boto3.client(
        "ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(ssm) as stub:
        stub.add_response(
            "describe_instance_information",
            {
                "InstanceInformationList": [
                    {"InstanceId": "i-1", "PingStatus": "Online", "ComputerName": "web"},
                    {"InstanceId": "i-2", "PingStatus": "ConnectionLost"},
                ],
                "NextToken": "p2",
            },
        )
        stub.add_response(
            "describe_instance_information",
            {"InstanceInformationList": [{"InstanceId": "i-3", "PingStatus": "Online"}]},
            {"NextToken": "p2"},
        )
        stub.add_response(
            "describe_instance_patch_states",
            {
                "InstancePatchStates": [
                    {
                        "InstanceId": "i-1",
                        "PatchGroup": "web",
                        "BaselineId": "pb-0123456789abcdef0",
                        "Operation": "Install",
                        "OperationStartTime": T0,
                        "OperationEndTime": T0,
                        "InstalledCount": 10,
                        "MissingCount": 3,
                        "FailedCount": 1,
                        "CriticalNonCompliantCount": 2,
                        "SecurityNonCompliantCount": 1,
                    },
                    {
                        "InstanceId": "i-3",
                        "PatchGroup": "web",
                        "BaselineId": "pb-0123456789abcdef0",
                        "Operation": "Scan",
                        "OperationStartTime": T0,
                        "OperationEndTime": T0,
                        "LastNoRebootInstallOperationTime": dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
                    },
                ]
            },
            {"InstanceIds": ["i-1", "i-2", "i-3"]},
        )
        stub.add_response(
            "list_associations",
            {
                "Associations": [
                    _assoc("AWS-RunPatchBaseline", "InstanceIds", ["i-1"]),
                    _assoc("AWS-RunPatchBaseline", "tag:Patch", ["auto"]),
                    _assoc(
                        "AWS-UpdateSSMAgent", "InstanceIds", ["*"]
                    ),  # not patching: does not count
                ]
            },
        )
        # A tag target is resolved by SSM: the managed instances carrying the tag.
        stub.add_response(
            "describe_instance_information",
            {"InstanceInformationList": [{"InstanceId": "i-3"}]},
            {"Filters": [{"Key": "tag:Patch", "Values": ["auto"]}]},
        )
        out = TaskOutput()
        collect_patch(ssm, out, TaskContext())
        stub.assert_no_pending_responses()
    states = {s.id: s for s in out.records if isinstance(s, PatchState)}
    assert set(states) == {"i-1", "i-2", "i-3"}
    assert [r.value for r in out.records if r.KIND == "setting"] == [
        {"api": "ssm", "enabled": True}
    ]
    one = states["i-1"]
    assert (one.name, one.agent_online, one.missing_count, one.critical_missing) == (
        "web",
        True,
        3,
        2,
    )
    assert one.last_install_at == "2026-01-02T03:04:05Z" == one.last_scan_at
    assert states["i-2"].agent_online is False and states["i-2"].missing_count is None
    assert states["i-3"].last_install_at == "2025-12-01T00:00:00Z"
    assert states["i-2"].extra["managed"] is True
    assert {i: s.auto_patch for i, s in states.items()} == {"i-1": True, "i-2": False, "i-3": True}


def _assoc(document: str, key: str, values: list[str]) -> dict[str, object]:
    return {
        "Name": document,
        "AssociationId": f"a-{key}",
        "Targets": [{"Key": key, "Values": values}],
    }


def _collect_with(associations: dict[str, object] | None) -> dict[str, PatchState]:
    """One managed VM; ``associations`` answers list_associations, ``None`` refuses it."""
    ssm = boto3.client(
        "ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(ssm) as stub:
        stub.add_response(
            "describe_instance_information", {"InstanceInformationList": [{"InstanceId": "i-1"}]}
        )
        stub.add_response(
            "describe_instance_patch_states", {"InstancePatchStates": []}, {"InstanceIds": ["i-1"]}
        )
        if associations is None:
            stub.add_client_error("list_associations", "AccessDeniedException", "not allowed")
        else:
            stub.add_response("list_associations", associations)
        out = TaskOutput()
        collect_patch(ssm, out, TaskContext())
        stub.assert_no_pending_responses()
    return {s.id: s for s in out.records if isinstance(s, PatchState)}


def test_refused_associations_leave_patch_states_and_say_unknown() -> None:
    state = _collect_with(None)["i-1"]
    assert state.auto_patch is None  # unknown: PAT-04 cannot call it unpatched
    assert "AccessDeniedException" in state.extra["patch_association_error"]


def test_a_target_vmwb_cannot_resolve_makes_every_vm_unknown() -> None:
    groups = {"Associations": [_assoc("AWS-RunPatchBaseline", "resource-groups:Name", ["web"])]}
    state = _collect_with(groups)["i-1"]
    assert state.auto_patch is None
    assert "resource-groups:Name" in state.extra["patch_association_error"]


def test_a_wildcard_association_covers_every_managed_vm() -> None:
    everyone = {"Associations": [_assoc("AWS-RunPatchBaselineAssociation", "InstanceIds", ["*"])]}
    assert _collect_with(everyone)["i-1"].auto_patch is True
    assert _collect_with({"Associations": []})["i-1"].auto_patch is False


def test_no_managed_instance_asks_for_no_association() -> None:
    ssm = boto3.client(
        "ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(ssm) as stub:  # an unexpected list_associations call would fail the stub
        stub.add_response("describe_instance_information", {"InstanceInformationList": []})
        out = TaskOutput()
        collect_patch(ssm, out, TaskContext())
        stub.assert_no_pending_responses()
    assert [r.KIND for r in out.records] == ["setting"]  # SSM answered: enabled, nothing managed


def test_ssm_not_enabled_is_a_known_state_and_access_denied_still_fails() -> None:
    import pytest
    from botocore.exceptions import ClientError

    from workbench.model import Setting

    ssm = boto3.client(
        "ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(ssm) as stub:
        stub.add_client_error(
            "describe_instance_information",
            service_error_code="SubscriptionRequiredException",
            service_message="The AWS Access Key Id needs a subscription for the service",
            http_status_code=400,
        )
        out = TaskOutput()
        collect_patch(ssm, out, TaskContext())
        stub.add_client_error(
            "describe_instance_information",
            service_error_code="AccessDeniedException",
            http_status_code=400,
        )
        with pytest.raises(ClientError):
            collect_patch(ssm, TaskOutput(), TaskContext())
    (setting,) = out.records
    assert isinstance(setting, Setting) and setting.id == "patch_api"
    assert setting.value == {"api": "ssm", "enabled": False}

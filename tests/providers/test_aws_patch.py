"""The SSM patch collector with botocore's Stubber (moto 5.2 lacks these SSM calls)."""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.stub import Stubber

from workbench.cache.store import TaskOutput
from workbench.model import PatchState
from workbench.providers.aws.collect_patch import collect_patch
from workbench.providers.base import TaskContext

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_patch_states_from_ssm() -> None:
    ssm = boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    with Stubber(ssm) as stub:
        stub.add_response("describe_instance_information", {
            "InstanceInformationList": [
                {"InstanceId": "i-1", "PingStatus": "Online", "ComputerName": "web"},
                {"InstanceId": "i-2", "PingStatus": "ConnectionLost"},
            ], "NextToken": "p2"})  # fmt: skip
        stub.add_response("describe_instance_information", {"InstanceInformationList": [
            {"InstanceId": "i-3", "PingStatus": "Online"}]}, {"NextToken": "p2"})  # fmt: skip
        stub.add_response(
            "describe_instance_patch_states",
            {"InstancePatchStates": [
                {"InstanceId": "i-1", "PatchGroup": "web", "BaselineId": "pb-0123456789abcdef0", "Operation": "Install",
                 "OperationStartTime": T0, "OperationEndTime": T0, "InstalledCount": 10,
                 "MissingCount": 3, "FailedCount": 1, "CriticalNonCompliantCount": 2,
                 "SecurityNonCompliantCount": 1},
                {"InstanceId": "i-3", "PatchGroup": "web", "BaselineId": "pb-0123456789abcdef0", "Operation": "Scan",
                 "OperationStartTime": T0, "OperationEndTime": T0,
                 "LastNoRebootInstallOperationTime": dt.datetime(2025, 12, 1, tzinfo=dt.UTC)},
            ]},
            {"InstanceIds": ["i-1", "i-2", "i-3"]},
        )  # fmt: skip
        out = TaskOutput()
        collect_patch(ssm, out, TaskContext())
        stub.assert_no_pending_responses()
    states = {s.id: s for s in out.records if isinstance(s, PatchState)}
    assert set(states) == {"i-1", "i-2", "i-3"}
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

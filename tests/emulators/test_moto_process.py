"""moto in a child process that seeds itself (what ``vmwb demo`` runs): the estate, SSM included, is the child's."""

from __future__ import annotations

import os
from unittest import mock

import boto3
import pytest

from workbench.emulators.aws import start_moto_server
from workbench.emulators.aws_manifest import MAIN_ACCOUNT

# Fake credentials only: the child and these clients talk to nothing but the local moto.
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": "/nonexistent/vmwb-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vmwb-test-aws-credentials",
}


def test_a_seeded_child_serves_the_manifest_and_its_ssm_data() -> None:
    with (
        mock.patch.dict(os.environ, AWS_TEST_ENV),
        start_moto_server(separate_process=True, seed=True) as server,
    ):
        manifest = server.manifest
        assert manifest is not None and manifest.count("instance") > 0
        region = manifest.regions[0]
        ec2 = boto3.client("ec2", endpoint_url=server.endpoint, region_name=region)
        served = {
            inst["InstanceId"]
            for page in ec2.get_paginator("describe_instances").paginate()
            for res in page["Reservations"]
            for inst in res["Instances"]
        }
        planted = {
            uid.rsplit(":", 1)[1]
            for uid in manifest.uids["instance"]
            if uid.startswith(f"aws:{MAIN_ACCOUNT}:{region}:")
        }
        assert served == planted
        # register_ssm ran in the child, next to the server: its SSM fake answers with the patch states.
        ssm = boto3.client("ssm", endpoint_url=server.endpoint, region_name=region)
        info = ssm.describe_instance_information()["InstanceInformationList"]
        assert info and {i["InstanceId"] for i in info} <= planted
        states = ssm.describe_instance_patch_states(InstanceIds=[i["InstanceId"] for i in info])
        assert len(states["InstancePatchStates"]) == len(info)
    assert server.server.poll() is not None  # stopped with the context


def test_seeding_needs_the_separate_process() -> None:
    with pytest.raises(ValueError, match="separate_process"):
        start_moto_server(seed=True)


FAILING_CHILD = "import sys; sys.stderr.write('boom: moto is missing\\n'); sys.exit(3)"


def test_a_child_that_dies_is_reported_with_what_it_said(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.emulators import aws

    monkeypatch.setattr(aws, "_SERVE", FAILING_CHILD)
    with pytest.raises(RuntimeError, match=r"exited with 3; it said: boom: moto is missing"):
        start_moto_server(separate_process=True, seed=True)


def test_the_demo_goes_on_without_aws_when_its_child_dies(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.demo import parts
    from workbench.emulators import aws

    monkeypatch.setattr(aws, "_SERVE", FAILING_CHILD)
    with mock.patch.dict(os.environ), pytest.raises(parts.PartUnavailable, match="boom"):
        parts.AWS.start()

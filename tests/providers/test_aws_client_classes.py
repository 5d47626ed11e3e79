"""vmwb's AWS sessions share one client class per service; other sessions are left to botocore."""

from __future__ import annotations

import boto3

from workbench.providers.aws.sessions import AwsSettings


def _client(session: boto3.Session, region: str) -> object:
    return session.client(
        "ec2",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",
    )


def test_vmwb_sessions_share_client_classes_across_accounts_and_regions() -> None:
    settings = AwsSettings.from_section({"regions": ["eu-west-1"]})
    one, two = settings.session(), settings.session()
    a, b = _client(one, "eu-west-1"), _client(two, "us-east-1")
    assert type(a) is type(b)
    # Still each its own client: region and endpoint are per instance.
    assert a.meta.region_name == "eu-west-1" and b.meta.region_name == "us-east-1"  # type: ignore[attr-defined]
    assert hasattr(a, "describe_snapshots") and hasattr(a, "modify_snapshot_attribute")


def test_other_sessions_get_their_own_class() -> None:
    settings = AwsSettings.from_section({"regions": ["eu-west-1"]})
    ours = _client(settings.session(), "eu-west-1")
    foreign = _client(boto3.Session(), "eu-west-1")
    assert type(ours) is not type(foreign)

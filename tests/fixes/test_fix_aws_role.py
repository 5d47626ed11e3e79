"""The fix identity through an assumed role (``fix_role_arn``), against moto: per target account, checked, and
with credentials that renew themselves like the scanning roles'."""

from __future__ import annotations

import pytest

from workbench.emulators.aws_manifest import MAIN_ACCOUNT, SECOND_ACCOUNT
from workbench.fixes.aws.clients import AwsClients
from workbench.fixes.base import FixError


def test_a_role_per_target_account(aws_estate) -> None:  # type: ignore[no-untyped-def]
    clients = AwsClients.from_config(
        {
            "fix_role_arn": "arn:aws:iam::{account}:role/SecurityAudit",
            "endpoint_url": aws_estate.endpoint,
        }
    )
    region = aws_estate.manifest.regions[0]
    with aws_estate.env():
        who = clients.client("sts", region, SECOND_ACCOUNT).get_caller_identity()
        creds = clients._session(SECOND_ACCOUNT, region).get_credentials()
    assert who["Account"] == SECOND_ACCOUNT and "assumed-role/SecurityAudit/vmwb-fix" in who["Arn"]
    assert creds.method == "assume-role"  # botocore's renewing kind, not keys fixed for an hour


def test_a_role_in_another_account_is_refused(aws_estate) -> None:  # type: ignore[no-untyped-def]
    clients = AwsClients.from_config(
        {
            "fix_role_arn": f"arn:aws:iam::{SECOND_ACCOUNT}:role/SecurityAudit",
            "endpoint_url": aws_estate.endpoint,
        }
    )
    with aws_estate.env(), pytest.raises(FixError, match=f"account {SECOND_ACCOUNT}"):
        clients.client("ec2", aws_estate.manifest.regions[0], MAIN_ACCOUNT)


def test_no_source_credentials_is_one_clear_line() -> None:
    """With no AWS credentials at all, assuming the fix role says so (botocore raised AttributeError)."""
    from workbench.errors import ProviderError
    from workbench.providers.aws.sessions import role_credentials

    def never(service: str, **credentials: object) -> object:
        raise AssertionError("no STS client is made without credentials")

    arn = "arn:aws:iam::123456789012:role/VmwbRemediate"
    with pytest.raises(ProviderError, match="no AWS credentials to assume"):
        role_credentials(None, arn, {"RoleSessionName": "vmwb"}, never)

"""Assumed roles renew their credentials before they expire: a big sync, or a TUI left open, outlives them."""

from __future__ import annotations

import re
from typing import Any

from workbench.emulators.aws_manifest import SECOND_ACCOUNT
from workbench.providers.aws.sessions import AwsSettings, _identify, assume, base_sessions


class Seen:
    """What the role's sessions did: AssumeRole calls, and the access key each EC2 request was signed with."""

    def __init__(self) -> None:
        self.assumed = 0
        self.signed_with: list[str] = []

    def hooks(self) -> list[tuple[str, Any]]:
        def assumed(**kwargs: Any) -> None:
            self.assumed += 1

        def sent(request: Any, **kwargs: Any) -> None:
            auth = request.headers.get("Authorization", b"")
            found = re.search(
                r"Credential=([^/]+)/", auth.decode() if isinstance(auth, bytes) else auth
            )
            self.signed_with.append(found.group(1) if found else "")

        return [("before-call.sts.AssumeRole", assumed), ("before-send.ec2", sent)]


def _role_ec2(estate: Any, seen: Seen, **section: Any) -> Any:
    settings = AwsSettings.from_section({**estate.section, **section}, hooks=seen.hooks())
    source, session = base_sessions(settings)[0]
    account = assume(_identify(session, source, settings), estate.manifest.role_arn)
    assert account.account_id == SECOND_ACCOUNT
    return account.client("ec2", estate.manifest.regions[0])


def test_credentials_near_expiry_are_renewed(aws_estate) -> None:  # type: ignore[no-untyped-def]
    seen = Seen()
    with aws_estate.env():
        # 15 minutes, STS's shortest: always inside botocore's refresh window, so every use renews.
        ec2 = _role_ec2(aws_estate, seen, role_duration_seconds=900)
        start = seen.assumed
        for _ in range(3):
            ec2.describe_instances()
    assert seen.assumed >= start + 2  # renewed while in use, under the same client
    assert len(set(seen.signed_with)) >= 2  # and its requests are signed with the new keys


def test_fresh_credentials_are_not_renewed(aws_estate) -> None:  # type: ignore[no-untyped-def]
    seen = Seen()
    with aws_estate.env():
        ec2 = _role_ec2(aws_estate, seen)  # the role's default hour
        for _ in range(3):
            ec2.describe_instances()
    assert seen.assumed == 1 and len(set(seen.signed_with)) == 1

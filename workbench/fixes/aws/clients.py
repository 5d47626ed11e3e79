"""boto3 clients for fixes, from their own identity so the scanning identity stays read-only.

Config (``[aws]``): ``fix_profile`` (a named profile), ``fix_role_arn`` (assumed from that profile or the default
chain; ``{account}`` in it is replaced by the target account, so one template serves an organisation),
``fix_external_id``, ``endpoint_url``. ``AWS_ENDPOINT_URL`` is honoured too. Without any of these, the default
credential chain is used.

Every session is checked against the target account (``sts:GetCallerIdentity``) before its first use: a fix
must never change a region-wide setting in the wrong account because a profile pointed elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from workbench.fixes.base import FixError

ClientFactory = Callable[[str, str, str], Any]  # (service, region, account) -> client


class AwsClients:
    def __init__(
        self,
        *,
        profile: str | None = None,
        role_arn: str | None = None,
        external_id: str | None = None,
        endpoint_url: str | None = None,
        factory: ClientFactory | None = None,
    ) -> None:
        self.profile = profile
        self.role_arn = role_arn
        self.external_id = external_id
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        # An injected factory (a UI's own, a botocore Stubber in tests) bypasses sessions and the identity check.
        self.factory = factory
        self._sessions: dict[str, Any] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> AwsClients:
        return cls(
            profile=section.get("fix_profile"),
            role_arn=section.get("fix_role_arn"),
            external_id=section.get("fix_external_id"),
            endpoint_url=section.get("endpoint_url"),
        )

    @classmethod
    def from_factory(cls, factory: ClientFactory) -> AwsClients:
        return cls(factory=factory)

    def client(self, service: str, region: str, account: str) -> Any:
        key = (service, region, account)
        if key not in self._clients:
            if self.factory is not None:
                self._clients[key] = self.factory(service, region, account)
            else:
                from botocore.config import Config

                session = self._session(account, region)
                self._clients[key] = session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=Config(retries={"mode": "standard", "max_attempts": 5}),
                )
        return self._clients[key]

    def _session(self, account: str, region: str) -> Any:
        if account in self._sessions:
            return self._sessions[account]
        import boto3

        base = boto3.Session(profile_name=self.profile) if self.profile else boto3.Session()
        session = base
        if self.role_arn:
            # The role's credentials renew themselves, as the scanning roles' do: a wizard may stay open.
            import botocore.session

            from workbench.providers.aws.sessions import role_credentials, use_credentials

            arn = self.role_arn.replace("{account}", account)
            args: dict[str, Any] = {"RoleSessionName": "vmwb-fix"}
            if self.external_id:
                args["ExternalId"] = self.external_id

            def sts_client(service: str, **credentials: Any) -> Any:
                return base.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    **credentials,
                )

            core = botocore.session.Session()
            use_credentials(core, role_credentials(base.get_credentials(), arn, args, sts_client))
            session = boto3.Session(botocore_session=core)
        sts = session.client("sts", region_name=region, endpoint_url=self.endpoint_url)
        actual = str(sts.get_caller_identity()["Account"])
        if actual != account:
            raise FixError(
                f"the fix identity is in account {actual}, but the target is in {account}: "
                "set [aws] fix_role_arn (it may contain {account}) or fix_profile"
            )
        self._sessions[account] = session
        return session

"""Sessions, clients and scope discovery for AWS: profiles and assumed roles × regions.

Credentials come from the normal boto3 chain (env, shared files, SSO, instance role). Each account is one
``boto3.Session``; every (account, region) pair becomes one scope whose ``handle`` is an :class:`AwsHandle`.
boto3 Sessions are not thread-safe, so clients are created under a lock and cached per (service, region);
the clients themselves are thread-safe and shared by the tasks of a scope. The lock is one for the process:
the shared loader caches what it parsed, but first calls made at the same moment each parse (EC2's model
alone is a fraction of a second), and a sync starts every scope at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)

from workbench.model import ScopeRef
from workbench.providers.aws.client_classes import share_client_classes
from workbench.providers.aws.util import check_content_type
from workbench.providers.base import ScopeFailure, describe_error

DEFAULT_REGION = "us-east-1"

_LOADER: Any = None
_LOADER_LOCK = threading.Lock()
# Creating clients is GIL-bound anyway: one at a time costs no overlap. Reentrant: a client created under
# it may renew an assumed role's credentials, which creates an STS client.
_CLIENT_LOCK = threading.RLock()


def _shared_loader() -> Any:
    """One botocore data loader (it caches what it parsed) for all sessions; made on first use."""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
        return _LOADER


def parse_timestamp(value: Any) -> datetime:
    """A response's timestamp: ISO 8601 with a zone (what EC2, SSM and STS send) through the standard
    library's C parser, anything else through botocore's own. botocore's goes through dateutil, ~0.1 ms a
    value, and a describe call returns one or more per resource."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    return botocore.utils.parse_timestamp(value)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class AwsSettings:
    """What the ``[aws]`` config section (plus CLI overrides) asks for."""

    profiles: tuple[str, ...] = ()
    role_arns: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    max_attempts: int = 6
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    role_session_name: str = "vmwb-audit"
    external_id: str | None = None
    role_duration_seconds: int | None = None  # None: the role's own default (an hour)
    include_base: bool = True  # also sync the base identity's own account, not only assumed roles
    # botocore event hooks (event name, handler) registered on every session: latency injection for
    # benches, fault injection for tests. Not from the config file.
    hooks: tuple[tuple[str, Callable[..., Any]], ...] = field(default=(), compare=False)

    @classmethod
    def from_section(cls, section: Mapping[str, Any], **overrides: Any) -> AwsSettings:
        merged = dict(section)
        for key, value in overrides.items():
            if value and key != "hooks":  # an empty CLI flag list means "not given", not "none"
                merged[key] = value
        return cls(
            profiles=tuple(merged.get("profiles") or ()),
            role_arns=tuple(merged.get("role_arns") or ()),
            regions=tuple(merged.get("regions") or ()),
            endpoint_url=merged.get("endpoint_url") or None,
            max_attempts=int(merged.get("max_attempts", 6)),
            connect_timeout=float(merged.get("connect_timeout", 10)),
            read_timeout=float(merged.get("read_timeout", 30)),
            role_session_name=str(merged.get("role_session_name", "vmwb-audit")),
            external_id=merged.get("external_id") or None,
            role_duration_seconds=(
                int(merged["role_duration_seconds"])
                if merged.get("role_duration_seconds")
                else None
            ),
            include_base=bool(merged.get("include_base", True)),
            hooks=tuple(overrides.get("hooks") or ()),
        )

    def session(self, credentials: Credentials | None = None, **kwargs: Any) -> boto3.Session:
        """A session with the shared loader and client classes; ``credentials`` instead of the chain."""
        core = botocore.session.Session()
        if credentials is not None:
            use_credentials(core, credentials)
        # Every account's session parses the same service models (EC2's alone is ~0.5 s of CPU, under
        # the GIL that the other collectors need): load them once per process.
        core.register_component("data_loader", _shared_loader())
        parsers = core.get_component("response_parser_factory")
        parsers.set_parser_defaults(timestamp_parser=parse_timestamp)
        share_client_classes(core)  # and their client classes: see client_classes
        session = boto3.Session(botocore_session=core, **kwargs)
        session.events.register("before-parse", check_content_type)
        for event, handler in self.hooks:
            session.events.register(event, handler)
        return session

    def botocore_config(self, *, max_attempts: int | None = None) -> Config:
        return Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts or self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=16,
        )


@dataclass(slots=True)
class AwsAccount:
    """One reachable account: its session and where it came from (a profile, a role, the default chain)."""

    account_id: str
    session: boto3.Session
    source: str
    settings: AwsSettings
    _clients: dict[tuple[str, str, int], Any] = field(default_factory=dict, repr=False)

    def client(self, service: str, region: str, *, max_attempts: int | None = None) -> Any:
        key = (service, region, max_attempts or 0)
        with _CLIENT_LOCK:
            found = self._clients.get(key)
            if found is None:
                found = self.session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.settings.endpoint_url,
                    config=self.settings.botocore_config(max_attempts=max_attempts),
                )
                self._clients[key] = found
            return found


@dataclass(frozen=True, slots=True)
class AwsHandle:
    """A scope's ``handle``: the account and the region its clients talk to."""

    account: AwsAccount
    region: str

    def client(self, service: str, *, max_attempts: int | None = None) -> Any:
        return self.account.client(service, self.region, max_attempts=max_attempts)


def base_sessions(settings: AwsSettings) -> list[tuple[str, boto3.Session]]:
    """(source label, session) for each configured profile, or the default chain when none is."""
    if settings.profiles:
        return [(f"profile:{p}", settings.session(profile_name=p)) for p in settings.profiles]
    return [("default", settings.session())]


def _home_region(session: boto3.Session, settings: AwsSettings) -> str:
    return session.region_name or (settings.regions[0] if settings.regions else DEFAULT_REGION)


def _identify(session: boto3.Session, source: str, settings: AwsSettings) -> AwsAccount:
    probe = AwsAccount("", session, source, settings)
    ident = probe.client("sts", _home_region(session, settings)).get_caller_identity()
    probe.account_id = str(ident["Account"])
    return probe


def use_credentials(core: botocore.session.Session, credentials: Credentials) -> None:
    """Make ``credentials`` the botocore session's only source (instead of the default chain)."""
    core.register_component("credential_provider", CredentialResolver([_Given(credentials)]))


def role_credentials(
    source: Credentials | None,
    role_arn: str,
    assume_args: Mapping[str, Any],
    sts_client: Callable[..., Any],
) -> Credentials:
    """``role_arn``'s credentials, assumed now (a refused role fails here) and renewed before they expire
    (botocore's fetcher, as for a role profile). ``sts_client(service, **credentials)`` makes the STS client
    that assumes it, from ``source``; ``assume_args`` are AssumeRole's other parameters."""
    if source is None:  # botocore found no credentials at all: say so, not an AttributeError later
        from workbench.errors import ProviderError

        raise ProviderError(
            f"no AWS credentials to assume {role_arn} from: set AWS_PROFILE or AWS_ACCESS_KEY_ID, "
            "or name a profile in the [aws] section of the config"
        )
    fetcher = AssumeRoleCredentialFetcher(
        sts_client, source, role_arn, extra_args=dict(assume_args)
    )
    credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
    credentials.get_frozen_credentials()
    return credentials


class _Given(CredentialProvider):  # type: ignore[misc]  # botocore is untyped
    """Credentials this module made (an assumed role's), as the session's only source."""

    METHOD = "vmwb-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


def assume(base: AwsAccount, role_arn: str) -> AwsAccount:
    """Assume ``role_arn`` from ``base``; the account id is what STS says, not what the ARN says.

    The role's credentials renew themselves before they expire (botocore's fetcher, as for a role profile):
    a big estate's sync, or a TUI left open, outlives the hour they last.
    """
    extra: dict[str, Any] = {"RoleSessionName": base.settings.role_session_name}
    if base.settings.external_id:
        extra["ExternalId"] = base.settings.external_id
    if base.settings.role_duration_seconds:
        extra["DurationSeconds"] = base.settings.role_duration_seconds
    region = _home_region(base.session, base.settings)

    def sts_client(service: str, **credentials: Any) -> Any:
        # With our endpoint, region and retries. A renewal runs in whichever collector thread signs a
        # request then, and boto3 sessions are not thread-safe.
        with _CLIENT_LOCK:
            return base.session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=base.settings.endpoint_url,
                config=base.settings.botocore_config(),
                **credentials,
            )

    # Assumed now: a refused role is a discovery failure.
    credentials = role_credentials(base.session.get_credentials(), role_arn, extra, sts_client)
    session = base.settings.session(credentials, region_name=base.session.region_name)
    return _identify(session, f"role:{role_arn}", base.settings)


def account_from_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else arn


def enabled_regions(account: AwsAccount) -> list[str]:
    region = _home_region(account.session, account.settings)
    ec2 = account.client("ec2", region)
    found = ec2.describe_regions(
        Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
    )
    return sorted(r["RegionName"] for r in found["Regions"])


def discover_scopes(settings: AwsSettings) -> list[ScopeRef | ScopeFailure]:
    """Every (account, region) to sync; an account that cannot be reached is one ScopeFailure."""
    found: list[ScopeRef | ScopeFailure] = []
    accounts: list[AwsAccount] = []
    bases: list[AwsAccount] = []
    for source, session in base_sessions(settings):
        try:
            bases.append(_identify(session, source, settings))
        except Exception as exc:
            label = source.removeprefix("profile:")
            failed = ScopeRef("aws", label, "*", label=f"{source} (unreachable)")
            found.append(ScopeFailure(failed, describe_error(exc)))
    if bases:
        # Roles are assumed from the first working base identity (the auditor's hub account).
        hub = bases[0]
        if settings.include_base or not settings.role_arns:
            accounts.extend(bases)
        for arn in settings.role_arns:
            try:
                accounts.append(assume(hub, arn))
            except Exception as exc:
                failed = ScopeRef("aws", account_from_arn(arn), "*", label=f"role:{arn}")
                found.append(ScopeFailure(failed, describe_error(exc)))
    seen: set[str] = set()
    for account in accounts:
        if account.account_id in seen:  # two profiles for one account: sync it once
            continue
        seen.add(account.account_id)
        try:
            regions: Sequence[str] = settings.regions or enabled_regions(account)
        except Exception as exc:
            failed = ScopeRef("aws", account.account_id, "*", label=account.source)
            found.append(ScopeFailure(failed, describe_error(exc)))
            continue
        for region in regions:
            found.append(
                ScopeRef(
                    "aws",
                    account.account_id,
                    region,
                    label=f"{account.account_id}/{region}",
                    handle=AwsHandle(account, region),
                )
            )
    return found

"""Settings, credentials, clients and retries for Google Cloud.

Credentials, in order: ``anonymous = true`` (the local fixture server and the demo), a service-account key kept
in the keyring (``credentials_secret``), a key file (``credentials_file``), else Application Default Credentials.
A key's JSON given inline (``credentials_json``) is moved to the keyring on first use, so it need not stay in a
plain config file. Clients use the REST transport (no gRPC channel per client) and are cached per
(kind, project) handle; the google-cloud SDK is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ProviderError

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Longest Retry-After the client honours; a server asking for more is treated as this (the retry deadline
# still bounds the whole call).
MAX_RETRY_AFTER = 30.0
_COMPUTE_KINDS = (
    "InstancesClient",
    "DisksClient",
    "SnapshotsClient",
    "ImagesClient",
    "FirewallsClient",
    "NetworksClient",
    "SubnetworksClient",
    "ProjectsClient",
)


@dataclass(frozen=True, slots=True)
class GcpSettings:
    """What the ``[gcp]`` config section (plus CLI overrides) asks for."""

    projects: tuple[str, ...] = ()
    credentials_file: str | None = None
    credentials_secret: str | None = None
    credentials_json: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    anonymous: bool = False
    timeout: float = 30.0  # seconds per HTTP request
    retry_deadline: float = 120.0  # seconds for one call including its retries
    retry_initial: float = 1.0
    patch: bool = True  # collect OS Config (VM Manager) patch and vulnerability state

    @classmethod
    def from_section(cls, section: Mapping[str, Any], **overrides: Any) -> GcpSettings:
        merged = dict(section)
        for key, value in overrides.items():
            if value:  # an empty CLI flag means "not given"
                merged[key] = value
        endpoint = merged.get("endpoint") or None
        if endpoint and "://" not in endpoint:
            # Without a scheme the REST transport prepends https://, which fails against an http fixture
            # with an SSL error that does not say why.
            raise ProviderError(f"[gcp] endpoint {endpoint!r} needs a scheme (http:// or https://)")
        try:
            return cls(
                projects=tuple(merged.get("projects") or ()),
                credentials_file=merged.get("credentials_file") or None,
                credentials_secret=merged.get("credentials_secret") or None,
                credentials_json=merged.get("credentials_json") or None,
                endpoint=endpoint.rstrip("/") if endpoint else None,
                anonymous=bool(merged.get("anonymous", False)),
                timeout=float(merged.get("timeout", 30)),
                retry_deadline=float(merged.get("retry_deadline", 120)),
                retry_initial=float(merged.get("retry_initial", 1.0)),
                patch=bool(merged.get("patch", True)),
            )
        except (TypeError, ValueError) as exc:
            raise ProviderError(f"[gcp] invalid setting: {exc}") from exc


def _secret_name(info: Mapping[str, Any]) -> str:
    return f"gcp:{info.get('client_email') or info.get('project_id') or 'service-account'}"


def stash_inline_key(content: str) -> str:
    """Store an inline service-account key in the keyring; return the name to put in ``credentials_secret``."""
    from workbench import secrets

    try:
        info = json.loads(content)
    except ValueError as exc:
        raise ProviderError(
            "[gcp] credentials_json is not a service-account key (bad JSON)"
        ) from exc
    name = _secret_name(info)
    secrets.set_secret(name, content)
    return name


def load_credentials(settings: GcpSettings) -> tuple[Any, str | None]:
    """(credentials, the project they name or None)."""
    if settings.anonymous:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials(), None
    from google.oauth2 import service_account

    info: dict[str, Any] | None = None
    if settings.credentials_json:
        info = json.loads(settings.credentials_json)
        try:
            name = stash_inline_key(settings.credentials_json)
            log.warning(
                "[gcp] the inline key is now in the keyring: replace credentials_json with "
                'credentials_secret = "%s" in the config',
                name,
            )
        except Exception as exc:  # no keyring on this box: use the key from memory this time
            log.warning("[gcp] could not move the inline key to the keyring: %s", exc)
    elif settings.credentials_secret:
        from workbench import secrets

        content = secrets.get_secret(settings.credentials_secret)
        if content is None:
            raise ProviderError(f"[gcp] no secret {settings.credentials_secret!r} in the keyring")
        info = json.loads(content)
    if info is not None:
        creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        return creds, info.get("project_id")
    if settings.credentials_file:
        try:
            creds = service_account.Credentials.from_service_account_file(
                settings.credentials_file, scopes=SCOPES
            )
        except (OSError, ValueError) as exc:
            raise ProviderError(f"[gcp] credentials_file: {exc}") from exc
        return creds, getattr(creds, "project_id", None)
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, project = google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError as exc:
        raise ProviderError(
            "[gcp] no credentials: run `gcloud auth application-default login`, or set "
            "credentials_file / credentials_secret in [gcp]"
        ) from exc
    return creds, project


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("Retry-After")
    try:
        return min(float(value), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None


def make_retry(settings: GcpSettings) -> Any:
    """A Retry on throttling, unavailability and dropped connections, with exponential backoff.

    api_core's Retry ignores Retry-After; ``on_error`` sleeps for it first so a throttled call waits at least
    as long as the server asked, then the usual jittered backoff follows.
    """
    import requests
    from google.api_core import exceptions
    from google.api_core.retry import Retry, if_exception_type

    predicate = if_exception_type(
        exceptions.TooManyRequests,
        exceptions.ServiceUnavailable,
        exceptions.InternalServerError,
        exceptions.BadGateway,
        exceptions.GatewayTimeout,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
    )

    def on_error(exc: BaseException) -> None:
        wait = _retry_after(exc)
        if wait:
            time.sleep(wait)

    return Retry(
        predicate=predicate,
        initial=settings.retry_initial,
        maximum=30.0,
        multiplier=2.0,
        timeout=settings.retry_deadline,
        on_error=on_error,
    )


def check_content_type(response: Any, *args: Any, **kwargs: Any) -> None:
    """requests ``response`` hook: a success must be JSON. A proxy's login page (HTML, 200) would otherwise
    reach the JSON parser and fail with a message that does not say what came back."""
    from workbench.errors import BadAnswer

    ctype = str(response.headers.get("Content-Type") or "").lower()
    if 200 <= response.status_code < 300 and "json" not in ctype:
        what = f"{response.request.method} {response.request.path_url.split('?')[0]}"
        raise BadAnswer(f"{what}: the answer is {ctype or 'no content type'}, not the API's JSON")


def _check_answers(client: Any) -> None:
    """Every answer of ``client``'s REST transport goes through :func:`check_content_type` first. (The
    transport's requests session is not public API: without one, answers are still checked by their shape.)"""
    session = getattr(getattr(client, "transport", None), "_session", None)
    hooks = getattr(session, "hooks", None)
    if isinstance(hooks, dict):
        hooks.setdefault("response", []).append(check_content_type)


class GcpClients:
    """Compute and OS Config clients for one set of credentials, built once per kind and shared by threads.

    ``call_kwargs`` (retry and per-request timeout) go on every API call; pagers pass them on to each page.
    """

    def __init__(self, settings: GcpSettings, credentials: Any) -> None:
        self.settings = settings
        self.credentials = credentials
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._retry: Any = None

    @classmethod
    def from_settings(cls, settings: GcpSettings) -> GcpClients:
        creds, _ = load_credentials(settings)
        return cls(settings, creds)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> GcpClients:
        """What the fix engine's FixContext calls."""
        return cls.from_settings(GcpSettings.from_section(section))

    def _options(self) -> dict[str, Any]:
        from google.api_core.client_options import ClientOptions

        kw: dict[str, Any] = {"credentials": self.credentials, "transport": "rest"}
        if self.settings.endpoint:
            kw["client_options"] = ClientOptions(api_endpoint=self.settings.endpoint)
        return kw

    def compute(self, kind: str) -> Any:
        """A compute_v1 client by class name (``"InstancesClient"``)."""
        if kind not in _COMPUTE_KINDS and not kind.endswith("OperationsClient"):
            raise ProviderError(f"unknown compute client {kind!r}")
        with self._lock:
            found = self._clients.get(kind)
            if found is None:
                from google.cloud import compute_v1

                found = getattr(compute_v1, kind)(**self._options())
                _check_answers(found)
                self._clients[kind] = found
            return found

    def osconfig(self, kind: str = "OsConfigZonalServiceClient") -> Any:
        """An osconfig_v1 client: the zonal one (inventories, reports) or ``OsConfigServiceClient`` (patch jobs)."""
        with self._lock:
            found = self._clients.get(kind)
            if found is None:
                from google.cloud import osconfig_v1

                found = getattr(osconfig_v1, kind)(**self._options())
                _check_answers(found)
                self._clients[kind] = found
            return found

    @property
    def call_kwargs(self) -> dict[str, Any]:
        if self._retry is None:
            self._retry = make_retry(self.settings)
        return {"retry": self._retry, "timeout": self.settings.timeout}

"""The GCP and Azure fixture servers, for the test modules that drive them through the real SDKs.

One server per test module (starting it and importing the SDK is slow); every test gets the pristine demo
estate, no faults and an empty request log. A module takes the three fixtures by assigning them (pytest finds
fixtures by the module's attribute names)::

    from fixture_servers import gcp_server_fixtures
    estate, server, _fresh = gcp_server_fixtures()
    estate, server, _fresh = azure_server_fixtures(page_size=2)   # keyword arguments go to the server

``gcp_client_kwargs`` and ``azure_clients`` build SDK clients pointed at a server.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

AZURE_SUB = "00000000-0000-0000-0000-00000000d3m0"


def _server_fixtures(name: str, start: Callable[[dict[str, Any]], Any]) -> tuple[Any, Any, Any]:
    @pytest.fixture(scope="module")
    def estate() -> dict[str, Any]:
        from workbench.emulators.http_fixture import load_demo_estate

        return load_demo_estate(name)

    @pytest.fixture(scope="module")
    def server(estate: dict[str, Any]) -> Iterator[Any]:
        with start(estate) as srv:
            yield srv

    @pytest.fixture(autouse=True)
    def _fresh(server: Any, estate: dict[str, Any]) -> None:
        server.load_estate(copy.deepcopy(estate))
        server.clear_faults()
        server.requests.clear()

    return estate, server, _fresh


def gcp_server_fixtures(**server_kw: Any) -> tuple[Any, Any, Any]:
    """``estate`` (module), ``server`` (module: a ``GcpFixtureServer``) and the autouse reset."""

    def start(estate: dict[str, Any]) -> Any:
        from workbench.emulators.gcp import GcpFixtureServer

        return GcpFixtureServer(estate, **server_kw)

    return _server_fixtures("gcp", start)


def azure_server_fixtures(**server_kw: Any) -> tuple[Any, Any, Any]:
    """``estate`` (module), ``server`` (module: an ``AzureFixtureServer``) and the autouse reset."""

    def start(estate: dict[str, Any]) -> Any:
        from workbench.emulators.azure import AzureFixtureServer

        return AzureFixtureServer(estate, **server_kw)

    return _server_fixtures("azure", start)


def gcp_client_kwargs(server: Any) -> dict[str, Any]:
    """Keyword arguments for any google-cloud REST client: anonymous, talking to ``server``."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return {
        "credentials": AnonymousCredentials(),
        "transport": "rest",
        "client_options": ClientOptions(api_endpoint=server.endpoint),
    }


class FakeCredential:
    """Duck-typed TokenCredential: all the ARM pipeline needs is get_token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("fixture-token", int(time.time()) + 3600)


def azure_clients(server: Any, sub: str = AZURE_SUB, **kw: Any) -> tuple[Any, Any]:
    """ComputeManagementClient and NetworkManagementClient of subscription ``sub`` on ``server``."""
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.network import NetworkManagementClient

    common = {"base_url": server.endpoint, "connection_verify": server.ca_path, **kw}
    return (
        ComputeManagementClient(FakeCredential(), sub, **common),
        NetworkManagementClient(FakeCredential(), sub, **common),
    )

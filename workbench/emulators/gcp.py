"""A local Compute Engine (+ OS Config) REST fixture that the real google-cloud-compute SDK talks to.

Point a client at it with
``ClientOptions(api_endpoint=server.endpoint)`` (plain http: the scheme must be in the endpoint),
``AnonymousCredentials()`` and ``transport="rest"``. State is an in-memory copy of a JSON estate
in the REST API's own shapes (camelCase fields, int64 as strings); mutations change it, so
apply -> re-list -> undo works end to end. Mutations return DONE Operations that can be
fetched or waited on through zone/region/global operations. OS Config serves VM Manager's
vulnerability reports and inventories (zonal) and patch jobs with their per-instance details.

The server is split by concern: :mod:`workbench.emulators.gcp_state` holds the served state,
lookups, error shape and Operations; :mod:`workbench.emulators.gcp_compute` and
:mod:`workbench.emulators.gcp_osconfig` the request handlers of each API. This module joins
them into :class:`GcpFixtureServer` and routes requests to the handlers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from workbench.emulators.gcp_compute import ComputeHandlers
from workbench.emulators.gcp_osconfig import OsConfigHandlers
from workbench.emulators.gcp_state import Json
from workbench.emulators.http_fixture import HttpError, Request, Response, load_demo_estate

__all__ = ["GcpFixtureServer", "Handler"]

Handler = Callable[..., Response]


class GcpFixtureServer(ComputeHandlers, OsConfigHandlers):
    """Serves one or more projects from `estate` ({"projects": {name: {...collections...}}})."""

    def __init__(self, estate: Json | str | Path | None = None, *, tls: bool = False) -> None:
        super().__init__(estate, tls=tls)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (m, re.compile(p + "$"), h) for m, p, h in self._route_table()
        ]

    @classmethod
    def demo(cls) -> GcpFixtureServer:
        return cls(load_demo_estate("gcp"))

    # --- routing ---------------------------------------------------------------------------
    def _route_table(self) -> list[tuple[str, str, Handler]]:
        p = r"/compute/v1/projects/(?P<p>[^/]+)"
        z = p + r"/zones/(?P<z>[^/]+)"
        r = p + r"/regions/(?P<r>[^/]+)"
        g = p + r"/global"
        inst = z + r"/instances/(?P<n>[^/]+)"
        ops = p + r"/(?:zones/[^/]+|regions/[^/]+|global)/operations/(?P<op>[^/]+)"
        oc = r"/v1/projects/(?P<p>[^/]+)/locations/(?P<z>[^/]+)/instances/(?P<n>[^/]+)"
        job = r"/v1/projects/(?P<p>[^/]+)/patchJobs"
        return [
            ("GET", p, self._get_project),
            ("POST", p + "/setCommonInstanceMetadata", self._set_common_metadata),
            ("GET", p + r"/aggregated/(?P<kind>instances|disks|subnetworks)", self._aggregated),
            ("GET", z + r"/(?P<kind>instances|disks)", self._zonal_list),
            ("GET", z + r"/(?P<kind>instances|disks)/(?P<n>[^/]+)", self._zonal_get),
            ("POST", inst + "/setMetadata", self._set_metadata),
            ("POST", inst + r"/(?P<action>stop|start)", self._power),
            ("PATCH", inst + "/setShieldedInstanceIntegrityPolicy", self._integrity_policy),
            ("PATCH", inst + "/updateShieldedInstanceConfig", self._shielded_config),
            ("POST", inst + "/setServiceAccount", self._set_service_account),
            ("POST", inst + "/deleteAccessConfig", self._delete_access_config),
            ("POST", inst + "/addAccessConfig", self._add_access_config),
            ("GET", g + r"/(?P<kind>snapshots|images|firewalls|networks)", self._global_list),
            ("GET", g + r"/(?P<kind>snapshots|images|firewalls|networks)/(?P<n>[^/]+)", self._get),
            ("GET", g + r"/(?P<kind>snapshots|images)/(?P<n>[^/]+)/getIamPolicy", self._get_iam),
            ("POST", g + r"/(?P<kind>snapshots|images)/(?P<n>[^/]+)/setIamPolicy", self._set_iam),
            ("POST", g + r"/images/(?P<n>[^/]+)/deprecate", self._deprecate_image),
            ("PATCH", g + r"/firewalls/(?P<n>[^/]+)", self._patch_firewall),
            ("PUT", g + r"/firewalls/(?P<n>[^/]+)", self._update_firewall),
            ("POST", g + "/firewalls", self._insert_firewall),
            ("DELETE", g + r"/firewalls/(?P<n>[^/]+)", self._delete_firewall),
            ("GET", r + "/subnetworks", self._regional_list),
            ("GET", r + r"/subnetworks/(?P<n>[^/]+)", self._regional_get),
            ("PATCH", r + r"/subnetworks/(?P<n>[^/]+)", self._patch_subnetwork),
            ("GET", ops, self._get_operation),
            ("POST", ops + "/wait", self._get_operation),
            ("GET", oc + r"/(?P<kind>vulnerabilityReports|inventories)", self._osconfig_list),
            ("GET", oc + r"/(?P<kind>vulnerabilityReport|inventory)", self._osconfig_get),
            ("GET", job, self._patch_jobs),
            ("GET", job + r"/(?P<j>[^/:]+)", self._patch_job),
            ("GET", job + r"/(?P<j>[^/:]+)/instanceDetails", self._patch_job_details),
        ]

    def route(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                args = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                return handler(request, **args)
        raise HttpError(404, f"The requested URL {request.path} was not found on this server.")

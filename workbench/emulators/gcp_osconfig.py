"""The OS Config (VM Manager) handlers of the GCP fixture.

:class:`OsConfigHandlers` answers the ``/v1/projects/...`` routes of
:class:`workbench.emulators.gcp.GcpFixtureServer`: zonal vulnerability reports and inventories,
and patch jobs with their per-instance details, all read from the project's ``osconfig``
collection of :class:`workbench.emulators.gcp_state.GcpFixtureState`.
"""

from __future__ import annotations

from workbench.emulators.gcp_state import GcpFixtureState, Json, last_segment, paginate
from workbench.emulators.http_fixture import HttpError, Request, Response

OSCONFIG_API = "osconfig.googleapis.com"


class OsConfigHandlers(GcpFixtureState):
    """OS Config request handlers; mixed into the server, routed by its route table.

    A project whose estate lists ``osconfig.googleapis.com`` in ``disabledServices`` answers every OS Config
    call as Google does for an API that is not enabled: 403 PERMISSION_DENIED with an ErrorInfo of reason
    ``SERVICE_DISABLED``.
    """

    def _osconfig_enabled(self, p: str) -> None:
        project = self._project(p)
        if OSCONFIG_API in (project.get("disabledServices") or []):
            raise ServiceDisabled(p, OSCONFIG_API)

    # --- OS Config (VM Manager) --------------------------------------------------------------
    def _osconfig_reports(self, p: str, z: str, n: str, kind: str) -> list[Json]:
        project = self._project(p)
        # Names look like projects/<num>/locations/<zone>/instances/<id>/vulnerabilityReport;
        # the request may name the instance by ID or by name.
        ids = {n} | {vm["id"] for vm in project["instances"] if vm["name"] == n}
        return [
            r
            for r in project["osconfig"].get(kind, [])
            if r["name"].split("/")[3] == z and (n == "-" or r["name"].split("/")[5] in ids)
        ]

    def _osconfig_list(self, req: Request, p: str, z: str, n: str, kind: str) -> Response:
        self._osconfig_enabled(p)
        page, token = paginate(self._osconfig_reports(p, z, n, kind), req.query)
        body: Json = {kind: page}
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _osconfig_get(self, req: Request, p: str, z: str, n: str, kind: str) -> Response:
        self._osconfig_enabled(p)
        plural = "vulnerabilityReports" if kind == "vulnerabilityReport" else "inventories"
        found = self._osconfig_reports(p, z, n, plural)
        if not found:
            raise HttpError(404, f"Resource not found: {req.path}")
        return Response(200, found[0])

    # --- OS Config patch jobs (project-level OsConfigService) ----------------------------------
    # Estate: osconfig.patchJobs (PatchJob JSON) and osconfig.patchJobInstanceDetails {job id: [details]}.
    def _patch_job(self, req: Request, p: str, j: str) -> Response:
        self._osconfig_enabled(p)
        for job in self._project(p)["osconfig"].get("patchJobs", []):
            if last_segment(job["name"]) == j:
                return Response(200, job)
        raise HttpError(404, f"Resource not found: projects/{p}/patchJobs/{j}")

    def _patch_jobs(self, req: Request, p: str) -> Response:
        self._osconfig_enabled(p)
        page, token = paginate(self._project(p)["osconfig"].get("patchJobs", []), req.query)
        body: Json = {"patchJobs": page}
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _patch_job_details(self, req: Request, p: str, j: str) -> Response:
        self._patch_job(req, p, j)  # 404 for an unknown job
        details = self._project(p)["osconfig"].get("patchJobInstanceDetails", {}).get(j, [])
        page, token = paginate(details, req.query)
        body: Json = {"patchJobInstanceDetails": page}
        if token:
            body["nextPageToken"] = token
        return Response(200, body)


class ServiceDisabled(HttpError):
    """Google's answer for a call to an API the project has not enabled."""

    def __init__(self, project: str, service: str) -> None:
        message = (
            f"{service.split('.')[0]} API has not been used in project {project} before or it is disabled. "
            f"Enable it by visiting https://console.developers.google.com/apis/api/{service}/overview"
            f"?project={project} then retry."
        )
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {"service": service, "consumer": f"projects/{project}"},
        }
        body = {
            "error": {
                "code": 403,
                "message": message,
                "status": "PERMISSION_DENIED",
                "details": [info],
            }
        }
        super().__init__(403, message, "PERMISSION_DENIED", body)

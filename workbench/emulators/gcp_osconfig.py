"""The OS Config (VM Manager) handlers of the GCP fixture.

:class:`OsConfigHandlers` answers the ``/v1/projects/...`` routes of
:class:`workbench.emulators.gcp.GcpFixtureServer`: zonal vulnerability reports and inventories,
and patch jobs with their per-instance details, all read from the project's ``osconfig``
collection of :class:`workbench.emulators.gcp_state.GcpFixtureState`.
"""

from __future__ import annotations

from workbench.emulators.gcp_state import GcpFixtureState, Json, last_segment, paginate
from workbench.emulators.http_fixture import HttpError, Request, Response


class OsConfigHandlers(GcpFixtureState):
    """OS Config request handlers; mixed into the server, routed by its route table."""

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
        page, token = paginate(self._osconfig_reports(p, z, n, kind), req.query)
        body: Json = {kind: page}
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _osconfig_get(self, req: Request, p: str, z: str, n: str, kind: str) -> Response:
        plural = "vulnerabilityReports" if kind == "vulnerabilityReport" else "inventories"
        found = self._osconfig_reports(p, z, n, plural)
        if not found:
            raise HttpError(404, f"Resource not found: {req.path}")
        return Response(200, found[0])

    # --- OS Config patch jobs (project-level OsConfigService) ----------------------------------
    # Estate: osconfig.patchJobs (PatchJob JSON) and osconfig.patchJobInstanceDetails {job id: [details]}.
    def _patch_job(self, req: Request, p: str, j: str) -> Response:
        for job in self._project(p)["osconfig"].get("patchJobs", []):
            if last_segment(job["name"]) == j:
                return Response(200, job)
        raise HttpError(404, f"Resource not found: projects/{p}/patchJobs/{j}")

    def _patch_jobs(self, req: Request, p: str) -> Response:
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

"""A local Compute Engine (+ OS Config) REST fixture that the real google-cloud-compute SDK talks to.

Point a client at it with
``ClientOptions(api_endpoint=server.endpoint)`` (plain http: the scheme must be in the endpoint),
``AnonymousCredentials()`` and ``transport="rest"``. State is an in-memory copy of a JSON estate
in the REST API's own shapes (camelCase fields, int64 as strings); mutations change it, so
apply -> re-list -> undo works end to end. Mutations return DONE Operations that can be
fetched or waited on through zone/region/global operations. OS Config serves VM Manager's
vulnerability reports and inventories (zonal) and patch jobs with their per-instance details.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from workbench.emulators.http_fixture import (
    FixtureServer,
    HttpError,
    Request,
    Response,
    load_demo_estate,
)

API = "https://www.googleapis.com/compute/v1"
_REASONS = {
    400: "badRequest",
    403: "forbidden",
    404: "notFound",
    409: "alreadyExists",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
}
Json = dict[str, Any]
Handler = Callable[..., Response]


def _last(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _fingerprint(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()[:8]
    return base64.b64encode(digest).decode()


def _page(items: list[Any], query: dict[str, str]) -> tuple[list[Any], str | None]:
    """Offset paging: pageToken is the index of the first item of the page."""
    size = int(query.get("maxResults") or query.get("pageSize") or 500)
    start = int(query.get("pageToken") or 0)
    end = start + max(size, 1)
    return items[start:end], (str(end) if end < len(items) else None)


class GcpFixtureServer(FixtureServer):
    """Serves one or more projects from `estate` ({"projects": {name: {...collections...}}})."""

    def __init__(self, estate: Json | str | Path | None = None, *, tls: bool = False) -> None:
        super().__init__(tls=tls)
        self.projects: dict[str, Json] = {}
        self.operations: dict[str, Json] = {}
        self._op_ids = itertools.count(1000)
        if estate is not None:
            self.load_estate(estate)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (m, re.compile(p + "$"), h) for m, p, h in self._route_table()
        ]

    @classmethod
    def demo(cls) -> GcpFixtureServer:
        return cls(load_demo_estate("gcp"))

    def load_estate(self, estate: Json | str | Path) -> None:
        """Replace the served state. Accepts the parsed JSON or a path to a JSON file."""
        data: Json = estate if isinstance(estate, dict) else json.loads(Path(estate).read_text())
        with self.lock:
            self.projects = copy.deepcopy(data["projects"])
            for proj in self.projects.values():
                for key in (
                    "instances",
                    "disks",
                    "snapshots",
                    "images",
                    "firewalls",
                    "networks",
                    "subnetworks",
                ):
                    proj.setdefault(key, [])
                proj.setdefault("iamPolicies", {})
                proj.setdefault("osconfig", {})

    def error_body(self, status: int, message: str, code: str) -> Any:
        reason = _REASONS.get(status, "error")
        return {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
            }
        }

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

    # --- lookups ---------------------------------------------------------------------------
    def _project(self, p: str) -> Json:
        if p in self.projects:
            return self.projects[p]
        # Like the real APIs, a project number works wherever a project ID does.
        for proj in self.projects.values():
            if proj.get("project", {}).get("id") == p:
                return proj
        raise HttpError(404, f"The resource 'projects/{p}' was not found")

    def _find(self, p: str, kind: str, name: str, scope: str | None = None) -> Json:
        for item in self._project(p)[kind]:
            if item["name"] == name and (scope is None or _last(self._scope_url(item)) == scope):
                return item
        where = f"zones/{scope}/" if kind in ("instances", "disks") else ""
        raise HttpError(404, f"The resource 'projects/{p}/{where}{kind}/{name}' was not found")

    @staticmethod
    def _scope_url(item: Json) -> str:
        return str(item.get("zone") or item.get("region") or "global")

    def _operation(self, p: str, op_type: str, target: Json, scope: str = "global") -> Response:
        """A finished Operation; kept so zone/region/globalOperations get/wait can find it."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        num = next(self._op_ids)
        name = f"operation-{num}-{hashlib.md5(str(num).encode()).hexdigest()[:12]}"
        base = f"{API}/projects/{p}/{scope}"
        op: Json = {
            "kind": "compute#operation",
            "id": str(7000000000000000000 + num),
            "name": name,
            "operationType": op_type,
            "targetLink": target.get("selfLink", ""),
            "targetId": str(target.get("id", "")),
            "status": "DONE",
            "user": "fixture@example.iam.gserviceaccount.com",
            "progress": 100,
            "insertTime": now,
            "startTime": now,
            "endTime": now,
            "selfLink": f"{base}/operations/{name}",
        }
        if scope.startswith("zones/"):
            op["zone"] = base
        elif scope.startswith("regions/"):
            op["region"] = base
        self.operations[name] = op
        return Response(200, op)

    # --- project ---------------------------------------------------------------------------
    def _get_project(self, req: Request, p: str) -> Response:
        return Response(200, self._project(p)["project"])

    def _set_common_metadata(self, req: Request, p: str) -> Response:
        project = self._project(p)["project"]
        project["commonInstanceMetadata"] = self._new_metadata(
            project.get("commonInstanceMetadata", {}), req.json()
        )
        return self._operation(p, "compute.projects.setCommonInstanceMetadata", project)

    @staticmethod
    def _new_metadata(current: Json, body: Json) -> Json:
        # Like the real API: a stale fingerprint means someone else changed it meanwhile.
        if "fingerprint" in current and body.get("fingerprint") != current["fingerprint"]:
            raise HttpError(
                412, "Supplied fingerprint does not match current metadata fingerprint."
            )
        items = body.get("items", [])
        return {"kind": "compute#metadata", "fingerprint": _fingerprint(items), "items": items}

    # --- lists -----------------------------------------------------------------------------
    def _aggregated(self, req: Request, p: str, kind: str) -> Response:
        items = sorted(self._project(p)[kind], key=lambda i: _last(self._scope_url(i)))
        page, token = _page(items, req.query)
        grouped: Json = {}
        for item in page:
            scope_url = self._scope_url(item)
            scope = f"{'zones' if 'zone' in item else 'regions'}/{_last(scope_url)}"
            grouped.setdefault(scope, {kind: []})[kind].append(item)
        body: Json = {
            "kind": f"compute#{kind[:-1]}AggregatedList",
            "id": f"projects/{p}/aggregated/{kind}",
            "items": grouped,
            "selfLink": f"{API}/projects/{p}/aggregated/{kind}",
        }
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _list(self, req: Request, kind: str, items: list[Json], self_link: str) -> Response:
        page, token = _page(items, req.query)
        body: Json = {"kind": f"compute#{kind[:-1]}List", "id": self_link, "selfLink": self_link}
        if page:
            body["items"] = page
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _zonal_list(self, req: Request, p: str, z: str, kind: str) -> Response:
        items = [i for i in self._project(p)[kind] if _last(i["zone"]) == z]
        return self._list(req, kind, items, f"{API}/projects/{p}/zones/{z}/{kind}")

    def _regional_list(self, req: Request, p: str, r: str) -> Response:
        items = [i for i in self._project(p)["subnetworks"] if _last(i["region"]) == r]
        return self._list(req, "subnetworks", items, f"{API}/projects/{p}/regions/{r}/subnetworks")

    def _global_list(self, req: Request, p: str, kind: str) -> Response:
        items = self._project(p)[kind]
        return self._list(req, kind, items, f"{API}/projects/{p}/global/{kind}")

    def _zonal_get(self, req: Request, p: str, z: str, kind: str, n: str) -> Response:
        return Response(200, self._find(p, kind, n, z))

    def _regional_get(self, req: Request, p: str, r: str, n: str) -> Response:
        return Response(200, self._find(p, "subnetworks", n, r))

    def _get(self, req: Request, p: str, kind: str, n: str) -> Response:
        return Response(200, self._find(p, kind, n))

    # --- instance mutations ----------------------------------------------------------------
    def _set_metadata(self, req: Request, p: str, z: str, n: str) -> Response:
        vm = self._find(p, "instances", n, z)
        vm["metadata"] = self._new_metadata(vm.get("metadata", {}), req.json())
        return self._operation(p, "setMetadata", vm, f"zones/{z}")

    def _power(self, req: Request, p: str, z: str, n: str, action: str) -> Response:
        vm = self._find(p, "instances", n, z)
        vm["status"] = "TERMINATED" if action == "stop" else "RUNNING"
        return self._operation(p, action, vm, f"zones/{z}")

    def _require_stopped(self, vm: Json, what: str) -> None:
        if vm.get("status") != "TERMINATED":
            raise HttpError(400, f"The instance must be stopped to change its {what}.")

    def _integrity_policy(self, req: Request, p: str, z: str, n: str) -> Response:
        vm = self._find(p, "instances", n, z)
        vm["shieldedInstanceIntegrityPolicy"] = req.json()
        return self._operation(p, "setShieldedInstanceIntegrityPolicy", vm, f"zones/{z}")

    def _shielded_config(self, req: Request, p: str, z: str, n: str) -> Response:
        vm = self._find(p, "instances", n, z)
        self._require_stopped(vm, "Shielded VM config")
        vm.setdefault("shieldedInstanceConfig", {}).update(req.json())
        return self._operation(p, "updateShieldedInstanceConfig", vm, f"zones/{z}")

    def _set_service_account(self, req: Request, p: str, z: str, n: str) -> Response:
        vm = self._find(p, "instances", n, z)
        self._require_stopped(vm, "service account")
        body = req.json()
        vm["serviceAccounts"] = [{"email": body.get("email", ""), "scopes": body.get("scopes", [])}]
        return self._operation(p, "setServiceAccount", vm, f"zones/{z}")

    def _nic(self, vm: Json, req: Request) -> Json:
        name = req.query.get("networkInterface", "nic0")
        for nic in vm.get("networkInterfaces", []):
            if nic.get("name") == name:
                return nic
        raise HttpError(400, f"Invalid value for field 'networkInterface': '{name}'.")

    def _delete_access_config(self, req: Request, p: str, z: str, n: str) -> Response:
        vm = self._find(p, "instances", n, z)
        nic = self._nic(vm, req)
        wanted = req.query.get("accessConfig", "")
        configs = nic.get("accessConfigs", [])
        nic["accessConfigs"] = [c for c in configs if c.get("name") != wanted]
        return self._operation(p, "deleteAccessConfig", vm, f"zones/{z}")

    def _add_access_config(self, req: Request, p: str, z: str, n: str) -> Response:
        vm = self._find(p, "instances", n, z)
        nic = self._nic(vm, req)
        config = {"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT", **req.json()}
        config.setdefault("natIP", f"203.0.113.{len(self.operations) % 250 + 1}")
        nic.setdefault("accessConfigs", []).append(config)
        return self._operation(p, "addAccessConfig", vm, f"zones/{z}")

    # --- IAM on snapshots / images -----------------------------------------------------------
    def _get_iam(self, req: Request, p: str, kind: str, n: str) -> Response:
        self._find(p, kind, n)
        policy = self._project(p)["iamPolicies"].get(f"{kind}/{n}", {"etag": "ACAB"})
        return Response(200, policy)

    def _set_iam(self, req: Request, p: str, kind: str, n: str) -> Response:
        self._find(p, kind, n)
        policies = self._project(p)["iamPolicies"]
        current = policies.get(f"{kind}/{n}", {"etag": "ACAB"})
        policy = dict(req.json().get("policy", {}))
        if policy.get("etag") and policy["etag"] != current.get("etag"):
            raise HttpError(412, "The policy etag does not match the current policy.")
        policy.setdefault("version", 1)
        policy["etag"] = _fingerprint(policy.get("bindings", []))
        if not policy.get("bindings"):
            policy.pop("bindings", None)
        policies[f"{kind}/{n}"] = policy
        return Response(200, policy)

    def _deprecate_image(self, req: Request, p: str, n: str) -> Response:
        image = self._find(p, "images", n)
        status = req.json()
        if status.get("state") in (None, "", "ACTIVE"):
            image.pop("deprecated", None)
        else:
            image["deprecated"] = status
        return self._operation(p, "deprecate", image)

    # --- firewalls / subnetworks ------------------------------------------------------------
    def _patch_firewall(self, req: Request, p: str, n: str) -> Response:
        rule = self._find(p, "firewalls", n)
        patch = {k: v for k, v in req.json().items() if k not in ("name", "id", "selfLink")}
        rule.update(patch)
        return self._operation(p, "patch", rule)

    def _update_firewall(self, req: Request, p: str, n: str) -> Response:
        rule = self._find(p, "firewalls", n)
        keep = {k: rule[k] for k in ("kind", "id", "name", "selfLink", "creationTimestamp")}
        rule.clear()
        rule.update({**req.json(), **keep})
        return self._operation(p, "update", rule)

    def _insert_firewall(self, req: Request, p: str) -> Response:
        body = req.json()
        rules = self._project(p)["firewalls"]
        if any(r["name"] == body.get("name") for r in rules):
            raise HttpError(409, f"The resource 'projects/{p}/global/firewalls/...' already exists")
        rule: Json = {
            "kind": "compute#firewall",
            "id": str(5100000000000000000 + len(self.operations)),
            "creationTimestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "direction": "INGRESS",
            "priority": 1000,
            "disabled": False,
            **body,
            "selfLink": f"{API}/projects/{p}/global/firewalls/{body.get('name')}",
        }
        rules.append(rule)
        return self._operation(p, "insert", rule)

    def _delete_firewall(self, req: Request, p: str, n: str) -> Response:
        rule = self._find(p, "firewalls", n)
        self._project(p)["firewalls"].remove(rule)
        return self._operation(p, "delete", rule)

    def _patch_subnetwork(self, req: Request, p: str, r: str, n: str) -> Response:
        subnet = self._find(p, "subnetworks", n, r)
        subnet.update({k: v for k, v in req.json().items() if k not in ("name", "id")})
        subnet["fingerprint"] = _fingerprint(subnet.get("logConfig"))
        return self._operation(p, "patch", subnet, f"regions/{r}")

    # --- operations ------------------------------------------------------------------------
    def _get_operation(self, req: Request, p: str, op: str) -> Response:
        if op not in self.operations:
            raise HttpError(404, f"The resource 'projects/{p}/.../operations/{op}' was not found")
        return Response(200, self.operations[op])

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
        page, token = _page(self._osconfig_reports(p, z, n, kind), req.query)
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
            if _last(job["name"]) == j:
                return Response(200, job)
        raise HttpError(404, f"Resource not found: projects/{p}/patchJobs/{j}")

    def _patch_jobs(self, req: Request, p: str) -> Response:
        page, token = _page(self._project(p)["osconfig"].get("patchJobs", []), req.query)
        body: Json = {"patchJobs": page}
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _patch_job_details(self, req: Request, p: str, j: str) -> Response:
        self._patch_job(req, p, j)  # 404 for an unknown job
        details = self._project(p)["osconfig"].get("patchJobInstanceDetails", {}).get(j, [])
        page, token = _page(details, req.query)
        body: Json = {"patchJobInstanceDetails": page}
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

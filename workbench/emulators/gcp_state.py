"""The GCP fixture's served state and what every handler shares: lookups, errors, Operations.

:class:`GcpFixtureState` is the base of :class:`workbench.emulators.gcp.GcpFixtureServer`: it
holds the in-memory copy of the estate (projects with their collections, in the REST API's own
shapes) and the finished Operations, loads estates, shapes errors like Google's APIs, finds
resources the way the real APIs do and records the DONE Operations mutations return. The
request handlers (:mod:`workbench.emulators.gcp_compute`, :mod:`workbench.emulators.gcp_osconfig`)
build on it; the route table is in :mod:`workbench.emulators.gcp`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.emulators.http_fixture import FixtureServer, HttpError, Response

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


def last_segment(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def fingerprint(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()[:8]
    return base64.b64encode(digest).decode()


def paginate(items: list[Any], query: dict[str, str]) -> tuple[list[Any], str | None]:
    """Offset paging: pageToken is the index of the first item of the page."""
    size = int(query.get("maxResults") or query.get("pageSize") or 500)
    start = int(query.get("pageToken") or 0)
    end = start + max(size, 1)
    return items[start:end], (str(end) if end < len(items) else None)


class GcpFixtureState(FixtureServer):
    """The projects served from `estate` ({"projects": {name: {...collections...}}})."""

    def __init__(self, estate: Json | str | Path | None = None, *, tls: bool = False) -> None:
        super().__init__(tls=tls)
        self.projects: dict[str, Json] = {}
        self.operations: dict[str, Json] = {}
        self._op_ids = itertools.count(1000)
        if estate is not None:
            self.load_estate(estate)

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
            if item["name"] == name and (
                scope is None or last_segment(self._scope_url(item)) == scope
            ):
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

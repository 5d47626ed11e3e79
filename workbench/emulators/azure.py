"""A local Azure Resource Manager (Compute + Network) fixture for the real azure-mgmt SDKs.

Build clients with ``base_url=server.endpoint``, ``connection_verify=server.ca_path`` and any
duck-typed credential whose ``get_token`` returns an ``AccessToken`` (no ARM metadata endpoint
is needed). Served over HTTPS by default because azure-core refuses bearer tokens over http.

State is a generic ARM resource store keyed by lower-cased resource ID, loaded from a JSON
estate in the REST shapes. ARM paths are matched case-insensitively and api-version is ignored.
PUT/PATCH complete synchronously (200/201, provisioningState Succeeded); POST actions and
DELETE answer 202 with Azure-AsyncOperation + Location headers pointing back at this server,
which report Succeeded on the first poll, so the SDKs' real ARM pollers run end to end.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from workbench.emulators.http_fixture import (
    FixtureServer,
    HttpError,
    Request,
    Response,
    load_demo_estate,
)

Json = dict[str, Any]
_ERROR_CODES = {
    400: "BadRequest",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
}
# Child collections stored inside their parent's properties (ARM exposes them as sub-resources).
_CHILDREN = {("networksecuritygroups", "securityrules"): "securityRules"}
# Nested resource types that ARM tracks as resources of their own (own id, location, tags), listed under
# their parent: a Network Watcher's flow logs.
_NESTED = {("networkwatchers", "flowlogs")}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _merge(into: Json, patch: Json) -> Json:
    """ARM PATCH semantics: objects merge recursively, everything else (lists too) replaces."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


class AzureFixtureServer(FixtureServer):
    """Serves `estate` ({"subscriptions": {sub_id: {collection: [resources...]}}})."""

    def __init__(
        self, estate: Json | str | Path | None = None, *, tls: bool = True, page_size: int = 100
    ) -> None:
        super().__init__(tls=tls)
        self.page_size = page_size  # list pages hold this many; nextLink carries the rest
        self.resources: dict[str, Json] = {}  # lower-cased ID -> resource, in estate order
        self.subscriptions: dict[str, Json] = {}
        self.operations: dict[str, Json | None] = {}  # operation id -> final result body
        self._op_ids = itertools.count(1)
        if estate is not None:
            self.load_estate(estate)

    @classmethod
    def demo(cls) -> AzureFixtureServer:
        return cls(load_demo_estate("azure"))

    def load_estate(self, estate: Json | str | Path) -> None:
        """Replace the served state. Accepts the parsed JSON or a path to a JSON file."""
        data: Json = estate if isinstance(estate, dict) else json.loads(Path(estate).read_text())
        with self.lock:
            self.resources, self.subscriptions = {}, {}
            for sub, collections in data["subscriptions"].items():
                self.subscriptions[sub.lower()] = {
                    "id": f"/subscriptions/{sub}",
                    "subscriptionId": sub,
                    "displayName": collections.get("displayName", sub),
                    "state": "Enabled",
                }
                for items in collections.values():
                    if isinstance(items, list):
                        for res in items:
                            self.resources[res["id"].lower()] = copy.deepcopy(res)

    def get(self, resource_id: str) -> Json:
        """The stored resource (for tests and the demo), matched case-insensitively."""
        with self.lock:
            return self.resources[resource_id.lower()]

    def error_body(self, status: int, message: str, code: str) -> Any:
        return {"error": {"code": code or _ERROR_CODES.get(status, "Error"), "message": message}}

    # --- routing ---------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        raw = [unquote(s) for s in request.path.strip("/").split("/")]
        segs = [s.lower() for s in raw]
        method = request.method
        if len(segs) < 2 or segs[0] != "subscriptions":
            raise HttpError(404, f"No route for {request.path}", "NotFound")
        sub = segs[1]
        if sub not in self.subscriptions:
            message = f"The subscription '{raw[1]}' could not be found."
            raise HttpError(404, message, "SubscriptionNotFound")
        if len(segs) == 2 and method == "GET":
            return Response(200, self.subscriptions[sub])
        if segs[2] == "providers" and len(segs) == 5 and method == "GET":
            return self._list(request, f"/subscriptions/{sub}/", f"{segs[3]}/{segs[4]}")
        if segs[2] == "providers" and len(segs) == 8 and segs[4] == "locations":
            return self._operation_status(segs[6], segs[7])  # operations | operationresults
        if segs[2] != "resourcegroups" or len(segs) < 7 or segs[4] != "providers":
            raise HttpError(404, f"No route for {request.path}", "NotFound")
        rg_prefix = "/".join(segs[:4])
        rtype = f"{segs[5]}/{segs[6]}"
        if len(segs) == 7 and method == "GET":
            return self._list(request, f"/{rg_prefix}/", rtype)
        res_id = "/" + "/".join(raw[:8])
        if len(segs) == 8:
            return self._resource(request, res_id, raw)
        if (segs[6], segs[8]) in _CHILDREN:
            return self._child(request, res_id, _CHILDREN[(segs[6], segs[8])], raw[9:])
        if (segs[6], segs[8]) in _NESTED and len(segs) in (9, 10):
            self._find(res_id)  # a missing parent is a 404, as in ARM
            if len(segs) == 10:
                return self._resource(request, "/" + "/".join(raw), raw)
            if method == "GET":
                return self._list(request, f"{res_id.lower()}/{segs[8]}/", f"{rtype}/{segs[8]}")
        if len(segs) == 9 and method == "GET" and segs[8] == "instanceview":
            view = self._find(res_id).get("properties", {}).get("instanceView", {})
            return Response(200, view)
        if len(segs) == 9 and method == "POST":
            return self._action(request, self._find(res_id), segs[8])
        raise HttpError(404, f"No route for {method} {request.path}", "NotFound")

    # --- collections -----------------------------------------------------------------------
    def _find(self, res_id: str) -> Json:
        res = self.resources.get(res_id.lower())
        if res is None:
            rtype = "/".join(res_id.split("/")[6:8])
            raise HttpError(
                404,
                f"The Resource '{rtype}/{res_id.rsplit('/', 1)[-1]}' under resource group "
                f"'{res_id.split('/')[4]}' was not found.",
                "ResourceNotFound",
            )
        return res

    def _view(self, res: Json, expand_instance_view: bool) -> Json:
        # instanceView is only part of a VM when the caller asks for it, as in ARM.
        props = res.get("properties", {})
        if "instanceView" in props and not expand_instance_view:
            return {**res, "properties": {k: v for k, v in props.items() if k != "instanceView"}}
        return res

    def _list(self, request: Request, prefix: str, rtype: str) -> Response:
        items = [
            r
            for key, r in self.resources.items()
            if key.startswith(prefix) and r.get("type", "").lower() == rtype
        ]
        start = int(request.query.get("$skiptoken") or 0)
        page = items[start : start + self.page_size]
        status_only = request.query.get("statusOnly", "").lower() == "true"
        body: Json = {"value": [self._view(r, status_only) for r in page]}
        if start + self.page_size < len(items):
            # The SDK follows nextLink verbatim, so it must name this server, not ARM.
            api = quote(request.query.get("api-version", ""))
            body["nextLink"] = (
                f"{self.endpoint}{request.path}?api-version={api}"
                f"&$skiptoken={start + self.page_size}"
            )
        return Response(200, body)

    def _resource(self, request: Request, res_id: str, raw: list[str]) -> Response:
        method = request.method
        if method == "GET":
            expand = request.query.get("$expand", "").lower() == "instanceview"
            return Response(200, self._view(self._find(res_id), expand))
        if method == "DELETE":
            self._find(res_id)
            del self.resources[res_id.lower()]
            return self._accepted(None)
        if method == "PATCH":
            res = _merge(self._find(res_id), request.json())
            return Response(200, self._view(res, False))
        if method == "PUT":
            existing = self.resources.get(res_id.lower())
            if existing is not None:
                return Response(200, self._view(_merge(existing, request.json()), False))
            res = {
                "id": res_id,
                "name": raw[-1],
                # Microsoft.Network/networkWatchers, or .../networkWatchers/flowLogs for a nested one.
                "type": "/".join([raw[5], *raw[6::2]]),
                **request.json(),
            }
            props = res.setdefault("properties", {})
            props["provisioningState"] = "Succeeded"
            props.setdefault("timeCreated", _now())
            self.resources[res_id.lower()] = res
            return Response(200, res)  # azure-mgmt-compute accepts only 200/202 here
        raise HttpError(405, f"{method} is not supported on {request.path}", "MethodNotAllowed")

    def _child(self, request: Request, parent_id: str, key: str, rest: list[str]) -> Response:
        parent = self._find(parent_id)
        children: list[Json] = parent.setdefault("properties", {}).setdefault(key, [])
        if not rest:
            if request.method != "GET":
                raise HttpError(405, "Method not allowed on a child collection", "BadRequest")
            return Response(200, {"value": children})
        name = rest[0]
        found = [c for c in children if c["name"].lower() == name.lower()]
        if request.method == "GET":
            if not found:
                raise HttpError(404, f"{key[:-1]} '{name}' was not found.", "NotFound")
            return Response(200, found[0])
        if request.method == "DELETE":
            if found:
                children.remove(found[0])
            return self._accepted(None)
        if request.method == "PUT":
            body = request.json()
            child: Json = {
                "name": found[0]["name"] if found else name,
                "id": f"{parent['id']}/{key}/{name}",
                "etag": f'W/"{uuid.uuid4()}"',
                "type": f"{parent['type']}/{key}",
                "properties": {**body.get("properties", {}), "provisioningState": "Succeeded"},
            }
            if found:
                children[children.index(found[0])] = child
            else:
                children.append(child)
            return Response(200 if found else 201, child)
        raise HttpError(405, f"{request.method} not supported", "MethodNotAllowed")

    # --- actions and long-running operations ------------------------------------------------
    def _accepted(self, result: Json | None) -> Response:
        """202 + polling headers; the operation has already finished when the SDK polls it."""
        op_id = str(uuid.UUID(int=next(self._op_ids)))
        self.operations[op_id] = result
        sub = next(iter(self.subscriptions.values()))["subscriptionId"]
        base = f"{self.endpoint}/subscriptions/{sub}/providers/Microsoft.Compute/locations/fixture"
        return Response(
            202,
            None,
            {
                "Azure-AsyncOperation": f"{base}/operations/{op_id}?api-version=2024-07-01",
                "Location": f"{base}/operationresults/{op_id}?api-version=2024-07-01",
                "Retry-After": "0",
            },
        )

    def _operation_status(self, kind: str, op_id: str) -> Response:
        if op_id not in self.operations:
            raise HttpError(404, f"Operation {op_id} not found", "NotFound")
        if kind == "operations":
            now = _now()
            return Response(
                200,
                {"name": op_id, "status": "Succeeded", "startTime": now, "endTime": now},
            )
        result = self.operations[op_id]
        return Response(200, result) if result is not None else Response(204)

    def _action(self, request: Request, res: Json, action: str) -> Response:
        rtype = res["type"].lower()
        props = res.setdefault("properties", {})
        if rtype in ("microsoft.compute/disks", "microsoft.compute/snapshots"):
            if action == "begingetaccess":
                props["diskState"] = "ActiveSAS"
                sas = (
                    f"https://md-impexp-{uuid.uuid4().hex[:12]}.z1.blob.storage.azure.net/"
                    f"{uuid.uuid4().hex[:12]}/abcd?sv=2018-03-28&sr=b&se=2099-01-01T00%3A00%3A00Z"
                    "&sp=r&sig=FIXTURE-NOT-A-REAL-SIGNATURE"
                )
                return self._accepted({"accessSAS": sas})
            if action == "endgetaccess":
                props["diskState"] = "Attached" if res.get("managedBy") else "Unattached"
                return self._accepted(None)
        if rtype == "microsoft.compute/virtualmachines":
            view = props.setdefault("instanceView", {})
            power = {
                "poweroff": ("PowerState/stopped", "VM stopped"),
                "deallocate": ("PowerState/deallocated", "VM deallocated"),
                "start": ("PowerState/running", "VM running"),
                "restart": ("PowerState/running", "VM running"),
            }
            if action in power:
                code, display = power[action]
                statuses = [s for s in view.get("statuses", []) if "PowerState/" not in s["code"]]
                statuses.append({"code": code, "level": "Info", "displayStatus": display})
                view["statuses"] = statuses
                return self._accepted(None)
            if action == "assesspatches":
                return self._accepted(self._assess(view))
        raise HttpError(404, f"Action '{action}' is not supported on {res['type']}", "NotFound")

    @staticmethod
    def _assess(view: Json) -> Json:
        """Refresh the VM's patch assessment and return it as assessPatches does."""
        summary = view.setdefault("patchStatus", {}).setdefault("availablePatchSummary", {})
        now = _now()
        summary.update(
            {
                "status": "Succeeded",
                "assessmentActivityId": str(uuid.uuid4()),
                "startTime": now,
                "lastModifiedTime": now,
            }
        )
        return {
            "status": "Succeeded",
            "assessmentActivityId": summary["assessmentActivityId"],
            "rebootPending": summary.get("rebootPending", False),
            "criticalAndSecurityPatchCount": summary.get("criticalAndSecurityPatchCount", 0),
            "otherPatchCount": summary.get("otherPatchCount", 0),
            "startDateTime": now,
            "availablePatches": [],
        }

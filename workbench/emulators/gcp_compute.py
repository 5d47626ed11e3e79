"""The Compute Engine handlers of the GCP fixture: reads, lists and the mutations fixes make.

:class:`ComputeHandlers` answers the ``/compute/v1`` routes of
:class:`workbench.emulators.gcp.GcpFixtureServer`: the project and its common metadata,
aggregated/zonal/regional/global lists and gets, instance mutations (metadata, power, Shielded
VM, service account, access configs), IAM on snapshots and images, image deprecation,
firewalls, subnetwork logging and Operations. It changes the state of
:class:`workbench.emulators.gcp_state.GcpFixtureState` in place, so apply -> re-list -> undo
works end to end.
"""

from __future__ import annotations

from datetime import UTC, datetime

from workbench.emulators.gcp_state import (
    API,
    GcpFixtureState,
    Json,
    fingerprint,
    last_segment,
    paginate,
)
from workbench.emulators.http_fixture import HttpError, Request, Response


class ComputeHandlers(GcpFixtureState):
    """Compute Engine request handlers; mixed into the server, routed by its route table."""

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
        return {"kind": "compute#metadata", "fingerprint": fingerprint(items), "items": items}

    # --- lists -----------------------------------------------------------------------------
    def _aggregated(self, req: Request, p: str, kind: str) -> Response:
        items = sorted(self._project(p)[kind], key=lambda i: last_segment(self._scope_url(i)))
        page, token = paginate(items, req.query)
        grouped: Json = {}
        for item in page:
            scope_url = self._scope_url(item)
            scope = f"{'zones' if 'zone' in item else 'regions'}/{last_segment(scope_url)}"
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
        page, token = paginate(items, req.query)
        body: Json = {"kind": f"compute#{kind[:-1]}List", "id": self_link, "selfLink": self_link}
        if page:
            body["items"] = page
        if token:
            body["nextPageToken"] = token
        return Response(200, body)

    def _zonal_list(self, req: Request, p: str, z: str, kind: str) -> Response:
        items = [i for i in self._project(p)[kind] if last_segment(i["zone"]) == z]
        return self._list(req, kind, items, f"{API}/projects/{p}/zones/{z}/{kind}")

    def _regional_list(self, req: Request, p: str, r: str) -> Response:
        items = [i for i in self._project(p)["subnetworks"] if last_segment(i["region"]) == r]
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
        policy["etag"] = fingerprint(policy.get("bindings", []))
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
        subnet["fingerprint"] = fingerprint(subnet.get("logConfig"))
        return self._operation(p, "patch", subnet, f"regions/{r}")

    # --- operations ------------------------------------------------------------------------
    def _get_operation(self, req: Request, p: str, op: str) -> Response:
        if op not in self.operations:
            raise HttpError(404, f"The resource 'projects/{p}/.../operations/{op}' was not found")
        return Response(200, self.operations[op])

"""Every check that covers Google Cloud has a failing and a passing GCP fixture.

Fixtures are REST-shaped resources (what the Compute Engine API returns) mapped by the collector's own record
builders, so a check is tested against exactly the rows the GCP collector writes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbench.cache.store import Cache
from workbench.model import ScopeRef, Snapshot, TaskOutput, Volume
from workbench.providers.gcp.collect_compute import encryption, grants, instance_record
from workbench.providers.gcp.collect_network import project_settings, rule_records
from workbench.scan.engine import evaluate
from workbench.scan.loader import get_check, load_catalogue

NOW = "2026-11-26T12:00:00Z"
PROJECT = "proj-a"
SCOPE = ScopeRef("gcp", PROJECT, "global")
API = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}"
VM_ID = "us-central1-a/vm-1"

Json = dict[str, Any]
Mutation = Callable[[Json], None]


def good_vm() -> Json:
    """A VM that passes every instance check."""
    return {
        "name": "vm-1",
        "selfLink": f"{API}/zones/us-central1-a/instances/vm-1",
        "zone": f"{API}/zones/us-central1-a",
        "status": "RUNNING",
        "creationTimestamp": "2026-11-01T00:00:00.000-07:00",
        "machineType": f"{API}/zones/us-central1-a/machineTypes/e2-small",
        "labels": {"owner": "alice", "env": "prod", "data_class": "public"},
        "deletionProtection": True,
        "canIpForward": False,
        "networkInterfaces": [
            {"network": f"{API}/global/networks/prod-vpc", "networkIP": "10.0.0.2"}
        ],
        "disks": [{"boot": True, "source": f"{API}/zones/us-central1-a/disks/vm-1"}],
        "metadata": {"items": [{"key": "block-project-ssh-keys", "value": "true"}]},
        "serviceAccounts": [
            {
                "email": f"app@{PROJECT}.iam.gserviceaccount.com",
                "scopes": ["https://www.googleapis.com/auth/logging.write"],
            }
        ],
        "shieldedInstanceConfig": {
            "enableSecureBoot": True,
            "enableVtpm": True,
            "enableIntegrityMonitoring": True,
        },
    }


def good_project() -> Json:
    return {
        "name": PROJECT,
        "id": "123",
        "commonInstanceMetadata": {
            "items": [
                {"key": "enable-oslogin", "value": "TRUE"},
                {"key": "enable-oslogin-2fa", "value": "TRUE"},
            ]
        },
    }


def meta(target: Json, key: str, value: str | None) -> None:
    items = [i for i in target.setdefault("items", []) if i["key"] != key]
    if value is not None:
        items.append({"key": key, "value": value})
    target["items"] = items


class Estate:
    def __init__(self, cache: Cache) -> None:
        self.cache, self.run = cache, cache.start_run({"fixture": True})

    def put(self, task: str, *records: Any) -> None:
        self.cache.replace_task(self.run, SCOPE, task, TaskOutput(records=list(records)), now=NOW)

    def vm_and_project(self, vm: Json, project: Json) -> None:
        self.put("instances", instance_record(vm, {}))
        self.put("project", *project_settings(project))


def vm_case(mutate_vm: Mutation | None = None, mutate_project: Mutation | None = None) -> Any:
    def build(e: Estate, bad: bool) -> str:
        vm, project = good_vm(), good_project()
        if bad and mutate_vm:
            mutate_vm(vm)
        if bad and mutate_project:
            mutate_project(project)
        e.vm_and_project(vm, project)
        return VM_ID

    return build


def set_(path: str, value: Any) -> Mutation:
    def mutate(doc: Json) -> None:
        *parents, leaf = path.split(".")
        for p in parents:
            doc = doc.setdefault(p, {})
        doc[leaf] = value

    return mutate


def project_case(key: str) -> Any:
    def build(e: Estate, bad: bool) -> str:
        project = good_project()
        if bad:
            meta(project["commonInstanceMetadata"], key, "FALSE")
        e.put("project", *project_settings(project))
        return {"enable-oslogin": "os_login", "enable-oslogin-2fa": "os_login_2fa"}[key]

    return build


def snapshot(name: str, created: str, members: list[str]) -> list[Any]:
    policy = {"bindings": [{"role": "roles/compute.storageAdmin", "members": members}]}
    rows = grants("snapshot", name, policy)
    public = any(g.grantee_kind != "principal" for g in rows)
    return [Snapshot(id=name, name=name, created_at=created, public=public), *rows]


def build_snp07(e: Estate, bad: bool) -> str:
    member = "allUsers" if bad else "user:bob@example.com"
    e.put("snapshots", *snapshot("snap-1", "2026-11-01T00:00:00Z", [member]))
    return "snap-1"


def build_snp08(e: Estate, bad: bool) -> str:
    created = "2024-01-01T00:00:00Z" if bad else "2026-11-01T00:00:00Z"
    e.put("snapshots", *snapshot("snap-1", created, ["user:bob@example.com"]))
    return "snap-1"


def build_spr03(e: Estate, bad: bool) -> str:
    enc_type, _, _ = encryption(None)
    users = [] if bad else [VM_ID]
    e.put(
        "disks",
        Volume(
            id="us-central1-a/d-1",
            state="in-use" if users else "available",
            size_gb=10.0,
            encrypted=True,
            encryption_type=enc_type,
            attached_to=users,
        ),
    )
    return "us-central1-a/d-1"


def firewall_case(network: str, bad_source: str, good_source: str, port: str) -> Any:
    def build(e: Estate, bad: bool) -> str:
        from workbench.model import FirewallGroup

        rule = {
            "name": "allow-admin",
            "network": f"{API}/global/networks/{network}",
            "direction": "INGRESS",
            "priority": 1000,
            "sourceRanges": [bad_source if bad else good_source],
            "allowed": [{"IPProtocol": "tcp", "ports": [port]}],
        }
        group = FirewallGroup(
            id=network, name=network, network_id=network, is_default=network == "default"
        )
        e.put("network", group, *rule_records(rule))
        return network

    return build


def build_net03(e: Estate, bad: bool) -> str:
    name = "default" if bad else "prod-vpc"
    firewall_case(name, "10.0.0.0/8", "10.0.0.0/8", "443")(e, bad)
    return name


def build_snp14(e: Estate, bad: bool) -> str:
    enc_type, _, kms = encryption(
        None if bad else {"kmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}
    )
    e.put(
        "disks",
        Volume(
            id="us-central1-a/d-1",
            state="in-use",
            encrypted=True,
            encryption_type=enc_type,
            kms_key=kms,
        ),
    )
    return "us-central1-a/d-1"


def build_net07(e: Estate, bad: bool) -> str:
    from workbench.model import Network
    from workbench.providers.gcp.collect_network import _network_mode

    net = (
        {"name": "net-1", "IPv4Range": "10.240.0.0/16"}
        if bad
        else {"name": "net-1", "autoCreateSubnetworks": False}
    )
    e.put(
        "network",
        Network(
            id="net-1", name="net-1", cidr=net.get("IPv4Range"), extra={"mode": _network_mode(net)}
        ),
    )
    return "net-1"


def build_log06(e: Estate, bad: bool) -> str:
    rule = {
        "name": "allow-https",
        "network": f"{API}/global/networks/prod-vpc",
        "direction": "INGRESS",
        "sourceRanges": ["0.0.0.0/0"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["443"]}],
        "logConfig": {"enable": not bad},
    }
    e.put("network", *rule_records(rule))
    return "allow-https"


CASES: dict[str, Any] = {
    "SNP-14": build_snp14,
    "LOG-06": build_log06,
    "IAM-11": vm_case(lambda vm: meta(vm["metadata"], "enable-oslogin", "FALSE")),
    "NET-07": build_net07,
    "BOOT-01": vm_case(set_("shieldedInstanceConfig.enableVtpm", False)),
    "BOOT-05": vm_case(set_("labels.data_class", "confidential")),
    "IAM-01": project_case("enable-oslogin"),
    "IAM-02": project_case("enable-oslogin-2fa"),
    "IAM-03": vm_case(
        lambda vm: meta(vm["metadata"], "block-project-ssh-keys", None),
        lambda p: meta(p["commonInstanceMetadata"], "enable-oslogin", "FALSE"),
    ),
    "IAM-04": vm_case(
        set_(
            "serviceAccounts",
            [
                {
                    "email": "123-compute@developer.gserviceaccount.com",
                    "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                }
            ],
        )
    ),
    "CFG-04": vm_case(
        set_(
            "networkInterfaces",
            [
                {
                    "network": f"{API}/global/networks/prod-vpc",
                    "accessConfigs": [{"natIP": "34.1.2.3"}],
                }
            ],
        )
    ),
    "CFG-06": vm_case(None, lambda p: meta(p["commonInstanceMetadata"], "serial-port-enable", "1")),
    "CFG-07": vm_case(set_("canIpForward", True)),
    "CFG-08": vm_case(set_("deletionProtection", False)),
    "SPR-01": vm_case(set_("creationTimestamp", "2024-01-01T00:00:00Z")),
    "SPR-02": vm_case(
        lambda vm: vm.update(status="TERMINATED", lastStopTimestamp="2026-01-01T00:00:00Z")
    ),
    "SPR-03": build_spr03,
    "SPR-04": vm_case(lambda vm: vm["labels"].pop("owner")),
    "SNP-07": build_snp07,
    "SNP-08": build_snp08,
    "NET-01": firewall_case("prod-vpc", "0.0.0.0/0", "198.51.100.0/24", "22"),
    "NET-03": build_net03,
}


def test_every_gcp_check_has_a_case() -> None:
    # Multi-provider checks owned elsewhere (NET-02, the image-registry IMG-1x) are tested by their owners.
    catalogue = load_catalogue()
    assert set(CASES) <= {c.id for c in catalogue if "gcp" in c.providers}
    assert {c.id for c in catalogue if c.providers == ("gcp",)} <= set(CASES)


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_fails_then_passes(check_id: str, tmp_path: Path) -> None:
    check = get_check(check_id)
    results, failing = {}, {}
    for bad in (True, False):
        with Cache.open(tmp_path / f"{bad}.db") as cache:
            failing[bad] = CASES[check_id](Estate(cache), bad)
            rows = evaluate(cache, check, now=NOW)
            results[bad] = [(r.provider, r.resource_id) for r in rows]
            assert all(r.reason for r in rows)
    assert results[True] == [("gcp", failing[True])], results
    assert results[False] == []


def test_serial_port_override_on_the_vm_wins(tmp_path: Path) -> None:
    """A VM that sets serial-port-enable=false passes even when the project enables it."""
    with Cache.open(tmp_path / "c.db") as cache:
        vm, project = good_vm(), good_project()
        meta(project["commonInstanceMetadata"], "serial-port-enable", "TRUE")
        meta(vm["metadata"], "serial-port-enable", "false")
        Estate(cache).vm_and_project(vm, project)
        assert evaluate(cache, get_check("CFG-06"), now=NOW) == []
        vm2 = copy.deepcopy(vm)
        meta(vm2["metadata"], "serial-port-enable", None)
        Estate(cache).vm_and_project(vm2, project)
        rows = evaluate(cache, get_check("CFG-06"), now=NOW)
        assert [r.resource_id for r in rows] == [VM_ID]
        assert "inherited" in rows[0].reason

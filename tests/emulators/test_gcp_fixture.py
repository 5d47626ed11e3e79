"""The GCP fixture server, driven by the real google-cloud-compute / os-config REST clients."""

from __future__ import annotations

from typing import Any

import pytest
from fixture_servers import gcp_client_kwargs as kw
from fixture_servers import gcp_server_fixtures

from workbench.emulators.gcp import GcpFixtureServer

PROJECT = "demo-prod"


# One server for the module (the SDK import is slow); each test gets the pristine estate.
estate, server, _fresh = gcp_server_fixtures()


@pytest.fixture(scope="module")
def compute(server: GcpFixtureServer) -> Any:
    from google.cloud import compute_v1

    return compute_v1


def names(items: Any) -> list[str]:
    return [i.name for i in items]


def test_aggregated_instances_page_through_whole_estate(server, compute, estate) -> None:
    client = compute.InstancesClient(**kw(server))
    request = compute.AggregatedListInstancesRequest(project=PROJECT, max_results=3)
    seen: dict[str, str] = {}
    for scope, scoped in client.aggregated_list(request=request):
        assert scope.startswith("zones/")
        for vm in scoped.instances:
            seen[vm.name] = scope
    expected = estate["projects"][PROJECT]["instances"]
    assert set(seen) == {vm["name"] for vm in expected}
    assert seen["win-jumpbox"] == "zones/europe-west1-b"
    pages = [p for m, p in server.requests if "aggregated/instances" in p]
    assert len(pages) == 3  # 8 instances, 3 per page
    assert any("pageToken=" in p for p in pages)


def test_instance_fields_come_through_typed(server, compute) -> None:
    vm = compute.InstancesClient(**kw(server)).get(
        project=PROJECT, zone="us-central1-a", instance="legacy-billing"
    )
    assert vm.status == "RUNNING"
    assert vm.id > 10**18  # int64 served as a string, parsed to int
    assert not vm.shielded_instance_config.enable_secure_boot
    assert vm.service_accounts[0].scopes == ["https://www.googleapis.com/auth/cloud-platform"]
    assert vm.network_interfaces[0].access_configs[0].nat_i_p
    assert "\x1b]0;pwned\x07" in vm.description  # the hostile string survives verbatim


def test_other_lists_match_estate(server, compute, estate) -> None:
    data = estate["projects"][PROJECT]
    k = kw(server)
    disks = [
        d for _, s in compute.DisksClient(**k).aggregated_list(project=PROJECT) for d in s.disks
    ]
    assert sorted(names(disks)) == sorted(d["name"] for d in data["disks"])
    assert [d for d in disks if not d.users] and [
        d for d in disks if d.disk_encryption_key.kms_key_name
    ]
    snaps = compute.SnapshotsClient(**k).list(
        request=compute.ListSnapshotsRequest(project=PROJECT, max_results=2)
    )
    assert names(snaps) == [s["name"] for s in data["snapshots"]]
    images = list(compute.ImagesClient(**k).list(project=PROJECT))
    assert [i.deprecated.state for i in images if i.deprecated.state] == ["DEPRECATED"]
    firewalls = compute.FirewallsClient(**k).list(
        request=compute.ListFirewallsRequest(project=PROJECT, max_results=3)
    )
    assert names(firewalls) == [f["name"] for f in data["firewalls"]]
    assert names(compute.NetworksClient(**k).list(project=PROJECT)) == ["default"]
    subnets = [
        s
        for _, sc in compute.SubnetworksClient(**k).aggregated_list(project=PROJECT)
        for s in sc.subnetworks
    ]
    assert {s.region.rsplit("/", 1)[1]: s.log_config.enable for s in subnets} == {
        "us-central1": True,
        "europe-west1": False,
    }
    regional = compute.SubnetworksClient(**k).list(project=PROJECT, region="europe-west1")
    assert names(regional) == ["default"]
    project = compute.ProjectsClient(**k).get(project=PROJECT)
    meta = {i.key: i.value for i in project.common_instance_metadata.items}
    assert meta["enable-oslogin"] == "FALSE" and "ssh-keys" in meta
    dev = compute.InstancesClient(**k).aggregated_list(project="demo-dev")
    assert sum(len(s.instances) for _, s in dev) == len(estate["projects"]["demo-dev"]["instances"])


def test_unknown_resource_is_not_found(server, compute) -> None:
    from google.api_core import exceptions

    with pytest.raises(exceptions.NotFound):
        compute.SnapshotsClient(**kw(server)).get(project=PROJECT, snapshot="nope")


@pytest.mark.parametrize("kind", ["snapshots", "images"])
def test_iam_policy_round_trip(server, compute, kind) -> None:
    client = (compute.SnapshotsClient if kind == "snapshots" else compute.ImagesClient)(
        **kw(server)
    )
    resource = "billing-db-backup-2019" if kind == "snapshots" else "golden-web-2024"
    policy = client.get_iam_policy(project=PROJECT, resource=resource)
    public = {"allUsers", "allAuthenticatedUsers"}
    assert any(public & set(b.members) for b in policy.bindings)
    # Remove public members (the fix), then put the original back (the undo).
    fixed = compute.Policy(policy)
    kept = [b for b in fixed.bindings if not public & set(b.members)]
    del fixed.bindings[:]
    fixed.bindings.extend(kept)
    set_req = compute.GlobalSetPolicyRequest(policy=fixed)
    after = client.set_iam_policy(
        project=PROJECT, resource=resource, global_set_policy_request_resource=set_req
    )
    assert not after.bindings and after.etag != policy.etag
    assert not client.get_iam_policy(project=PROJECT, resource=resource).bindings
    undo = compute.Policy(policy)
    undo.etag = after.etag
    client.set_iam_policy(
        project=PROJECT,
        resource=resource,
        global_set_policy_request_resource=compute.GlobalSetPolicyRequest(policy=undo),
    )
    assert client.get_iam_policy(project=PROJECT, resource=resource).bindings == policy.bindings


def test_stale_iam_etag_is_rejected(server, compute) -> None:
    from google.api_core import exceptions

    client = compute.SnapshotsClient(**kw(server))
    stale = compute.Policy(etag="stale", bindings=[])
    with pytest.raises(exceptions.PreconditionFailed):
        client.set_iam_policy(
            project=PROJECT,
            resource="web-golden-snap",
            global_set_policy_request_resource=compute.GlobalSetPolicyRequest(policy=stale),
        )


def test_firewall_patch_waits_and_changes_state(server, compute) -> None:
    client = compute.FirewallsClient(**kw(server))
    op = client.patch(
        project=PROJECT,
        firewall="default-allow-ssh",
        firewall_resource=compute.Firewall(source_ranges=["198.51.100.0/24"]),
    )
    op.result(timeout=10)
    assert op.done() and not op.error_code
    rule = client.get(project=PROJECT, firewall="default-allow-ssh")
    assert rule.source_ranges == ["198.51.100.0/24"]
    assert rule.allowed[0].I_p_protocol == "tcp"  # untouched fields stay
    wait = compute.GlobalOperationsClient(**kw(server)).wait(project=PROJECT, operation=op.name)
    assert wait.status == compute.Operation.Status.DONE


def test_instance_mutations_apply_and_undo(server, compute) -> None:
    client = compute.InstancesClient(**kw(server))
    where = {"project": PROJECT, "zone": "us-central1-a", "instance": "legacy-billing"}
    vm = client.get(**where)
    old_items = list(vm.metadata.items)
    items = [i for i in old_items if i.key != "serial-port-enable"]
    items.append(compute.Items(key="block-project-ssh-keys", value="true"))
    meta = compute.Metadata(fingerprint=vm.metadata.fingerprint, items=items)
    client.set_metadata(**where, metadata_resource=meta).result(timeout=10)
    keys = {i.key for i in client.get(**where).metadata.items}
    assert "serial-port-enable" not in keys and "block-project-ssh-keys" in keys
    from google.api_core import exceptions

    with pytest.raises(exceptions.PreconditionFailed):  # stale fingerprint
        client.set_metadata(**where, metadata_resource=meta).result(timeout=10)

    shield = compute.ShieldedInstanceConfig(enable_secure_boot=True, enable_vtpm=True)
    with pytest.raises(exceptions.BadRequest):  # must be stopped first, like the real API
        client.update_shielded_instance_config(**where, shielded_instance_config_resource=shield)
    client.stop(**where).result(timeout=10)
    assert client.get(**where).status == "TERMINATED"
    client.update_shielded_instance_config(
        **where, shielded_instance_config_resource=shield
    ).result(timeout=10)
    client.start(**where).result(timeout=10)
    vm = client.get(**where)
    assert vm.status == "RUNNING" and vm.shielded_instance_config.enable_secure_boot

    policy = compute.ShieldedInstanceIntegrityPolicy(update_auto_learn_policy=True)
    op = client.set_shielded_instance_integrity_policy(
        **where, shielded_instance_integrity_policy_resource=policy
    )
    assert op.result(timeout=10) is None or op.done()

    client.delete_access_config(
        **where, access_config="External NAT", network_interface="nic0"
    ).result(timeout=10)
    assert not client.get(**where).network_interfaces[0].access_configs
    client.add_access_config(
        **where,
        network_interface="nic0",
        access_config_resource=compute.AccessConfig(name="External NAT"),
    ).result(timeout=10)
    assert client.get(**where).network_interfaces[0].access_configs[0].nat_i_p

    restore = compute.Metadata(
        fingerprint=client.get(**where).metadata.fingerprint, items=old_items
    )
    client.set_metadata(**where, metadata_resource=restore).result(timeout=10)
    assert {i.key for i in client.get(**where).metadata.items} == {i.key for i in old_items}


def test_project_metadata_and_subnet_flow_logs(server, compute) -> None:
    k = kw(server)
    projects = compute.ProjectsClient(**k)
    project = projects.get(project=PROJECT)
    items = [compute.Items(key="enable-oslogin", value="TRUE")]
    meta = compute.Metadata(fingerprint=project.common_instance_metadata.fingerprint, items=items)
    projects.set_common_instance_metadata(project=PROJECT, metadata_resource=meta).result(
        timeout=10
    )
    got = projects.get(project=PROJECT).common_instance_metadata.items
    assert [(i.key, i.value) for i in got] == [("enable-oslogin", "TRUE")]
    subnets = compute.SubnetworksClient(**k)
    sub = subnets.get(project=PROJECT, region="europe-west1", subnetwork="default")
    patch = compute.Subnetwork(
        fingerprint=sub.fingerprint, log_config=compute.SubnetworkLogConfig(enable=True)
    )
    subnets.patch(
        project=PROJECT, region="europe-west1", subnetwork="default", subnetwork_resource=patch
    ).result(timeout=10)
    assert subnets.get(
        project=PROJECT, region="europe-west1", subnetwork="default"
    ).log_config.enable


def test_osconfig_vulnerability_reports_and_inventory(server, estate) -> None:
    from google.cloud import osconfig_v1

    client = osconfig_v1.OsConfigZonalServiceClient(**kw(server))
    parent = f"projects/{PROJECT}/locations/us-central1-a/instances/-"
    reports = list(
        client.list_vulnerability_reports(
            request=osconfig_v1.ListVulnerabilityReportsRequest(parent=parent, page_size=1)
        )
    )
    assert len(reports) >= 2  # followed nextPageToken
    vuln = reports[0].vulnerabilities[0]
    assert vuln.details.cve == "CVE-2024-6387" and vuln.details.cvss_v3.base_score == pytest.approx(
        8.1
    )
    inventories = list(
        client.list_inventories(
            request=osconfig_v1.ListInventoriesRequest(
                parent=parent, view=osconfig_v1.InventoryView.FULL
            )
        )
    )
    assert inventories[0].os_info.short_name in ("debian", "ubuntu")
    one = client.get_vulnerability_report(name=reports[0].name)
    assert one.name == reports[0].name


# --- faults -----------------------------------------------------------------------------------
def test_429_with_retry_after_is_retried_then_succeeds(server, compute) -> None:
    from google.api_core import exceptions
    from google.api_core.retry import Retry, if_exception_type

    server.add_fault("throttle", r"/global/snapshots$", "GET", times=1, retry_after=0)
    client = compute.SnapshotsClient(**kw(server))
    retry = Retry(predicate=if_exception_type(exceptions.TooManyRequests), initial=0.01, timeout=5)
    got = list(client.list(project=PROJECT, retry=retry))
    assert len(got) == 5
    assert [p for m, p in server.requests].count(
        f"/compute/v1/projects/{PROJECT}/global/snapshots"
    ) == 2
    server.add_fault("throttle", r"/global/snapshots$", times=1)
    with pytest.raises(exceptions.TooManyRequests):  # without a retry policy it surfaces
        list(client.list(project=PROJECT))


@pytest.mark.parametrize(
    ("kind", "error"),
    [("forbidden", "Forbidden"), ("server_error", "InternalServerError")],
)
def test_error_faults_surface_as_api_core_exceptions(server, compute, kind, error) -> None:
    from google.api_core import exceptions

    server.add_fault(kind, r"/global/firewalls$")
    with pytest.raises(getattr(exceptions, error)) as info:
        list(compute.FirewallsClient(**kw(server)).list(project=PROJECT))
    assert "injected fault" in str(info.value)


def test_timeout_fault_raises_client_timeout(server, compute) -> None:
    import requests

    server.add_fault("timeout", r"/global/images$", delay=2.0)
    client = compute.ImagesClient(**kw(server))
    with pytest.raises(requests.exceptions.ReadTimeout):
        list(client.list(project=PROJECT, timeout=0.3))
    assert len(list(client.list(project=PROJECT, timeout=5))) == 3  # fault consumed


def test_malformed_json_raises(server, compute) -> None:
    server.add_fault("malformed", r"/aggregated/disks$")
    with pytest.raises(Exception) as info:
        list(compute.DisksClient(**kw(server)).aggregated_list(project=PROJECT))
    assert "parse" in type(info.value).__name__.lower() or "json" in str(info.value).lower()

"""The Azure fixture server, driven by the real azure-mgmt-compute / azure-mgmt-network clients."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fixture_servers import azure_clients as clients
from fixture_servers import azure_server_fixtures

SUB = "00000000-0000-0000-0000-00000000d3m0"
SUB2 = "11111111-2222-3333-4444-555555555555"

estate, server, _fresh = azure_server_fixtures(page_size=2)


def ids(items: Any) -> list[str]:
    return [i.id for i in items]


def test_tls_and_lists_page_through_the_estate(server, estate) -> None:
    assert server.endpoint.startswith("https://") and server.ca_path
    compute, network = clients(server)
    data = estate["subscriptions"][SUB]
    vms = list(compute.virtual_machines.list_all())
    assert ids(vms) == [v["id"] for v in data["virtualMachines"]]
    pages = [p for m, p in server.requests if "virtualmachines" in p.lower()]
    assert len(pages) == 4 and "$skiptoken=" in pages[-1]  # 7 VMs, 2 per page
    assert ids(compute.disks.list()) == [d["id"] for d in data["disks"]]
    assert ids(compute.snapshots.list()) == [s["id"] for s in data["snapshots"]]
    assert ids(compute.images.list()) == [i["id"] for i in data["images"]]
    assert ids(compute.galleries.list()) == [g["id"] for g in data["galleries"]]
    assert ids(network.network_security_groups.list_all()) == [
        n["id"] for n in data["networkSecurityGroups"]
    ]
    assert ids(network.network_interfaces.list_all()) == [
        n["id"] for n in data["networkInterfaces"]
    ]
    assert ids(network.public_ip_addresses.list_all()) == [
        p["id"] for p in data["publicIPAddresses"]
    ]
    in_rg = list(compute.virtual_machines.list("rg-web-prod"))
    assert {v.name for v in in_rg} == {"web-01", "web-02", "k8s-node-1"}
    other, _ = clients(server, SUB2)
    assert [v.name for v in other.virtual_machines.list_all()] == [
        v["name"] for v in estate["subscriptions"][SUB2]["virtualMachines"]
    ]


def test_vm_fields_instance_view_and_hostile_tags(server) -> None:
    compute, _ = clients(server)
    vm = compute.virtual_machines.get("rg-web-prod", "web-02")
    assert vm.hardware_profile.vm_size == "Standard_B2s"
    assert vm.os_profile.linux_configuration.disable_password_authentication is False
    assert vm.security_profile.uefi_settings.secure_boot_enabled is False
    assert vm.instance_view is None  # only with $expand
    assert any("\x1b]0;pwned\x07" in value for value in vm.tags.values())
    expanded = compute.virtual_machines.get("RG-WEB-PROD", "WEB-02", expand="instanceView")
    summary = expanded.instance_view.patch_status.available_patch_summary
    assert summary.critical_and_security_patch_count == 2
    view = compute.virtual_machines.instance_view("rg-web-prod", "web-02")
    assert [s.code for s in view.statuses][-1] == "PowerState/running"


def test_not_found_maps_to_resource_not_found(server) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    compute, _ = clients(server)
    with pytest.raises(ResourceNotFoundError):
        compute.disks.get("rg-web-prod", "no-such-disk")


def test_disk_update_network_access_policy_apply_and_undo(server) -> None:
    from azure.mgmt.compute.models import DiskUpdate, DiskUpdateProperties

    compute, _ = clients(server)
    disk = compute.disks.get("rg-web-prod", "restore-tmp-disk")
    assert disk.properties.network_access_policy == "AllowAll"
    update = DiskUpdate(
        properties=DiskUpdateProperties(
            network_access_policy="DenyAll", public_network_access="Disabled"
        )
    )
    result = compute.disks.begin_update("rg-web-prod", "restore-tmp-disk", update).result()
    assert result.properties.network_access_policy == "DenyAll"
    again = compute.disks.get("rg-web-prod", "restore-tmp-disk")
    assert (again.properties.network_access_policy, again.properties.public_network_access) == (
        "DenyAll",
        "Disabled",
    )
    assert again.properties.disk_size_gb == 64  # PATCH merges, it does not replace
    undo = DiskUpdate(properties=DiskUpdateProperties(network_access_policy="AllowAll"))
    compute.disks.begin_update("rg-web-prod", "restore-tmp-disk", undo).result()
    assert (
        compute.disks.get("rg-web-prod", "restore-tmp-disk").properties.network_access_policy
        == "AllowAll"
    )


def test_sas_grant_and_revoke_run_real_pollers(server) -> None:
    from azure.mgmt.compute.models import GrantAccessData

    compute, _ = clients(server)
    grant = GrantAccessData(access="Read", duration_in_seconds=3600)
    started = time.monotonic()
    access = compute.disks.begin_grant_access("rg-web-prod", "restore-tmp-disk", grant).result()
    assert access.access_sas.startswith("https://") and "sig=" in access.access_sas
    assert compute.disks.get("rg-web-prod", "restore-tmp-disk").properties.disk_state == "ActiveSAS"
    poller = compute.disks.begin_revoke_access("rg-web-prod", "export-in-progress")
    assert poller.result() is None and poller.done() and poller.status() == "Succeeded"
    assert (
        compute.disks.get("rg-web-prod", "export-in-progress").properties.disk_state == "Unattached"
    )
    snap = compute.snapshots.begin_revoke_access("rg-web-prod", "web-01-snap-2020")
    snap.result()
    assert time.monotonic() - started < 5  # no 30 s default polling interval kicked in
    methods = [m for m, p in server.requests if "/operations/" in p or "/operationresults/" in p]
    assert methods and set(methods) == {"GET"}


def test_snapshot_update_and_vm_actions(server) -> None:
    from azure.mgmt.compute.models import SnapshotUpdate, SnapshotUpdateProperties

    compute, _ = clients(server)
    update = SnapshotUpdate(properties=SnapshotUpdateProperties(network_access_policy="DenyAll"))
    snap = compute.snapshots.begin_update("rg-web-prod", "web-01-snap-2020", update).result()
    assert snap.properties.network_access_policy == "DenyAll"
    result = compute.virtual_machines.begin_assess_patches("rg-ops", "legacy-app").result()
    assert result.status == "Succeeded" and result.critical_and_security_patch_count == 7
    compute.virtual_machines.begin_power_off("rg-ops", "legacy-app").result()
    view = compute.virtual_machines.instance_view("rg-ops", "legacy-app")
    assert view.statuses[-1].code == "PowerState/stopped"
    compute.virtual_machines.begin_start("rg-ops", "legacy-app").result()
    assert compute.virtual_machines.instance_view("rg-ops", "legacy-app").statuses[-1].code == (
        "PowerState/running"
    )


def test_nsg_rule_update_and_delete(server) -> None:
    from azure.mgmt.network.models import SecurityRule

    _, network = clients(server)
    rule = network.security_rules.get("rg-ops", "nsg-mgmt-open", "SSH")
    assert (rule.source_address_prefix, rule.destination_port_range) == ("0.0.0.0/0", "22")
    rule.source_address_prefix = "198.51.100.0/24"
    updated = network.security_rules.begin_create_or_update(
        "rg-ops", "nsg-mgmt-open", "SSH", rule
    ).result()
    assert updated.source_address_prefix == "198.51.100.0/24"
    nsg = network.network_security_groups.get("rg-ops", "nsg-mgmt-open")
    ssh = next(r for r in nsg.security_rules if r.name == "SSH")
    assert ssh.source_address_prefix == "198.51.100.0/24" and ssh.priority == 1010

    network.security_rules.begin_delete("rg-ops", "nsg-mgmt-open", "RDP").result()
    names = [r.name for r in network.security_rules.list("rg-ops", "nsg-mgmt-open")]
    assert "RDP" not in names and "SSH" in names
    # Undo: put the rule back.
    new = SecurityRule(
        protocol="Tcp",
        source_port_range="*",
        destination_port_range="3389",
        source_address_prefix="Internet",
        destination_address_prefix="*",
        access="Allow",
        priority=1000,
        direction="Inbound",
    )
    created = network.security_rules.begin_create_or_update(
        "rg-ops", "nsg-mgmt-open", "RDP", new
    ).result()
    assert created.id.endswith("/securityRules/RDP") and created.provisioning_state == "Succeeded"


def test_put_creates_and_delete_removes_a_resource(server) -> None:
    from azure.core.exceptions import ResourceNotFoundError
    from azure.mgmt.compute.models import CreationData, Disk

    compute, _ = clients(server)
    disk = Disk(
        location="westeurope", creation_data=CreationData(create_option="Empty"), disk_size_gb=8
    )
    made = compute.disks.begin_create_or_update("rg-web-prod", "scratch", disk).result()
    assert made.provisioning_state == "Succeeded" and made.disk_size_gb == 8
    compute.disks.begin_delete("rg-web-prod", "scratch").result()
    with pytest.raises(ResourceNotFoundError):
        compute.disks.get("rg-web-prod", "scratch")


# --- faults -----------------------------------------------------------------------------------
def test_429_honours_retry_after_then_succeeds(server) -> None:
    compute, _ = clients(server)
    server.add_fault("throttle", r"/providers/microsoft\.compute/disks$", "GET", retry_after=1)
    started = time.monotonic()
    assert len(list(compute.disks.list())) == 10
    assert time.monotonic() - started >= 1.0
    first_pages = [
        p for m, p in server.requests if "compute/disks?" in p.lower() and "skip" not in p
    ]
    assert len(first_pages) == 2  # the throttled first page, then its retry


def test_500_is_retried_and_persistent_500_surfaces(server) -> None:
    from azure.core.exceptions import HttpResponseError

    compute, _ = clients(server)
    server.add_fault("server_error", r"/snapshots$")
    assert len(list(compute.snapshots.list())) == 3  # retried once
    compute_no_retry, _ = clients(server, retry_total=0)
    server.add_fault("server_error", r"/snapshots$")
    with pytest.raises(HttpResponseError) as info:
        list(compute_no_retry.snapshots.list())
    assert info.value.status_code == 500 and "injected fault" in str(info.value)


def test_403_surfaces_as_http_response_error(server) -> None:
    from azure.core.exceptions import HttpResponseError

    _, network = clients(server)
    server.add_fault("forbidden", r"networksecuritygroups$")
    with pytest.raises(HttpResponseError) as info:
        list(network.network_security_groups.list_all())
    assert info.value.status_code == 403
    assert info.value.error.code == "AuthorizationFailed"


def test_timeout_is_retried_or_surfaces(server) -> None:
    from azure.core.exceptions import ServiceResponseError

    compute, _ = clients(server)
    server.add_fault("timeout", r"/images$", delay=1.5)
    assert len(list(compute.images.list(read_timeout=0.3))) == 2  # retried after the timeout
    compute_no_retry, _ = clients(server, retry_total=0)
    server.add_fault("timeout", r"/images$", delay=1.5)
    with pytest.raises(ServiceResponseError):
        list(compute_no_retry.images.list(read_timeout=0.3))


def test_malformed_json_raises_decode_error(server) -> None:
    from azure.core.exceptions import DecodeError

    compute, _ = clients(server)
    server.add_fault("malformed", r"/virtualmachines$")
    with pytest.raises(DecodeError):
        list(compute.virtual_machines.list_all())

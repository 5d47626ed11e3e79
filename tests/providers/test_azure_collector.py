"""The Azure collector, driven through the sync engine against the ARM fixture server with the real SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_servers import azure_server_fixtures

from workbench.cache.store import Cache
from workbench.emulators.azure import AzureFixtureServer
from workbench.errors import ProviderError
from workbench.providers.azure.provider import AzureProvider
from workbench.providers.azure.settings import AzureSettings, build_credential, secret_name
from workbench.sync import SyncEngine, SyncResult

SUB = "00000000-0000-0000-0000-00000000d3m0"
SUB2 = "11111111-2222-3333-4444-555555555555"


# Small pages: every list is paged, and the instance-view listing's later pages lose statusOnly
# (the fixture drops it from nextLink), which exercises the per-VM instanceView fallback too.
estate, server, _fresh = azure_server_fixtures(page_size=3)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache.db") as c:
        yield c


def provider(server: AzureFixtureServer, **extra: Any) -> AzureProvider:
    section = {
        "subscriptions": [SUB, SUB2],
        "endpoint": server.endpoint,
        "ca_bundle": server.ca_path,
        "fake_credential": True,
        "retry_total": 2,
        **extra,
    }
    return AzureProvider.from_config(section)


def sync(cache: Cache, prov: AzureProvider) -> SyncResult:
    return SyncEngine(cache, [prov], max_workers=4, task_timeout=30).run()


def column(cache: Cache, sql: str, *args: Any) -> list[Any]:
    return [row[0] for row in cache.db.execute(sql, args).fetchall()]


def lower_ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"].lower() for i in items}


def expected_rule_rows(nsgs: list[dict[str, Any]]) -> int:
    count = 0
    for nsg in nsgs:
        p = nsg["properties"]
        for rule in p["securityRules"] + p["defaultSecurityRules"]:
            rp = rule["properties"]
            remotes = rp.get("sourceAddressPrefixes") or [rp.get("sourceAddressPrefix")]
            if rp["direction"] == "Outbound":
                remotes = rp.get("destinationAddressPrefixes") or [rp["destinationAddressPrefix"]]
            count += len(remotes) * len(rp.get("destinationPortRanges") or [1])
    return count


def test_cache_holds_exactly_the_served_estate(server, estate, cache) -> None:
    result = sync(cache, provider(server))
    assert result.status == "ok", result.failed
    assert {(o.scope_id, o.task) for o in result.outcomes} == {
        (f"azure:{s}:global", t)
        for s in (SUB, SUB2)
        for t in ("vms", "disks", "snapshots", "images", "network")
    }
    for sub in (SUB, SUB2):
        data = estate["subscriptions"][sub]
        where = "WHERE account = ?"
        assert set(column(cache, f"SELECT id FROM instances {where}", sub)) == lower_ids(
            data["virtualMachines"]
        )
        assert set(column(cache, f"SELECT id FROM volumes {where}", sub)) == lower_ids(
            data["disks"]
        )
        assert set(column(cache, f"SELECT id FROM snapshots {where}", sub)) == lower_ids(
            data["snapshots"]
        )
        assert set(column(cache, f"SELECT id FROM images {where}", sub)) == lower_ids(
            data["images"] + data["galleries"]
        )
        assert set(column(cache, f"SELECT id FROM firewall_groups {where}", sub)) == lower_ids(
            data["networkSecurityGroups"]
        )
        rules = column(cache, f"SELECT COUNT(*) FROM firewall_rules {where}", sub)[0]
        assert rules == expected_rule_rows(data["networkSecurityGroups"])
        assert set(column(cache, f"SELECT id FROM patch_states {where}", sub)) == lower_ids(
            data["virtualMachines"]
        )
    assert all(row["status"] == "ok" for row in cache.scope_status())


def test_normalized_fields(server, cache) -> None:
    sync(cache, provider(server))
    vm = cache.db.execute("SELECT * FROM instances WHERE name = 'web-02'").fetchone()
    assert (vm["state"], vm["platform"], vm["secure_boot"], vm["vtpm"]) == (
        "running",
        "linux",
        0,
        1,
    )
    assert vm["encryption_at_host"] == 0 and vm["public_ip"] == "20.51.23.6"
    assert vm["image_id"] == "canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202405140"
    extra = json.loads(vm["extra"])
    assert extra["password_auth"] is True and extra["patch_mode"] == "ImageDefault"
    nsg_web = f"/subscriptions/{SUB}/resourcegroups/rg-web-prod/providers/microsoft.network/"
    assert json.loads(vm["firewall_groups"]) == [nsg_web + "networksecuritygroups/nsg-web"]
    batch = cache.db.execute("SELECT * FROM instances WHERE name = 'batch-01'").fetchone()
    assert (
        batch["state"] == "stopped" and json.loads(batch["extra"])["power_state"] == "deallocated"
    )
    jump = cache.db.execute("SELECT * FROM instances WHERE name = 'jump-rdp'").fetchone()
    assert (jump["secure_boot"], jump["vtpm"], jump["profile"]) == (0, 0, "SystemAssigned")

    disks = {
        r["name"]: r for r in cache.db.execute("SELECT * FROM volumes WHERE account = ?", (SUB,))
    }
    assert disks["export-in-progress"]["state"] == "active-sas"
    assert disks["restore-tmp-disk"]["state"] == "available"
    assert disks["restore-tmp-disk"]["public_access"] == 1
    sql = disks["sql-01_OsDisk_1_52531675"]
    assert (sql["encryption_type"], sql["public_access"]) == ("cmk", 0)
    assert sql["kms_key"].endswith("/diskencryptionsets/des-prod-cmk")
    assert json.loads(sql["attached_to"])[0].endswith("/virtualmachines/sql-01")

    rules = cache.db.execute(
        "SELECT source, world_open, port_from FROM firewall_rules WHERE name = 'Mgmt-From-Partners'"
    ).fetchall()
    assert sorted(tuple(r) for r in rules) == [("0.0.0.0/0", 1, 22), ("203.0.113.0/24", 0, 22)]
    winrm = column(cache, "SELECT port_from FROM firewall_rules WHERE name = 'WinRM'")
    assert sorted(winrm) == [5985, 5986]
    deny = cache.db.execute("SELECT * FROM firewall_rules WHERE name = 'Deny-Telnet'").fetchone()
    assert (deny["action"], deny["priority"]) == ("deny", 900)

    gallery = cache.db.execute("SELECT * FROM images WHERE name = 'galCommunityShared'").fetchone()
    assert gallery["public"] == 1
    assert column(cache, "SELECT grantee_kind FROM grants") == ["public"]

    patch = cache.db.execute(
        "SELECT p.* FROM patch_states p JOIN instances i ON i.uid = p.instance_uid "
        "WHERE i.name = 'web-02'"
    ).fetchone()
    assert (patch["critical_missing"], patch["missing_count"], patch["auto_patch"]) == (2, 7, 0)
    assert patch["last_scan_at"] == "2025-06-01T04:14:31Z"
    flow = cache.db.execute(
        "SELECT value FROM settings WHERE id = 'flow_logs' AND account = ?", (SUB,)
    )
    assert json.loads(flow.fetchone()["value"]) == {"watchers": 2, "flow_logs": 3}
    kinds = dict(cache.db.execute("SELECT kind, COUNT(*) FROM relations GROUP BY kind").fetchall())
    assert kinds["protected_by"] == 10 and kinds["attached"] == 11 and kinds["snapshot_of"] == 4


def test_nsg_flow_logs_from_network_watcher(server, estate, cache) -> None:
    assert sync(cache, provider(server)).status == "ok"
    got = {
        r["name"]: (r["fl"], r["days"], r["fid"] is not None)
        for r in cache.db.execute(
            "SELECT name, json_extract(extra, '$.flow_logs') AS fl, "
            "json_extract(extra, '$.flow_log_retention_days') AS days, "
            "json_extract(extra, '$.flow_log_id') AS fid FROM firewall_groups"
        )
    }
    assert got == {
        "nsg-web": (1, 90, True),
        "nsg-data": (1, 7, True),
        "nsg-mgmt-open": (0, 30, True),  # a flow log that is switched off
        "nsg-dev": (0, None, False),  # SUB2 has a Network Watcher but no flow log
        "nsg-old-migration": (0, None, False),  # attached to nothing (SPR-10)
    }
    # No Network Watcher at all: nothing was looked at, so unknown rather than off.
    del estate["subscriptions"][SUB2]["networkWatchers"]
    server.load_estate(estate)
    assert sync(cache, provider(server)).status == "ok"
    dev = cache.db.execute("SELECT extra FROM firewall_groups WHERE name = 'nsg-dev'").fetchone()
    assert json.loads(dev["extra"])["flow_logs"] is None


def test_subnet_flow_logs_follow_the_vnet_subnet_or_nsg_flow_log(server, estate, cache) -> None:
    rg = f"/subscriptions/{SUB}/resourceGroups/rg-web-prod/providers/Microsoft.Network"
    subnets = [
        {
            "name": name,
            "id": f"{rg}/virtualNetworks/vnet-web/subnets/{name}",
            "properties": {"addressPrefix": cidr, **nsg},
        }
        for name, cidr, nsg in (
            (
                "web",
                "10.1.1.0/24",
                {"networkSecurityGroup": {"id": f"{rg}/networkSecurityGroups/nsg-web"}},
            ),
            ("spare", "10.1.2.0/24", {}),
        )
    ]
    estate["subscriptions"][SUB]["virtualNetworks"] = [
        {
            "name": "vnet-web",
            "id": f"{rg}/virtualNetworks/vnet-web",
            "location": "westeurope",
            "type": "Microsoft.Network/virtualNetworks",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                "subnets": subnets,
            },
        }
    ]
    server.load_estate(estate)
    assert sync(cache, provider(server)).status == "ok"
    flows = dict(cache.db.execute("SELECT name, flow_logs FROM subnets").fetchall())
    assert flows == {"web": 1, "spare": 0}  # the web subnet's NSG is flow-logged
    assert column(cache, "SELECT flow_logs FROM networks WHERE name = 'vnet-web'") == [0]


def test_429_with_retry_after_recovers(server, cache) -> None:
    server.add_fault("throttle", r"/providers/microsoft\.compute/disks$", "GET", retry_after=1)
    started = time.monotonic()
    result = sync(cache, provider(server))
    assert result.status == "ok" and time.monotonic() - started >= 1.0
    throttled = [p for _, p in server.requests if "compute/disks?" in p.lower() and "skip" not in p]
    assert (
        len(throttled) == 3
    )  # SUB2's first page plus SUB's first page twice (429, then its retry)


def test_403_on_one_subscription_keeps_its_rows_and_the_other_lands(server, cache) -> None:
    prov = provider(server)
    assert sync(cache, prov).status == "ok"
    before = column(cache, "SELECT uid FROM instances WHERE account = ? ORDER BY uid", SUB2)
    del server.resources[  # the other subscription changes: its sync must land
        f"/subscriptions/{SUB}/resourcegroups/rg-web-prod/providers/microsoft.compute/"
        "virtualmachines/web-02"
    ]
    server.add_fault("forbidden", f"/subscriptions/{SUB2}/", times=None)
    result = sync(cache, prov)
    assert result.status == "partial"
    failed = {(o.scope_id, o.status) for o in result.failed}
    assert failed == {(f"azure:{SUB2}:global", "failed")}
    assert all("AuthorizationFailed" in (o.error or "") for o in result.failed)
    status = {(r["account"], r["status"]) for r in cache.scope_status()}
    assert status == {(SUB, "ok"), (SUB2, "stale")}
    assert column(cache, "SELECT uid FROM instances WHERE account = ? ORDER BY uid", SUB2) == before
    assert "web-02" not in column(cache, "SELECT name FROM instances WHERE account = ?", SUB)


def test_malformed_json_fails_the_task_not_the_run(server, cache) -> None:
    server.add_fault("malformed", r"/virtualmachines$", times=None)
    result = sync(cache, provider(server))
    assert result.status == "partial"
    assert {o.task for o in result.failed} == {"vms"} and len(result.failed) == 2
    assert all(
        "BadAnswer" in (o.error or "") and "not complete JSON" in (o.error or "")
        for o in result.failed
    )
    assert cache.count("volume") == 14 and cache.count("instance") == 0


def test_timeout_fails_the_task_then_a_retry_recovers(server, cache) -> None:
    server.add_fault("timeout", r"/snapshots$", delay=1.5, times=None)
    result = sync(cache, provider(server, read_timeout=0.3, retry_total=0))
    assert {o.task for o in result.failed} == {"snapshots"}
    assert len(result.failed) == 2 and all("timed out" in (o.error or "") for o in result.failed)
    server.clear_faults()
    server.add_fault("timeout", r"/snapshots$", delay=1.5, times=1)
    assert sync(cache, provider(server, read_timeout=0.3, retry_total=1)).status == "ok"
    assert cache.count("snapshot") == 4


# --- settings ----------------------------------------------------------------------------------
def test_settings_validate_and_derive_the_sovereign_cloud_scope() -> None:
    china = AzureSettings.from_section({"endpoint": "https://management.chinacloudapi.cn/"})
    assert china.credential_scopes == ["https://management.chinacloudapi.cn/.default"]
    assert china.authority_host == "login.chinacloudapi.cn"
    gov = AzureSettings.from_section({"endpoint": "https://management.usgovcloudapi.net"})
    assert gov.authority_host == "login.microsoftonline.us"
    with pytest.raises(ProviderError, match="only for the local"):
        AzureSettings.from_section({"fake_credential": True})
    with pytest.raises(ProviderError, match="https"):
        AzureSettings.from_section({"endpoint": "http://127.0.0.1:1"})
    with pytest.raises(ProviderError, match="unknown key"):
        AzureSettings.from_section({"subscription": "typo"})
    with pytest.raises(ProviderError, match="both tenant_id and client_id"):
        AzureSettings.from_section({"tenant_id": "t"})
    # `vmwb sync --region` is for regional providers: an Azure scope is a whole subscription.
    prov = AzureProvider.from_config({"subscriptions": [SUB]}, regions=["westeurope"])
    assert [s.scope_id for s in prov.discover()] == [f"azure:{SUB}:global"]


def test_service_principal_secret_comes_from_the_keyring() -> None:
    import keyring  # the root conftest's in-memory backend

    settings = AzureSettings.from_section({"tenant_id": "tid", "client_id": "cid"})
    with pytest.raises(ProviderError, match="no client secret"):
        build_credential(settings)
    keyring.set_password("vmwb", secret_name("tid", "cid"), "s3cret")
    credential = build_credential(settings)
    assert type(credential).__name__ == "ClientSecretCredential"


def test_an_nsg_inside_a_flow_logged_vnet_is_logged(server, estate, cache) -> None:
    """A VNet flow log on the VNet of every subnet an NSG is attached to logs that NSG's traffic (LOG-01)."""
    from workbench.emulators.http_fixture import load_demo_estate
    from workbench.scan.engine import evaluate
    from workbench.scan.loader import get_check

    # A fresh copy: the module's estate is shared, and an earlier test deletes SUB2's Network Watcher from it.
    estate = load_demo_estate("azure")
    rg = f"/subscriptions/{SUB2}/resourceGroups/rg-dev/providers/Microsoft.Network"
    sub2 = estate["subscriptions"][SUB2]
    nsg = next(n for n in sub2["networkSecurityGroups"] if n["name"] == "nsg-dev")
    subnet = f"{rg}/virtualNetworks/vnet-rg-dev/subnets/default"  # the NICs' subnet too
    nsg["properties"]["subnets"] = [{"id": subnet}]
    sub2["virtualNetworks"] = [
        {
            "name": "vnet-rg-dev",
            "id": f"{rg}/virtualNetworks/vnet-rg-dev",
            "location": "eastus",
            "type": "Microsoft.Network/virtualNetworks",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
                "subnets": [
                    {
                        "name": "default",
                        "id": subnet,
                        "properties": {
                            "addressPrefix": "10.9.1.0/24",
                            "networkSecurityGroup": {"id": nsg["id"]},
                        },
                    }
                ],
            },
        }
    ]
    watcher = sub2["networkWatchers"][0]["id"]
    sub2["flowLogs"] = [
        {
            "name": "vnet-dev-flowlog",
            "id": f"{watcher}/flowLogs/vnet-dev-flowlog",
            "type": "Microsoft.Network/networkWatchers/flowLogs",
            "location": "eastus",
            "properties": {
                "targetResourceId": f"{rg}/virtualNetworks/vnet-rg-dev",
                "enabled": True,
                "retentionPolicy": {"days": 90, "enabled": True},
            },
        }
    ]
    server.load_estate(estate)
    assert sync(cache, provider(server)).status == "ok"
    dev = json.loads(
        cache.db.execute("SELECT extra FROM firewall_groups WHERE name = 'nsg-dev'").fetchone()[0]
    )
    assert (dev["flow_logs"], dev["flow_log_via"], dev["flow_log_retention_days"]) == (
        True,
        "vnet",
        90,
    )
    failing = {r.resource_name for r in evaluate(cache, get_check("LOG-01"))}
    assert "nsg-dev" not in failing and "nsg-mgmt-open" in failing
    # Kept 7 days: reported, and the reason says it is the VNet's flow log.
    sub2["flowLogs"][0]["properties"]["retentionPolicy"]["days"] = 7
    server.load_estate(estate)
    assert sync(cache, provider(server)).status == "ok"
    rows = {r.resource_name: r for r in evaluate(cache, get_check("LOG-01"))}
    assert rows["nsg-dev"].reason == "the VNet flow logs covering the NSG are kept 7 days, under 90"

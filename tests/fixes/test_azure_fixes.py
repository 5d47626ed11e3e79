"""Azure fixes end to end against the ARM fixture: sync, scan, plan, dry-run, apply, verify, re-sync, undo."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_servers import azure_server_fixtures

from workbench.cache.store import Cache
from workbench.config import Config, parse
from workbench.emulators.azure import AzureFixtureServer
from workbench.errors import PermissionDenied
from workbench.fixes import targets
from workbench.fixes.base import NotUndoable
from workbench.fixes.engine import FixEngine
from workbench.fixes.plan import Plan
from workbench.providers.configured import from_config
from workbench.scan.engine import run_scan
from workbench.sync import SyncEngine

SUB = "00000000-0000-0000-0000-00000000d3m0"
SUB2 = "11111111-2222-3333-4444-555555555555"
NOW = "2026-11-26T12:00:00Z"


estate, server, _fresh = azure_server_fixtures()


@pytest.fixture
def config(server: AzureFixtureServer) -> Config:
    return parse(
        {
            "azure": {
                "subscriptions": [SUB, SUB2],
                "endpoint": server.endpoint,
                "ca_bundle": server.ca_path,
                "fake_credential": True,
            }
        }
    )


@pytest.fixture
def cache(config: Config, tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache.db") as c:
        resync(c, config)
        yield c


def resync(cache: Cache, config: Config) -> None:
    assert SyncEngine(cache, from_config(config), max_workers=4).run().status == "ok"
    run_scan(cache, provider="azure", now=NOW)


def status(cache: Cache, check_id: str, name: str) -> str:
    row = cache.db.execute(
        "SELECT status FROM findings WHERE check_id = ? AND resource_name = ? AND account = ?",
        (check_id, name, SUB),
    ).fetchone()
    return str(row[0]) if row else "absent"


def plan_for(
    engine: FixEngine,
    cache: Cache,
    check_id: str,
    fix_id: str,
    resource_id: str,
    inputs: dict[str, Any] | None = None,
) -> Plan:
    fix, found = targets.resolve(cache, check_id, [resource_id], fix_id=fix_id)
    assert [t.resource_id for t in found] == [resource_id]
    plan = engine.plan(fix.id, found, inputs)
    return Plan.from_json(plan.to_json())  # what the operator approves travels as a file


def dry_run_changes_nothing(engine: FixEngine, server: AzureFixtureServer, plan: Plan) -> None:
    before, seen = copy.deepcopy(server.resources), len(server.requests)
    results = engine.dry_run(plan)
    assert results and {r.status for r in results} == {"plan_only"}
    assert server.resources == before
    assert {m for m, _ in server.requests[seen:]} == {"GET"}


def disk_id(rg: str, name: str, kind: str = "disks") -> str:
    return f"/subscriptions/{SUB}/resourcegroups/{rg}/providers/microsoft.compute/{kind}/{name}"


def test_disk_deny_network_access_apply_verify_resync_undo(server, config, cache) -> None:
    did = disk_id("rg-web-prod", "restore-tmp-disk")
    assert status(cache, "SNP-06", "restore-tmp-disk") == "open"
    engine = FixEngine(cache, config, user="tester")
    plan = plan_for(engine, cache, "SNP-06", "azure.disk.deny_network_access", did)
    assert [(i.operation, i.params["disk"]) for i in plan.items] == [
        (
            "Disks_Update",
            {"properties": {"networkAccessPolicy": "DenyAll", "publicNetworkAccess": "Disabled"}},
        )
    ]
    dry_run_changes_nothing(engine, server, plan)
    result = engine.apply(plan)
    assert result.status == "ok" and all(v.fixed for v in result.verified)
    props = server.get(did)["properties"]
    assert (props["networkAccessPolicy"], props["publicNetworkAccess"]) == ("DenyAll", "Disabled")
    resync(cache, config)
    assert status(cache, "SNP-06", "restore-tmp-disk") == "resolved"

    undo = engine.undo(result.items[0].journal_id or 0)
    assert undo.status == "ok" and undo.verified[0].fixed  # before-state restored exactly
    props = server.get(did)["properties"]
    assert (props["networkAccessPolicy"], props["publicNetworkAccess"]) == ("AllowAll", "Enabled")
    resync(cache, config)
    assert status(cache, "SNP-06", "restore-tmp-disk") == "open"


def test_snapshot_deny_network_access_and_undo(server, config, cache) -> None:
    sid = disk_id("rg-web-prod", "web-01-snap-2020", "snapshots")
    engine = FixEngine(cache, config, user="tester")
    plan = plan_for(engine, cache, "SNP-06", "azure.snapshot.deny_network_access", sid)
    assert [i.operation for i in plan.items] == ["Snapshots_Update"]
    dry_run_changes_nothing(engine, server, plan)
    assert engine.apply(plan).status == "ok"
    resync(cache, config)
    assert status(cache, "SNP-06", "web-01-snap-2020") == "resolved"
    assert engine.undo_plan(plan.plan_id)[0].status == "ok"
    assert server.get(sid)["properties"]["networkAccessPolicy"] == "AllowAll"


def test_revoke_sas_is_irreversible_and_needs_the_typed_confirmation(server, config, cache) -> None:
    did = disk_id("rg-web-prod", "export-in-progress")
    assert status(cache, "SNP-11", "export-in-progress") == "open"
    engine = FixEngine(cache, config, user="tester")
    plan = plan_for(engine, cache, "SNP-11", "azure.disk.revoke_sas", did)
    assert plan.safety == "irreversible" and [i.operation for i in plan.items] == [
        "Disks_RevokeAccess"
    ]
    assert any("never reversible" in n for n in plan.notes)
    dry_run_changes_nothing(engine, server, plan)
    with pytest.raises(PermissionDenied):
        engine.apply(plan)
    assert server.get(did)["properties"]["diskState"] == "ActiveSAS"
    with pytest.raises(PermissionDenied):  # a responder may run reversible fixes only
        FixEngine(cache, config, user="r", role="responder").apply(plan, confirm=did)
    result = engine.apply(plan, confirm=did)
    assert result.status == "ok" and result.verified[0].fixed
    assert server.get(did)["properties"]["diskState"] == "Unattached"
    resync(cache, config)
    assert status(cache, "SNP-11", "export-in-progress") == "resolved"
    with pytest.raises(NotUndoable):
        engine.undo(result.items[0].journal_id or 0)


def nsg_rules(server: AzureFixtureServer, rg: str, name: str) -> dict[str, dict[str, Any]]:
    nsg = server.get(
        f"/subscriptions/{SUB}/resourcegroups/{rg}/providers/"
        f"microsoft.network/networksecuritygroups/{name}"
    )
    return {r["name"]: copy.deepcopy(r["properties"]) for r in nsg["properties"]["securityRules"]}


def test_nsg_rules_become_deny_and_undo_restores_the_exact_rules(server, config, cache) -> None:
    gid = (
        f"/subscriptions/{SUB}/resourcegroups/rg-ops/providers/microsoft.network/"
        "networksecuritygroups/nsg-mgmt-open"
    )
    original = nsg_rules(server, "rg-ops", "nsg-mgmt-open")
    assert status(cache, "NET-01", "nsg-mgmt-open") == "open"
    engine = FixEngine(cache, config, user="tester")
    plan = plan_for(engine, cache, "NET-01", "azure.nsg.restrict_world_admin_rules", gid)
    changed = {i.params["security_rule_name"] for i in plan.items}
    assert changed == {"RDP", "SSH", "Mgmt-From-Partners"}  # not WinRM, not the Deny rule
    dry_run_changes_nothing(engine, server, plan)
    assert engine.apply(plan).status == "ok"
    after = nsg_rules(server, "rg-ops", "nsg-mgmt-open")
    assert {n for n, p in after.items() if p["access"] == "Deny"} == changed | {"Deny-Telnet"}
    assert after["SSH"]["priority"] == 1010 and after["WinRM"] == original["WinRM"]
    resync(cache, config)
    assert status(cache, "NET-01", "nsg-mgmt-open") == "resolved"

    undone = engine.undo_plan(plan.plan_id)
    assert len(undone) == 3 and all(u.status == "ok" for u in undone)
    restored = nsg_rules(server, "rg-ops", "nsg-mgmt-open")
    assert restored == original  # every field, provisioningState included, as before the fix
    resync(cache, config)
    assert status(cache, "NET-01", "nsg-mgmt-open") == "open"


def test_nsg_rule_restricted_to_a_cidr_keeps_its_other_sources(server, config, cache) -> None:
    gid = (
        f"/subscriptions/{SUB}/resourcegroups/rg-ops/providers/microsoft.network/"
        "networksecuritygroups/nsg-mgmt-open"
    )
    engine = FixEngine(cache, config, user="tester")
    plan = plan_for(
        engine,
        cache,
        "NET-01",
        "azure.nsg.restrict_world_admin_rules",
        gid,
        {"narrow_to": "198.51.100.0/24"},
    )
    assert engine.apply(plan).status == "ok"
    rules = nsg_rules(server, "rg-ops", "nsg-mgmt-open")
    assert rules["SSH"]["sourceAddressPrefix"] == "198.51.100.0/24"
    assert rules["SSH"]["access"] == "Allow"
    assert rules["Mgmt-From-Partners"]["sourceAddressPrefixes"] == [
        "203.0.113.0/24",
        "198.51.100.0/24",
    ]
    resync(cache, config)
    assert status(cache, "NET-01", "nsg-mgmt-open") == "resolved"

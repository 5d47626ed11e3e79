"""GCP fixes end to end against the fixture server: plan, dry-run, apply, verify, re-sync, undo.

Each case syncs the real collector into a cache, scans it, plans the fix for one finding, and checks that a
dry-run changes nothing, that apply resolves the finding on the next sync and scan, and that undo restores
the resource exactly as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixture_servers import gcp_server_fixtures

from workbench.cache.store import Cache
from workbench.config import Config
from workbench.emulators.gcp import GcpFixtureServer
from workbench.fixes.base import Target
from workbench.fixes.engine import FixEngine
from workbench.fixes.gcp.common import gcp_clients
from workbench.providers.gcp.provider import GcpProvider
from workbench.scan.engine import run_scan
from workbench.sync import SyncEngine

NOW = "2026-11-26T12:00:00Z"
PROJECT = "demo-prod"


estate, server, _fresh = gcp_server_fixtures()


def section(server: GcpFixtureServer) -> dict[str, Any]:
    return {
        "projects": [PROJECT],
        "endpoint": server.endpoint,
        "anonymous": True,
        "retry_initial": 0.05,
        "retry_deadline": 10,
    }


def sync_and_scan(server: GcpFixtureServer, cache: Cache, check_id: str) -> dict[str, str]:
    """Finding status by resource id for ``check_id`` after a fresh sync and scan."""
    provider = GcpProvider.from_config(section(server))
    assert SyncEngine(cache, [provider], max_workers=4).run().status == "ok"
    run_scan(cache, check_ids=[check_id], provider="gcp", now=NOW)
    rows = cache.db.execute(
        "SELECT resource_id, status FROM findings WHERE check_id=?", (check_id,)
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def target_for(cache: Cache, check_id: str, resource_id: str) -> Target:
    row = cache.db.execute(
        "SELECT check_id, resource_uid, resource_kind, resource_id, provider, account, region, "
        "resource_name FROM findings WHERE check_id=? AND resource_id=?",
        (check_id, resource_id),
    ).fetchone()
    return Target(*row)


def instance(server: GcpFixtureServer, name: str) -> dict[str, Any]:
    return next(i for i in server.projects[PROJECT]["instances"] if i["name"] == name)


def metadata_items(server: GcpFixtureServer, name: str) -> Any:
    return [(i["key"], i["value"]) for i in instance(server, name)["metadata"]["items"]]


def shielded(server: GcpFixtureServer, name: str) -> Any:
    vm = instance(server, name)
    return vm["status"], dict(vm["shieldedInstanceConfig"])


def iam(kind: str, name: str) -> Callable[[GcpFixtureServer, str], Any]:
    def state(server: GcpFixtureServer, _: str) -> Any:
        return server.projects[PROJECT]["iamPolicies"].get(f"{kind}/{name}", {}).get("bindings")

    return state


def firewall_rules(server: GcpFixtureServer, _: str) -> Any:
    return sorted(
        (r["name"], r.get("disabled"), r.get("sourceRanges"))
        for r in server.projects[PROJECT]["firewalls"]
    )


@dataclass
class Case:
    fix_id: str
    check_id: str
    resource_id: str
    state: Callable[[GcpFixtureServer, str], Any]  # what the fix changes, read from the server
    operations: list[str]
    inputs: dict[str, Any] | None = None


CASES = [
    Case(
        "gcp.instance.block_project_ssh_keys",
        "IAM-03",
        "us-central1-a/legacy-billing",
        metadata_items,
        ["instances.setMetadata"],
    ),
    Case(
        "gcp.instance.disable_serial_port",
        "CFG-06",
        "us-central1-a/legacy-billing",
        metadata_items,
        ["instances.setMetadata"],
    ),
    Case(
        "gcp.instance.enable_shielded_vm",
        "BOOT-01",
        "europe-west1-b/win-jumpbox",
        shielded,
        ["instances.stop", "instances.updateShieldedInstanceConfig", "instances.start"],
    ),
    Case(
        "gcp.snapshot.remove_public_access",
        "SNP-07",
        "billing-db-backup-2019",
        iam("snapshots", "billing-db-backup-2019"),
        ["snapshots.setIamPolicy"],
    ),
    Case(
        "gcp.image.remove_public_access",
        "SNP-07",
        "golden-web-2024",
        iam("images", "golden-web-2024"),
        ["images.setIamPolicy"],
    ),
    Case(
        "gcp.firewall.restrict_world_admin_ingress",
        "NET-01",
        "default",
        firewall_rules,
        ["firewalls.patch"] * 3,
    ),
    Case(
        "gcp.firewall.restrict_world_admin_ingress",
        "NET-01",
        "default",
        firewall_rules,
        ["firewalls.patch"] * 3,
        {"narrow_to": "198.51.100.0/24"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.fix_id}{'+' if c.inputs else ''}")
def test_fix_end_to_end(case: Case, server: GcpFixtureServer, tmp_path: Path) -> None:
    name = case.resource_id.rsplit("/", 1)[-1]
    with Cache.open(tmp_path / "cache.db") as cache:
        assert sync_and_scan(server, cache, case.check_id)[case.resource_id] == "open"
        engine = FixEngine(
            cache,
            Config(),
            role="operator",
            read_only=False,
            user="tester",
            clients={"gcp": gcp_clients(section(server))},
        )
        target = target_for(cache, case.check_id, case.resource_id)
        original = copy.deepcopy(case.state(server, name))

        plan = engine.plan(case.fix_id, [target], case.inputs)
        assert [i.operation for i in plan.items] == case.operations
        if case.fix_id.endswith("enable_shielded_vm"):
            assert [i.requires for i in plan.items] == [[], [0], [1]]

        dry = engine.dry_run(plan)
        assert {r.status for r in dry} == {"plan_only"}
        assert case.state(server, name) == original  # a dry-run changes nothing

        result = engine.apply(plan)
        assert result.ok, (result.items, result.verified)
        assert case.state(server, name) != original
        assert all(v.fixed for v in engine.verify(plan))
        assert sync_and_scan(server, cache, case.check_id)[case.resource_id] == "resolved"

        for undone in engine.undo_plan(plan.plan_id):
            assert undone.status == "ok" and all(v.fixed for v in undone.verified), undone
        assert case.state(server, name) == original
        assert sync_and_scan(server, cache, case.check_id)[case.resource_id] == "open"


def test_narrowing_keeps_other_sources_and_the_plan_names_the_rules(server, tmp_path) -> None:
    with Cache.open(tmp_path / "cache.db") as cache:
        sync_and_scan(server, cache, "NET-01")
        engine = FixEngine(
            cache,
            Config(),
            role="operator",
            read_only=False,
            user="tester",
            clients={"gcp": gcp_clients(section(server))},
        )
        plan = engine.plan(
            "gcp.firewall.restrict_world_admin_ingress",
            [target_for(cache, "NET-01", "default")],
            {"narrow_to": "203.0.113.7"},
        )
        assert sorted(i.params["firewall"] for i in plan.items) == [
            "allow-mgmt-ports",
            "default-allow-rdp",
            "default-allow-ssh",
        ]
        assert {tuple(i.params["body"]["sourceRanges"]) for i in plan.items} == {
            ("203.0.113.7/32",)
        }
        # legacy-allow-all is disabled: not world-open, so not touched.
        assert "legacy-allow-all" not in str([i.params for i in plan.items])


def test_stale_metadata_refuses_the_plan(server, tmp_path) -> None:
    from workbench.fixes.base import StalePlan

    with Cache.open(tmp_path / "cache.db") as cache:
        sync_and_scan(server, cache, "CFG-06")
        engine = FixEngine(
            cache,
            Config(),
            role="operator",
            read_only=False,
            user="tester",
            clients={"gcp": gcp_clients(section(server))},
        )
        target = target_for(cache, "CFG-06", "us-central1-a/legacy-billing")
        plan = engine.plan("gcp.instance.disable_serial_port", [target])
        instance(server, "legacy-billing")["metadata"]["items"].append(
            {"key": "startup-script", "value": "changed meanwhile"}
        )
        with pytest.raises(StalePlan):
            engine.apply(plan)
        assert ("serial-port-enable", "TRUE") in metadata_items(server, "legacy-billing")

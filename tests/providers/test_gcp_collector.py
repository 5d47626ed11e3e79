"""The GCP collector against the fixture server, through the real google-cloud-compute / os-config SDKs."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_servers import gcp_server_fixtures

from workbench import plugins
from workbench.cache.store import Cache
from workbench.emulators.gcp import GcpFixtureServer
from workbench.providers.base import Provider
from workbench.providers.gcp.provider import GcpProvider
from workbench.sync import SyncEngine, SyncResult

PROJECTS = ["demo-prod", "demo-dev"]


estate, server, _fresh = gcp_server_fixtures()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open(tmp_path / "cache.db") as c:
        yield c


def sync(server: GcpFixtureServer, cache: Cache, **extra: Any) -> SyncResult:
    section = {
        "projects": PROJECTS,
        "endpoint": server.endpoint,
        "anonymous": True,
        "retry_initial": 0.05,
        "retry_deadline": 10,
        "timeout": 5,
    } | extra
    provider = plugins.load_class("providers", "gcp", Provider).from_config(section)
    return SyncEngine(cache, [provider], max_workers=4, task_timeout=60).run()


def ids(cache: Cache, table: str, account: str) -> set[str]:
    rows = cache.db.execute(f"SELECT id FROM {table} WHERE account=?", (account,)).fetchall()
    return {r[0] for r in rows}


def zonal(item: dict[str, Any]) -> str:
    return f"{item['zone'].rsplit('/', 1)[1]}/{item['name']}"


def test_cache_holds_exactly_the_served_estate(server, cache, estate) -> None:
    result = sync(server, cache)
    assert result.status == "ok", result.failed
    assert {o.scope_id for o in result.outcomes} == {"gcp:demo-prod:global", "gcp:demo-dev:global"}
    for name, data in estate["projects"].items():
        assert ids(cache, "instances", name) == {zonal(i) for i in data["instances"]}
        assert ids(cache, "volumes", name) == {zonal(d) for d in data["disks"]}
        assert ids(cache, "snapshots", name) == {s["name"] for s in data["snapshots"]}
        assert ids(cache, "images", name) == {i["name"] for i in data["images"]}
        assert ids(cache, "networks", name) == {n["name"] for n in data["networks"]}
        assert len(ids(cache, "subnets", name)) == len(data["subnetworks"])
        rule_names = {
            r[0]
            for r in cache.db.execute(
                "SELECT DISTINCT name FROM firewall_rules WHERE account=?", (name,)
            )
        }
        assert rule_names == {f["name"] for f in data["firewalls"]}
    assert cache.count("instance") == 12 and cache.count("firewall_group") == 2


def test_normalized_fields(server, cache) -> None:
    sync(server, cache)
    row = cache.db.execute(
        "SELECT * FROM instances WHERE id='us-central1-a/legacy-billing'"
    ).fetchone()
    extra = json.loads(row["extra"])
    assert row["state"] == "running" and row["public_ip"] == "34.73.35.16"
    assert row["secure_boot"] == 0 and row["vtpm"] == 0 and extra["integrity_monitoring"] is False
    assert row["image_id"] == "ubuntu-os-cloud/ubuntu-2204-jammy-v20230302"
    assert extra["default_service_account"] and extra["full_api_access"]
    assert extra["serial_port_enable"] is True and extra["block_project_ssh_keys"] is None
    assert json.loads(row["tags"]) == {"env": "prod", "team": "data"}
    stopped = cache.db.execute(
        "SELECT state, state_changed_at FROM instances WHERE id='us-central1-b/batch-worker-old'"
    ).fetchone()
    assert tuple(stopped) == ("stopped", "2024-12-01T08:00:00Z")
    win = cache.db.execute("SELECT platform FROM instances WHERE name='win-jumpbox'").fetchone()
    assert win[0] == "windows"
    disks = dict(
        cache.db.execute("SELECT id, encryption_type FROM volumes WHERE account='demo-prod'")
    )
    assert disks["europe-west1-b/db-primary-data"] == "cmk"
    assert disks["us-central1-a/web-frontend-1"] == "platform"
    orphan = cache.db.execute(
        "SELECT state, attached_to FROM volumes WHERE id='us-central1-a/orphaned-restore-disk'"
    ).fetchone()
    assert tuple(orphan) == ("available", "[]")
    rel = cache.db.execute(
        "SELECT COUNT(*) FROM relations WHERE kind='attached' AND src_uid LIKE '%:instance:%'"
    ).fetchone()[0]
    assert rel == 13  # 12 VMs, db-primary has two disks


def test_grants_rules_settings_and_patch_states(server, cache) -> None:
    sync(server, cache)
    grants = {
        tuple(r)
        for r in cache.db.execute(
            "SELECT account, resource_kind, resource_id, grantee_kind FROM grants"
        )
    }
    assert grants == {
        ("demo-prod", "snapshot", "billing-db-backup-2019", "public"),
        ("demo-prod", "snapshot", "web-golden-snap", "all_authenticated"),
        ("demo-prod", "snapshot", "shared-with-vendor", "principal"),
        ("demo-prod", "image", "golden-web-2024", "all_authenticated"),
        ("demo-dev", "snapshot", "dev-share-old", "all_authenticated"),
    }
    public = {r[0] for r in cache.db.execute("SELECT id FROM snapshots WHERE public=1")}
    assert public == {"billing-db-backup-2019", "web-golden-snap", "dev-share-old"}
    world = {
        tuple(r)
        for r in cache.db.execute(
            "SELECT name, protocol, port_from, port_to, disabled FROM firewall_rules "
            "WHERE account='demo-prod' AND world_open=1"
        )
    }
    assert world == {
        ("default-allow-ssh", "tcp", 22, 22, 0),
        ("default-allow-rdp", "tcp", 3389, 3389, 0),
        ("default-allow-icmp", "icmp", None, None, 0),
        ("legacy-allow-all", "-1", None, None, 1),
        ("allow-web", "tcp", 80, 80, 0),
        ("allow-web", "tcp", 443, 443, 0),
        ("allow-mgmt-ports", "tcp", 22, 22, 0),
        ("allow-mgmt-ports", "tcp", 3389, 3389, 0),
        ("allow-mgmt-ports", "tcp", 5985, 5986, 0),
    }
    settings = {
        (r[0], r[1]): r[2] for r in cache.db.execute("SELECT account, id, value FROM settings")
    }
    assert settings[("demo-prod", "os_login")] == "0" and settings[("demo-dev", "os_login")] == "1"
    assert settings[("demo-prod", "project_ssh_keys")] == "1"
    assert settings[("demo-dev", "serial_port_enable")] == "1"
    flows = dict(cache.db.execute("SELECT id, flow_logs FROM subnets WHERE account='demo-prod'"))
    assert flows == {"us-central1/default": 1, "europe-west1/default": 0}
    assert [r[0] for r in cache.db.execute("SELECT is_default FROM networks")] == [1, 1]
    states = {
        r[0]: tuple(r[1:])
        for r in cache.db.execute(
            "SELECT id, critical_missing, security_missing, missing_count, agent_online, instance_uid "
            "FROM patch_states"
        )
    }
    assert set(states) == {
        "us-central1-a/web-frontend-1",
        "us-central1-b/web-frontend-2",
        "us-central1-a/api-server-1",
        "us-central1-a/legacy-billing",
        "europe-west1-b/db-primary",
    }
    crit, sec, missing, online, uid = states["us-central1-a/legacy-billing"]
    assert (crit, sec, missing, online) == (0, 1, 1, 1)
    assert uid == "gcp:demo-prod:global:instance:us-central1-a/legacy-billing"


def test_patch_jobs_give_last_install_and_failures_for_the_kpi(server, cache) -> None:
    assert sync(server, cache).status == "ok"
    got = {
        r[0]: (r[1], r[2], r[3])
        for r in cache.db.execute(
            "SELECT id, last_install_at, failed_count, critical_missing FROM patch_states"
        )
    }
    week_ago, old = "2025-06-01T02:47:12Z", "2025-04-09T02:41:05Z"
    assert got == {
        "us-central1-a/web-frontend-1": (week_ago, 0, 0),
        "us-central1-b/web-frontend-2": (week_ago, 0, 0),  # succeeded, reboot required
        "us-central1-a/api-server-1": (week_ago, 0, 0),
        "europe-west1-b/db-primary": (week_ago, 0, 0),
        # Failed last week; the dry run since installed nothing, so its last install is the old job.
        "us-central1-a/legacy-billing": (old, 1, 0),
    }
    extra = json.loads(
        cache.db.execute(
            "SELECT extra FROM patch_states WHERE id='us-central1-a/legacy-billing'"
        ).fetchone()[0]
    )
    assert extra["last_patch_job"]["state"] == "FAILED"
    assert "dpkg was interrupted" in extra["last_patch_job"]["failure_reason"]
    from workbench.scan.kpi import patch_kpis

    kpi = patch_kpis(cache, "2025-06-08T12:00:00Z")
    assert kpi["patched_within_30d"] | {"definition": ""} == {
        "value": 80.0,
        "count": 4,
        "total": 5,
        "definition": "",
    }
    assert kpi["auto_deploy_success"]["value"] == 80.0


def test_unreadable_patch_jobs_keep_the_reports(server, cache) -> None:
    server.add_fault("forbidden", r"/patchJobs$", times=None)
    assert sync(server, cache).status == "ok"
    rows = cache.db.execute("SELECT last_install_at, failed_count, last_scan_at FROM patch_states")
    assert {tuple(r) for r in rows} == {(None, None, "2025-01-10T08:05:00Z")}


def test_throttled_call_is_retried_after_retry_after(server, cache) -> None:
    server.add_fault("throttle", r"/demo-prod/global/snapshots$", "GET", times=1, retry_after=1)
    result = sync(server, cache)
    assert result.status == "ok", result.failed
    hits = [p for _, p in server.requests if p.endswith("/demo-prod/global/snapshots")]
    assert len(hits) == 2
    assert len(ids(cache, "snapshots", "demo-prod")) == 5


def test_forbidden_project_keeps_its_rows_while_the_other_lands(server, cache, estate) -> None:
    assert sync(server, cache).status == "ok"
    before = ids(cache, "instances", "demo-dev")
    data = copy.deepcopy(estate)
    data["projects"]["demo-prod"]["snapshots"].pop()  # a change that must land
    data["projects"]["demo-dev"]["instances"].pop()  # one that must not (the project is denied)
    server.load_estate(data)
    server.add_fault("forbidden", r"/projects/demo-dev(/|$)", times=None)
    result = sync(server, cache)
    assert result.status == "partial"
    failed = {(o.scope_id, o.task): o.error for o in result.failed}
    assert list(failed) == [("gcp:demo-dev:global", "discover")]
    assert "Forbidden" in (failed[("gcp:demo-dev:global", "discover")] or "")
    assert ids(cache, "instances", "demo-dev") == before
    assert len(ids(cache, "snapshots", "demo-prod")) == 4


def test_forbidden_task_marks_only_that_task_stale(server, cache) -> None:
    sync(server, cache)
    server.add_fault("forbidden", r"/demo-dev/global/snapshots$", times=None)
    result = sync(server, cache)
    assert [(o.scope_id, o.task) for o in result.failed] == [("gcp:demo-dev:global", "snapshots")]
    status = cache.db.execute(
        "SELECT status, error FROM scope_status WHERE scope_id='gcp:demo-dev:global' "
        "AND task='snapshots'"
    ).fetchone()
    assert status[0] == "stale" and "injected fault" in status[1]
    assert ids(cache, "snapshots", "demo-dev") == {"dev-sandbox-snap", "dev-share-old"}


def test_malformed_json_fails_the_task_not_the_run(server, cache) -> None:
    server.add_fault("malformed", r"/demo-prod/global/images$", times=None)
    result = sync(server, cache)
    assert result.status == "partial"
    assert [(o.scope_id, o.task) for o in result.failed] == [("gcp:demo-prod:global", "images")]
    assert cache.count("instance") == 12


def test_timeout_fails_the_task_after_its_retries(server, cache) -> None:
    server.add_fault("timeout", r"/demo-dev/global/firewalls$", times=None, delay=1.5)
    result = sync(server, cache, timeout=0.3, retry_deadline=1.0)
    failed = {(o.scope_id, o.task): o.error for o in result.failed}
    assert list(failed) == [("gcp:demo-dev:global", "network")]
    assert "timeout" in (failed[("gcp:demo-dev:global", "network")] or "").lower()
    assert ids(cache, "firewall_rules", "demo-prod")


def test_config_errors_are_one_line() -> None:
    from workbench.errors import ProviderError

    with pytest.raises(ProviderError, match="scheme"):
        GcpProvider.from_config({"projects": ["p"], "endpoint": "127.0.0.1:1", "anonymous": True})
    with pytest.raises(ProviderError, match="unknown task"):
        GcpProvider.from_config({"projects": ["p"], "anonymous": True, "tasks": ["vms"]})
    provider = GcpProvider.from_config({"projects": ["p"], "anonymous": True, "patch": False})
    assert "patch" not in provider.task_names


# --- credentials ----------------------------------------------------------------------------------
def _service_account_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "key-proj",
            "private_key_id": "k1",
            "private_key": pem.decode(),
            "client_email": "audit@key-proj.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def test_key_file_inline_key_and_keyring_secret(tmp_path: Path, memory_keyring) -> None:
    from workbench.providers.gcp.clients import GcpSettings, load_credentials

    key = _service_account_key()
    path = tmp_path / "key.json"
    path.write_text(key)
    creds, project = load_credentials(GcpSettings(credentials_file=str(path)))
    assert creds.service_account_email == "audit@key-proj.iam.gserviceaccount.com"
    assert project == "key-proj"
    # An inline key is moved to the keyring; the config can then name it instead of holding it.
    creds, _ = load_credentials(GcpSettings(credentials_json=key))
    name = "gcp:audit@key-proj.iam.gserviceaccount.com"
    assert memory_keyring.store[("vmwb", name)] == key
    creds, project = load_credentials(GcpSettings(credentials_secret=name))
    assert creds.service_account_email.startswith("audit@") and project == "key-proj"
    from workbench.errors import ProviderError

    with pytest.raises(ProviderError, match="no secret"):
        load_credentials(GcpSettings(credentials_secret="gcp:missing"))


def test_os_config_not_enabled_is_a_known_state_not_a_failed_task(server, cache, estate) -> None:
    """A project without the OS Config API syncs ok every time, says so, and HYB-02 reports it."""
    from workbench.scan.engine import evaluate
    from workbench.scan.loader import get_check

    data = copy.deepcopy(estate)
    data["projects"]["demo-dev"]["disabledServices"] = ["osconfig.googleapis.com"]
    server.load_estate(data)
    for _ in range(2):
        result = sync(server, cache)
        assert result.status == "ok", result.failed
    status = cache.db.execute(
        "SELECT account, status FROM scope_status WHERE task = 'patch' ORDER BY account"
    ).fetchall()
    assert [tuple(r) for r in status] == [("demo-dev", "ok"), ("demo-prod", "ok")]
    apis = cache.db.execute(
        "SELECT account, json_extract(value, '$.enabled') FROM settings WHERE id = 'patch_api'"
    ).fetchall()
    assert sorted(tuple(r) for r in apis) == [("demo-dev", 0), ("demo-prod", 1)]
    assert ids(cache, "patch_states", "demo-dev") == set()
    rows = evaluate(cache, get_check("HYB-02"))
    assert [(r.account, r.reason) for r in rows] == [
        ("demo-dev", "patch state unknown: osconfig.googleapis.com is not enabled")
    ]

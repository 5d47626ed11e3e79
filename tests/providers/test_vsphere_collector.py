"""The vSphere provider against vcsim (seeded with seed_demo), through pyVmomi and the sync engine."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cache.store import Cache
from workbench.emulators.vcsim import (
    DEMO_LEGACY_DEVICES_VM,
    DEMO_SNAPSHOTS,
    VcsimServer,
    seed_demo,
)
from workbench.errors import ProviderError
from workbench.providers.vsphere.connection import SessionPool, password_for, servers_from_section
from workbench.providers.vsphere.provider import VsphereProvider
from workbench.scan.engine import evaluate
from workbench.scan.loader import get_check
from workbench.sync import SyncEngine

pytestmark = [pytest.mark.vcsim, pytest.mark.xdist_group("vcsim")]
PASSWORD_ENV = "VMWB_TEST_VCSIM_PASSWORD"


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimServer]:
    server = VcsimServer()
    if not server.available():
        pytest.skip(server.reason)
    with server:
        si = server.connect()
        seed_demo(si)
        yield server


def section(vc: VcsimServer) -> dict[str, object]:
    return {
        "host": vc.host,
        "port": vc.port,
        "protocol": "http",
        "user": vc.user,
        "password_env": PASSWORD_ENV,
        "verify_tls": False,
    }


@pytest.fixture(scope="module")
def db(
    vcsim: VcsimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sqlite3.Connection]:
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSWORD_ENV, vcsim.password)
    pool = SessionPool()
    provider = VsphereProvider.from_config(section(vcsim), pool=pool)
    cache = Cache.open(tmp_path_factory.mktemp("vs") / "cache.db")
    result = SyncEngine(cache, [provider], max_workers=2).run()
    assert result.status == "ok", result.failed
    pool.close()
    mp.undo()
    cache.db.row_factory = sqlite3.Row
    yield cache.db
    cache.close()


def test_scope_is_server_and_datacenter(db: sqlite3.Connection, vcsim: VcsimServer) -> None:
    scopes = {r["scope_id"] for r in db.execute("SELECT scope_id FROM scope_status")}
    assert scopes == {f"vsphere:{vcsim.host}:DC0"}


def test_vms_firmware_tools_and_hardening(db: sqlite3.Connection) -> None:
    vms = {r["name"]: r for r in db.execute("SELECT * FROM instances")}
    assert sorted(vms) == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]
    vm = vms["DC0_H0_VM0"]
    assert (vm["state"], vm["boot_mode"], vm["secure_boot"], vm["vtpm"]) == (
        "running",
        "legacy-bios",
        0,
        0,
    )
    extra = json.loads(vm["extra"])
    assert extra["hardening"]["isolation.tools.copy.disable"] == "TRUE"
    assert extra["tools_running_status"] == "guestToolsNotRunning" and vm["managed"] == 0
    weak = json.loads(vms["DC0_C0_RP0_VM1"]["extra"])["hardening"]
    assert weak["isolation.tools.paste.disable"] == "FALSE"
    assert weak["isolation.device.connectable.disable"] is None
    # Hostile annotation is stored as data; rendering is the UI's job.
    assert "[@click=app.quit]" in json.loads(vms["DC0_C0_RP0_VM1"]["extra"])["annotation"]


def test_legacy_devices(db: sqlite3.Connection) -> None:
    row = db.execute(
        "SELECT extra FROM instances WHERE name = ?", (DEMO_LEGACY_DEVICES_VM,)
    ).fetchone()
    devices = {d["kind"]: d for d in json.loads(row["extra"])["legacy_devices"]}
    assert set(devices) == {"cdrom", "floppy", "serial"}
    assert devices["serial"]["backing"] == "URIBackingInfo telnet://:7001"
    assert devices["floppy"]["connected"] is True


def test_disks_are_volumes_attached_to_their_vm(db: sqlite3.Connection) -> None:
    vm = db.execute("SELECT id FROM instances WHERE name = 'DC0_H0_VM0'").fetchone()
    disk = db.execute(
        "SELECT * FROM volumes WHERE id = '[LocalDS_0] DC0_H0_VM0/disk1.vmdk'"
    ).fetchone()
    assert json.loads(disk["attached_to"]) == [vm["id"]]
    assert (disk["state"], disk["encryption_type"], disk["encrypted"]) == ("in-use", "none", 0)


def test_snapshot_tree(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT s.name, s.created_at, s.extra, i.name AS vm FROM snapshots s "
        "JOIN instances i ON i.id = s.source_instance_id AND i.scope_id = s.scope_id"
    ).fetchall()
    got = {(r["vm"], r["name"]): json.loads(r["extra"]) for r in rows}
    want = {(vm, snap) for vm, snaps in DEMO_SNAPSHOTS.items() for snap, _ in snaps}
    assert set(got) == want
    post = got[("DC0_H0_VM0", "post-patch")]
    assert (post["parent"], post["current"]) == ("pre-patch", True)
    assert all(r["created_at"].endswith("Z") for r in rows)


def test_hosts_services_and_lockdown(db: sqlite3.Connection) -> None:
    hosts = {r["name"]: r for r in db.execute("SELECT * FROM hosts")}
    assert sorted(hosts) == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0"]
    h = hosts["DC0_H0"]
    assert (h["ssh_enabled"], h["shell_enabled"], h["lockdown_mode"]) == (0, 0, "lockdownDisabled")
    assert h["version"].startswith("VMware ESXi")


def test_hosts_port_group_security_options_and_ntp(db: sqlite3.Connection) -> None:
    hosts = {r["name"]: json.loads(r["extra"]) for r in db.execute("SELECT * FROM hosts")}
    options = hosts["DC0_H0"]["options"]
    # The seeded options, read from the host's option manager; the others are absent (their default).
    assert options["UserVars.ESXiShellTimeOut"] == 900
    assert options["Syslog.global.logHost"] == "udp://10.0.0.5:514"
    assert options["Config.HostAgent.plugins.solo.enableMob"] is None
    assert hosts["DC0_C0_H0"]["options"]["UserVars.ESXiShellTimeOut"] is None
    # vcsim's vSwitch0 has ESXi's install defaults; its port groups inherit them (no override of their own).
    groups = {g["name"]: g for g in hosts["DC0_H0"]["port_groups"]}
    assert groups["VM Network"] == {
        "name": "VM Network",
        "vswitch": "vSwitch0",
        "allowPromiscuous": False,
        "macChanges": True,
        "forgedTransmits": True,
    }
    assert (
        hosts["DC0_H0"]["ntp_servers"] is None
    )  # vcsim has no date/time config: unknown, not unset


def test_vm_logging_and_vmotion_encryption(db: sqlite3.Connection) -> None:
    vms = {r["name"]: json.loads(r["extra"]) for r in db.execute("SELECT * FROM instances")}
    assert vms["DC0_H0_VM0"]["logging"] == {
        "logging": None,
        "log.keepOld": "10",
        "log.rotateSize": None,
    }
    assert (
        vms["DC0_H0_VM0"]["migrate_encryption"] is None
    )  # vcsim ignores it in a ConfigSpec: unset


def test_datastores_and_networks(db: sqlite3.Connection) -> None:
    ds = db.execute("SELECT * FROM settings WHERE id = 'datastore:LocalDS_0'").fetchone()
    value = json.loads(ds["value"])
    assert value["vm_count"] == 4 and value["capacity_gb"] > value["free_gb"] > 0
    names = {r["name"] for r in db.execute("SELECT name FROM networks")}
    assert "VM Network" in names


def test_wrong_password_is_one_line(vcsim: VcsimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # vcsim accepts any user/password pair by default, so check the missing-password path instead.
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    provider = VsphereProvider.from_config(section(vcsim), pool=SessionPool())
    failure = provider.discover()[0]
    assert type(failure).__name__ == "ScopeFailure"
    assert PASSWORD_ENV in failure.error  # type: ignore[union-attr]


def test_config_never_takes_a_password(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="never put a password"):
        servers_from_section({"host": "vc", "user": "u", "password": "x"})
    with pytest.raises(ProviderError, match="needs host and user"):
        servers_from_section({})
    server = servers_from_section({"host": "vc.example", "user": "u"})[0]
    assert server.secret_name == "vsphere:vc.example"
    # No keyring at all (a headless box): one line naming the server, not a traceback.
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(ProviderError, match=r"^\[vsphere\] vc\.example: "):
            password_for(server)
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def scanned(vcsim: VcsimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cache]:
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSWORD_ENV, vcsim.password)
    pool = SessionPool()
    provider = VsphereProvider.from_config(section(vcsim), pool=pool)
    cache = Cache.open(tmp_path_factory.mktemp("vs-scan") / "cache.db")
    assert SyncEngine(cache, [provider], max_workers=2).run().status == "ok"
    pool.close()
    mp.undo()
    yield cache
    cache.close()


CLUSTER_HOSTS = {"DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}
ALL_HOSTS = CLUSTER_HOSTS | {"DC0_H0"}
# What a scan of the seeded vcsim estate finds, check by check: the planted problems (see seed_demo), and the
# settings vcsim has at ESXi's own defaults; every other host or VM beside them is clean.
ESTATE_FINDINGS = {
    "ONP-11": set(),  # no port group accepts promiscuous mode
    "ONP-12": ALL_HOSTS,  # vSwitch0 keeps ESXi's install default: forged transmits accepted
    "ONP-13": ALL_HOSTS,  # ... and MAC changes accepted
    "ONP-14": set(),  # vcsim has no date/time config: unknown, not unset
    "ONP-15": CLUSTER_HOSTS,  # only DC0_H0 has a remote syslog target
    "ONP-16": CLUSTER_HOSTS,  # only DC0_H0 has idle timeouts
    "ONP-17": CLUSTER_HOSTS,
    "ONP-18": set(),  # the DCUI default (600 s) is within policy
    "ONP-19": {"DC0_C0_H1"},
    "ONP-20": {"DC0_C0_H2"},
    "ONP-21": set(),
    "ONP-22": set(),
    "ONP-23": ALL_HOSTS,  # vcsim is ESXi 6.5, a line out of support
    "ONP-24": set(),  # vcsim cannot set migrateEncryption: unset is the default (its fixtures cover it)
    "ONP-25": {"DC0_C0_RP0_VM1"},  # log.rotateSize 0; DC0_H0_VM0 keeps 10 old logs, within policy
}


@pytest.mark.parametrize("check_id", sorted(ESTATE_FINDINGS))
def test_the_seeded_estate_finds_exactly_the_planted_problems(
    scanned: Cache, check_id: str
) -> None:
    rows = evaluate(scanned, get_check(check_id), now="2026-11-26T12:00:00Z")
    assert {r.resource_name for r in rows} == ESTATE_FINDINGS[check_id]
    assert all(r.reason for r in rows)

"""The libvirt provider against the demo estate, through the real bindings and the sync engine."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workbench.cache.store import Cache
from workbench.emulators.libvirt_estate import HOSTILE_NAME, demo_estate, write_demo_estate
from workbench.errors import ProviderError
from workbench.providers.libvirt import connection, domain_xml
from workbench.providers.libvirt.connection import ConnectionPool, LibvirtSettings
from workbench.providers.libvirt.provider import LibvirtProvider
from workbench.sync import SyncEngine

libvirt = pytest.importorskip(
    "libvirt",
    reason="libvirt-python is not installed: it is the `libvirt` extra; enable it with "
    f"`{connection.INSTALL_COMMAND}`",
)
pytestmark = pytest.mark.libvirt

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _sync(tmp: Path, *, secure_xml: bool) -> sqlite3.Connection:
    hosts = [
        {"name": h, "uri": write_demo_estate(tmp / f"{h}.xml", host=h, now=NOW)}
        for h in ("kvm-lab-01", "kvm-lab-02")
    ]
    pool = ConnectionPool()
    provider = LibvirtProvider.from_config({"hosts": hosts, "secure_xml": secure_xml}, pool=pool)
    cache = Cache.open(tmp / "cache.db")
    result = SyncEngine(cache, [provider], max_workers=2).run()
    assert result.status == "ok", result.failed
    pool.close()
    db = cache.db
    db.row_factory = sqlite3.Row
    return db


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    conn = _sync(tmp_path_factory.mktemp("lv"), secure_xml=True)
    yield conn
    conn.close()


def _instances(db: sqlite3.Connection, host: str = "kvm-lab-01") -> dict[str, sqlite3.Row]:
    rows = db.execute("SELECT * FROM instances WHERE account = ?", (host,)).fetchall()
    return {r["name"]: r for r in rows}


def test_scopes_are_hosts_with_local_region(db: sqlite3.Connection) -> None:
    scopes = {r["scope_id"] for r in db.execute("SELECT scope_id FROM scope_status")}
    assert scopes == {"libvirt:kvm-lab-01:local", "libvirt:kvm-lab-02:local"}


def test_domains_state_firmware_and_tpm(db: sqlite3.Connection) -> None:
    vms = _instances(db)
    estate = demo_estate("kvm-lab-01", now=NOW)
    assert set(vms) == {d.name for d in estate.domains}
    for dom in estate.domains:
        row = vms[dom.name]
        assert row["id"] == estate.domain_uuid(dom.name)
        assert row["state"] == ("running" if dom.running else "stopped")
        assert row["boot_mode"] == ("uefi" if dom.firmware == "efi" else "legacy-bios")
        assert row["secure_boot"] == int(dom.firmware == "efi" and dom.secure_boot), dom.name
        assert row["vtpm"] == int(dom.tpm), dom.name
    assert vms[HOSTILE_NAME]["name"] == HOSTILE_NAME  # stored verbatim; the UI sanitises


def test_graphics_listen_and_passwords_with_secure_xml(db: sqlite3.Connection) -> None:
    vms = _instances(db)
    web01 = json.loads(vms["web-01"]["extra"])["graphics"]
    assert web01 == [
        {
            "type": "vnc",
            "listen": "127.0.0.1",
            "listen_type": "address",
            "exposed": False,
            "has_password": True,
            "port": -1,
            "autoport": True,
        }
    ]
    web02 = json.loads(vms["web-02"]["extra"])["graphics"][0]
    assert (web02["type"], web02["exposed"], web02["has_password"]) == ("spice", True, False)
    # The password itself never reaches the cache.
    raw = vms["web-01"]["raw"]
    assert "Vnc-6f2b1a" not in raw and "Vnc-6f2b1a" not in vms["web-01"]["extra"]


def test_devices_serial_usb_floppy(db: sqlite3.Connection) -> None:
    extra = json.loads(_instances(db)["legacy-erp"]["extra"])
    kinds = sorted((d["kind"], d["connected"]) for d in extra["legacy_devices"])
    assert kinds == [("cdrom", True), ("floppy", True), ("serial", True)]
    sandbox = json.loads(_instances(db)["dev-sandbox"]["extra"])
    assert [d["label"] for d in sandbox["legacy_devices"] if d["kind"] == "usb"] == [
        "usb 0x0781:0x5567"
    ]
    assert [n["network"] for n in extra["interfaces"]] == ["default"]


def test_volumes_orphans_and_encryption(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT * FROM volumes WHERE account = 'kvm-lab-01'").fetchall()
    by_path = {r["id"]: r for r in rows}
    orphans = {r["id"] for r in rows if r["state"] == "available"}
    assert orphans == set(demo_estate("kvm-lab-01", now=NOW).orphaned_volumes())
    db01 = by_path["/var/lib/libvirt/images/db-01-data.qcow2"]
    assert (db01["encryption_type"], db01["encrypted"], db01["size_gb"]) == ("luks", 1, 500)
    vms = _instances(db)
    assert json.loads(db01["attached_to"]) == [vms["db-01"]["id"]]
    web02 = by_path["/var/lib/libvirt/images/web-02.qcow2"]
    assert (web02["encryption_type"], web02["state"]) == ("none", "in-use")
    iso = by_path["/var/lib/libvirt/iso/win2012r2.iso"]
    assert json.loads(iso["extra"])["media"] is True


def test_snapshots_times_parents_and_relations(db: sqlite3.Connection) -> None:
    vms = _instances(db)
    rows = db.execute(
        "SELECT * FROM snapshots WHERE source_instance_id = ?", (vms["db-01"]["id"],)
    ).fetchall()
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"before-pg15-upgrade", "pg15-migrated", "nightly"}
    assert by_name["before-pg15-upgrade"]["created_at"] == "2024-12-08T12:00:00Z"  # NOW - 540 days
    extra = json.loads(by_name["nightly"]["extra"])
    assert (extra["parent"], extra["current"]) == ("pg15-migrated", True)
    assert by_name["nightly"]["state"] == "running"
    rel = db.execute(
        "SELECT dst_uid FROM relations WHERE src_uid = ? AND kind = 'snapshot_of'",
        (by_name["nightly"]["uid"],),
    ).fetchone()
    assert rel["dst_uid"] == vms["db-01"]["uid"]


def test_host_and_networks(db: sqlite3.Connection) -> None:
    host = db.execute("SELECT * FROM hosts WHERE account = 'kvm-lab-01'").fetchone()
    assert host["name"] == "kvm-lab-01" and host["version"].startswith("libvirt ")
    assert host["ssh_enabled"] is None  # libvirt cannot see sshd: unknown, not "off"
    nets = {r["id"]: r for r in db.execute("SELECT * FROM networks WHERE account = 'kvm-lab-01'")}
    assert nets["default"]["cidr"] == "192.168.122.0/24" and nets["default"]["is_default"] == 1
    assert json.loads(nets["storage-net"]["extra"])["forward"] == "isolated"


def test_read_only_records_unknown_passwords(tmp_path: Path) -> None:
    db = _sync(tmp_path, secure_xml=False)
    graphics = json.loads(_instances(db)["web-02"]["extra"])["graphics"][0]
    assert graphics["has_password"] is None and graphics["exposed"] is True
    db.close()


def test_pool_reuses_one_connection_and_upgrades_to_read_write(tmp_path: Path) -> None:
    uri = write_demo_estate(tmp_path / "e.xml", now=NOW)
    pool = ConnectionPool()
    ro = pool.get(uri)
    assert pool.get(uri) is ro and not pool.is_read_write(uri)
    rw = pool.get(uri, write=True)
    assert rw is not ro and pool.get(uri) is rw  # later reads see this connection's changes
    rw.lookupByName("web-02").snapshotLookupByName("post-patch").delete(0)
    names = [s.getName() for s in pool.get(uri).lookupByName("web-02").listAllSnapshots()]
    assert names == ["pre-patch"]
    pool.close()


def test_uris_named_by_host_and_unreachable_host_is_a_scope_failure(tmp_path: Path) -> None:
    uri = write_demo_estate(tmp_path / "e.xml", now=NOW)
    provider = LibvirtProvider.from_config(
        {"uris": [uri, "test:///nonexistent/estate.xml"]}, pool=ConnectionPool()
    )
    found = provider.discover()
    assert found[0].account == libvirt.open(uri).getHostname()  # type: ignore[union-attr]
    assert type(found[1]).__name__ == "ScopeFailure"
    provider.pool.close()


def test_bad_config_is_one_clear_error() -> None:
    with pytest.raises(ProviderError, match=r"hosts\[0\]"):
        LibvirtSettings.from_section({"hosts": [{"name": "x"}]})
    with pytest.raises(ProviderError, match="unknown task"):
        LibvirtProvider.from_config({"tasks": ["nope"]})


def test_missing_binding_names_the_exact_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_libvirt(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "libvirt":
            raise ImportError("No module named 'libvirt'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_libvirt)
    with pytest.raises(ProviderError) as info:
        LibvirtProvider.from_config({"uris": ["qemu:///system"]})
    assert "apt-get install libvirt-dev pkg-config && uv sync --extra libvirt" in str(info.value)


_PFLASH = "<os><type>hvm</type><loader type='pflash'>/usr/share/OVMF/{}</loader></os>"


@pytest.mark.parametrize(
    ("os_xml", "boot", "secure"),
    [
        ("<os><type>hvm</type></os>", "legacy-bios", False),
        ("<os firmware='efi'><type>hvm</type><loader secure='yes'/></os>", "uefi", True),
        (_PFLASH.format("OVMF_CODE_4M.ms.fd"), "uefi", True),
        (_PFLASH.format("OVMF_CODE_4M.fd"), "uefi", False),
        ("<os firmware='efi'><type>hvm</type></os>", "uefi", None),
    ],
)
def test_firmware_spellings(os_xml: str, boot: str, secure: bool | None) -> None:
    fw = domain_xml.firmware(domain_xml.parse(f"<domain>{os_xml}</domain>"))
    assert (fw["boot_mode"], fw["secure_boot"]) == (boot, secure)


def test_graphics_listen_spellings() -> None:
    xml = (
        "<domain><devices><graphics type='vnc'/>"
        "<graphics type='spice'><listen type='network' network='default'/></graphics>"
        "<graphics type='vnc'><listen type='socket'/></graphics>"
        "<graphics type='vnc' listen='::1'/></devices></domain>"
    )
    got = [
        (g["listen"], g["exposed"])
        for g in domain_xml.graphics(domain_xml.parse(xml), secure_xml=False)
    ]
    assert got == [
        ("127.0.0.1", False),
        ("network:default", True),
        ("socket", False),
        ("::1", False),
    ]

"""The libvirt test-driver estate, read back through the real libvirt-python bindings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workbench.emulators.libvirt_estate import (
    HOSTILE_DESCRIPTION,
    HOSTILE_NAME,
    HOSTILE_TITLE,
    demo_estate,
    write_demo_estate,
)
from workbench.emulators.libvirt_estate_model import Estate
from workbench.emulators.libvirt_estate_xml import write_estate

libvirt = pytest.importorskip(
    "libvirt",
    reason="libvirt-python is not installed: it is the `libvirt` extra and compiles against "
    "libvirt-dev (run .ci/install-system-deps.sh as root, then uv sync --all-extras)",
)

pytestmark = pytest.mark.libvirt

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _quiet_libvirt() -> Iterator[None]:
    # libvirt prints every error to stderr by default; the tests provoke some on purpose.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    yield
    libvirt.registerErrorHandler(None, None)


@pytest.fixture(scope="module")
def estate() -> Estate:
    return demo_estate("kvm-lab-01", now=NOW)


@pytest.fixture(scope="module")
def estate_file(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("libvirt") / "kvm-lab-01.xml"
    return path, write_estate(estate, path)


@pytest.fixture(scope="module")
def conn(estate_file: tuple[Path, str]) -> Iterator[Any]:
    conn = libvirt.openReadOnly(estate_file[1])
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def xml(conn: Any) -> dict[str, ET.Element]:
    """Each domain's XML as libvirt formats it (not as we wrote it)."""
    return {d.name(): ET.fromstring(d.XMLDesc()) for d in conn.listAllDomains()}


def test_uri_points_at_the_file(estate_file: tuple[Path, str]) -> None:
    path, uri = estate_file
    assert uri == f"test://{path.resolve()}"


def test_domains_and_run_states(conn: Any, estate: Estate) -> None:
    got = {d.name(): d.state()[0] for d in conn.listAllDomains()}
    want = {
        d.name: libvirt.VIR_DOMAIN_RUNNING if d.running else libvirt.VIR_DOMAIN_SHUTOFF
        for d in estate.domains
    }
    assert got == want
    assert len(got) == 11
    assert got["dev-sandbox"] == libvirt.VIR_DOMAIN_SHUTOFF


def test_firmware_and_secure_boot(xml: dict[str, ET.Element], estate: Estate) -> None:
    for dom in estate.domains:
        os_el = xml[dom.name].find("os")
        assert os_el is not None
        if dom.firmware == "bios":
            assert os_el.get("firmware") is None and os_el.find("loader") is None, dom.name
            continue
        assert os_el.get("firmware") == "efi", dom.name
        loader = os_el.find("loader")
        secure = loader is not None and loader.get("secure") == "yes"
        assert secure == dom.secure_boot, dom.name
        if not dom.secure_boot:
            feature = os_el.find("firmware/feature[@name='secure-boot']")
            assert feature is not None and feature.get("enabled") == "no"
    assert not next(d for d in estate.domains if d.name == "build-runner").secure_boot


def test_tpm(xml: dict[str, ET.Element], estate: Estate) -> None:
    for dom in estate.domains:
        tpm = xml[dom.name].find("devices/tpm")
        assert (tpm is not None) == dom.tpm, dom.name
        if tpm is not None:
            assert tpm.get("model") == "tpm-crb"
            backend = tpm.find("backend")
            assert backend is not None
            assert (backend.get("type"), backend.get("version")) == ("emulator", "2.0")


def test_graphics_listen_read_only(xml: dict[str, ET.Element], estate: Estate) -> None:
    for dom in estate.domains:
        got = [(g.get("type"), g.get("listen")) for g in xml[dom.name].iter("graphics")]
        assert got == [(g.kind, g.listen) for g in dom.graphics], dom.name
        # Read-only, passwords are never shown (see the next test).
        assert all(g.get("passwd") is None for g in xml[dom.name].iter("graphics"))


def test_graphics_passwd_needs_read_write(estate_file: tuple[Path, str], estate: Estate) -> None:
    ro = libvirt.openReadOnly(estate_file[1])
    with pytest.raises(libvirt.libvirtError, match="forbidden"):
        ro.lookupByName("web-01").XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
    rw = libvirt.open(estate_file[1])
    for dom in estate.domains:
        root = ET.fromstring(rw.lookupByName(dom.name).XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
        got = [(g.get("listen"), g.get("passwd")) for g in root.iter("graphics")]
        assert got == [(g.listen, g.passwd) for g in dom.graphics], dom.name
    open_consoles = {
        d.name for d in estate.domains for g in d.graphics if g.listen == "0.0.0.0" and not g.passwd
    }
    assert open_consoles == {"web-02", "legacy-erp", "dev-sandbox", "centos7-template", "kiosk-03"}


def test_disks_encryption_and_legacy_devices(xml: dict[str, ET.Element], estate: Estate) -> None:
    for dom in estate.domains:
        disks = xml[dom.name].findall("devices/disk")
        got = [
            (
                d.get("device"),
                d.find("source").get("file"),  # type: ignore[union-attr]
                d.find("target").get("dev"),  # type: ignore[union-attr]
                d.find("encryption[@format='luks']") is not None,
            )
            for d in disks
        ]
        assert got == [(d.device, d.source, d.target, d.luks) for d in dom.disks], dom.name
        assert (xml[dom.name].find("devices/serial") is not None) == dom.serial, dom.name
        usb = [
            (h.find("source/vendor").get("id"), h.find("source/product").get("id"))  # type: ignore[union-attr]
            for h in xml[dom.name].findall("devices/hostdev[@type='usb']")
        ]
        assert usb == [(u.vendor, u.product) for u in dom.usb], dom.name
    erp = xml["legacy-erp"]
    assert [d.get("device") for d in erp.findall("devices/disk")] == ["disk", "floppy", "cdrom"]


def test_interfaces(xml: dict[str, ET.Element], estate: Estate) -> None:
    for dom in estate.domains:
        got = [
            (i.find("mac").get("address"), i.find("source").get("network"))  # type: ignore[union-attr]
            for i in xml[dom.name].findall("devices/interface")
        ]
        assert got == [(i.mac, i.network) for i in dom.interfaces], dom.name


def test_snapshots_times_parents_and_current(conn: Any, estate: Estate) -> None:
    for dom in estate.domains:
        d = conn.lookupByName(dom.name)
        got = {}
        for snap in d.listAllSnapshots():
            root = ET.fromstring(snap.getXMLDesc())
            parent = root.findtext("parent/name")
            got[snap.getName()] = (int(root.findtext("creationTime") or 0), parent)
        want = {s.name: (int(s.created.timestamp()), s.parent) for s in dom.snapshots}
        assert got == want, dom.name
        if dom.snapshots:
            current = dom.current_snapshot or dom.snapshots[-1].name
            assert d.snapshotCurrent().getName() == current
        else:
            assert not d.hasCurrentSnapshot()
    db = conn.lookupByName("db-01")
    assert db.snapshotLookupByName("nightly").getParent().getName() == "pg15-migrated"
    ages = {
        s.name: (NOW - s.created).days for d in estate.domains for s in d.snapshots
    }  # both stale (> 1 year) and fresh snapshots exist
    assert max(ages.values()) > 365 and min(ages.values()) < 30


def test_pools_volumes_and_orphans(conn: Any, xml: dict[str, ET.Element], estate: Estate) -> None:
    pools = {p.name(): p for p in conn.listAllStoragePools()}
    assert set(pools) == {"default", "iso"}
    for pool in estate.pools:
        got = {v.name(): (v.path(), v.info()[1]) for v in pools[pool.name].listAllVolumes()}
        want = {
            v.name: (pool.volume_path(v.name), round(v.capacity_gib * 2**30)) for v in pool.volumes
        }
        assert got == want
    # Orphans worked out from what libvirt reports, not from our description.
    referenced = {s.get("file") for root in xml.values() for s in root.iter("source")}
    volumes = {v.path() for p in pools.values() for v in p.listAllVolumes()}
    orphans = sorted(volumes - referenced)
    assert orphans == sorted(estate.orphaned_volumes())
    assert orphans == [
        "/var/lib/libvirt/images/legacy-erp-backup-2021.qcow2",
        "/var/lib/libvirt/images/scratch.raw",
        "/var/lib/libvirt/images/web-01-clone.qcow2",
        "/var/lib/libvirt/iso/debian-12.5-netinst.iso",
    ]


def test_networks(conn: Any) -> None:
    nets = {n.name(): ET.fromstring(n.XMLDesc()) for n in conn.listAllNetworks()}
    assert set(nets) == {"default", "storage-net"}
    assert nets["default"].find("forward").get("mode") == "nat"  # type: ignore[union-attr]
    assert nets["storage-net"].find("forward") is None


def test_hostile_strings_pass_through(conn: Any) -> None:
    kiosk = conn.lookupByName("kiosk-03")
    assert kiosk.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None) == HOSTILE_TITLE
    assert kiosk.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None) == HOSTILE_DESCRIPTION
    assert "\u009b" in HOSTILE_TITLE and "[@click=" in HOSTILE_TITLE
    assert conn.lookupByName(HOSTILE_NAME).name() == "[@click=app.quit]x"


def test_writes_are_per_connection(estate_file: tuple[Path, str]) -> None:
    path, uri = estate_file
    before = path.read_bytes()
    rw = libvirt.open(uri)

    rw.lookupByName("db-01").snapshotLookupByName("nightly").delete()
    assert "nightly" not in rw.lookupByName("db-01").snapshotListNames()

    # Move web-02's SPICE console off 0.0.0.0 and give it a password, as a fix would.
    flags = libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_INACTIVE
    root = ET.fromstring(rw.lookupByName("web-02").XMLDesc(flags))
    for gfx in root.iter("graphics"):
        gfx.set("listen", "127.0.0.1")
        gfx.set("passwd", "rotated")
        for listen in gfx.iter("listen"):
            listen.set("address", "127.0.0.1")
    rw.defineXML(ET.tostring(root, encoding="unicode"))
    redefined = ET.fromstring(rw.lookupByName("web-02").XMLDesc(flags)).find("devices/graphics")
    assert redefined is not None
    assert (redefined.get("listen"), redefined.get("passwd")) == ("127.0.0.1", "rotated")

    # A second connection to the same file starts from the file again; the file is untouched.
    other = libvirt.open(uri)
    assert "nightly" in other.lookupByName("db-01").snapshotListNames()
    untouched = ET.fromstring(other.lookupByName("web-02").XMLDesc(flags)).find("devices/graphics")
    assert untouched is not None and untouched.get("listen") == "0.0.0.0"
    assert path.read_bytes() == before


def test_write_demo_estate_second_host_and_odd_paths(tmp_path: Path) -> None:
    uri = write_demo_estate(tmp_path / "with space" / "kvm-lab-02.xml", "kvm-lab-02")
    assert uri.startswith("test:///") and "%20" in uri
    conn = libvirt.openReadOnly(uri)
    assert sorted(d.name() for d in conn.listAllDomains()) == [
        "backup-01",
        "k8s-node-01",
        "k8s-node-02",
    ]
    with pytest.raises(ValueError, match="kvm-lab-01"):
        demo_estate("nope")

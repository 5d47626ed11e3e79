"""On-prem KVM estates for libvirt's built-in test driver (no libvirtd, no root).

An :class:`Estate` is a small declarative description (domains, snapshots, storage pools,
networks); :func:`write_estate` renders it in the test driver's ``<node>`` file format and
returns the ``test:///abs/path.xml`` URI to hand to ``libvirt.open()``/``openReadOnly()``.
:func:`write_demo_estate` writes the estate used by the tests and ``vmwb demo``.

Test-driver gotchas (libvirt 9.0, checked with libvirt-python 12.8):

* State is per connection for file URIs: every ``open()`` of the same file gets its own
  in-memory copy, so a snapshot deleted or a domain redefined through one connection is not
  seen by another one, and nothing is written back to the file. (``test:///default`` is the
  opposite: one copy shared by the whole process.) Read your changes on the same connection.
* Graphics passwords are only in ``XMLDesc(VIR_DOMAIN_XML_SECURE)``, which a read-only
  connection may not ask for ("operation forbidden"): read-only, a VNC/SPICE console with a
  password looks exactly like one without.
* ``<os firmware='efi'>`` (firmware autoselection) forbids loader paths/attributes other than
  ``secure='yes'``: UEFI domains carry ``<loader secure='yes'/>`` with Secure Boot and
  ``<firmware><feature enabled='no' name='secure-boot'/></firmware>`` without it.
* Every snapshot needs ``<active>`` (0 or 1, at most one 1 per domain = the current snapshot),
  or the whole open fails with "Could not find 'active' element".
* Domain names only reject '/' (and newlines); markup such as ``[@click=app.quit]x`` is a
  valid name. ``<title>`` rejects newlines; XML 1.0 rejects C0 controls (ESC included) but
  allows C1 controls such as U+009B (CSI) and bidi overrides, which libvirt passes through.
* ``conn.getHostname()`` is this machine's hostname, not :attr:`Estate.host`; the host name
  of an estate lives in the estate description (and in the file name the demo uses).
* ``listAllDomains()`` order is not sorted.
"""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
_UUID_NS = uuid.UUID("6f1d0c52-7a5e-4f3c-9a7e-3c1f2b8d9e40")  # fixed: stable UUIDs across runs

# libvirt test driver run states (virDomainState).
_RUNNING, _SHUTOFF = 1, 5

# Hostile strings for the UI's untrusted-text handling: Textual action markup, Rich markup,
# a C1 CSI (U+009B, the 8-bit form of ESC [) and a right-to-left override. ESC itself cannot
# appear: XML 1.0 forbids C0 controls other than tab/LF/CR, even as character references.
HOSTILE_TITLE = "[@click=app.quit]x [bold red]PWNED[/] \u009b31mred\u009b0m \u202eexe.txt"
HOSTILE_DESCRIPTION = (
    "Kiosk in lobby 3.\n[@click=app.quit]Click me[/]\n\u009b2J\u009bH screen cleared\n"
    "[link=https://evil.example]support[/link]"
)
HOSTILE_NAME = "[@click=app.quit]x"


@dataclass(frozen=True)
class Graphics:
    kind: Literal["vnc", "spice"]
    listen: str
    passwd: str | None = None


@dataclass(frozen=True)
class Disk:
    source: str  # absolute path; matched against pool volume paths to find orphans
    target: str = "vda"
    device: Literal["disk", "cdrom", "floppy"] = "disk"
    luks: bool = False


@dataclass(frozen=True)
class Interface:
    network: str
    mac: str
    model: str = "virtio"


@dataclass(frozen=True)
class UsbHostdev:
    vendor: str  # "0x0781"
    product: str


@dataclass(frozen=True)
class Snapshot:
    name: str
    created: datetime
    parent: str | None = None
    description: str = ""
    state: Literal["running", "shutoff"] = "shutoff"


@dataclass(frozen=True)
class Domain:
    name: str
    title: str = ""
    description: str = ""
    running: bool = True
    memory_mib: int = 2048
    vcpus: int = 2
    firmware: Literal["efi", "bios"] = "efi"
    secure_boot: bool = False  # only meaningful with firmware="efi"
    tpm: bool = False
    graphics: tuple[Graphics, ...] = ()
    disks: tuple[Disk, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    serial: bool = False
    usb: tuple[UsbHostdev, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()  # parents before children
    current_snapshot: str | None = None  # None: the last snapshot is current


@dataclass(frozen=True)
class Volume:
    name: str
    capacity_gib: float
    allocation_gib: float
    format: str = "qcow2"


@dataclass(frozen=True)
class Pool:
    name: str
    path: str
    volumes: tuple[Volume, ...] = ()
    capacity_gib: int = 2000

    def volume_path(self, volume: str) -> str:
        return f"{self.path}/{volume}"


@dataclass(frozen=True)
class Network:
    name: str
    bridge: str
    address: str  # the host's address on the network, /24
    forward: Literal["nat", "route", "isolated"] = "nat"


@dataclass(frozen=True)
class Estate:
    host: str
    domains: tuple[Domain, ...] = ()
    pools: tuple[Pool, ...] = ()
    networks: tuple[Network, ...] = ()

    def orphaned_volumes(self) -> list[str]:
        """Paths of pool volumes that no domain disk refers to."""
        used = {disk.source for d in self.domains for disk in d.disks}
        paths = (pool.volume_path(v.name) for pool in self.pools for v in pool.volumes)
        return [path for path in paths if path not in used]

    def domain_uuid(self, name: str) -> str:
        return str(uuid.uuid5(_UUID_NS, f"{self.host}/{name}"))


def mac_for(host: str, name: str, index: int = 0) -> str:
    """A stable, locally administered KVM-style MAC (52:54:00:xx:xx:xx)."""
    digest = hashlib.sha256(f"{host}/{name}/{index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


# ---------------------------------------------------------------- rendering


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def _domain_element(estate: Estate, dom: Domain) -> ET.Element:
    el = ET.Element("domain", type="test")
    _sub(el, "name", dom.name)
    _sub(el, "uuid", estate.domain_uuid(dom.name))
    if dom.title:
        _sub(el, "title", dom.title)
    if dom.description:
        _sub(el, "description", dom.description)
    _sub(el, "memory", str(dom.memory_mib), unit="MiB")
    _sub(el, "vcpu", str(dom.vcpus))

    if dom.firmware == "efi":
        os_el = _sub(el, "os", firmware="efi")
        _sub(os_el, "type", "hvm", arch="x86_64", machine="q35")
        if dom.secure_boot:
            _sub(os_el, "loader", secure="yes")
        else:
            # Autoselection refuses secure='no'; the firmware feature list is how it's said.
            fw = _sub(os_el, "firmware")
            _sub(fw, "feature", enabled="no", name="secure-boot")
    else:
        os_el = _sub(el, "os")
        _sub(os_el, "type", "hvm", arch="x86_64", machine="pc")
    _sub(os_el, "boot", dev="hd")
    features = _sub(el, "features")
    _sub(features, "acpi")
    if dom.secure_boot:
        _sub(features, "smm", state="on")  # real QEMU refuses Secure Boot without SMM

    devices = _sub(el, "devices")
    for disk in dom.disks:
        disk_el = _sub(devices, "disk", type="file", device=disk.device)
        if disk.device == "disk":
            _sub(disk_el, "driver", name="qemu", type="qcow2")
        _sub(disk_el, "source", file=disk.source)
        bus = {"disk": "virtio", "cdrom": "sata", "floppy": "fdc"}[disk.device]
        _sub(disk_el, "target", dev=disk.target, bus=bus)
        if disk.device == "cdrom":
            _sub(disk_el, "readonly")
        if disk.luks:
            enc = _sub(disk_el, "encryption", format="luks")
            secret = str(uuid.uuid5(_UUID_NS, f"{estate.host}/{dom.name}/{disk.target}/luks"))
            _sub(enc, "secret", type="passphrase", uuid=secret)
    for nic in dom.interfaces:
        nic_el = _sub(devices, "interface", type="network")
        _sub(nic_el, "mac", address=nic.mac)
        _sub(nic_el, "source", network=nic.network)
        _sub(nic_el, "model", type=nic.model)
    if dom.serial:
        serial = _sub(devices, "serial", type="pty")
        _sub(serial, "target", port="0")
    if dom.usb:
        _sub(devices, "controller", type="usb", model="qemu-xhci")
    for dev in dom.usb:
        hostdev = _sub(devices, "hostdev", mode="subsystem", type="usb")
        source = _sub(hostdev, "source")
        _sub(source, "vendor", id=dev.vendor)
        _sub(source, "product", id=dev.product)
    for gfx in dom.graphics:
        attrs = {"type": gfx.kind, "autoport": "yes", "listen": gfx.listen}
        if gfx.passwd is not None:
            attrs["passwd"] = gfx.passwd
        gfx_el = _sub(devices, "graphics", **attrs)
        _sub(gfx_el, "listen", type="address", address=gfx.listen)
    if dom.tpm:
        tpm = _sub(devices, "tpm", model="tpm-crb")
        _sub(tpm, "backend", type="emulator", version="2.0")
    return el


def _snapshot_element(dom: Domain, snap: Snapshot, domain_copy: ET.Element) -> ET.Element:
    current = dom.current_snapshot or dom.snapshots[-1].name
    el = ET.Element(f"{{{TEST_NS}}}domainsnapshot")
    _sub(el, "name", snap.name)
    if snap.description:
        _sub(el, "description", snap.description)
    _sub(el, "state", snap.state)
    if snap.parent:
        parent = _sub(el, "parent")
        _sub(parent, "name", snap.parent)
    _sub(el, "creationTime", str(int(snap.created.timestamp())))
    _sub(el, "active", "1" if snap.name == current else "0")  # required by the test driver
    # The domain config at snapshot time; without it libvirt logs a warning per snapshot.
    el.append(domain_copy)
    return el


def _pool_element(pool: Pool) -> ET.Element:
    el = ET.Element("pool", type="dir")
    _sub(el, "name", pool.name)
    used = round(sum(v.allocation_gib for v in pool.volumes))
    _sub(el, "capacity", str(pool.capacity_gib), unit="G")
    _sub(el, "allocation", str(used), unit="G")
    _sub(el, "available", str(pool.capacity_gib - used), unit="G")
    target = _sub(el, "target")
    _sub(target, "path", pool.path)
    for vol in pool.volumes:
        vol_el = _sub(el, "volume", type="file")
        _sub(vol_el, "name", vol.name)
        # libvirt wants integers; bytes keep sub-GiB images (a floppy) exact enough.
        _sub(vol_el, "capacity", str(round(vol.capacity_gib * 2**30)), unit="bytes")
        _sub(vol_el, "allocation", str(round(vol.allocation_gib * 2**30)), unit="bytes")
        vol_target = _sub(vol_el, "target")
        _sub(vol_target, "format", type=vol.format)
    return el


def _network_element(net: Network) -> ET.Element:
    el = ET.Element("network")
    _sub(el, "name", net.name)
    _sub(el, "bridge", name=net.bridge)
    if net.forward != "isolated":  # no <forward> is how libvirt spells "isolated"
        _sub(el, "forward", mode=net.forward)
    ip = _sub(el, "ip", address=net.address, netmask="255.255.255.0")
    prefix = net.address.rsplit(".", 1)[0]
    dhcp = _sub(ip, "dhcp")
    _sub(dhcp, "range", start=f"{prefix}.100", end=f"{prefix}.254")
    return el


def estate_xml(estate: Estate) -> str:
    """The estate as a libvirt test-driver ``<node>`` document."""
    ET.register_namespace("test", TEST_NS)  # readable prefix; idempotent
    node = ET.Element("node")
    node.append(ET.Comment(f" vmwb libvirt test-driver estate for host {estate.host} "))
    for dom in estate.domains:
        dom_el = _domain_element(estate, dom)
        for snap in dom.snapshots:
            dom_el.append(_snapshot_element(dom, snap, _domain_element(estate, dom)))
        runstate = ET.SubElement(dom_el, f"{{{TEST_NS}}}runstate")
        runstate.text = str(_RUNNING if dom.running else _SHUTOFF)
        node.append(dom_el)
    for net in estate.networks:
        node.append(_network_element(net))
    for pool in estate.pools:
        node.append(_pool_element(pool))
    ET.indent(node)
    return ET.tostring(node, encoding="unicode") + "\n"


def estate_uri(path: str | Path) -> str:
    """``test:///abs/path.xml`` for an estate file (percent-encoded, libvirt decodes it)."""
    return "test://" + quote(str(Path(path).resolve()), safe="/")


def write_estate(estate: Estate, path: str | Path) -> str:
    """Write ``estate`` to ``path`` and return its ``test:///...`` URI."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + estate_xml(estate), "utf-8")
    return estate_uri(path)


# ---------------------------------------------------------------- the demo estate

DEMO_HOSTS = ("kvm-lab-01", "kvm-lab-02")
_IMAGES = "/var/lib/libvirt/images"
_ISOS = "/var/lib/libvirt/iso"


def _vol(name: str) -> str:
    return f"{_IMAGES}/{name}"


def demo_estate(host: str = "kvm-lab-01", now: datetime | None = None) -> Estate:
    """A realistic small KVM estate for ``host`` (one of :data:`DEMO_HOSTS`).

    Snapshot times are relative to ``now`` (default: the current time) so "old" stays old;
    pass a fixed ``now`` for reproducible output.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)

    def days_ago(days: float) -> datetime:
        return now - timedelta(days=days)

    def nic(name: str, network: str = "default", index: int = 0) -> Interface:
        return Interface(network, mac_for(host, name, index))

    if host == "kvm-lab-02":
        return _demo_lab_02(host, days_ago, nic)
    if host != "kvm-lab-01":
        raise ValueError(f"no demo estate for host {host!r}; known: {', '.join(DEMO_HOSTS)}")

    vnc_local = Graphics("vnc", "127.0.0.1", passwd="Vnc-6f2b1a")
    domains = (
        # Hardened: Secure Boot, vTPM, LUKS, console on loopback with a password.
        Domain(
            "web-01",
            title="Public web frontend",
            firmware="efi",
            secure_boot=True,
            tpm=True,
            graphics=(vnc_local,),
            disks=(Disk(_vol("web-01.qcow2"), luks=True),),
            interfaces=(nic("web-01"),),
        ),
        Domain(
            "web-02",
            title="Public web frontend (canary)",
            firmware="efi",
            secure_boot=True,
            graphics=(Graphics("spice", "0.0.0.0"),),
            disks=(Disk(_vol("web-02.qcow2")),),
            interfaces=(nic("web-02"),),
            snapshots=(
                Snapshot("pre-patch", days_ago(12), state="running"),
                Snapshot("post-patch", days_ago(11), "pre-patch", state="running"),
            ),
        ),
        Domain(
            "db-01",
            title="PostgreSQL primary",
            memory_mib=16384,
            vcpus=8,
            firmware="efi",
            secure_boot=True,
            tpm=True,
            graphics=(vnc_local,),
            disks=(
                Disk(_vol("db-01.qcow2"), luks=True),
                Disk(_vol("db-01-data.qcow2"), target="vdb", luks=True),
            ),
            interfaces=(nic("db-01"), nic("db-01", "storage-net", 1)),
            snapshots=(
                Snapshot("before-pg15-upgrade", days_ago(540), description="pg14 -> pg15"),
                Snapshot("pg15-migrated", days_ago(538), "before-pg15-upgrade"),
                Snapshot("nightly", days_ago(1), "pg15-migrated", state="running"),
            ),
        ),
        # Legacy: BIOS, console open to the network, floppy/serial/CD, ancient snapshot chain.
        Domain(
            "legacy-erp",
            title="ERP 2012 (do not patch)",
            memory_mib=4096,
            firmware="bios",
            graphics=(Graphics("vnc", "0.0.0.0"),),
            disks=(
                Disk(_vol("legacy-erp.qcow2")),
                Disk(_vol("legacy-erp-drivers.img"), target="fda", device="floppy"),
                Disk(f"{_ISOS}/win2012r2.iso", target="sda", device="cdrom"),
            ),
            interfaces=(nic("legacy-erp"),),
            serial=True,
            snapshots=(
                Snapshot("golden-2019", days_ago(1900), description="vendor install"),
                Snapshot("sp2", days_ago(1500), "golden-2019"),
                Snapshot("before-migration", days_ago(800), "sp2"),
            ),
        ),
        Domain(
            "build-runner",
            title="CI runner",
            vcpus=4,
            firmware="efi",
            secure_boot=False,
            tpm=True,
            disks=(Disk(_vol("build-runner.qcow2")),),
            interfaces=(nic("build-runner"),),
            serial=True,  # headless: serial console only
        ),
        Domain(
            "win-ad-01",
            title="Active Directory DC",
            memory_mib=8192,
            firmware="efi",
            secure_boot=True,
            tpm=True,
            graphics=(Graphics("spice", "127.0.0.1", passwd="Spice-91c3e0"),),
            disks=(Disk(_vol("win-ad-01.qcow2"), luks=True),),
            interfaces=(nic("win-ad-01"),),
            usb=(UsbHostdev("0x1050", "0x0407"),),  # a YubiKey passed through
            snapshots=(Snapshot("pre-kb5034441", days_ago(20), state="running"),),
        ),
        Domain(
            "dev-sandbox",
            title="Developer sandbox",
            running=False,
            firmware="bios",
            graphics=(Graphics("vnc", "0.0.0.0"),),
            disks=(Disk(_vol("dev-sandbox.qcow2")),),
            interfaces=(nic("dev-sandbox"),),
            serial=True,
            usb=(UsbHostdev("0x0781", "0x5567"),),  # a SanDisk USB stick passed through
            snapshots=(
                Snapshot("clean-install", days_ago(420)),
                Snapshot("before-experiment", days_ago(3), "clean-install"),
            ),
        ),
        Domain(
            "monitoring",
            title="Prometheus + Grafana",
            memory_mib=4096,
            firmware="efi",
            secure_boot=True,
            graphics=(vnc_local,),
            disks=(Disk(_vol("monitoring.qcow2")),),
            interfaces=(nic("monitoring"), nic("monitoring", "storage-net", 1)),
        ),
        Domain(
            "centos7-template",
            title="CentOS 7 template (EOL)",
            running=False,
            firmware="bios",
            graphics=(Graphics("vnc", "0.0.0.0"),),
            disks=(Disk(_vol("centos7-template.qcow2")),),
            interfaces=(nic("centos7-template"),),
            snapshots=(Snapshot("sealed", days_ago(1100), description="sysprepped"),),
        ),
        # Untrusted text for the UI: markup and control characters in title/description.
        Domain(
            "kiosk-03",
            title=HOSTILE_TITLE,
            description=HOSTILE_DESCRIPTION,
            memory_mib=1024,
            vcpus=1,
            firmware="efi",
            secure_boot=True,
            graphics=(Graphics("spice", "0.0.0.0"),),
            disks=(Disk(_vol("kiosk-03.qcow2")),),
            interfaces=(nic("kiosk-03"),),
        ),
        # libvirt accepts markup in names too (only '/' is refused).
        Domain(
            HOSTILE_NAME,
            title="Imported from a customer OVA",
            running=False,
            memory_mib=1024,
            vcpus=1,
            firmware="bios",
            disks=(Disk(_vol("imported-ova.qcow2")),),
            interfaces=(nic(HOSTILE_NAME),),
        ),
    )
    used = {d.source.rsplit("/", 1)[1] for dom in domains for d in dom.disks}
    sizes = {"db-01-data.qcow2": (500, 310), "legacy-erp-drivers.img": (1.44 / 1024, 1.44 / 1024)}
    images = [
        Volume(n, *sizes.get(n, (40, 12)), format="raw" if n.endswith(".img") else "qcow2")
        for n in sorted(used - {"win2012r2.iso"})
    ]
    orphans = [
        Volume("legacy-erp-backup-2021.qcow2", 200, 180),  # forgotten backup copy
        Volume("web-01-clone.qcow2", 40, 11),  # a clone whose domain was undefined
        Volume("scratch.raw", 100, 100, format="raw"),
    ]
    return Estate(
        host=host,
        domains=domains,
        pools=(
            Pool("default", _IMAGES, tuple(images + orphans)),
            Pool(
                "iso",
                _ISOS,
                (
                    Volume("win2012r2.iso", 5, 5, format="raw"),
                    Volume("debian-12.5-netinst.iso", 1, 1, format="raw"),  # orphan
                ),
                capacity_gib=100,
            ),
        ),
        networks=(
            Network("default", "virbr0", "192.168.122.1"),
            Network("storage-net", "virbr1", "10.10.50.1", forward="isolated"),
        ),
    )


def _demo_lab_02(
    host: str, days_ago: Callable[[float], datetime], nic: Callable[[str], Interface]
) -> Estate:
    domains = (
        Domain(
            "backup-01",
            title="Bacula director",
            firmware="bios",
            graphics=(Graphics("vnc", "0.0.0.0"),),
            disks=(Disk(_vol("backup-01.qcow2")),),
            interfaces=(nic("backup-01"),),
            snapshots=(Snapshot("pre-upgrade", days_ago(700)),),
        ),
        Domain(
            "k8s-node-01",
            title="Kubernetes worker",
            vcpus=4,
            memory_mib=8192,
            secure_boot=True,
            tpm=True,
            disks=(Disk(_vol("k8s-node-01.qcow2"), luks=True),),
            interfaces=(nic("k8s-node-01"),),
            serial=True,
        ),
        Domain(
            "k8s-node-02",
            title="Kubernetes worker",
            vcpus=4,
            memory_mib=8192,
            secure_boot=True,
            graphics=(Graphics("spice", "127.0.0.1", passwd="Spice-0d77aa"),),
            disks=(Disk(_vol("k8s-node-02.qcow2")),),
            interfaces=(nic("k8s-node-02"),),
            snapshots=(Snapshot("pre-kubelet-1.33", days_ago(5), state="running"),),
        ),
    )
    volumes = tuple(Volume(f"{d.name}.qcow2", 60, 20) for d in domains) + (
        Volume("k8s-node-03.qcow2", 60, 18),  # orphan: node removed from the cluster
    )
    return Estate(
        host=host,
        domains=domains,
        pools=(Pool("default", _IMAGES, volumes),),
        networks=(Network("default", "virbr0", "192.168.122.1"),),
    )


def write_demo_estate(
    path: str | Path, host: str = "kvm-lab-01", now: datetime | None = None
) -> str:
    """Write the demo estate of ``host`` to ``path``; return its ``test:///...`` URI."""
    return write_estate(demo_estate(host, now), path)

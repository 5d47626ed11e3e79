"""Rendering an :class:`Estate` in libvirt's test-driver ``<node>`` file format.

:func:`estate_xml` builds the document, :func:`write_estate` writes it and returns the
``test:///abs/path.xml`` URI to hand to ``libvirt.open()``/``openReadOnly()``. The test
driver's format quirks this has to respect (``<active>`` on every snapshot, firmware
autoselection's loader rules, ...) are listed in :mod:`workbench.emulators.libvirt_estate`.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from workbench.emulators.libvirt_estate_model import (
    UUID_NS,
    Domain,
    Estate,
    Network,
    Pool,
    Snapshot,
)

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"

# libvirt test driver run states (virDomainState).
_RUNNING, _SHUTOFF = 1, 5


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
    if dom.cpu_mode:
        _sub(el, "cpu", mode=dom.cpu_mode)

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
            secret = str(uuid.uuid5(UUID_NS, f"{estate.host}/{dom.name}/{disk.target}/luks"))
            _sub(enc, "secret", type="passphrase", uuid=secret)
    for nic in dom.interfaces:
        nic_el = _sub(devices, "interface", type="network")
        _sub(nic_el, "mac", address=nic.mac)
        _sub(nic_el, "source", network=nic.network)
        _sub(nic_el, "model", type=nic.model)
        if nic.filter:
            _sub(nic_el, "filterref", filter=nic.filter)
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
    if dom.seclabel:
        _sub(el, "seclabel", type=dom.seclabel, model="none")
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

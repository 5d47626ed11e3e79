"""Facts from a libvirt domain XML: firmware, Secure Boot, TPM, consoles, disks, NICs, legacy devices.

Pure functions over the XML text, so they are tested without libvirt and reused by the fixes. libvirt's XML is
the only complete description of a domain (the API has no per-device getters), and it is the same for every
driver (qemu, test, xen), which is why the collector parses it rather than calling driver-specific APIs.
"""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from typing import Any

from workbench.errors import BadAnswer

# Loader file names that mean a Secure Boot build of OVMF/edk2 (Debian/Fedora/Ubuntu spellings).
_SECBOOT_LOADER = re.compile(r"secboot|\.ms\.fd|secure", re.IGNORECASE)
_UEFI_LOADER = re.compile(r"ovmf|edk2|aavmf|uefi", re.IGNORECASE)
# VNC's default listen address when the domain says nothing is qemu.conf's vnc_listen, 127.0.0.1 out of the box.
QEMU_DEFAULT_LISTEN = "127.0.0.1"
LEGACY_KINDS = ("floppy", "cdrom", "serial", "parallel", "usb")


# What every domain XML libvirt formats has, whatever the driver: without them the text is not a domain's
# description (a cut answer, another document), and reading it would make a VM look as if it had no devices.
DOMAIN_ELEMENTS = ("name", "uuid", "os", "devices")


def parse(xml_text: str) -> ET.Element:
    return ET.fromstring(xml_text)


def parse_element(xml_text: str, tag: str, what: str) -> ET.Element:
    """``xml_text`` parsed, whose root is ``<tag>``; :class:`BadAnswer` naming ``what`` otherwise."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise BadAnswer(
            f"{what}: the XML does not parse ({exc}), so it is not libvirt's answer"
        ) from exc
    if root.tag != tag:
        raise BadAnswer(
            f"{what}: the XML is a <{root.tag}>, not a <{tag}>, so it is not libvirt's answer"
        )
    return root


def parse_domain(xml_text: str, uuid: str) -> ET.Element:
    """A domain's XML, checked to be that domain's full description (:data:`DOMAIN_ELEMENTS`, its UUID)."""
    what = f"domain {uuid}"
    root = parse_element(xml_text, "domain", what)
    missing = [name for name in DOMAIN_ELEMENTS if root.find(name) is None]
    if missing:
        raise BadAnswer(
            f"{what}: the XML has no <{'>, <'.join(missing)}>, so it is not libvirt's answer"
        )
    if (root.findtext("uuid") or "").strip().lower() != uuid.lower():
        raise BadAnswer(f"{what}: the XML describes another domain ({root.findtext('uuid')})")
    return root


def strip_secrets(xml_text: str) -> str:
    """The XML without console passwords: ``raw`` goes to the cache, which must never hold a secret."""
    root = ET.fromstring(xml_text)
    for gfx in root.iter("graphics"):
        if "passwd" in gfx.attrib:
            gfx.set("passwd", "***")
    return ET.tostring(root, encoding="unicode")


def firmware(root: ET.Element) -> dict[str, Any]:
    """``boot_mode`` (uefi | legacy-bios), ``secure_boot`` (True/False/None) and the loader details."""
    os_el = root.find("os")
    if os_el is None:
        return {"boot_mode": None, "secure_boot": None, "loader": None}
    loader = os_el.find("loader")
    loader_path = (loader.text or "").strip() if loader is not None else ""
    features = {f.get("name"): f.get("enabled") == "yes" for f in os_el.findall("firmware/feature")}
    uefi = (
        os_el.get("firmware") == "efi"
        or (loader is not None and loader.get("type") == "pflash")
        or bool(_UEFI_LOADER.search(loader_path))
        or "secure-boot" in features
    )
    if not uefi:
        return {"boot_mode": "legacy-bios", "secure_boot": False, "loader": loader_path or None}
    secure: bool | None
    if loader is not None and loader.get("secure") in ("yes", "no"):
        secure = loader.get("secure") == "yes"
    elif "secure-boot" in features:
        secure = features["secure-boot"]
    elif loader_path:
        secure = bool(_SECBOOT_LOADER.search(loader_path))
    else:
        secure = None  # firmware autoselection with no requirement: libvirt may pick either build
    return {"boot_mode": "uefi", "secure_boot": secure, "loader": loader_path or None}


def tpm(root: ET.Element) -> dict[str, Any] | None:
    el = root.find("devices/tpm")
    if el is None:
        return None
    backend = el.find("backend")
    return {
        "model": el.get("model"),
        "backend": backend.get("type") if backend is not None else None,
        "version": backend.get("version") if backend is not None else None,
    }


def is_local_listen(address: str | None) -> bool:
    """Loopback (or no network at all): only users of the host itself can reach the console."""
    if address is None:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address in ("localhost", "socket", "none")


def graphics(root: ET.Element, *, secure_xml: bool) -> list[dict[str, Any]]:
    """VNC/SPICE consoles: where they listen and whether they have a password.

    ``has_password`` is None when the XML was read without ``VIR_DOMAIN_XML_SECURE`` (a read-only connection):
    libvirt then leaves the password out, so a console with one looks exactly like one without.
    """
    out = []
    for gfx in root.findall("devices/graphics"):
        kind = gfx.get("type", "")
        if kind not in ("vnc", "spice", "rdp"):
            continue  # sdl/egl-headless/dbus show on the host's own display
        listen = gfx.get("listen")
        listen_type = "address" if listen else None
        for sub in gfx.findall("listen"):
            listen_type = sub.get("type") or listen_type
            if sub.get("type") == "address" and sub.get("address"):
                listen = sub.get("address")
            elif sub.get("type") == "network":
                listen = f"network:{sub.get('network', '')}"
            elif sub.get("type") in ("socket", "none"):
                listen = sub.get("type")
        if listen is None and listen_type is None and kind == "vnc":
            listen, listen_type = QEMU_DEFAULT_LISTEN, "default"
        has_password: bool | None = "passwd" in gfx.attrib if secure_xml else None
        if not secure_xml and "passwd" in gfx.attrib:
            has_password = True
        out.append(
            {
                "type": kind,
                "listen": listen,
                "listen_type": listen_type,
                "exposed": listen is not None and not is_local_listen(listen),
                "has_password": has_password,
                "port": _int(gfx.get("port")),
                "autoport": gfx.get("autoport") == "yes",
            }
        )
    return out


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def disks(root: ET.Element) -> list[dict[str, Any]]:
    out = []
    for disk in root.findall("devices/disk"):
        source = disk.find("source")
        path = None
        if source is not None:
            path = (
                source.get("file")
                or source.get("dev")
                or source.get("name")  # network disks (rbd pool/image, iscsi)
                or (
                    f"{source.get('pool')}/{source.get('volume')}" if source.get("volume") else None
                )
            )
        target = disk.find("target")
        enc = disk.find("encryption")
        if enc is None and source is not None:
            enc = source.find("encryption")  # libvirt >= 8.10 may place it under <source>
        out.append(
            {
                "device": disk.get("device", "disk"),
                "type": disk.get("type"),
                "source": path,
                "target": target.get("dev") if target is not None else None,
                "bus": target.get("bus") if target is not None else None,
                "readonly": disk.find("readonly") is not None,
                "encryption": (enc.get("format") or "unknown") if enc is not None else "none",
                "format": _attr(disk, "driver", "type"),
            }
        )
    return out


def _attr(parent: ET.Element, child: str, name: str) -> str | None:
    el = parent.find(child)
    return el.get(name) if el is not None else None


def interfaces(root: ET.Element) -> list[dict[str, Any]]:
    out = []
    for nic in root.findall("devices/interface"):
        source = nic.find("source")
        attrs = dict(source.attrib) if source is not None else {}
        out.append(
            {
                "type": nic.get("type"),
                "mac": _attr(nic, "mac", "address"),
                "network": attrs.get("network"),
                "bridge": attrs.get("bridge"),
                "source": attrs.get("network") or attrs.get("bridge") or attrs.get("dev"),
                "model": _attr(nic, "model", "type"),
                "filter": _attr(nic, "filterref", "filter"),
            }
        )
    return out


def seclabels(root: ET.Element) -> list[dict[str, Any]]:
    """The domain's security labels (sVirt): type none means the guest runs unconfined by SELinux/AppArmor."""
    return [
        {"type": el.get("type"), "model": el.get("model"), "relabel": el.get("relabel")}
        for el in root.findall("seclabel")
    ]


def cpu(root: ET.Element) -> dict[str, Any]:
    """The guest CPU's mode and the virtualization extension (vmx/svm) it is given, if one is required or forced:
    what lets the guest run a nested hypervisor."""
    el = root.find("cpu")
    if el is None:
        return {"mode": None, "nested_feature": None}
    nested = next(
        (
            f.get("name")
            for f in el.findall("feature")
            if f.get("name") in ("vmx", "svm")
            and f.get("policy", "require") in ("require", "force")
        ),
        None,
    )
    return {"mode": el.get("mode", "custom"), "nested_feature": nested}


def legacy_devices(root: ET.Element, disk_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Floppy, CD-ROM, serial, parallel and USB pass-through devices, in one shape for every platform.

    ``connected`` means the device gives the guest a path out (media inserted, a host device or a socket
    attached); an empty CD drive is listed but not connected.
    """
    out: list[dict[str, Any]] = []
    for disk in disk_list:
        if disk["device"] in ("floppy", "cdrom"):
            out.append(
                {
                    "kind": disk["device"],
                    "label": disk["target"],
                    "connected": disk["source"] is not None,
                    "backing": disk["source"],
                }
            )
    for kind in ("serial", "parallel"):
        for dev in root.findall(f"devices/{kind}"):
            source = dev.find("source")
            backing = dev.get("type", "")
            if source is not None and (source.get("host") or source.get("service")):
                backing += f" {source.get('host', '')}:{source.get('service', '')}"
            target = dev.find("target")
            port = target.get("port") if target is not None else None
            out.append(
                {
                    "kind": kind,
                    "label": f"{kind}{port or ''}",
                    "connected": True,
                    "backing": backing,
                }
            )
    for dev in root.findall("devices/hostdev[@type='usb']"):
        vendor = _attr(dev, "source/vendor", "id")
        product = _attr(dev, "source/product", "id")
        out.append(
            {
                "kind": "usb",
                "label": f"usb {vendor}:{product}",
                "connected": True,
                "backing": "host",
            }
        )
    for dev in root.findall("devices/redirdev[@bus='usb']"):
        out.append(
            {
                "kind": "usb",
                "label": "usb redirection",
                "connected": True,
                "backing": dev.get("type"),
            }
        )
    return out


def platform(root: ET.Element) -> str:
    """windows | linux | "" from the libosinfo id virt-install records, or Hyper-V enlightenments."""
    for el in root.iter():
        if el.tag.endswith("}os") and el.get("id"):
            os_id = el.get("id", "")
            return "windows" if "microsoft.com/win" in os_id else "linux"
    if root.find("features/hyperv") is not None:
        return "windows"
    return ""


def has_guest_agent(root: ET.Element) -> bool:
    return any(
        t.get("name") == "org.qemu.guest_agent.0" for t in root.findall("devices/channel/target")
    )


def memory_mib(root: ET.Element) -> int | None:
    el = root.find("memory")
    if el is None or not (el.text or "").strip():
        return None
    scale = {"KiB": 1 / 1024, "k": 1 / 1024, "MiB": 1, "M": 1, "GiB": 1024, "G": 1024, "b": 2**-20}
    return round(int(el.text or "0") * scale.get(el.get("unit", "KiB"), 1 / 1024))

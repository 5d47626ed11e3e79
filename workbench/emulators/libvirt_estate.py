"""On-prem KVM estates for libvirt's built-in test driver (no libvirtd, no root).

An :class:`Estate` is a small declarative description (domains, snapshots, storage pools,
networks); :func:`write_estate` renders it in the test driver's ``<node>`` file format and
returns the ``test:///abs/path.xml`` URI to hand to ``libvirt.open()``/``openReadOnly()``.
:func:`write_demo_estate` writes the estate used by the tests and ``vmwb demo``.

This module holds that demo estate (and the hostile strings it plants for the UI); the
description's dataclasses live in :mod:`workbench.emulators.libvirt_estate_model` and the
rendering in :mod:`workbench.emulators.libvirt_estate_xml`.

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

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from workbench.emulators.libvirt_estate_model import (
    Disk,
    Domain,
    Estate,
    Graphics,
    Interface,
    Network,
    Pool,
    Snapshot,
    UsbHostdev,
    Volume,
    mac_for,
)
from workbench.emulators.libvirt_estate_xml import (
    write_estate,
)

# Hostile strings for the UI's untrusted-text handling: Textual action markup, Rich markup,
# a C1 CSI (U+009B, the 8-bit form of ESC [) and a right-to-left override. ESC itself cannot
# appear: XML 1.0 forbids C0 controls other than tab/LF/CR, even as character references.
HOSTILE_TITLE = "[@click=app.quit]x [bold red]PWNED[/] \u009b31mred\u009b0m \u202eexe.txt"
HOSTILE_DESCRIPTION = (
    "Kiosk in lobby 3.\n[@click=app.quit]Click me[/]\n\u009b2J\u009bH screen cleared\n"
    "[link=https://evil.example]support[/link]"
)
HOSTILE_NAME = "[@click=app.quit]x"


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

    def nic(
        name: str, network: str = "default", index: int = 0, filter: str | None = None
    ) -> Interface:
        return Interface(network, mac_for(host, name, index), filter=filter)

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
            interfaces=(nic("web-01", filter="clean-traffic"),),
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
            interfaces=(
                nic("db-01", filter="clean-traffic"),
                nic("db-01", "storage-net", 1),  # the storage NIC has no filter: db-01 fails ONP-10
            ),
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
            seclabel="none",  # sVirt off, for an old vendor driver
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
            cpu_mode="host-passthrough",  # runs VM-based test jobs: nested virtualization
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

"""The declarative description of a libvirt test-driver estate: its dataclasses and stable ids.

An :class:`Estate` lists a host's domains (with their snapshots, disks, NICs, consoles), storage
pools and networks as frozen dataclasses. They are kept apart from the XML rendering
(:mod:`workbench.emulators.libvirt_estate_xml`) and from the demo estate
(:mod:`workbench.emulators.libvirt_estate`) so both can share them without importing each
other.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

UUID_NS = uuid.UUID("6f1d0c52-7a5e-4f3c-9a7e-3c1f2b8d9e40")  # fixed: stable UUIDs across runs


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
    filter: str | None = None  # an nwfilter reference (clean-traffic: anti-spoofing)


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
    seclabel: str | None = None  # "none": the domain opts out of sVirt confinement
    cpu_mode: str | None = None  # "host-passthrough": the guest sees vmx/svm and can nest


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
        return str(uuid.uuid5(UUID_NS, f"{self.host}/{name}"))


def mac_for(host: str, name: str, index: int = 0) -> str:
    """A stable, locally administered KVM-style MAC (52:54:00:xx:xx:xx)."""
    digest = hashlib.sha256(f"{host}/{name}/{index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])

"""The normalized model every provider maps onto.

One record class per kind of thing the cache holds. Collectors of every platform (AWS, GCP, Azure, libvirt,
vSphere) emit these; the cache stores each kind in its own typed table (see ``workbench.cache.schema``) so checks
are plain indexed SQL. What a platform has and the model does not goes to ``extra`` (normalized, JSON) and the
untouched API response to ``raw``.

Conventions:
- ``id`` is the provider's own id (``i-…``, ``vol-…``, ``snap-…``, ``ami-…``, ``sg-…``, a GCP self-link name, an
  Azure ARM id, a libvirt domain UUID…). ``uid`` adds the scope, so ids that repeat across accounts stay distinct.
- Times are ISO 8601 strings in UTC (``2026-11-26T14:00:00Z``) or None.
- Tri-state booleans (True / False / None = unknown) are stored as 1 / 0 / NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PROVIDERS = ("aws", "gcp", "azure", "libvirt", "vsphere")


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """Where a set of resources lives: one account (project, subscription, host) and one region (zone group).

    ``region`` is ``"global"`` for scopes with no region (a GCP project's global resources, a hypervisor host).
    ``handle`` carries whatever the provider needs to reach the scope (a boto3 session, a client factory); it is
    never stored.
    """

    provider: str
    account: str
    region: str
    label: str = ""
    handle: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def scope_id(self) -> str:
        return f"{self.provider}:{self.account}:{self.region}"


def make_uid(provider: str, account: str, region: str, kind: str, rid: str) -> str:
    """The cache key of a resource: unique across providers, accounts, regions and kinds."""
    return f"{provider}:{account}:{region}:{kind}:{rid}"


@dataclass(slots=True)
class Record:
    """Fields every resource has. Subclasses add the kind's normalized columns."""

    KIND: ClassVar[str] = ""

    id: str
    name: str = ""
    created_at: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    raw: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Instance(Record):
    KIND: ClassVar[str] = "instance"

    state: str = ""  # running | stopped | terminated | pending | suspended …, lower case
    instance_type: str = ""
    platform: str = ""  # linux | windows | "" (unknown)
    image_id: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None
    state_changed_at: str | None = None
    imds_tokens: str | None = None  # AWS: required | optional
    imds_endpoint: str | None = None  # AWS: enabled | disabled
    boot_mode: str | None = None  # uefi | legacy-bios | uefi-preferred
    secure_boot: bool | None = None
    vtpm: bool | None = None
    encryption_at_host: bool | None = None
    profile: str | None = None  # instance profile ARN / service account / managed identity
    managed: bool | None = None  # under a management agent (SSM, VM Manager, Arc, guest tools)
    deletion_protection: bool | None = None
    network_id: str | None = None
    subnet_id: str | None = None
    firewall_groups: list[str] = field(default_factory=list)
    volume_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Volume(Record):
    KIND: ClassVar[str] = "volume"

    state: str = ""  # in-use | available (unattached) | …
    size_gb: float | None = None
    volume_type: str = ""
    encrypted: bool | None = None
    kms_key: str | None = None
    encryption_type: str | None = None  # platform | cmk | csek | luks | none
    attached_to: list[str] = field(default_factory=list)  # instance ids
    public_access: bool | None = None  # Azure networkAccessPolicy/publicNetworkAccess, SAS export


@dataclass(slots=True)
class Snapshot(Record):
    KIND: ClassVar[str] = "snapshot"

    state: str = ""
    size_gb: float | None = None
    encrypted: bool | None = None
    kms_key: str | None = None
    source_volume_id: str | None = None
    source_instance_id: str | None = None  # hypervisor snapshots belong to a VM
    public: bool | None = None  # derived at ingest from its grants


@dataclass(slots=True)
class Image(Record):
    KIND: ClassVar[str] = "image"

    state: str = ""
    public: bool | None = None
    owner: str | None = None  # owning account / project / publisher
    encrypted: bool | None = None
    boot_mode: str | None = None
    tpm_support: str | None = None
    deprecated_at: str | None = None
    family: str | None = None
    platform: str = ""
    digest: str | None = None  # the fingerprint the platform exposes, if any


@dataclass(slots=True)
class FirewallGroup(Record):
    """A set of rules applied as a unit: an AWS security group, an Azure NSG, a GCP network's rule set."""

    KIND: ClassVar[str] = "firewall_group"

    network_id: str | None = None
    is_default: bool | None = None
    description: str = ""


@dataclass(slots=True)
class FirewallRule(Record):
    """One normalized rule: one direction, one protocol, one port range, one source.

    A provider rule with several sources or port ranges becomes several rows, each with the provider's rule id in
    ``extra["rule_id"]`` where one exists, so a fix can act on the original rule. ``world_open`` is derived once, at
    ingest, from ``source`` (0.0.0.0/0, ::/0, *, Internet, Any).
    """

    KIND: ClassVar[str] = "firewall_rule"

    group_id: str = ""
    direction: str = "ingress"  # ingress | egress
    action: str = "allow"  # allow | deny
    protocol: str = "-1"  # tcp | udp | icmp | -1 (all)
    port_from: int | None = None  # None with protocol -1 means every port
    port_to: int | None = None
    source: str = ""  # CIDR, tag, group id, service tag
    source_kind: str = "cidr"  # cidr | tag | group | service | any
    disabled: bool = False
    priority: int | None = None
    description: str = ""
    targets: list[str] = field(default_factory=list)  # GCP target tags / service accounts


@dataclass(slots=True)
class Network(Record):
    KIND: ClassVar[str] = "network"

    is_default: bool | None = None
    cidr: str | None = None
    flow_logs: bool | None = None


@dataclass(slots=True)
class Subnet(Record):
    KIND: ClassVar[str] = "subnet"

    network_id: str | None = None
    cidr: str | None = None
    flow_logs: bool | None = None
    firewall_group_id: str | None = None  # Azure: NSG on the subnet


@dataclass(slots=True)
class Grant(Record):
    """Who may use a snapshot or image, as a first-class row.

    ``grantee_kind``: public | all_authenticated | account | principal. ``id`` is ``<resource id>/<grantee>``.
    """

    KIND: ClassVar[str] = "grant"

    resource_kind: str = ""  # snapshot | image | volume
    resource_id: str = ""
    grantee_kind: str = ""
    grantee: str = ""
    permission: str = ""  # createVolumePermission | launchPermission | roles/compute.imageUser …


@dataclass(slots=True)
class Setting(Record):
    """An account- or region-level setting: ``id`` is the key, ``value`` its JSON-able value."""

    KIND: ClassVar[str] = "setting"

    value: Any = None


@dataclass(slots=True)
class PatchState(Record):
    """Patch state of one instance at sync time. ``id`` is the instance id."""

    KIND: ClassVar[str] = "patch_state"

    last_install_at: str | None = None
    last_scan_at: str | None = None
    installed_count: int | None = None
    missing_count: int | None = None
    failed_count: int | None = None
    critical_missing: int | None = None
    security_missing: int | None = None
    agent_online: bool | None = None
    auto_patch: bool | None = None


@dataclass(slots=True)
class Host(Record):
    """A hypervisor host (libvirt node, ESXi host)."""

    KIND: ClassVar[str] = "host"

    version: str = ""
    ssh_enabled: bool | None = None
    shell_enabled: bool | None = None
    lockdown_mode: str | None = None


@dataclass(slots=True)
class Relation:
    """An edge between two resources of the same scope, by provider id.

    kinds: ``attached`` (instance → volume), ``snapshot_of`` (snapshot → volume or instance), ``launched_from``
    (instance → image), ``protected_by`` (instance → firewall_group), ``in_network`` (instance → network/subnet).
    """

    src_kind: str
    src_id: str
    kind: str
    dst_kind: str
    dst_id: str


@dataclass(slots=True)
class TaskOutput:
    """What one collector task produced for one scope: the provider contract's output, which the cache's
    single writer turns into rows (providers know no SQLite)."""

    records: list[Record] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    #: (kind, id) → why part of that record could not be read this time (see :meth:`add`).
    stale: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, record: Record, *, stale: str | None = None) -> None:
        """Add ``record``. ``stale``: the error of a call behind it that failed, so the record is only what
        the other answers told (the failed call's part is None). The cache then keeps the row it knew instead
        (a kept snapshot or image keeps its grants), marked stale with the error; a record it never knew is
        stored as given, marked the same way."""
        self.records.append(record)
        if stale is not None:
            self.stale[(record.KIND, record.id)] = stale

    def relate(self, src_kind: str, src_id: str, kind: str, dst_kind: str, dst_id: str) -> None:
        self.relations.append(Relation(src_kind, src_id, kind, dst_kind, dst_id))


RECORD_TYPES: dict[str, type[Record]] = {
    cls.KIND: cls
    for cls in (
        Instance,
        Volume,
        Snapshot,
        Image,
        FirewallGroup,
        FirewallRule,
        Network,
        Subnet,
        Grant,
        Setting,
        PatchState,
        Host,
    )
}

WORLD_SOURCES = frozenset({"0.0.0.0/0", "::/0", "*", "internet", "any", "0.0.0.0", "::"})


def is_world(source: str | None) -> bool:
    """True when a firewall source means "anyone on the internet"."""
    return (source or "").strip().lower() in WORLD_SOURCES

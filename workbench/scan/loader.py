"""Load and validate the check catalogue.

A check is a folder ``checks/<area>/<CHECK-ID>/`` holding ``check.toml`` (metadata) and ``query.sql`` (the test,
over the cache). Folders are data only (no ``__init__.py``); they ship as package data and are found with
``importlib.resources``. A check whose metadata says ``logic = true`` also has a Python post-filter registered
under its id in ``workbench.checks.logic``.

Public API:

- :func:`load_catalogue` ``() -> list[Check]``: every check, validated, sorted by id. Cached per process.
- :func:`get_check` ``(check_id) -> Check``.
- :class:`Check`: ``id, title, severity, area, providers, resource_kind, params`` (name -> :class:`Param`),
  ``frameworks`` (name -> :class:`FrameworkRef`), ``equivalents`` (tool -> ids), ``fix`` (fix id or None),
  ``rationale, remediation, query`` and :meth:`Check.defaults` (parameter defaults as a plain dict).
- :func:`validate_check` ``(data, query, where) -> Check``: the strict validator (raises :class:`CheckError`
  naming the file and key).

``check.toml`` keys: ``id, title, providers, resource_kind, severity, area, rationale, remediation`` (required);
``fix, logic`` (optional); ``[params.<name>] default, description``; ``[frameworks.<name>] ids, version,
proposed``; ``[equivalents] prowler, custodian, scoutsuite`` (lists of ids).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from workbench.cache.posture import SEVERITIES
from workbench.errors import WorkbenchError
from workbench.model import PROVIDERS

if TYPE_CHECKING:
    from workbench.config import Config

# The brief's areas: slug -> title shown in reports.
AREAS: dict[str, str] = {
    "sprawl": "VM sprawl",
    "insecure_configuration": "Insecure configuration",
    "trusted_boot": "Hypervisor and trusted boot",
    "access_control": "Access control",
    "patch_management": "Patch management",
    "snapshot_backup": "Snapshot and backup",
    "image_factory": "Image factory",
    "network_segmentation": "Network segmentation",
    "logging_monitoring": "Logging and monitoring",
    "hybrid_visibility": "Hybrid visibility",
}

# Framework keys: title, and whether a version is required (CIS benchmarks are versioned documents).
FRAMEWORKS: dict[str, tuple[str, bool]] = {
    "cis_aws_foundations": ("CIS AWS Foundations Benchmark", True),
    "cis_aws_compute": ("CIS AWS Compute Services Benchmark", True),
    "cis_gcp": ("CIS Google Cloud Platform Foundation Benchmark", True),
    "cis_azure": ("CIS Microsoft Azure Foundations Benchmark", True),
    "nist_800_53": ("NIST SP 800-53", True),
    "disa_stig": ("DISA STIG", False),
    "mitre_attack": ("MITRE ATT&CK", False),
}
EQUIVALENT_TOOLS = ("prowler", "custodian", "scoutsuite")
RESOURCE_KINDS = (
    "instance",
    "volume",
    "snapshot",
    "image",
    "firewall_group",
    "firewall_rule",
    "network",
    "subnet",
    "grant",
    "setting",
    "patch_state",
    "host",
    "account",
    "region",
    "scope",
)

ID_RE = re.compile(r"^[A-Z]{2,5}-\d{2}$")
PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_ATTACK_RE = re.compile(r"^T\d{4}(\.\d{3})?$")
_NIST_RE = re.compile(r"^[A-Z]{2}-\d+(\(\d+\))?$")

_REQUIRED = (
    "id",
    "title",
    "providers",
    "resource_kind",
    "severity",
    "area",
    "rationale",
    "remediation",
)
_OPTIONAL = ("fix", "logic", "params", "frameworks", "equivalents")


class CheckError(WorkbenchError):
    """A check's metadata or query is invalid."""


def _same_items(like: list[Any], values: list[Any]) -> bool:
    """A list parameter holds strings or integers (ports), all of one type, and that of its default."""
    kinds = {type(v) for v in [*like, *values]}
    return kinds <= {str} or kinds <= {int}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: Any
    description: str

    @property
    def type_name(self) -> str:
        if isinstance(self.default, list):
            return "list"
        return type(self.default).__name__

    def coerce(self, value: Any, where: str) -> Any:
        """Validate an override against the default's type (bool is not an int; an int is a float)."""
        d = self.default
        ok = (
            (isinstance(d, bool) and isinstance(value, bool))
            or (isinstance(d, list) and isinstance(value, list) and _same_items(d, value))
            or (type(d) is int and type(value) is int)
            or (
                isinstance(d, float)
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            )
            or (isinstance(d, str) and isinstance(value, str))
        )
        if not ok:
            raise CheckError(
                f"{where}: parameter {self.name} must be {self.type_name}, not {value!r}"
            )
        return float(value) if isinstance(d, float) else value


@dataclass(frozen=True, slots=True)
class FrameworkRef:
    ids: tuple[str, ...]
    version: str | None = None
    proposed: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    severity: str
    area: str
    providers: tuple[str, ...]
    resource_kind: str
    rationale: str
    remediation: str
    query: str
    fix: str | None = None
    logic: bool = False
    params: dict[str, Param] = field(default_factory=dict)
    frameworks: dict[str, FrameworkRef] = field(default_factory=dict)
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}

    def resolve_params(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults with validated overrides; an unknown name is an error (a typo must not pass silently)."""
        values = self.defaults()
        for name, value in (overrides or {}).items():
            if name not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise CheckError(f"check {self.id}: unknown parameter {name!r} (known: {known})")
            values[name] = self.params[name].coerce(value, f"check {self.id}")
        return values

    def framework_controls(self) -> list[tuple[str, str]]:
        """(framework key, control id) pairs."""
        return [(fw, cid) for fw, ref in self.frameworks.items() for cid in ref.ids]

    def to_dict(self) -> dict[str, Any]:
        """All metadata as JSON-able data (for ``vmwb checks --format json`` and exports)."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "area": self.area,
            "area_title": AREAS[self.area],
            "providers": list(self.providers),
            "resource_kind": self.resource_kind,
            "rationale": self.rationale,
            "remediation": self.remediation,
            "fix": self.fix,
            "params": {
                n: {"default": p.default, "type": p.type_name, "description": p.description}
                for n, p in self.params.items()
            },
            "frameworks": frameworks_dict(self),
            "equivalents": {k: list(v) for k, v in self.equivalents.items()},
        }


def frameworks_dict(check: Check) -> dict[str, Any]:
    return {
        k: {"ids": list(r.ids), "version": r.version, "proposed": r.proposed}
        for k, r in check.frameworks.items()
    }


def _str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CheckError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise CheckError(f"{where}: {key} must be a non-empty list of strings")
    return tuple(value)


def _params(raw: Any, where: str) -> dict[str, Param]:
    if not isinstance(raw, dict):
        raise CheckError(f"{where}: [params] must be a table")
    out: dict[str, Param] = {}
    for name, spec in raw.items():
        key = f"params.{name}"
        if not PARAM_RE.match(name):
            raise CheckError(f"{where}: {key}: parameter names are lower_snake_case")
        if (
            not isinstance(spec, dict)
            or set(spec) - {"default", "description"}
            or "default" not in spec
        ):
            raise CheckError(f"{where}: {key} must be a table with default and description")
        default = spec["default"]
        if not isinstance(default, bool | int | float | str | list) or (
            isinstance(default, list) and not _same_items([], default)
        ):
            raise CheckError(
                f"{where}: {key}.default must be a bool, number, string, or a list of strings or integers"
            )
        out[name] = Param(name, default, _str(spec, "description", f"{where}: {key}"))
    return out


def _frameworks(raw: Any, where: str) -> dict[str, FrameworkRef]:
    if not isinstance(raw, dict):
        raise CheckError(f"{where}: [frameworks] must be a table")
    out: dict[str, FrameworkRef] = {}
    for name, spec in raw.items():
        key = f"frameworks.{name}"
        if name not in FRAMEWORKS:
            raise CheckError(
                f"{where}: unknown framework {name!r} (known: {', '.join(FRAMEWORKS)})"
            )
        if not isinstance(spec, dict) or set(spec) - {"ids", "version", "proposed"}:
            raise CheckError(f"{where}: {key} must be a table of ids, version, proposed")
        ids = _str_list(spec.get("ids"), where, f"{key}.ids")
        version = spec.get("version")
        if FRAMEWORKS[name][1] and not isinstance(version, str):
            raise CheckError(f"{where}: {key}.version is required (which edition is mapped)")
        if name == "mitre_attack" and not all(_ATTACK_RE.match(i) for i in ids):
            raise CheckError(
                f"{where}: {key}.ids must be ATT&CK technique ids (T1234 or T1234.001)"
            )
        if name == "nist_800_53" and not all(_NIST_RE.match(i) for i in ids):
            raise CheckError(f"{where}: {key}.ids must be control ids like AC-3 or SI-2(2)")
        proposed = spec.get("proposed", False)
        if not isinstance(proposed, bool):
            raise CheckError(f"{where}: {key}.proposed must be true or false")
        out[name] = FrameworkRef(ids, version, proposed)
    return out


def _equivalents(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise CheckError(f"{where}: [equivalents] must be a table")
    unknown = set(raw) - set(EQUIVALENT_TOOLS)
    if unknown:
        raise CheckError(f"{where}: unknown tool in [equivalents]: {min(unknown)}")
    return {tool: _str_list(ids, where, f"equivalents.{tool}") for tool, ids in raw.items()}


def validate_check(data: dict[str, Any], query: str, where: str) -> Check:
    """Validate one check's parsed ``check.toml`` and its SQL text."""
    unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise CheckError(f"{where}: unknown key {min(unknown)!r}")
    cid = _str(data, "id", where)
    if not ID_RE.match(cid):
        raise CheckError(f"{where}: id {cid!r} must look like AREA-NN (e.g. SNP-01)")
    severity = _str(data, "severity", where)
    if severity not in SEVERITIES:
        raise CheckError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    area = _str(data, "area", where)
    if area not in AREAS:
        raise CheckError(f"{where}: area must be one of {', '.join(AREAS)}")
    providers = _str_list(data.get("providers"), where, "providers")
    bad = [p for p in providers if p not in PROVIDERS]
    if bad:
        raise CheckError(f"{where}: unknown provider {bad[0]!r}")
    kind = _str(data, "resource_kind", where)
    if kind not in RESOURCE_KINDS:
        raise CheckError(f"{where}: resource_kind must be one of {', '.join(RESOURCE_KINDS)}")
    fix = data.get("fix")
    if fix is not None and (not isinstance(fix, str) or not fix):
        raise CheckError(f"{where}: fix must be a fix id string")
    logic = data.get("logic", False)
    if not isinstance(logic, bool):
        raise CheckError(f"{where}: logic must be true or false")
    if not query.strip():
        raise CheckError(f"{where}: query.sql is empty")
    return Check(
        id=cid,
        title=_str(data, "title", where),
        severity=severity,
        area=area,
        providers=providers,
        resource_kind=kind,
        rationale=_str(data, "rationale", where),
        remediation=_str(data, "remediation", where),
        query=query,
        fix=fix,
        logic=logic,
        params=_params(data.get("params", {}), where),
        frameworks=_frameworks(data.get("frameworks", {}), where),
        equivalents=_equivalents(data.get("equivalents", {}), where),
    )


def check_folders(root: Traversable | None = None) -> list[tuple[str, Traversable]]:
    """(area folder, check folder) for every folder holding a check.toml."""
    base = root or resources.files("workbench.checks")
    found = []
    for area_dir in sorted(base.iterdir(), key=lambda t: t.name):
        if not area_dir.is_dir() or area_dir.name.startswith(("_", ".")):
            continue
        for check_dir in sorted(area_dir.iterdir(), key=lambda t: t.name):
            if check_dir.is_dir() and check_dir.joinpath("check.toml").is_file():
                found.append((area_dir.name, check_dir))
    return found


def load_folder(area_name: str, folder: Traversable) -> Check:
    where = f"checks/{area_name}/{folder.name}/check.toml"
    try:
        data = tomllib.loads(folder.joinpath("check.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CheckError(f"{where}: not valid TOML: {exc}") from exc
    sql = folder.joinpath("query.sql")
    if not sql.is_file():
        raise CheckError(f"{where}: query.sql is missing")
    check = validate_check(data, sql.read_text(encoding="utf-8"), where)
    if check.id != folder.name:
        raise CheckError(f"{where}: id {check.id!r} does not match its folder {folder.name!r}")
    if check.area != area_name:
        raise CheckError(f"{where}: area {check.area!r} does not match its folder {area_name!r}")
    return check


@functools.cache
def _load() -> tuple[Check, ...]:
    checks = [load_folder(area, folder) for area, folder in check_folders()]
    seen: set[str] = set()
    for check in checks:
        if check.id in seen:
            raise CheckError(f"duplicate check id {check.id}")
        seen.add(check.id)
    return tuple(sorted(checks, key=lambda c: c.id))


def load_catalogue() -> list[Check]:
    """Every check of the catalogue, validated, sorted by id."""
    return list(_load())


def config_overrides(config: Config) -> dict[str, dict[str, Any]]:
    """The config's parameter overrides (``[checks.<ID>]``) of every check that has some."""
    found = {check.id: config.check_params(check.id) for check in _load()}
    return {check_id: values for check_id, values in found.items() if values}


def get_check(check_id: str) -> Check:
    for check in _load():
        if check.id == check_id:
            return check
    raise CheckError(f"no check {check_id!r} (see `vmwb checks`)")

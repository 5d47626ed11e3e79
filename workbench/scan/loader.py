"""Load and validate the check catalogue.

A check is a folder ``checks/<area>/<CHECK-ID>/`` holding ``check.toml`` (metadata) and ``query.sql`` (the test,
over the cache). Folders are data only (no ``__init__.py``); they ship as package data and are found with
``importlib.resources``. A check whose metadata says ``logic = true`` also has a Python post-filter registered
under its id in ``workbench.checks.logic``.

Public API:

- :func:`load_catalogue` ``() -> list[Check]``: every check, validated, sorted by id. Cached per process.
- :func:`get_check` ``(check_id) -> Check``.
- :class:`Check`: ``id, title, severity, area, providers, resource_kind, params`` (name -> :class:`Param`),
  ``frameworks`` (name -> :class:`FrameworkRef`), ``equivalents`` (tool -> ids), ``fixes`` (fix ids),
  ``cost``, ``after``, ``rationale, remediation, query`` and :meth:`Check.defaults`.
- :func:`validate_check` ``(data, query, where, fix_ids=None) -> Check``: the strict validator (raises
  :class:`CheckError` naming the file and key).
- :func:`config_overrides` ``(config)``: every check's parameter values from the config: ``[policy]`` for the
  parameters bound to it, then ``[checks.<ID>]``. The scan, the KPIs, the images view and the screens all read
  parameters through it, so they cannot disagree.
- :func:`check_config` ``(config)``: refuses an unknown ``[checks.<ID>]``, parameter or type (the CLI runs it).
- :func:`checks_fixed_by` ``(fix_id)``: the checks naming a fix (the one direction the link is declared in).

``check.toml`` keys: ``id, title, providers, resource_kind, severity, area, rationale, remediation`` (required);
``fix`` (a fix id or a list of them, each validated against the fix registry), ``logic``, ``cost`` (``low``,
``medium``, ``high``: a guess of the run time; the engine starts costly checks first), ``after`` (check ids
this one must run after in a scan that has them) (optional); ``[params.<name>] default, description, policy``
(``policy`` names the ``[policy]`` key the parameter takes its value from); ``[frameworks.<name>] ids, version,
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
from workbench.errors import ConfigError, WorkbenchError, did_you_mean
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
_OPTIONAL = ("fix", "logic", "cost", "after", "params", "frameworks", "equivalents")
#: ``cost`` values, cheapest first; the engine starts the costliest first so none starts last.
COSTS = ("low", "medium", "high")


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
    #: The ``[policy]`` key this parameter takes its value from when the policy sets it.
    policy: str | None = None

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
    #: The fixes that resolve this check's findings, first the one offered first.
    fixes: tuple[str, ...] = ()
    logic: bool = False
    cost: str = "low"
    after: tuple[str, ...] = ()
    params: dict[str, Param] = field(default_factory=dict)
    frameworks: dict[str, FrameworkRef] = field(default_factory=dict)
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def fix(self) -> str | None:
        """The fix offered first (exports show one)."""
        return self.fixes[0] if self.fixes else None

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}

    def resolve_params(
        self, overrides: dict[str, Any] | None, *, where: str | None = None
    ) -> dict[str, Any]:
        """Defaults with validated overrides; an unknown name is an error (a typo must not pass silently)."""
        where = where or f"check {self.id}"
        values = self.defaults()
        for name, value in (overrides or {}).items():
            if name not in self.params:
                hint = did_you_mean(name, self.params) if self.params else " (it has none)"
                raise CheckError(f"{where}: unknown parameter {name!r}{hint}")
            values[name] = self.params[name].coerce(value, where)
        return values

    def policy_values(self, policy: Any) -> dict[str, Any]:
        """The values ``policy`` (a ``PolicySection``) sets for the parameters bound to it."""
        out = {}
        for name, param in self.params.items():
            value = getattr(policy, param.policy) if param.policy else None
            if value is not None:
                out[name] = value
        return out

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
            "fixes": list(self.fixes),
            "cost": self.cost,
            "after": list(self.after),
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
            or set(spec) - {"default", "description", "policy"}
            or "default" not in spec
        ):
            raise CheckError(f"{where}: {key} must be a table with default and description")
        policy = spec.get("policy")
        if policy is not None and policy not in _policy_keys():
            raise CheckError(
                f"{where}: {key}.policy: no [policy] key {policy!r}{did_you_mean(str(policy), _policy_keys())}"
            )
        default = spec["default"]
        if not isinstance(default, bool | int | float | str | list) or (
            isinstance(default, list) and not _same_items([], default)
        ):
            raise CheckError(
                f"{where}: {key}.default must be a bool, number, string, or a list of strings or integers"
            )
        out[name] = Param(name, default, _str(spec, "description", f"{where}: {key}"), policy)
    return out


@functools.cache
def _policy_keys() -> frozenset[str]:
    from workbench.config_schema import PolicySection

    return frozenset(PolicySection.model_fields)


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


def validate_check(
    data: dict[str, Any], query: str, where: str, fix_ids: frozenset[str] | None = None
) -> Check:
    """Validate one check's parsed ``check.toml`` and its SQL text; ``fix_ids``: the fix registry's ids
    (every fix the check names must be one of them)."""
    unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        word = min(unknown)
        raise CheckError(
            f"{where}: unknown key {word!r}{did_you_mean(word, _REQUIRED + _OPTIONAL)}"
        )
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
    fixes = _fixes(data.get("fix"), where, fix_ids)
    logic = data.get("logic", False)
    if not isinstance(logic, bool):
        raise CheckError(f"{where}: logic must be true or false")
    cost = data.get("cost", "low")
    if cost not in COSTS:
        raise CheckError(f"{where}: cost must be one of {', '.join(COSTS)}, not {cost!r}")
    after = _str_list(data["after"], where, "after") if "after" in data else ()
    if cid in after:
        raise CheckError(f"{where}: after names the check itself")
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
        fixes=fixes,
        logic=logic,
        cost=cost,
        after=after,
        params=_params(data.get("params", {}), where),
        frameworks=_frameworks(data.get("frameworks", {}), where),
        equivalents=_equivalents(data.get("equivalents", {}), where),
    )


def _fixes(raw: Any, where: str, fix_ids: frozenset[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise CheckError(f"{where}: fix must be a fix id or a list of fix ids")
    if len(set(names)) != len(names):
        raise CheckError(f"{where}: fix names a fix twice")
    for name in names:
        if fix_ids is not None and name not in fix_ids:
            raise CheckError(
                f"{where}: fix {name!r} is not a registered fix{did_you_mean(name, fix_ids)}"
            )
    return tuple(names)


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


def load_folder(
    area_name: str, folder: Traversable, fix_ids: frozenset[str] | None = None
) -> Check:
    where = f"checks/{area_name}/{folder.name}/check.toml"
    try:
        data = tomllib.loads(folder.joinpath("check.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CheckError(f"{where}: not valid TOML: {exc}") from exc
    sql = folder.joinpath("query.sql")
    if not sql.is_file():
        raise CheckError(f"{where}: query.sql is missing")
    check = validate_check(data, sql.read_text(encoding="utf-8"), where, fix_ids)
    if check.id != folder.name:
        raise CheckError(f"{where}: id {check.id!r} does not match its folder {folder.name!r}")
    if check.area != area_name:
        raise CheckError(f"{where}: area {check.area!r} does not match its folder {area_name!r}")
    return check


@functools.cache
def _load() -> tuple[Check, ...]:
    from workbench.fixes.lookup import fix_ids

    known_fixes = fix_ids()
    checks = [load_folder(area, folder, known_fixes) for area, folder in check_folders()]
    return validate_catalogue(checks)


def validate_catalogue(checks: list[Check]) -> tuple[Check, ...]:
    """The whole-catalogue rules: unique ids, ``after`` naming known checks, no cycle of ``after``."""
    by_id: dict[str, Check] = {}
    for check in checks:
        if check.id in by_id:
            raise CheckError(f"duplicate check id {check.id}")
        by_id[check.id] = check
    for check in checks:
        for other in check.after:
            if other not in by_id:
                raise CheckError(
                    f"check {check.id}: after names no check {other!r}{did_you_mean(other, by_id)}"
                )
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(cid: str, path: tuple[str, ...]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            raise CheckError(f"check {cid}: after forms a cycle ({' -> '.join((*path, cid))})")
        state[cid] = 1
        for other in by_id[cid].after:
            visit(other, (*path, cid))
        state[cid] = 2

    for cid in by_id:
        visit(cid, ())
    return tuple(sorted(checks, key=lambda c: c.id))


def load_catalogue() -> list[Check]:
    """Every check of the catalogue, validated, sorted by id."""
    return list(_load())


def config_overrides(config: Config) -> dict[str, dict[str, Any]]:
    """Every check's parameter values the config sets: ``[policy]`` for the parameters bound to it, then
    ``[checks.<ID>]`` (only checks with some appear)."""
    policy = config.policy
    found = {
        check.id: check.policy_values(policy) | config.check_params(check.id) for check in _load()
    }
    return {check_id: values for check_id, values in found.items() if values}


def check_config(config: Config) -> None:
    """Refuse a ``[checks.<ID>]`` table of the config for an unknown check, an unknown parameter or a wrong
    type, in one line naming the file and the table (the rest of the file was validated when it was read)."""
    where = str(config.path) if config.path else "config"
    catalogue = {check.id: check for check in _load()}
    for check_id, values in config.sections.get("checks", {}).items():
        table = f"[checks.{check_id}]"
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: {table} must be a table of parameters")
        check = catalogue.get(check_id)
        if check is None:
            raise ConfigError(f"{where}: unknown check {table}{did_you_mean(check_id, catalogue)}")
        try:
            check.resolve_params(values, where=table)
        except CheckError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def checks_fixed_by(fix_id: str) -> tuple[str, ...]:
    """The checks that name ``fix_id`` in their metadata, by id."""
    return tuple(check.id for check in _load() if fix_id in check.fixes)


def get_check(check_id: str) -> Check:
    for check in _load():
        if check.id == check_id:
            return check
    raise CheckError(f"no check {check_id!r} (see `vmwb checks`)")

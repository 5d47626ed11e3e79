"""The TOML config file and where things live on disk.

Lookup order for the cache: ``--db PATH``, then ``$VMWB_DB``, then the user's data folder. For the config:
``--config PATH``, then ``$VMWB_CONFIG``, then the user's config folder (a missing default file is fine; a missing
file named explicitly is an error). A config that does not parse or validate raises :class:`ConfigError` with
one line that names the file, the section, the key and what is wrong (a typo gets the closest known key);
nothing is ever rewritten on error.

One schema covers the whole file (``workbench.config_schema``, pydantic models): the core sections, every
registered provider's section by the schema that provider declares in the ``vmwb.settings`` entry-point group
(third-party providers included), and
``[checks.<ID>]`` by the check catalogue (``workbench.scan.loader.check_config``, which the CLI runs on every
config it loads: an unknown check id or parameter, or a wrong type, is refused; the catalogue sits above this
module, so it is not imported here).

``[policy]`` is the organisation's policy; check parameters and fix inputs bound to a policy key take its value.
The keys it replaced (``[checks.SNP-03] allowlisted_accounts``, ``[fixes] allowed_accounts`` …, see
:data:`LEGACY_POLICY_KEYS`) are still read: they are moved into ``[policy]`` with a one-line deprecation note
(:attr:`Config.notes`), and refused when two of them, or one and ``[policy]``, disagree.

Example (also in the README)::

    [general]
    role = "operator"          # viewer | responder | operator
    read_only = false
    theme = "textual-dark"
    keep_raw_secrets = false   # true: keep secret-looking tag values as they are (default: redacted)
    # key_folder = "~/.local/state/vmwb/keys"   # no OS keyring (headless): vmwb's keys in this 0700 folder

    [aws]
    profiles = ["prod-audit"]  # boto3 profiles; default: the normal credential chain
    role_arns = ["arn:aws:iam::222233334444:role/SecurityAudit"]
    regions = ["eu-west-1", "us-east-1"]   # default: every enabled region
    fix_profile = "prod-remediate"         # fixes use their own identity

    [policy]
    org_accounts = ["111122223333"]        # who may receive shares (checks and fixes alike)

    [checks.SPR-01]
    max_age_days = 120
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import ConfigError, WorkbenchError, did_you_mean

if TYPE_CHECKING:
    from workbench.config_schema import PolicySection, Section

APP_NAME = "vmwb"
ROLES = ("viewer", "responder", "operator")
#: The sections that are not a provider's; every other section must name a registered provider.
OWN_SECTIONS = ("general", "policy", "fixes", "images", "sync", "checks", "audit", "cache")

#: Keys the ``[policy]`` section replaced: (section, table or "", key) -> policy key. Still read, with a note.
LEGACY_POLICY_KEYS: dict[tuple[str, str, str], str] = {
    ("checks", "SNP-03", "allowlisted_accounts"): "org_accounts",
    ("checks", "IMG-07", "allowlisted_accounts"): "org_accounts",
    ("fixes", "", "allowed_accounts"): "org_accounts",
    ("checks", "IMG-03", "approved_owners"): "approved_owners",
    ("checks", "SNP-08", "retention_days"): "snapshot_retention_days",
    ("checks", "SNP-08", "hypervisor_max_age_hours"): "hypervisor_snapshot_retention_hours",
    ("fixes", "", "libvirt_snapshot_retention_hours"): "hypervisor_snapshot_retention_hours",
    ("fixes", "", "vsphere_snapshot_retention_hours"): "hypervisor_snapshot_retention_hours",
    ("images", "", "trusted_publishers"): "trusted_publishers",
    ("fixes", "", "narrow_min_prefix_v4"): "narrow_min_prefix_v4",
    ("fixes", "", "narrow_min_prefix_v6"): "narrow_min_prefix_v6",
}


def default_db_path() -> Path:
    env = os.environ.get("VMWB_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "cache.db"


def cache_target(flag: str | os.PathLike[str] | None, url: str | None = None) -> str:
    """Where the cache is: ``--db``, else ``$VMWB_DB``, else ``[cache] url``, else the user data folder's
    file. A URL (``postgresql://``) is kept as it is; a path (a callers' ``Path`` too) is expanded."""
    for given in (flag, os.environ.get("VMWB_DB"), url):
        if given:
            text = os.fspath(given)
            return text if "://" in text else str(Path(text).expanduser())
    return str(default_db_path())


def default_config_path() -> Path:
    env = os.environ.get("VMWB_CONFIG")
    if env:
        return Path(env).expanduser()
    return user_config_path()


def user_config_path() -> Path:
    """The config file in the user's config folder, whatever ``$VMWB_CONFIG`` says."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


@dataclass(slots=True)
class Config:
    path: Path | None = None
    role: str = "operator"
    read_only: bool = False
    theme: str = "textual-dark"
    user: str | None = None
    #: ``[general] keep_raw_secrets``: keep secret-looking tag values verbatim instead of redacted.
    keep_raw_secrets: bool = False
    #: ``[general] key_folder``: vmwb's keyring as a folder of files, for machines without an OS keyring.
    key_folder: str | None = None
    #: Every section but ``[general]``, as validated (legacy policy keys already moved into ``[policy]``).
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: One line per deprecated key read, for the CLI and the app to show once.
    notes: tuple[str, ...] = ()

    def provider(self, name: str) -> dict[str, Any]:
        """The provider's section (``[aws]`` …), empty when absent."""
        return dict(self.sections.get(name, {}))

    def check_params(self, check_id: str) -> dict[str, Any]:
        """Parameter overrides for one check (``[checks.<ID>]``); policy-bound values are the loader's
        business (``workbench.scan.loader.config_overrides``)."""
        checks = self.sections.get("checks", {})
        value = checks.get(check_id, {})
        return dict(value) if isinstance(value, dict) else {}

    @property
    def policy(self) -> PolicySection:
        """The ``[policy]`` section, typed (every key at its default when the section is absent)."""
        from workbench.config_schema import PolicySection

        return PolicySection.model_validate(self.sections.get("policy", {}))

    @property
    def cache_url(self) -> str | None:
        """``[cache] url``: the cache when neither ``--db`` nor ``$VMWB_DB`` names one."""
        url = self.sections.get("cache", {}).get("url")
        return str(url) if url else None

    @property
    def configured_providers(self) -> list[str]:
        return [name for name in self.sections if name not in OWN_SECTIONS]


def load(path: str | os.PathLike[str] | None = None) -> Config:
    explicit = path is not None or "VMWB_CONFIG" in os.environ
    p = Path(path).expanduser() if path is not None else default_config_path()
    if not p.exists():
        if explicit:
            raise ConfigError(f"config file {p} does not exist")
        return Config()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from exc
    return parse(data, p)


def parse(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed config file as a whole; raise :class:`ConfigError` (one line) on the first problem."""
    where = str(path) if path else "config"
    data = copy.deepcopy(data)
    for name, value in data.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table, not {type(value).__name__}")
    providers = _provider_names()
    unknown = [name for name in data if name not in OWN_SECTIONS and name not in providers]
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{unknown[0]}]"
            f"{did_you_mean(unknown[0], [*OWN_SECTIONS, *providers])}"
        )
    notes = _migrate_policy(data, where)
    notes += _validate_sections(data, where)
    general = data.get("general", {})
    return Config(
        path=path,
        role=general.get("role", "operator"),
        read_only=general.get("read_only", False),
        theme=general.get("theme", "textual-dark"),
        user=general.get("user"),
        keep_raw_secrets=general.get("keep_raw_secrets", False),
        key_folder=general.get("key_folder"),
        sections={k: v for k, v in data.items() if k != "general"},
        notes=tuple(notes),
    )


def _provider_names() -> list[str]:
    from workbench import plugins

    return plugins.names("providers")


def _migrate_policy(data: dict[str, Any], where: str) -> list[str]:
    """Move every legacy policy key into ``[policy]``; refuse two places that disagree."""
    from pydantic import ValidationError

    from workbench.config_schema import PolicySection, first_error

    policy = data.setdefault("policy", {})
    origin = {key: f"policy.{key}" for key in policy}
    notes: list[str] = []
    emptied: list[str] = []
    for (section, table, key), target in LEGACY_POLICY_KEYS.items():
        holder = data.get(section, {})
        if table:
            holder = holder.get(table, {}) if isinstance(holder, dict) else {}
        if not isinstance(holder, dict) or key not in holder:
            continue
        legacy = f"{section}.{table}.{key}" if table else f"{section}.{key}"
        value = holder.pop(key)
        if table and not holder:
            emptied.append(table)
        try:
            PolicySection.model_validate({target: value})
        except ValidationError as exc:
            line = first_error(PolicySection, exc, where, "policy")
            raise ConfigError(line.replace(f"policy.{target}", legacy, 1)) from None
        if target in policy and _canon(policy[target]) != _canon(value):
            raise ConfigError(
                f"{where}: {legacy} and {origin[target]} disagree; set policy.{target} once"
            )
        policy[target] = value
        origin.setdefault(target, legacy)
        notes.append(f"{where}: {legacy} is deprecated; read as policy.{target} (move it there)")
    if not policy:
        del data["policy"]
    checks = data.get("checks", {})
    for table in emptied:
        checks.pop(table, None)  # a table emptied by the move
    if emptied and not checks:
        del data["checks"]
    return notes


def _canon(value: Any) -> Any:
    """Lists of accounts compare as sets: the same accounts in another order are the same policy."""
    return sorted(map(str, value)) if isinstance(value, list) else value


def _validate_sections(data: dict[str, Any], where: str) -> list[str]:
    """Each section by its model; a registered provider that cannot be loaded is noted, not refused."""
    from pydantic import ValidationError

    from workbench.config_schema import CORE_SECTIONS, first_error

    notes: list[str] = []
    for name, value in data.items():
        if name == "checks":
            continue
        model: type[Section] | None
        if name in CORE_SECTIONS:
            model = CORE_SECTIONS[name]
        else:
            try:
                model = settings_schema(name)
            except WorkbenchError as exc:
                notes.append(f"{where}: [{name}] not validated: {exc}")
                continue
        if model is None:  # a registered provider that declares no schema validates in from_config
            continue
        try:
            model.model_validate(value)
        except ValidationError as exc:
            raise ConfigError(first_error(model, exc, where, name)) from None
    return notes


def settings_schema(name: str) -> type[Section] | None:
    """The model of provider ``name``'s section: the ``vmwb.settings`` entry of that name (a provider's light
    ``schema`` module, never the provider module that imports its SDK); None when the provider declares none."""
    from workbench import plugins
    from workbench.config_schema import Section

    if name not in plugins.names("settings"):
        return None
    return plugins.load_class("settings", name, Section)

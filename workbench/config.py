"""The TOML config file and where things live on disk.

Lookup order for the cache: ``--db PATH``, then ``$VMWB_DB``, then the user's data folder. For the config:
``--config PATH``, then ``$VMWB_CONFIG``, then the user's config folder (a missing default file is fine; a missing
file named explicitly is an error). A config that does not parse or validate raises :class:`ConfigError` with
one line that names the file, the key and what is wrong; nothing is ever rewritten on error.

Example (also in the README)::

    [general]
    role = "operator"          # viewer | responder | operator
    read_only = false
    theme = "textual-dark"
    keep_raw_secrets = false   # true: keep secret-looking tag values as they are (default: redacted)

    [aws]
    profiles = ["prod-audit"]  # boto3 profiles; default: the normal credential chain
    role_arns = ["arn:aws:iam::222233334444:role/SecurityAudit"]
    regions = ["eu-west-1", "us-east-1"]   # default: every enabled region
    fix_profile = "prod-remediate"         # fixes use their own identity

    [checks.SPR-01]
    max_age_days = 120
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError

APP_NAME = "vmwb"
ROLES = ("viewer", "responder", "operator")
SECTIONS = {
    "general",
    "audit",
    "aws",
    "gcp",
    "azure",
    "libvirt",
    "vsphere",
    "checks",
    "fixes",
    "images",
    "sync",
}
GENERAL_KEYS: dict[str, type | tuple[type, ...]] = {
    "role": str,
    "read_only": bool,
    "theme": str,
    "user": str,
    "keep_raw_secrets": bool,
}


def default_db_path() -> Path:
    env = os.environ.get("VMWB_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "cache.db"


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
    #: Store secret-looking tag values, labels and descriptions as they are instead of redacted.
    keep_raw_secrets: bool = False
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def provider(self, name: str) -> dict[str, Any]:
        """The provider's section (``[aws]`` …), empty when absent."""
        return dict(self.sections.get(name, {}))

    def check_params(self, check_id: str) -> dict[str, Any]:
        """Parameter overrides for one check (``[checks.<ID>]``)."""
        checks = self.sections.get("checks", {})
        value = checks.get(check_id, {})
        return dict(value) if isinstance(value, dict) else {}

    @property
    def configured_providers(self) -> list[str]:
        return [p for p in ("aws", "gcp", "azure", "libvirt", "vsphere") if p in self.sections]


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
    where = str(path) if path else "config"
    unknown = sorted(set(data) - SECTIONS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{unknown[0]}] (known: {', '.join(sorted(SECTIONS))})"
        )
    for name, value in data.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table, not {type(value).__name__}")
    general = data.get("general", {})
    for key, value in general.items():
        expected = GENERAL_KEYS.get(key)
        if expected is None:
            raise ConfigError(f"{where}: unknown key general.{key}")
        if not isinstance(value, expected):
            raise ConfigError(f"{where}: general.{key} must be {_type_name(expected)}")
    role = general.get("role", "operator")
    if role not in ROLES:
        raise ConfigError(f"{where}: general.role must be one of {', '.join(ROLES)}, not {role!r}")
    _check_lists(data, where)
    return Config(
        path=path,
        role=role,
        read_only=general.get("read_only", False),
        theme=general.get("theme", "textual-dark"),
        user=general.get("user"),
        keep_raw_secrets=general.get("keep_raw_secrets", False),
        sections={k: v for k, v in data.items() if k != "general"},
    )


# Keys that must be lists of strings when present.
_LIST_KEYS = {
    "aws": ("profiles", "role_arns", "regions"),
    "gcp": ("projects",),
    "azure": ("subscriptions",),
    "libvirt": ("uris",),
}


def _check_lists(data: dict[str, Any], where: str) -> None:
    for section, keys in _LIST_KEYS.items():
        for key in keys:
            value = data.get(section, {}).get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {section}.{key} must be a list of strings")


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return {"str": "a string", "bool": "true or false"}.get(t.__name__, t.__name__)

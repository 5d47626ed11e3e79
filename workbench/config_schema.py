"""The typed schema of the config file's own sections, and the one-line messages its errors become.

Every section is a pydantic model that forbids unknown keys and converts nothing (``strict``): TOML already
gives each value its real type, so a string where a number belongs is an error, not a guess. A provider's
section is validated by the model that provider declares in the ``vmwb.settings`` entry-point group, by its
name (built-ins: ``workbench/providers/<name>/schema.py``); this module holds the base they share.

Imported only when a config file is parsed, so ``vmwb --help`` never pays for pydantic.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.errors import did_you_mean


class Section(BaseModel):
    """A config table: unknown keys refused, no type coercion (an int still counts as a float)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GeneralSection(Section):
    role: Literal["viewer", "responder", "operator"] = (
        "operator"  # config.ROLES (a test keeps them equal)
    )
    read_only: bool = False
    theme: str = "textual-dark"
    user: str | None = None
    #: Store secret-looking tag values verbatim instead of redacted (kind + keyed fingerprint).
    keep_raw_secrets: bool = False
    #: A folder (0700, outside the cache folder) that holds vmwb's keys where there is no OS keyring.
    key_folder: str | None = Field(default=None, min_length=1)


class PolicySection(Section):
    """The organisation's policy, read by every check parameter and fix input bound to it by name.

    Unset keys (None) leave each bound parameter at its check's own default.
    """

    #: Accounts that may receive shares of snapshots and images (SNP-03, IMG-07 and their fixes).
    org_accounts: list[str] | None = None
    #: Cloud snapshots older than this fail SNP-08.
    snapshot_retention_days: int | None = Field(default=None, ge=0)
    #: libvirt/vSphere VM snapshots older than this fail SNP-08 and may be deleted by its fixes.
    hypervisor_snapshot_retention_hours: int | None = Field(default=None, ge=0)
    #: Image publishers (GCP image projects, Azure publishers, AWS accounts) trusted besides the platforms'
    #: official ones: IMG-14 and the images view.
    trusted_publishers: list[str] = Field(default_factory=list)
    #: AWS image owners approved besides the VM's own account (IMG-03, and trusted in the images view).
    approved_owners: list[str] | None = None
    #: A fix's narrowing CIDR must be at least this long (/16 for IPv4 and /48 for IPv6 by default).
    narrow_min_prefix_v4: int = Field(default=16, ge=1, le=32)
    narrow_min_prefix_v6: int = Field(default=48, ge=1, le=128)
    #: Days of resource history kept (versions for ``inventory --at``, ``diff --since`` and timelines).
    history_retention_days: int = Field(default=90, ge=1)


class FixesSection(Section):
    """Defaults of fix inputs (``FixInput.config_key``); who may keep access lives in ``[policy]``."""

    admin_cidr: str | None = None
    owner_tag: str | None = None
    environment_tag: str | None = None
    expiry_tag: str | None = None
    stopped_tag: str | None = None
    grace_days: int | None = Field(default=None, ge=0)
    expiry_days: int | None = Field(default=None, ge=0)


class ImagesSection(Section):
    trusted_keys: list[str] = Field(default_factory=list)
    trust_local_key: bool = True
    key_name: str | None = Field(default=None, min_length=1)


class AuditSection(Section):
    """The audit log: ``key_file`` holds the key of its HMAC chain where the machine has no keyring."""

    key_file: str | None = Field(default=None, min_length=1)


class CacheSection(Section):
    """Where the cache is when neither ``--db`` nor ``$VMWB_DB`` says: a team's ``postgresql://`` URL (or
    a SQLite file's path)."""

    url: str | None = Field(default=None, min_length=1)


class SyncSection(Section):
    """Reserved: no sync setting is read from the file yet (flags only)."""


CORE_SECTIONS: dict[str, type[Section]] = {
    "general": GeneralSection,
    "policy": PolicySection,
    "fixes": FixesSection,
    "images": ImagesSection,
    "sync": SyncSection,
    "cache": CacheSection,
    "audit": AuditSection,
}


def describe_type(annotation: Any) -> str:
    """A field's type as an operator reads it: ``a list of strings``, ``true or false``."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin is list:
        inner = describe_type(args[0]) if args else "values"
        return f"a list of {_plural(inner)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a table"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


_NAMES: dict[Any, str] = {
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    dict: "a table",
}


def _plural(text: str) -> str:
    return {
        "a string": "strings",
        "a whole number": "whole numbers",
        "a number": "numbers",
        "a table": "tables",
    }.get(text, text)


def first_error(model: type[BaseModel], exc: ValidationError, where: str, section: str) -> str:
    """One line for the first problem pydantic found: the file, ``section.key`` and what was expected."""
    errors = exc.errors()
    # A misspelt key also leaves the right one missing: name the typo, which says what to change.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"]]
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    # A rule of a whole table (a model validator): its message says it all.
    if err["type"] == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
        return f"{where}: {section}{'.' + key if key else ''}: {message}"
    if err["type"] == "extra_forbidden":
        known = _fields_at(model, err["loc"][:-1])
        return f"{where}: unknown key {section}.{key}{did_you_mean(loc[-1], known)}"
    if err["type"] == "missing":
        return f"{where}: {section}.{key} is required"
    field_type = _annotation_at(model, err["loc"])
    if field_type is not None and (err["type"].endswith("_type") or err["type"] == "literal_error"):
        expected = describe_type(field_type)
        return f"{where}: {section}.{key} must be {expected}, not {err['input']!r}"
    return f"{where}: {section}.{key}: {err['msg']}, not {err['input']!r}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        current = _inner_model(current.model_fields[part].annotation)
        if current is None:
            return []
    return list(current.model_fields)


def _annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    current: Any = model
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):
            if annotation is not None:
                args = [a for a in typing.get_args(_strip_optional(annotation))]
                annotation = args[0] if args else None
                current = _inner_model(annotation)
            continue
        if current is None or part not in getattr(current, "model_fields", {}):
            return annotation
        annotation = current.model_fields[part].annotation
        current = _inner_model(annotation)
    return annotation


def _strip_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _strip_optional(annotation)
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation) or (None,)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None

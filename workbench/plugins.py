"""Everything vmwb loads by name: providers, fixes, fix clients, benches, views and CLI commands.

Each kind is an entry-point group, ``vmwb.<group>``. The built-ins are declared in ``pyproject.toml``'s
``[project.entry-points."vmwb.<group>"]`` tables exactly as a third-party package declares its own, so one
mechanism serves both; a plugin cannot replace a built-in of the same name. Nothing is imported until it is
asked for by name (``vmwb --help`` must import no cloud SDK). Entry points are read from the installed
distribution's metadata: after editing the tables, ``uv sync`` reinstalls them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, distributions
from typing import Any, TypeVar

from workbench.errors import WorkbenchError

T = TypeVar("T")

DISTRIBUTION = "vm-security-workbench"

#: group → what one of its entries is called in messages.
GROUPS: dict[str, str] = {
    "providers": "provider",
    # A provider's config-section schema (a workbench.config_schema.Section), by the provider's name: a
    # light module, so validating the config file imports no SDK.
    "settings": "settings schema of provider",
    "fixes": "fix",
    "fix_clients": "fix clients for provider",
    "benches": "bench",
    "views": "view",
    "commands": "command",
}


class PluginError(WorkbenchError):
    """An unknown name, or an entry that does not load or is not what its group holds."""


@functools.cache
def _all_entries() -> dict[str, dict[str, EntryPoint]]:
    """group → name → entry point: the built-ins first, then other distributions' (a built-in's name wins).

    ``importlib.metadata.entry_points()`` parses every installed distribution's entry points (~40 ms with the
    cloud SDKs installed, paid by ``vmwb --help``); reading them as text and parsing only those that name a
    ``vmwb.`` group costs a third of that.
    """
    found: dict[str, dict[str, EntryPoint]] = {}

    def add(eps: Iterable[EntryPoint]) -> None:
        for ep in eps:
            group = ep.group.removeprefix("vmwb.")
            if group != ep.group and group in GROUPS:
                found.setdefault(group, {}).setdefault(ep.name, ep)

    try:
        add(distribution(DISTRIBUTION).entry_points)
    except PackageNotFoundError:  # running from a source tree that was never installed
        pass
    for dist in distributions():
        text = dist.read_text("entry_points.txt")
        if text and "[vmwb." in text:
            add(dist.entry_points)
    return found


def _entries(group: str) -> dict[str, EntryPoint]:
    if group not in GROUPS:
        raise ValueError(f"no plugin group {group!r}")
    return _all_entries().get(group, {})


def names(group: str) -> list[str]:
    """Every name registered in ``group``, sorted."""
    return sorted(_entries(group))


def target(group: str, name: str) -> str:
    """The ``module:attribute`` an entry names, without importing it."""
    return _entry(group, name).value


def _entry(group: str, name: str) -> EntryPoint:
    entries = _entries(group)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise PluginError(f"unknown {GROUPS[group]} {name!r} (known: {known})")
    return entries[name]


@functools.cache
def load(group: str, name: str) -> Any:
    """The object ``group``'s entry ``name`` names, imported on first use."""
    ep = _entry(group, name)
    try:
        return ep.load()
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{GROUPS[group]} {name!r} cannot be loaded: {exc}") from exc


def load_class(group: str, name: str, base: type[T]) -> type[T]:
    """Like :func:`load`, for groups whose entries are classes: refuses one that is not a ``base``."""
    cls = load(group, name)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{target(group, name)} is not a {base.__name__}")
    return cls


def clear() -> None:
    """Forget what was read and loaded (after a package is installed in a running process)."""
    _all_entries.cache_clear()
    load.cache_clear()

"""The views the ``:`` command line, the palette and the help know, by name: their titles, aliases and help.

A view's Screen class is the ``vmwb.views`` plugin group's entry of the same name (:mod:`workbench.plugins`),
imported only when the view is opened, and built as ``Class(args=<text after the command>, **kwargs)``. To add
a view, add its entry point and a ``.tcss`` file, and a :class:`View` here for its title and aliases (a view
registered without one is listed by its name). The app opens on :data:`START_VIEWS`' first available view.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from textual.screen import Screen

from workbench import plugins


@dataclass(frozen=True, slots=True)
class View:
    name: str
    title: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    help: str = ""

    @property
    def available(self) -> bool:
        return self.name in plugins.names("views")

    def build(self, args: str = "") -> Screen[Any]:
        if not self.available:
            raise LookupError(f"the {self.title} view is not built yet")
        cls: Any = plugins.load_class("views", self.name, Screen)  # a view takes ``args``
        screen: Screen[Any] = cls(args=args, **self.kwargs)
        return screen


def _inventory(name: str, kind: str, title: str, aliases: tuple[str, ...]) -> View:
    return View(name, title, {"kind": kind}, aliases, f"Inventory: {title.lower()}")


_BUILTIN: dict[str, View] = {
    v.name: v
    for v in (
        View(
            "dash",
            "Dashboard",
            aliases=("dashboard", "home"),
            help="Posture overview",
        ),
        _inventory("vm", "instance", "Instances", ("vms", "instance", "instances", "i")),
        _inventory("vol", "volume", "Volumes", ("volume", "volumes", "disk", "disks")),
        _inventory("snap", "snapshot", "Snapshots", ("snapshot", "snapshots", "snaps")),
        _inventory("img", "image", "Images", ("image", "images", "ami")),
        _inventory("fw", "firewall_rule", "Firewall rules", ("rules", "firewall", "sg")),
        _inventory("fwg", "firewall_group", "Firewall groups", ("groups", "nsg")),
        _inventory("grants", "grant", "Grants", ("grant", "shares")),
        _inventory("net", "network", "Networks", ("network", "networks", "vpc")),
        _inventory("hosts", "host", "Hosts", ("host",)),
        View(
            "findings",
            "Findings",
            aliases=("finding", "f"),
            help="Open findings",
        ),
        View(
            "mutes",
            "Mutes",
            aliases=("mute", "exceptions"),
            help="Exceptions that need a decision: expired, expiring, stale, no ticket",
        ),
        View(
            "checks",
            "Checks",
            aliases=("check",),
            help="The check catalogue",
        ),
        View(
            "scans",
            "Scan diff",
            aliases=("diff", "scan"),
            help="What changed between scans",
        ),
        View(
            "fix",
            "Fix wizard",
            aliases=("fixes",),
            help="Plan and apply fixes",
        ),
        View(
            "journal",
            "Journal",
            aliases=("audit", "log"),
            help="Fix journal and audit log",
        ),
        View(
            "images",
            "Image factory",
            aliases=("factory",),
            help="Approved images: approve, revoke, verify; scans, hardening, lineage",
        ),
        View(
            "query",
            "Query",
            aliases=("sql", "q"),
            help="Read-only SQL over the cache",
        ),
        View(
            "sync",
            "Sync",
            aliases=("scopes", "status", "history"),
            help="Sync history, scope status, sync now",
        ),
        View(
            "settings",
            "Settings",
            aliases=("config", "prefs"),
            help="Providers, credentials, read-only, theme",
        ),
    )
}


@functools.cache
def all_views() -> dict[str, View]:
    """The built-in views, then any a plugin registered, by name."""
    extra = {n: View(n, n) for n in plugins.names("views") if n not in _BUILTIN}
    return {**_BUILTIN, **extra}


# The first available one is where the app opens (the dashboard once it exists).
START_VIEWS = ("dash", "vm")


def resolve(word: str) -> View | None:
    word = word.strip().lower()
    views = all_views()
    if word in views:
        return views[word]
    for view in views.values():
        if word in view.aliases:
            return view
    return None


def start_view() -> View:
    return next(all_views()[n] for n in START_VIEWS if all_views()[n].available)


def names() -> list[str]:
    """Every name and alias, for command-line completion."""
    out = []
    for view in all_views().values():
        out.append(view.name)
        out.extend(view.aliases)
    return out

"""The screen registry: every view the ``:`` command line, the palette and the help know, by name.

This is the hook for new screens. To add one, give it an entry here (``target`` is ``"module:Class"``, imported
only when the view is opened) and a ``.tcss`` file; nothing else needs to change. The class is built as
``Class(args=<text after the command>, **kwargs)``. Entries with ``target=None`` are planned views: they are
listed, and opening one says it is not there yet. The app opens on :data:`START_VIEWS`' first available view.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from textual.screen import Screen


@dataclass(frozen=True, slots=True)
class View:
    name: str
    title: str
    target: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    help: str = ""

    @property
    def available(self) -> bool:
        return self.target is not None

    def build(self, args: str = "") -> Screen[Any]:
        if self.target is None:
            raise LookupError(f"the {self.title} view is not built yet")
        module_name, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        screen: Screen[Any] = cls(args=args, **self.kwargs)
        return screen


_INVENTORY = "workbench.screens.inventory:InventoryScreen"


def _inventory(name: str, kind: str, title: str, aliases: tuple[str, ...]) -> View:
    return View(name, title, _INVENTORY, {"kind": kind}, aliases, f"Inventory: {title.lower()}")


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View(
            "dash",
            "Dashboard",
            "workbench.screens.dashboard:DashboardScreen",
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
            "workbench.screens.findings:FindingsScreen",
            aliases=("finding", "f"),
            help="Open findings",
        ),
        View(
            "mutes",
            "Mutes",
            "workbench.screens.mutes:MutesScreen",
            aliases=("mute", "exceptions"),
            help="Exceptions that need a decision: expired, expiring, stale, no ticket",
        ),
        View(
            "checks",
            "Checks",
            "workbench.screens.checks:ChecksScreen",
            aliases=("check",),
            help="The check catalogue",
        ),
        View(
            "scans",
            "Scan diff",
            "workbench.screens.scans:ScansScreen",
            aliases=("diff", "scan"),
            help="What changed between scans",
        ),
        View(
            "fix",
            "Fix wizard",
            "workbench.screens.fix_wizard:FixWizardScreen",
            aliases=("fixes",),
            help="Plan and apply fixes",
        ),
        View(
            "journal",
            "Journal",
            "workbench.screens.journal:JournalScreen",
            aliases=("audit", "log"),
            help="Fix journal and audit log",
        ),
        View(
            "images",
            "Image factory",
            "workbench.screens.images:ImagesScreen",
            aliases=("factory",),
            help="Approved images: approve, revoke, verify; scans, hardening, lineage",
        ),
        View(
            "query",
            "Query",
            "workbench.screens.query:QueryScreen",
            aliases=("sql", "q"),
            help="Read-only SQL over the cache",
        ),
        View(
            "sync",
            "Sync",
            "workbench.screens.sync_status:SyncScreen",
            aliases=("scopes", "status", "history"),
            help="Sync history, scope status, sync now",
        ),
        View(
            "settings",
            "Settings",
            "workbench.screens.settings:SettingsScreen",
            aliases=("config", "prefs"),
            help="Providers, credentials, read-only, theme",
        ),
    )
}

# The first available one is where the app opens (the dashboard once it exists).
START_VIEWS = ("dash", "vm")


def resolve(word: str) -> View | None:
    word = word.strip().lower()
    if word in VIEWS:
        return VIEWS[word]
    for view in VIEWS.values():
        if word in view.aliases:
            return view
    return None


def start_view() -> View:
    return next(VIEWS[n] for n in START_VIEWS if VIEWS[n].available)


def names() -> list[str]:
    """Every name and alias, for command-line completion."""
    out = []
    for view in VIEWS.values():
        out.append(view.name)
        out.extend(view.aliases)
    return out

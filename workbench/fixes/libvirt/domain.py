"""libvirt fixes: delete an old domain snapshot (irreversible), move a console to loopback (undoable).

Both act through the pooled read-write connection of the host (``LibvirtClients``): with libvirt's test driver
state lives per connection, so the change, the verification and the next sync must share one connection (see
``workbench.providers.libvirt.connection``). With real hosts it saves an SSH session per call.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.clock import iso_epoch
from workbench.fixes.base import (
    REVERSIBLE,
    DryRunOutcome,
    Fix,
    FixContext,
    FixError,
    FixInput,
    PlanItem,
    Target,
)
from workbench.fixes.onprem import RETENTION_INPUT, DeleteOldSnapshotFix, host_item
from workbench.providers.libvirt import domain_xml
from workbench.providers.libvirt.connection import import_libvirt

if TYPE_CHECKING:
    from workbench.fixes.journal import JournalEntry


def _domain(ctx: FixContext, host: str, uuid: str) -> Any | None:
    libvirt = import_libvirt()
    conn = ctx.clients("libvirt").connection(host, write=True)
    try:
        return conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError:
        return None


class DeleteOldSnapshot(DeleteOldSnapshotFix):
    id: ClassVar[str] = "libvirt.snapshot.delete_old"
    title: ClassVar[str] = "Delete a libvirt domain snapshot older than the retention"
    provider: ClassVar[str] = "libvirt"
    permissions: ClassVar[tuple[str, ...]] = ("libvirt read-write connection (domain:snapshot)",)
    inputs: ClassVar[tuple[FixInput, ...]] = (RETENTION_INPUT,)
    notes: ClassVar[tuple[str, ...]] = (
        (
            "The snapshot's disk and memory state are gone for good; child snapshots are re-parented onto "
            "its parent (libvirt merges the data, the guest keeps running)."
        ),
    )

    @staticmethod
    def _split(target: Target) -> tuple[str, str]:
        uuid, sep, name = target.resource_id.partition("/")
        if not sep or not name:
            raise FixError(
                f"{target.resource_id!r} is not a libvirt snapshot id (<domain uuid>/<name>)"
            )
        return uuid, name

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        libvirt = import_libvirt()
        uuid, name = self._split(target)
        dom = _domain(ctx, target.account, uuid)
        if dom is None:
            return {"exists": False}
        try:
            snap = dom.snapshotLookupByName(name)
        except libvirt.libvirtError:
            return {"exists": False, "domain": dom.name()}
        xml = ET.fromstring(snap.getXMLDesc())
        return {
            "exists": True,
            "domain": dom.name(),
            "snapshot": name,
            "created_at": iso_epoch(xml.findtext("creationTime")),
            "children": int(snap.numChildren()),
        }

    def delete_item(self, target: Target, live: dict[str, Any]) -> PlanItem:
        uuid, name = self._split(target)
        return host_item(
            target,
            "libvirt",
            "virDomainSnapshotDelete",
            {"host": target.account, "domain_uuid": uuid, "snapshot": name, "flags": 0},
            f"delete snapshot {name} of {live['domain']} (created {live['created_at']})",
        )

    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        p = item.params
        dom = _domain(ctx, p["host"], p["domain_uuid"])
        if dom is None:
            raise FixError(f"domain {p['domain_uuid']} is gone")
        dom.snapshotLookupByName(p["snapshot"]).delete(int(p["flags"]))
        return {"deleted": p["snapshot"]}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        # libvirt has no dry-run: check that the call's object still exists, change nothing.
        libvirt = import_libvirt()
        dom = _domain(ctx, item.params["host"], item.params["domain_uuid"])
        try:
            if dom is not None and dom.snapshotLookupByName(item.params["snapshot"]):
                return DryRunOutcome("plan_only", "snapshot found; libvirt has no dry-run")
        except libvirt.libvirtError as exc:
            return DryRunOutcome("would_fail", str(exc))
        return DryRunOutcome("would_fail", "domain not found")


def _set_listen(gfx: ET.Element, value: str) -> None:
    """Point one <graphics> at ``value``: an address, ``network:<name>``, ``socket`` or ``none``."""
    for sub in gfx.findall("listen"):
        gfx.remove(sub)
    gfx.attrib.pop("listen", None)
    if value.startswith("network:"):
        ET.SubElement(gfx, "listen", type="network", network=value.split(":", 1)[1])
    elif value in ("socket", "none"):
        ET.SubElement(gfx, "listen", type=value)
    else:
        gfx.set("listen", value)
        ET.SubElement(gfx, "listen", type="address", address=value)


class GraphicsListenLocalhost(Fix):
    id: ClassVar[str] = "libvirt.graphics.listen_localhost"
    title: ClassVar[str] = "Make VNC/SPICE consoles listen on loopback only"
    provider: ClassVar[str] = "libvirt"
    safety: ClassVar[str] = REVERSIBLE
    resource_kind: ClassVar[str] = "instance"
    permissions: ClassVar[tuple[str, ...]] = (
        "libvirt read-write connection (domain:write, defineXML)",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput("address", "loopback address the consoles listen on", "str", "127.0.0.1"),
    )
    notes: ClassVar[tuple[str, ...]] = (
        (
            "Changes the domain's persistent definition (defineXML); nothing is hot-plugged and the guest is not "
            "restarted. A running guest keeps its current console listener until its next cold boot, so the "
            "finding stays open until then (inventory shows listen_next_boot). QEMU cannot move a live listener."
        ),
        "Operators then reach the console through an SSH tunnel or virt-manager over qemu+ssh.",
    )
    verb: ClassVar[str] = "reconfigure"
    noun: ClassVar[str] = "domains"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        libvirt = import_libvirt()
        dom = _domain(ctx, target.account, target.resource_id)
        if dom is None:
            return {"exists": False}
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        graphics = domain_xml.graphics(domain_xml.parse(dom.XMLDesc(flags)), secure_xml=True)
        return {
            "exists": True,
            "domain": dom.name(),
            "listen": [
                g["listen"] for g in graphics
            ],  # persistent config, one per console, in order
        }

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        address = inputs["address"]
        if not domain_xml.is_local_listen(address) or address in ("socket", "none"):
            raise FixError(f"{self.id}: {address!r} is not a loopback address")
        if not live.get("exists") or self.is_fixed(live, inputs):
            return []
        wanted = [v if domain_xml.is_local_listen(v) else address for v in live["listen"]]
        return [self._item(target, wanted, f"consoles of {live['domain']} listen on {address}")]

    def _item(self, target: Target, listen: list[str | None], description: str) -> PlanItem:
        params = {
            "host": target.account,
            "domain_uuid": target.resource_id,
            "graphics_listen": listen,
        }
        return host_item(target, "libvirt", "virDomainDefineXML", params, description)

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return all(domain_xml.is_local_listen(v) for v in live.get("listen", []))

    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        libvirt = import_libvirt()
        p = item.params
        dom = _domain(ctx, p["host"], p["domain_uuid"])
        if dom is None:
            raise FixError(f"domain {p['domain_uuid']} is gone")
        # SECURE keeps console passwords in the XML we write back; without it they would be dropped.
        root = ET.fromstring(
            dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        )
        consoles = [
            g for g in root.findall("devices/graphics") if g.get("type") in ("vnc", "spice", "rdp")
        ]
        if len(consoles) != len(p["graphics_listen"]):
            raise FixError("the domain's consoles changed since the plan")
        for gfx, value in zip(consoles, p["graphics_listen"], strict=True):
            if value is not None:
                _set_listen(gfx, value)
        dom.connect().defineXML(ET.tostring(root, encoding="unicode"))
        return {"graphics_listen": p["graphics_listen"]}

    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        dom = _domain(ctx, item.params["host"], item.params["domain_uuid"])
        if dom is None:
            return DryRunOutcome("would_fail", "domain not found")
        return DryRunOutcome("plan_only", "libvirt has no dry-run for defineXML")

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        before = entry.before or {}
        if not before.get("exists"):
            return []
        return [
            self._item(
                entry.target, list(before["listen"]), "restore the consoles' listen addresses"
            )
        ]

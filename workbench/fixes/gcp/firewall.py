"""VPC firewall: disable world-open rules to admin ports, or narrow their sources to a CIDR.

The target is a network's rule set (the model's firewall group, what NET-01 reports). The live state lists every
ingress allow rule of the network that reaches an admin port, fixed or not, so the set is the same before and
after and each journal entry's before-state holds the exact rule to restore.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.base import REVERSIBLE, FixContext, FixInput, PlanItem, Target
from workbench.fixes.gcp.common import GcpFix
from workbench.fixes.journal import JournalEntry
from workbench.model import is_world
from workbench.providers.gcp.util import as_dict, last

ADMIN_PORTS = (22, 3389)  # NET-01's defaults: SSH and RDP


def _admin_ports(rule: dict[str, Any]) -> list[int]:
    found: set[int] = set()
    for entry in rule.get("allowed") or []:
        proto = str(entry.get("IPProtocol", "")).lower()
        if proto not in ("tcp", "all", "6"):
            continue
        specs = entry.get("ports") or ["0-65535"]
        for spec in specs:
            lo, _, hi = str(spec).partition("-")
            found |= {p for p in ADMIN_PORTS if int(lo) <= p <= int(hi or lo)}
    return sorted(found)


def _world_open(rule: dict[str, Any]) -> bool:
    ranges = rule.get("sourceRanges") or []
    implicit = not ranges and not rule.get("sourceTags") and not rule.get("sourceServiceAccounts")
    return not rule.get("disabled") and (implicit or any(is_world(r) for r in ranges))


class RestrictWorldAdminIngress(GcpFix):
    id: ClassVar[str] = "gcp.firewall.restrict_world_admin_ingress"
    title: ClassVar[str] = "Disable world-open firewall rules to SSH/RDP, or narrow them to a CIDR"
    resource_kind: ClassVar[str] = "firewall_group"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "compute.firewalls.list",
        "compute.firewalls.update",
        "compute.networks.updatePolicy",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput(
            "narrow_to",
            "keep access from this CIDR instead of disabling the rule",
            kind="cidr",
            config_key="admin_cidr",
        ),
    )
    noun: ClassVar[str] = "networks"

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        client = self.compute(ctx, "FirewallsClient")
        rules = []
        for rule in client.list(project=target.account, **self.clients(ctx).call_kwargs):
            data = as_dict(rule)
            if last(data.get("network")) != target.resource_id:
                continue
            if (data.get("direction") or "INGRESS") != "INGRESS" or not _admin_ports(data):
                continue
            rules.append(
                {
                    "name": data["name"],
                    "disabled": bool(data.get("disabled")),
                    "sourceRanges": list(data.get("sourceRanges") or []),
                    "sourceTags": list(data.get("sourceTags") or []),
                    "ports": _admin_ports(data),
                }
            )
        return {"exists": True, "rules": sorted(rules, key=lambda r: r["name"])}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not any(_world_open(r) for r in live.get("rules", []))

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        narrow = inputs.get("narrow_to")
        calls = []
        for rule in live.get("rules", []):
            if not _world_open(rule):
                continue
            ports = ", ".join(str(p) for p in rule["ports"])
            if narrow:
                kept = [r for r in rule["sourceRanges"] if not is_world(r)]
                body: dict[str, Any] = {"sourceRanges": sorted({*kept, narrow})}
                text = f"narrow rule {rule['name']} (port {ports}) to {', '.join(body['sourceRanges'])}"
            else:
                body = {"disabled": True}
                text = f"disable rule {rule['name']} (port {ports} open to the internet)"
            params = {"project": target.account, "firewall": rule["name"], "body": body}
            calls.append(self.call(target, "firewalls.patch", params, text))
        return calls

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        if ctx.cache is None:
            return []
        try:
            rows = ctx.cache.db.execute(
                "SELECT name FROM instances WHERE provider='gcp' AND account=? AND state='running' "
                "AND EXISTS (SELECT 1 FROM json_each(firewall_groups) WHERE value=?) ORDER BY name",
                (target.account, target.resource_id),
            ).fetchall()
        except Exception:  # best effort: an old cache must not stop the plan
            return []
        if not rows:
            return []
        names = ", ".join(str(r[0]) for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        return [
            (
                f"{len(rows)} running VM(s) in network {target.resource_id} lose SSH/RDP from "
                f"the internet: {names}"
            )
        ]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        name = entry.item.params["firewall"]
        before = next((r for r in (entry.before or {}).get("rules", []) if r["name"] == name), None)
        if before is None:
            return []
        body = {"disabled": before["disabled"], "sourceRanges": before["sourceRanges"]}
        params = {"project": entry.item.params["project"], "firewall": name, "body": body}
        return [
            self.call(entry.target, "firewalls.patch", params, f"restore rule {name} as it was")
        ]

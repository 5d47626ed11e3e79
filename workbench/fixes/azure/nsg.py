"""Network security groups: restrict world-open SSH/RDP rules to a CIDR, or turn them into Deny rules.

The live state holds each custom rule's exact REST JSON (minus etag and provisioningState, which change on every
write), so undo PUTs back precisely the rule that was there: same name, priority, prefixes, ports, description.
Default rules cannot be changed in Azure and are never touched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from workbench.fixes.azure.common import AzureFix, is_not_found, parse_arm, rest_json
from workbench.fixes.base import REVERSIBLE, FixContext, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry
from workbench.model import is_world, make_uid

# NET-01's default admin_ports: the fix resolves exactly what the check flags.
ADMIN_PORTS: dict[int, str] = {22: "SSH", 3389: "RDP"}


def _ports(props: dict[str, Any]) -> list[tuple[int, int]]:
    specs = props.get("destinationPortRanges") or [props.get("destinationPortRange") or "*"]
    out = []
    for spec in (str(s).strip() for s in specs):
        if spec in ("*", ""):
            out.append((0, 65535))
        else:
            lo, _, hi = spec.partition("-")
            out.append((int(lo), int(hi or lo)))
    return out


def _sources(props: dict[str, Any]) -> list[str]:
    many = [str(s) for s in props.get("sourceAddressPrefixes") or []]
    return many or ([str(props["sourceAddressPrefix"])] if props.get("sourceAddressPrefix") else [])


def exposed(props: dict[str, Any]) -> list[str]:
    """The admin services an inbound Allow rule opens to the internet ([] when it opens none)."""
    if str(props.get("direction", "")).lower() != "inbound":
        return []
    if str(props.get("access", "")).lower() != "allow":
        return []
    if str(props.get("protocol", "*")).lower() not in ("tcp", "*"):
        return []
    if not any(is_world(s) for s in _sources(props)):
        return []
    ranges = _ports(props)
    return [
        f"{n} ({p})" for p, n in sorted(ADMIN_PORTS.items()) if any(a <= p <= b for a, b in ranges)
    ]


def _group_id(rule_or_group_id: str) -> str:
    return rule_or_group_id.split("/securityrules/")[0]


class RestrictNsgAdminRules(AzureFix):
    id: ClassVar[str] = "azure.nsg.restrict_world_admin_rules"
    title: ClassVar[str] = "Restrict world-open SSH/RDP NSG rules to a CIDR, or make them Deny"
    resource_kind: ClassVar[str] = "firewall_group"
    also_targets: ClassVar[tuple[str, ...]] = ("firewall_rule",)
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "Microsoft.Network/networkSecurityGroups/read",
        "Microsoft.Network/networkSecurityGroups/securityRules/read",
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput(
            "narrow_to",
            "replace the internet source with this CIDR (without it the rule becomes Deny)",
            kind="cidr",
        ),
    )
    notes: ClassVar[tuple[str, ...]] = (
        "Undo puts back each rule's exact previous definition.",
        "A rule with a port range or several ports keeps them: only its source (or its access) changes.",
    )
    noun: ClassVar[str] = "network security groups"

    def normalize_target(self, target: Target) -> Target:
        # Rule findings (one row per prefix and port range) collapse onto their NSG: each rule changes once.
        if target.resource_kind != "firewall_rule":
            return target
        gid = _group_id(target.resource_id)
        uid = make_uid(target.provider, target.account, target.region, "firewall_group", gid)
        return replace(
            target,
            resource_uid=uid,
            resource_kind="firewall_group",
            resource_id=gid,
            resource_name="",
        )

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        gid = _group_id(target.resource_id)
        sub, group, name = parse_arm(gid)
        network = self.client(ctx, "network", sub)
        try:
            nsg = rest_json(network.network_security_groups.get(group, name))
        except Exception as exc:
            if is_not_found(exc):
                return {"exists": False, "group_id": gid}
            raise
        rules = []
        for rule in (nsg.get("properties") or {}).get("securityRules") or []:
            props = {
                k: v for k, v in (rule.get("properties") or {}).items() if k != "provisioningState"
            }
            rules.append({"name": rule["name"], "properties": props})
        rules.sort(key=lambda r: r["name"].lower())
        nics = [n.get("id") for n in (nsg.get("properties") or {}).get("networkInterfaces") or []]
        subnets = [s.get("id") for s in (nsg.get("properties") or {}).get("subnets") or []]
        return {"exists": True, "group_id": gid, "rules": rules, "nics": nics, "subnets": subnets}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not any(exposed(r["properties"]) for r in live["rules"])

    def _changed(self, props: dict[str, Any], narrow: str | None) -> dict[str, Any]:
        new = dict(props)
        if not narrow:
            new["access"] = "Deny"
            return new
        kept = [s for s in _sources(props) if not is_world(s)]
        merged = list(dict.fromkeys([*kept, narrow]))
        if len(merged) == 1:
            new["sourceAddressPrefix"], new["sourceAddressPrefixes"] = merged[0], []
        else:
            new["sourceAddressPrefixes"] = merged
            new.pop("sourceAddressPrefix", None)
        return new

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        _, group, nsg = parse_arm(live["group_id"])
        narrow = inputs.get("narrow_to")
        items = []
        for rule in live["rules"]:
            services = exposed(rule["properties"])
            if not services:
                continue
            what = f"restrict its source to {narrow}" if narrow else "set its access to Deny"
            items.append(
                self.call(
                    target,
                    "SecurityRules_CreateOrUpdate",
                    {
                        "resource_group_name": group,
                        "network_security_group_name": nsg,
                        "security_rule_name": rule["name"],
                        "security_rule_parameters": {
                            "properties": self._changed(rule["properties"], narrow)
                        },
                    },
                    f"rule {rule['name']} ({', '.join(services)} from the internet): {what}",
                )
            )
        return items

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = []
        for rule in live.get("rules", []):
            if exposed(rule["properties"]):
                spec = rule["properties"].get("destinationPortRanges") or [
                    rule["properties"].get("destinationPortRange")
                ]
                lines.append(
                    f"rule {rule['name']} (ports {', '.join(map(str, spec))}) changes for "
                    "every source it allowed from the internet"
                )
        users = [*live.get("nics", []), *live.get("subnets", [])]
        lines.append(f"NICs and subnets using the NSG: {', '.join(users) or 'none'}")
        return lines

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item, target = entry.item, entry.target
        name = item.params["security_rule_name"]
        before = next((r for r in (entry.before or {}).get("rules", []) if r["name"] == name), None)
        if before is None:
            return []
        params = {**item.params, "security_rule_parameters": {"properties": before["properties"]}}
        return [
            self.call(
                target,
                "SecurityRules_CreateOrUpdate",
                params,
                f"restore rule {name} exactly as it was",
            )
        ]

"""Network security groups as normalized rules, virtual networks and subnets, and NSG/VNet flow logs."""

from __future__ import annotations

import ipaddress
from typing import Any

from workbench.model import FirewallGroup, FirewallRule, Network, Setting, Subnet, TaskOutput
from workbench.providers.azure.util import Json, arm_id, ids_of, paged, parse_id, props, tags
from workbench.providers.base import TaskContext

_PROTOCOLS = {"*": "-1", "tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "esp", "ah": "ah"}


def _ports(proto: str, spec: str) -> tuple[int | None, int | None]:
    spec = spec.strip()
    if spec in ("*", "") or proto in ("icmp", "esp", "ah"):
        # The model: every port is 0-65535 for tcp/udp, and None/None for "all protocols".
        return (0, 65535) if proto in ("tcp", "udp") else (None, None)
    lo, _, hi = spec.partition("-")
    return int(lo), int(hi or lo)


def source_kind(source: str) -> str:
    if source == "*":
        return "any"
    try:
        ipaddress.ip_network(source, strict=False)
    except ValueError:
        return "service"  # a service tag: Internet, VirtualNetwork, AzureLoadBalancer, Storage.WestEurope…
    return "cidr"


def _remotes(p: Json, direction: str) -> list[tuple[str, str]]:
    """(address, kind) of the rule's far end: sources for inbound, destinations for outbound (as for AWS)."""
    side = "source" if direction == "ingress" else "destination"
    found = [(str(x), source_kind(str(x))) for x in p.get(f"{side}AddressPrefixes") or []]
    if not found and p.get(f"{side}AddressPrefix") is not None:
        single = str(p[f"{side}AddressPrefix"])
        found = [(single, source_kind(single))]
    found += [(a, "group") for a in ids_of(p.get(f"{side}ApplicationSecurityGroups") or [])]
    return found


def rule_records(nsg_id: str, rule: Json, *, default: bool) -> list[FirewallRule]:
    """One row per (remote prefix, destination port range) of one NSG rule; ``extra.rule_id`` names the rule."""
    p = props(rule)
    direction = "ingress" if str(p.get("direction", "")).lower() == "inbound" else "egress"
    proto_text = str(p.get("protocol") or "*")
    proto = _PROTOCOLS.get(proto_text.lower(), proto_text.lower())
    port_specs = [str(x) for x in p.get("destinationPortRanges") or []]
    if not port_specs:
        port_specs = [str(p.get("destinationPortRange") or "*")]
    rule_id = arm_id(rule.get("id")) or f"{nsg_id}/securityrules/{str(rule.get('name')).lower()}"
    rows: list[FirewallRule] = []
    for remote, kind in _remotes(p, direction):
        for spec in port_specs:
            lo, hi = _ports(proto, spec)
            rows.append(
                FirewallRule(
                    id=f"{rule_id}/{lo}-{hi}/{remote}",
                    name=str(rule.get("name") or ""),
                    raw=rule,
                    group_id=nsg_id,
                    direction=direction,
                    action="deny" if str(p.get("access", "")).lower() == "deny" else "allow",
                    protocol=proto,
                    port_from=lo,
                    port_to=hi,
                    source=remote,
                    source_kind=kind,
                    priority=p.get("priority"),
                    description=str(p.get("description") or ""),
                    extra={
                        "rule_id": rule_id,
                        "rule_name": rule.get("name"),
                        "default_rule": default,
                        "port_spec": spec,
                        "source_ports": p.get("sourcePortRanges") or [p.get("sourcePortRange")],
                        "local_prefixes": _local(p, direction),
                    },
                )
            )
    return rows


def _local(p: Json, direction: str) -> list[str]:
    side = "destination" if direction == "ingress" else "source"
    return [str(x) for x in p.get(f"{side}AddressPrefixes") or []] or [
        str(p.get(f"{side}AddressPrefix") or "*")
    ]


def _flow_logs(network: Any, ctx: TaskContext) -> tuple[dict[str, Json], int]:
    """Flow logs by target (an NSG, or a VNet / subnet / NIC for VNet flow logs), and the Network Watcher count."""
    by_target: dict[str, Json] = {}
    watchers = list(paged(network.network_watchers.list_all(), ctx))
    for watcher in watchers:
        _, group, name = parse_id(watcher["id"])
        for log in paged(network.flow_logs.list(group, name), ctx):
            p = props(log)
            target = arm_id(p.get("targetResourceId"))
            if target:
                policy = p.get("retentionPolicy") or {}
                days = int(policy.get("days") or 0)
                by_target[target] = {
                    "enabled": bool(p.get("enabled")),
                    # 0 = kept indefinitely, Azure's own convention: a policy that is off, or 0 days, deletes nothing.
                    "retention_days": days if policy.get("enabled") else 0,
                    "flow_log_id": arm_id(log.get("id")),
                }
    return by_target, len(watchers)


def collect_network(clients: Any, subscription: str, out: TaskOutput, ctx: TaskContext) -> None:
    network = clients.network(subscription)
    logs, watchers = _flow_logs(network, ctx)

    def flow(*targets: str | None) -> bool | None:
        """Whether an enabled flow log covers any of ``targets``."""
        # No Network Watcher at all: flow logs were not looked at (or cannot exist); say unknown, not off.
        if not watchers:
            return None
        return any(logs.get(t or "", {}).get("enabled") for t in targets)

    # A NIC's subnets, for an NSG attached to NICs: a VNet flow log on the NIC's subnet or VNet logs it.
    nic_subnets: dict[str, list[str]] = {}
    if watchers and logs:
        for nic in paged(network.network_interfaces.list_all(), ctx):
            configs = props(nic).get("ipConfigurations") or []
            nic_subnets[arm_id(nic.get("id")) or ""] = ids_of(
                [(props(c).get("subnet") or {}) for c in configs]
            )

    def enabled_log(*targets: str) -> Json | None:
        return next((logs[t] for t in targets if logs.get(t, {}).get("enabled")), None)

    def vnet_log(subnet_id: str) -> Json | None:
        return enabled_log(subnet_id, subnet_id.split("/subnets/", 1)[0])

    def nsg_log(nsg_id: str, subnet_ids: list[str], nic_ids: list[str]) -> Json:
        """The flow log that records an NSG's traffic: its own NSG flow log, or else VNet flow logs that cover
        every place it is attached (a subnet by the subnet or its VNet; a NIC by the NIC, or by its subnets)."""
        own = logs.get(nsg_id, {})
        if own.get("enabled") or not (subnet_ids or nic_ids):
            return own
        covering = [vnet_log(sid) for sid in subnet_ids]
        for nic in nic_ids:
            via_subnets = [vnet_log(sid) for sid in nic_subnets.get(nic) or []]
            covering.append(
                enabled_log(nic) or (via_subnets[0] if via_subnets and all(via_subnets) else None)
            )
        found = [c for c in covering if c]
        if len(found) < len(covering):
            return own
        # The weakest retention is what the NSG's traffic gets (0 = kept indefinitely).
        days = [c["retention_days"] for c in found]
        kept = 0 if all(d == 0 for d in days) else min(d for d in days if d)
        return {**found[0], "retention_days": kept, "via": "vnet"}

    for nsg in paged(network.network_security_groups.list_all(), ctx):
        nsg_id = arm_id(nsg["id"]) or ""
        p = props(nsg)
        subnet_ids, nic_ids = (
            ids_of(p.get("subnets") or []),
            ids_of(p.get("networkInterfaces") or []),
        )
        log = nsg_log(nsg_id, subnet_ids, nic_ids)
        out.add(
            FirewallGroup(
                id=nsg_id,
                name=nsg.get("name", ""),
                tags=tags(nsg),
                raw=nsg,
                is_default=None,  # Azure has no default NSG; its default rules are rows below
                extra={
                    "location": nsg.get("location"),
                    "resource_group": parse_id(nsg["id"])[1].lower(),
                    "nic_ids": nic_ids,
                    "subnet_ids": subnet_ids,
                    "flow_logs": None if not watchers else bool(log.get("enabled")),
                    "flow_log_retention_days": log.get("retention_days"),
                    "flow_log_id": log.get("flow_log_id"),
                    "flow_log_via": log.get("via", "nsg") if log else None,
                },
            )
        )
        for rule in p.get("securityRules") or []:
            for row in rule_records(nsg_id, rule, default=False):
                out.add(row)
        for rule in p.get("defaultSecurityRules") or []:
            for row in rule_records(nsg_id, rule, default=True):
                out.add(row)

    for vnet in paged(network.virtual_networks.list_all(), ctx):
        vnet_id = arm_id(vnet["id"]) or ""
        vp = props(vnet)
        prefixes = (vp.get("addressSpace") or {}).get("addressPrefixes") or []
        out.add(
            Network(
                id=vnet_id,
                name=vnet.get("name", ""),
                tags=tags(vnet),
                raw=vnet,
                cidr=prefixes[0] if prefixes else None,
                flow_logs=flow(vnet_id),
                extra={"location": vnet.get("location"), "address_prefixes": prefixes},
            )
        )
        for subnet in vp.get("subnets") or []:
            sp = props(subnet)
            sid = arm_id(subnet["id"]) or ""
            nsg_ref = arm_id((sp.get("networkSecurityGroup") or {}).get("id"))
            out.add(
                Subnet(
                    id=sid,
                    name=subnet.get("name", ""),
                    raw=subnet,
                    network_id=vnet_id,
                    cidr=sp.get("addressPrefix"),
                    # Logged by a VNet flow log on the VNet or the subnet, or an NSG flow log on its NSG.
                    flow_logs=flow(vnet_id, sid, nsg_ref),
                    firewall_group_id=nsg_ref,
                )
            )

    note = None if watchers else "no Network Watcher in the subscription: flow logs not collected"
    value = {"watchers": watchers, "flow_logs": len(logs)} if watchers else None
    out.add(Setting(id="flow_logs", name="NSG / VNet flow logs", value=value, extra={"note": note}))

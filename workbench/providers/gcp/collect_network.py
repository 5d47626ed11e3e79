"""VPC collectors (firewall rules per network, networks, subnets) and the project's metadata settings."""

from __future__ import annotations

from typing import Any

from workbench.clock import iso
from workbench.model import FirewallGroup, FirewallRule, Network, Setting, Subnet, TaskOutput
from workbench.providers.base import TaskContext
from workbench.providers.gcp.util import (
    Json,
    aggregated,
    as_dict,
    expect_kind,
    items,
    last,
    meta_items,
    truthy,
    zonal_id,
)

_PROTOCOLS = {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
ANY = "0.0.0.0/0"


def _call(handle: Any, kind: str, method: str, **kwargs: Any) -> Any:
    return getattr(handle.clients.compute(kind), method)(**kwargs, **handle.clients.call_kwargs)


def _port_ranges(proto: str, ports: list[str]) -> list[tuple[int | None, int | None]]:
    """``["22", "1000-2000"]`` → ``[(22, 22), (1000, 2000)]``; no ports on tcp/udp means every port."""
    if proto == "-1":
        return [(None, None)]
    if not ports:
        return [(0, 65535)] if proto in ("tcp", "udp", "sctp") else [(None, None)]
    found: list[tuple[int | None, int | None]] = []
    for spec in ports:
        lo, _, hi = str(spec).partition("-")
        found.append((int(lo), int(hi or lo)))
    return found


def _sources(rule: Json, direction: str) -> list[tuple[str, str]]:
    """(source, source_kind) pairs. Egress rules list their destinations in the same column."""
    if direction == "egress":
        return [(c, "cidr") for c in rule.get("destinationRanges") or [ANY]]
    found = [(c, "cidr") for c in rule.get("sourceRanges") or []]
    found += [(t, "tag") for t in rule.get("sourceTags") or []]
    found += [(s, "service") for s in rule.get("sourceServiceAccounts") or []]
    # An ingress rule naming no source at all admits 0.0.0.0/0 (what gcloud and the API default to).
    return found or [(ANY, "cidr")]


def rule_records(rule: Json) -> list[FirewallRule]:
    """One row per (action entry, protocol, port range, source) of a VPC firewall rule."""
    direction = (rule.get("direction") or "INGRESS").lower()
    targets = list(rule.get("targetTags") or []) + list(rule.get("targetServiceAccounts") or [])
    network = last(rule.get("network"))
    rows: list[FirewallRule] = []
    for action, key in (("allow", "allowed"), ("deny", "denied")):
        for entry in rule.get(key) or []:
            raw_proto = str(entry.get("IPProtocol") or "all").lower()
            proto = _PROTOCOLS.get(raw_proto, raw_proto)
            for lo, hi in _port_ranges(proto, list(entry.get("ports") or [])):
                for source, kind in _sources(rule, direction):
                    rows.append(
                        FirewallRule(
                            id=f"{rule['name']}/{direction}/{action}/{proto}/{lo}-{hi}/{source}",
                            name=rule["name"],
                            created_at=iso(rule.get("creationTimestamp")),
                            raw=entry,
                            extra={
                                "rule_id": rule["name"],
                                "network": network,
                                "all_instances": not targets,
                                "logging": bool((rule.get("logConfig") or {}).get("enable")),
                            },
                            group_id=network,
                            direction=direction,
                            action=action,
                            protocol=proto,
                            port_from=lo,
                            port_to=hi,
                            source=source,
                            source_kind=kind,
                            disabled=bool(rule.get("disabled")),
                            priority=rule.get("priority"),
                            description=rule.get("description", ""),
                            targets=targets,
                        )
                    )
    return rows


def collect_network(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    project = handle.project
    networks = list(items(_call(handle, "NetworksClient", "list", project=project), ctx))
    subnets = list(
        aggregated(
            _call(handle, "SubnetworksClient", "aggregated_list", project=project),
            ctx,
            "subnetworks",
        )
    )
    firewalls = list(items(_call(handle, "FirewallsClient", "list", project=project), ctx))
    logged: dict[str, list[bool]] = {}
    for sub in subnets:
        flow = _subnet_flow_logs(sub)
        logged.setdefault(last(sub.get("network")), []).append(flow)
        sid = zonal_id(sub.get("selfLink"))
        out.add(
            Subnet(
                id=sid,
                name=sub.get("name", ""),
                created_at=iso(sub.get("creationTimestamp")),
                raw=sub,
                extra={
                    "region": last(sub.get("region")),
                    "purpose": sub.get("purpose"),
                    "private_google_access": bool(sub.get("privateIpGoogleAccess")),
                    "fingerprint": sub.get("fingerprint"),
                },
                network_id=last(sub.get("network")),
                cidr=sub.get("ipCidrRange"),
                flow_logs=flow,
            )
        )
        out.relate("subnet", sid, "in_network", "network", last(sub.get("network")))
    rules_by_net: dict[str, int] = {}
    for rule in firewalls:
        rules_by_net[last(rule.get("network"))] = rules_by_net.get(last(rule.get("network")), 0) + 1
        for row in rule_records(rule):
            out.add(row)
    by_name = {n["name"]: n for n in networks}
    for name in sorted(set(by_name) | set(rules_by_net)):
        net = by_name.get(name, {})
        flows = logged.get(name)
        if net:
            out.add(
                Network(
                    id=name,
                    name=name,
                    created_at=iso(net.get("creationTimestamp")),
                    raw=net,
                    extra={
                        "mode": _network_mode(net),
                        "routing_mode": (net.get("routingConfig") or {}).get("routingMode"),
                        "subnet_count": len(flows or []),
                    },
                    is_default=name == "default",
                    cidr=net.get("IPv4Range"),
                    flow_logs=all(flows) if flows else None,
                )
            )
        # A GCP network's firewall rules act as one set: the model's firewall group.
        out.add(
            FirewallGroup(
                id=name,
                name=name,
                raw=None,
                extra={"rule_count": rules_by_net.get(name, 0)},
                network_id=name,
                is_default=name == "default",
                description=net.get("description", ""),
            )
        )


def _subnet_flow_logs(sub: Json) -> bool:
    config = sub.get("logConfig")
    if config is not None and "enable" in config:
        return bool(config["enable"])
    return bool(sub.get("enableFlowLogs"))


def _network_mode(net: Json) -> str:
    if net.get("IPv4Range"):
        return "legacy"
    return "auto" if net.get("autoCreateSubnetworks") else "custom"


def collect_project(handle: Any, out: TaskOutput, ctx: TaskContext) -> None:
    """Project-wide metadata that governs every instance's SSH access, as Setting rows."""
    ctx.checkpoint()
    answer = _call(handle, "ProjectsClient", "get", project=handle.project)
    expect_kind(answer)
    project = as_dict(answer)
    for setting in project_settings(project):
        out.add(setting)


def project_settings(project: Json) -> list[Setting]:
    meta = meta_items(project.get("commonInstanceMetadata"))
    keys = (meta.get("ssh-keys") or "") + "\n" + (meta.get("sshKeys") or "")
    key_count = len([line for line in keys.splitlines() if line.strip()])
    values: dict[str, Any] = {
        # OS Login and its 2FA are off unless the project turns them on.
        "os_login": bool(truthy(meta.get("enable-oslogin"))),
        "os_login_2fa": bool(truthy(meta.get("enable-oslogin-2fa"))),
        "project_ssh_keys": key_count > 0,
        "serial_port_enable": bool(truthy(meta.get("serial-port-enable"))),
        "default_service_account": project.get("defaultServiceAccount"),
        "project_number": project.get("id"),
    }
    common = project.get("commonInstanceMetadata") or {}
    extra = {
        "project": project.get("name"),
        "ssh_key_count": key_count,
        "metadata_fingerprint": common.get("fingerprint"),
    }
    return [
        Setting(id=key, name=key, raw={"key": key, "value": value}, extra=extra, value=value)
        for key, value in values.items()
    ]

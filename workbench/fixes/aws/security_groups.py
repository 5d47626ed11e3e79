"""Security groups: revoke world-open ingress to admin ports, or narrow it to a CIDR the operator gives.

Rules are named by content (protocol, ports, CIDR), not by ``sgr-`` id: a rule restored by undo gets a new id,
and content is what both revoke and authorize match on. The live state keeps each rule's description so undo
re-creates exactly the rule that was there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix, is_not_found
from workbench.fixes.base import REVERSIBLE, FixContext, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry
from workbench.model import make_uid

ADMIN_PORTS: dict[int, str] = {
    22: "SSH",
    3389: "RDP",
    5985: "WinRM",
    5986: "WinRM/TLS",
    1433: "SQL Server",
    1521: "Oracle",
    3306: "MySQL",
    5432: "PostgreSQL",
    6379: "Redis",
    9200: "Elasticsearch",
    11211: "Memcached",
    27017: "MongoDB",
}
WORLD = {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}


def admin_ports(rule: dict[str, Any]) -> list[str]:
    """The admin services a rule exposes (all of them for protocol -1)."""
    if rule["protocol"] not in ("-1", "tcp", "6"):
        return []
    lo, hi = rule.get("from"), rule.get("to")
    if rule["protocol"] == "-1" or lo is None or hi is None or lo < 0:
        return sorted(set(ADMIN_PORTS.values()))
    return [f"{name} ({port})" for port, name in sorted(ADMIN_PORTS.items()) if lo <= port <= hi]


def is_world_admin(rule: dict[str, Any]) -> bool:
    return rule["cidr"] == WORLD[rule["family"]] and bool(admin_ports(rule))


def permission(rule: dict[str, Any], cidr: str | None = None, *, describe: bool) -> dict[str, Any]:
    """An IpPermissions entry for ``rule`` (optionally with another CIDR of the same family)."""
    perm: dict[str, Any] = {"IpProtocol": rule["protocol"]}
    if rule["protocol"] != "-1":
        perm["FromPort"], perm["ToPort"] = rule["from"], rule["to"]
    rng: dict[str, Any] = {
        "CidrIp" if rule["family"] == "ipv4" else "CidrIpv6": cidr or rule["cidr"]
    }
    if describe and rule.get("description"):
        rng["Description"] = rule["description"]
    perm["IpRanges" if rule["family"] == "ipv4" else "Ipv6Ranges"] = [rng]
    return perm


def _rule_text(rule: dict[str, Any]) -> str:
    ports = "all ports" if rule["protocol"] == "-1" else f"{rule['from']}-{rule['to']}"
    return f"{rule['protocol']} {ports} from {rule['cidr']}"


class RevokeWorldAdminIngress(AwsFix):
    id: ClassVar[str] = "aws.sg.revoke_world_admin_ingress"
    title: ClassVar[str] = "Revoke world-open ingress to admin ports, or narrow it to a CIDR"
    resource_kind: ClassVar[str] = "firewall_group"
    safety: ClassVar[str] = REVERSIBLE
    permissions: ClassVar[tuple[str, ...]] = (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DescribeNetworkInterfaces",
    )
    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput(
            "narrow_to", "keep access from this CIDR instead of revoking it outright", kind="cidr"
        ),
    )
    noun: ClassVar[str] = "security groups"
    also_targets: ClassVar[tuple[str, ...]] = ("firewall_rule",)

    def normalize_target(self, target: Target) -> Target:
        # Several rule findings of one group become one target, so each rule is revoked once.
        if target.resource_kind != "firewall_rule" or target.resource_id.startswith("sgr-"):
            return target
        gid = target.resource_id.split("/", 1)[0]
        uid = make_uid(target.provider, target.account, target.region, "firewall_group", gid)
        return replace(
            target,
            resource_uid=uid,
            resource_kind="firewall_group",
            resource_id=gid,
            resource_name="",
        )

    def group_id(self, ctx: FixContext, target: Target) -> str:
        rid = target.resource_id
        if target.resource_kind == "firewall_rule":
            # The AWS collector names rules "<group id>/<direction>/…"; an sgr- id needs the API.
            if rid.startswith("sgr-"):
                rules = self.ec2(ctx, target).describe_security_group_rules(
                    SecurityGroupRuleIds=[rid]
                )["SecurityGroupRules"]
                return str(rules[0]["GroupId"]) if rules else rid
            return rid.split("/", 1)[0]
        return rid

    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        gid = self.group_id(ctx, target)
        ec2 = self.ec2(ctx, target)
        try:
            ec2.describe_security_groups(GroupIds=[gid])
        except ClientError as exc:
            if is_not_found(exc):
                return {"exists": False, "group_id": gid}
            raise
        pages = ec2.get_paginator("describe_security_group_rules").paginate(
            Filters=[{"Name": "group-id", "Values": [gid]}]
        )
        ingress = []
        for page in pages:
            for r in page["SecurityGroupRules"]:
                if r.get("IsEgress") or not (r.get("CidrIpv4") or r.get("CidrIpv6")):
                    continue
                family = "ipv4" if r.get("CidrIpv4") else "ipv6"
                ingress.append(
                    {
                        "protocol": str(r.get("IpProtocol", "-1")),
                        "from": r.get("FromPort"),
                        "to": r.get("ToPort"),
                        "family": family,
                        "cidr": r.get("CidrIpv4") or r.get("CidrIpv6"),
                        "description": r.get("Description") or "",
                    }
                )
        ingress.sort(
            key=lambda x: (x["family"], x["cidr"], x["protocol"], str(x["from"]), str(x["to"]))
        )
        return {"exists": True, "group_id": gid, "ingress": ingress}

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not any(is_world_admin(r) for r in live.get("ingress", []))

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if self.is_fixed(live, inputs):
            return []
        gid = live["group_id"]
        narrow = inputs.get("narrow_to")
        narrow_family = None
        if narrow:
            narrow_family = "ipv4" if ipaddress.ip_network(narrow).version == 4 else "ipv6"
        existing = {(r["protocol"], r["from"], r["to"], r["cidr"]) for r in live["ingress"]}
        items: list[PlanItem] = []
        for rule in (r for r in live["ingress"] if is_world_admin(r)):
            requires: list[int] = []
            key = (rule["protocol"], rule["from"], rule["to"], narrow)
            if narrow and narrow_family == rule["family"] and key not in existing:
                existing.add(key)
                requires = [len(items)]
                perm = permission(rule, narrow, describe=True)
                items.append(
                    self.call(
                        target,
                        "AuthorizeSecurityGroupIngress",
                        {"GroupId": gid, "IpPermissions": [perm]},
                        f"allow {_rule_text({**rule, 'cidr': narrow})} instead",
                    )
                )
            items.append(
                self.call(
                    target,
                    "RevokeSecurityGroupIngress",
                    {"GroupId": gid, "IpPermissions": [permission(rule, describe=False)]},
                    f"revoke {_rule_text(rule)} ({', '.join(admin_ports(rule))})",
                    requires=requires,
                )
            )
        return items

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        lines = []
        for rule in (r for r in live.get("ingress", []) if is_world_admin(r)):
            wide = rule["protocol"] == "-1" or (rule["to"] or 0) - (rule["from"] or 0) > 0
            extra = "; it also closes every other port in that range" if wide else ""
            lines.append(f"rule {_rule_text(rule)} closes for the internet{extra}")
        try:
            pages = (
                self.ec2(ctx, target)
                .get_paginator("describe_network_interfaces")
                .paginate(
                    Filters=[
                        {"Name": "group-id", "Values": [live.get("group_id", target.resource_id)]}
                    ]
                )
            )
            users = sorted(
                {
                    (n.get("Attachment") or {}).get("InstanceId") or n["NetworkInterfaceId"]
                    for p in pages
                    for n in p["NetworkInterfaces"]
                }
            )
            lines.append(f"instances and interfaces using the group: {', '.join(users) or 'none'}")
        except Exception as exc:
            lines.append(f"instances using the group: unknown ({exc})")
        return lines

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item, target = entry.item, entry.target
        gid = item.params["GroupId"]
        if item.operation == "AuthorizeSecurityGroupIngress":
            perms = [_strip_descriptions(p) for p in item.params["IpPermissions"]]
            return [
                self.call(
                    target,
                    "RevokeSecurityGroupIngress",
                    {"GroupId": gid, "IpPermissions": perms},
                    "remove the narrowed rule again",
                )
            ]
        if item.operation == "RevokeSecurityGroupIngress":
            restore = [
                permission(r, describe=True)
                for r in (entry.before or {}).get("ingress", [])
                if permission(r, describe=False) in item.params["IpPermissions"]
            ]
            if restore:
                return [
                    self.call(
                        target,
                        "AuthorizeSecurityGroupIngress",
                        {"GroupId": gid, "IpPermissions": restore},
                        "restore the revoked rule exactly (with its description)",
                    )
                ]
        return []


def _strip_descriptions(perm: dict[str, Any]) -> dict[str, Any]:
    out = dict(perm)
    for key in ("IpRanges", "Ipv6Ranges"):
        if key in out:
            out[key] = [{k: v for k, v in r.items() if k != "Description"} for r in out[key]]
    return out

"""EC2 network collectors (security groups and their rules, VPCs, subnets, flow logs) and region settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.clock import iso
from workbench.model import FirewallGroup, FirewallRule, Network, Setting, Subnet, TaskOutput
from workbench.providers.aws.util import expect, jsonable, pages, tag_dict
from workbench.providers.base import TaskCancelled, TaskContext, describe_error

_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "-1": "-1", "all": "-1"}

RuleKey = tuple[str, bool, str, int | None, int | None, str]


def _proto(value: Any) -> str:
    text = str(value if value is not None else "-1").lower()
    return _PROTOCOLS.get(text, text)


def _ports(proto: str, item: dict[str, Any]) -> tuple[int | None, int | None]:
    if proto == "-1":
        return None, None  # every port
    lo, hi = item.get("FromPort"), item.get("ToPort")
    if proto in ("tcp", "udp") and (lo in (None, -1)) and (hi in (None, -1)):
        return 0, 65535
    return lo, hi


def _rule_ids(ec2: Any, ctx: TaskContext) -> dict[RuleKey, str]:
    """(group, egress, protocol, from, to, source) → the provider's ``sgr-…`` id."""
    ids: dict[RuleKey, str] = {}
    for rule in pages(ec2, "describe_security_group_rules", ctx, "SecurityGroupRules"):
        proto = _proto(rule.get("IpProtocol"))
        lo, hi = _ports(proto, rule)
        ref = rule.get("ReferencedGroupInfo") or {}
        source = (
            rule.get("CidrIpv4")
            or rule.get("CidrIpv6")
            or ref.get("GroupId")
            or rule.get("PrefixListId")
            or ""
        )
        key = (rule["GroupId"], bool(rule.get("IsEgress")), proto, lo, hi, source)
        ids[key] = rule["SecurityGroupRuleId"]
    return ids


def _sources(perm: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, source_kind, description) for every source of one IpPermission."""
    found = [(r["CidrIp"], "cidr", r.get("Description", "")) for r in perm.get("IpRanges") or []]
    found += [
        (r["CidrIpv6"], "cidr", r.get("Description", "")) for r in perm.get("Ipv6Ranges") or []
    ]
    found += [
        (p["GroupId"], "group", p.get("Description", ""))
        for p in perm.get("UserIdGroupPairs") or []
        if p.get("GroupId")
    ]
    # Prefix lists name AWS services or managed CIDR sets: the nearest model kind is "service".
    found += [
        (p["PrefixListId"], "service", p.get("Description", ""))
        for p in perm.get("PrefixListIds") or []
    ]
    return found


def rule_records(group: dict[str, Any], rule_ids: dict[RuleKey, str]) -> list[FirewallRule]:
    """One row per (direction, protocol, port range, source) of a security group."""
    gid = group["GroupId"]
    rows: list[FirewallRule] = []
    for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
        direction = "egress" if egress else "ingress"
        for perm in group.get(key) or []:
            proto = _proto(perm.get("IpProtocol"))
            lo, hi = _ports(proto, perm)
            for source, kind, desc in _sources(perm):
                rid = rule_ids.get((gid, egress, proto, lo, hi, source))
                rows.append(
                    FirewallRule(
                        id=f"{gid}/{direction}/{proto}/{lo}-{hi}/{source}",
                        name=desc,
                        raw=jsonable(perm),
                        extra={"rule_id": rid, "group_name": group.get("GroupName")},
                        group_id=gid,
                        direction=direction,
                        protocol=proto,
                        port_from=lo,
                        port_to=hi,
                        source=source,
                        source_kind=kind,
                        description=desc,
                    )
                )
    return rows


def collect_network(ec2: Any, out: TaskOutput, ctx: TaskContext) -> None:
    try:
        rule_ids = _rule_ids(ec2, ctx)
    except Exception as exc:  # older partitions lack the call: rules still land, without sgr ids
        if getattr(exc, "response", None) is None:
            raise
        rule_ids = {}
    for group in pages(ec2, "describe_security_groups", ctx, "SecurityGroups"):
        tags = tag_dict(group)
        out.add(
            FirewallGroup(
                id=group["GroupId"],
                name=tags.get("Name") or group.get("GroupName", ""),
                tags=tags,
                raw=jsonable(group),
                extra={"group_name": group.get("GroupName"), "owner": group.get("OwnerId")},
                network_id=group.get("VpcId"),
                is_default=group.get("GroupName") == "default",
                description=group.get("Description", ""),
            )
        )
        for rule in rule_records(group, rule_ids):
            out.add(rule)
    logged: dict[str, list[str]] = {}
    for flow in pages(ec2, "describe_flow_logs", ctx, "FlowLogs"):
        if flow.get("FlowLogStatus", "ACTIVE") == "ACTIVE" and flow.get("ResourceId"):
            logged.setdefault(flow["ResourceId"], []).append(flow["FlowLogId"])
    for vpc in pages(ec2, "describe_vpcs", ctx, "Vpcs"):
        tags = tag_dict(vpc)
        out.add(
            Network(
                id=vpc["VpcId"],
                name=tags.get("Name", ""),
                tags=tags,
                raw=jsonable(vpc),
                extra={"flow_log_ids": logged.get(vpc["VpcId"], [])},
                is_default=vpc.get("IsDefault"),
                cidr=vpc.get("CidrBlock"),
                flow_logs=vpc["VpcId"] in logged,
            )
        )
    for sub in pages(ec2, "describe_subnets", ctx, "Subnets"):
        tags = tag_dict(sub)
        own, via_vpc = sub["SubnetId"] in logged, sub.get("VpcId") in logged
        out.add(
            Subnet(
                id=sub["SubnetId"],
                name=tags.get("Name", ""),
                tags=tags,
                raw=jsonable(sub),
                extra={
                    "flow_logs_from": "subnet" if own else "vpc" if via_vpc else None,
                    "availability_zone": sub.get("AvailabilityZone"),
                    "public_ip_on_launch": sub.get("MapPublicIpOnLaunch"),
                },
                network_id=sub.get("VpcId"),
                cidr=sub.get("CidrBlock"),
                flow_logs=own or via_vpc,
            )
        )
        if sub.get("VpcId"):
            out.relate("subnet", sub["SubnetId"], "in_network", "network", sub["VpcId"])


# Setting key → (EC2 operation, the key its answer always carries, how to read the value from it).
# (An account with no IMDS defaults set may leave AccountLevel out: that one is not required.)
SETTINGS: dict[str, tuple[str, str | None, Callable[[Any], Any]]] = {
    "ebs_encryption_by_default": (
        "get_ebs_encryption_by_default",
        "EbsEncryptionByDefault",
        lambda v: v,
    ),
    "ebs_default_kms_key": ("get_ebs_default_kms_key_id", "KmsKeyId", lambda v: v),
    "snapshot_block_public_access": (
        "get_snapshot_block_public_access_state",
        "State",
        lambda v: v,
    ),
    "image_block_public_access": (
        "get_image_block_public_access_state",
        "ImageBlockPublicAccessState",
        lambda v: v,
    ),
    "imds_defaults": (
        "get_instance_metadata_defaults",
        None,
        lambda r: jsonable(r.get("AccountLevel") or {}),
    ),
}


def collect_settings(ec2: Any, out: TaskOutput, ctx: TaskContext) -> None:
    """Region-level EC2 settings. A call that fails yields a stale Setting (value None, the error): the cache
    keeps the value it knew, marked stale, and a check never reads "unknown" as "off".

    Newer calls are missing in some partitions and emulators, and one missing setting must not hide the
    others; but when every call fails (no permission, no endpoint) the task fails so old rows are kept.
    """
    failures: list[Exception] = []
    for key, (operation, result_key, read) in SETTINGS.items():
        ctx.checkpoint()
        try:
            response = getattr(ec2, operation)()
            value = read(expect(response, result_key, operation) if result_key else response)
        except TaskCancelled:
            raise
        except Exception as exc:
            failures.append(exc)
            error = describe_error(exc)
            out.add(Setting(id=key, name=key, extra={"error": error}, value=None), stale=error)
            continue
        out.add(
            Setting(
                id=key,
                name=key,
                raw=jsonable(response),
                created_at=iso(None),
                value=value,
            )
        )
    if len(failures) == len(SETTINGS):
        raise failures[0]

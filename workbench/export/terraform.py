"""A fix plan as Terraform: the resource changes where a declarative form of the call exists, ``import``
blocks where the change is a field of a resource Terraform must first own, and a plain list of the calls that have
neither (removing a grant, revoking one rule, terminating: absence cannot be declared of a resource Terraform does
not manage).

The output names only resources and arguments of the hashicorp/aws, google and azurerm providers'
documentation; :data:`SCHEMA` records the arguments used, and the tests hold every emitted block against it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from workbench.fixes.base import PlanItem
from workbench.fixes.plan import Plan

# Resource type -> (required arguments, optional arguments), from the providers' documentation.
SCHEMA: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "aws_ec2_tag": (frozenset({"resource_id", "key", "value"}), frozenset()),
    "aws_ebs_encryption_by_default": (frozenset(), frozenset({"enabled"})),
    "aws_ebs_snapshot_block_public_access": (frozenset({"state"}), frozenset()),
    "aws_ec2_image_block_public_access": (frozenset({"state"}), frozenset()),
    "aws_ec2_instance_metadata_defaults": (
        frozenset(),
        frozenset(
            {
                "http_endpoint",
                "http_put_response_hop_limit",
                "http_tokens",
                "instance_metadata_tags",
            }
        ),
    ),
    "aws_ec2_instance_state": (frozenset({"instance_id", "state"}), frozenset({"force"})),
    "aws_ebs_snapshot": (
        frozenset({"volume_id"}),
        frozenset({"description", "storage_tier", "tags", "outpost_arn", "permanent_restore"}),
    ),
    "aws_snapshot_create_volume_permission": (
        frozenset({"snapshot_id", "account_id"}),
        frozenset(),
    ),
    "aws_ami_launch_permission": (
        frozenset({"image_id"}),
        frozenset({"account_id", "group", "organization_arn", "organizational_unit_arn"}),
    ),
    "aws_vpc_security_group_ingress_rule": (
        frozenset({"security_group_id", "ip_protocol"}),
        frozenset(
            {
                "cidr_ipv4",
                "cidr_ipv6",
                "description",
                "from_port",
                "to_port",
                "prefix_list_id",
                "referenced_security_group_id",
                "tags",
            }
        ),
    ),
}
# ``import`` targets: resource type -> how the provider documents its import id.
IMPORTS = {
    "aws_instance": "the instance id",
    "google_compute_firewall": "projects/{project}/global/firewalls/{name}",
    "google_compute_instance": "projects/{project}/zones/{zone}/instances/{name}",
    "azurerm_network_security_rule": "the rule's ARM id",
    "azurerm_managed_disk": "the disk's ARM id",
    "azurerm_snapshot": "the snapshot's ARM id",
}


@dataclass(slots=True)
class Block:
    """One ``resource`` (``kind`` "resource") or ``import`` block, with the call it stands for."""

    kind: str
    type: str
    name: str
    args: dict[str, Any]
    call: int
    note: str = ""


@dataclass(slots=True)
class Terraform:
    text: str
    blocks: list[Block] = field(default_factory=list)
    not_expressed: list[str] = field(default_factory=list)


def _name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(p for p in parts if p)).strip("_").lower() or "x"


def _aws(item: PlanItem) -> list[Block]:
    p, i, op = item.params, item.index, item.operation
    if op == "CreateTags":
        return [
            Block(
                "resource",
                "aws_ec2_tag",
                _name(rid, t["Key"]),
                {"resource_id": rid, "key": t["Key"], "value": t["Value"]},
                i,
            )
            for rid in p["Resources"]
            for t in p["Tags"]
        ]
    if op in ("EnableEbsEncryptionByDefault", "DisableEbsEncryptionByDefault"):
        return [
            Block(
                "resource",
                "aws_ebs_encryption_by_default",
                _name(item.region),
                {"enabled": op.startswith("Enable")},
                i,
            )
        ]
    if op == "EnableSnapshotBlockPublicAccess":
        return [
            Block(
                "resource",
                "aws_ebs_snapshot_block_public_access",
                _name(item.region),
                {"state": p["State"]},
                i,
            )
        ]
    if op == "DisableSnapshotBlockPublicAccess":
        return [
            Block(
                "resource",
                "aws_ebs_snapshot_block_public_access",
                _name(item.region),
                {"state": "unblocked"},
                i,
            )
        ]
    if op == "EnableImageBlockPublicAccess":
        return [
            Block(
                "resource",
                "aws_ec2_image_block_public_access",
                _name(item.region),
                {"state": p["ImageBlockPublicAccessState"]},
                i,
            )
        ]
    if op == "DisableImageBlockPublicAccess":
        return [
            Block(
                "resource",
                "aws_ec2_image_block_public_access",
                _name(item.region),
                {"state": "unblocked"},
                i,
            )
        ]
    if op == "ModifyInstanceMetadataDefaults":
        keys = {
            "HttpTokens": "http_tokens",
            "HttpPutResponseHopLimit": "http_put_response_hop_limit",
            "HttpEndpoint": "http_endpoint",
            "InstanceMetadataTags": "instance_metadata_tags",
        }
        args = {keys[k]: v for k, v in p.items() if k in keys}
        return [
            Block("resource", "aws_ec2_instance_metadata_defaults", _name(item.region), args, i)
        ]
    if op in ("StopInstances", "StartInstances"):
        state = "stopped" if op == "StopInstances" else "running"
        return [
            Block(
                "resource",
                "aws_ec2_instance_state",
                _name(iid),
                {"instance_id": iid, "state": state},
                i,
            )
            for iid in p["InstanceIds"]
        ]
    if op == "CreateSnapshot":
        args = {"volume_id": p["VolumeId"]}
        if p.get("Description"):
            args["description"] = p["Description"]
        tags = {
            t["Key"]: t["Value"]
            for spec in p.get("TagSpecifications", [])
            for t in spec.get("Tags", [])
        }
        if tags:
            args["tags"] = tags
        return [Block("resource", "aws_ebs_snapshot", _name(p["VolumeId"]), args, i)]
    if op == "ModifySnapshotAttribute" and p.get("OperationType") == "add" and p.get("UserIds"):
        return [
            Block(
                "resource",
                "aws_snapshot_create_volume_permission",
                _name(p["SnapshotId"], a),
                {"snapshot_id": p["SnapshotId"], "account_id": a},
                i,
            )
            for a in p["UserIds"]
        ]
    if op == "ModifyInstanceMetadataOptions":
        wanted = {
            "HttpTokens": "http_tokens",
            "HttpEndpoint": "http_endpoint",
            "HttpPutResponseHopLimit": "http_put_response_hop_limit",
        }
        change = ", ".join(f"{wanted[k]} = {json.dumps(v)}" for k, v in p.items() if k in wanted)
        return [
            Block(
                "import",
                "aws_instance",
                _name(p["InstanceId"]),
                {"id": p["InstanceId"]},
                i,
                f"then set metadata_options {{ {change} }}",
            )
        ]
    if op == "AuthorizeSecurityGroupIngress":
        blocks = []
        for perm in p.get("IpPermissions", []):
            for rng in perm.get("IpRanges", []):
                args = {
                    "security_group_id": p["GroupId"],
                    "ip_protocol": perm["IpProtocol"],
                    "cidr_ipv4": rng["CidrIp"],
                }
                if perm["IpProtocol"] != "-1":
                    args |= {"from_port": perm["FromPort"], "to_port": perm["ToPort"]}
                if rng.get("Description"):
                    args["description"] = rng["Description"]
                blocks.append(
                    Block(
                        "resource",
                        "aws_vpc_security_group_ingress_rule",
                        _name(p["GroupId"], rng["CidrIp"], str(perm.get("FromPort", ""))),
                        args,
                        i,
                    )
                )
        return blocks
    return []


def _gcp(item: PlanItem) -> list[Block]:
    p, i = item.params, item.index
    if item.operation == "firewalls.patch":
        rid = f"projects/{p['project']}/global/firewalls/{p['firewall']}"
        change = ", ".join(f"{k} = {json.dumps(v)}" for k, v in sorted(p.get("body", {}).items()))
        return [
            Block(
                "import",
                "google_compute_firewall",
                _name(p["firewall"]),
                {"id": rid},
                i,
                f"then set {change}",
            )
        ]
    if item.operation in (
        "instances.stop",
        "instances.start",
        "instances.updateShieldedInstanceConfig",
    ):
        rid = f"projects/{p['project']}/zones/{p['zone']}/instances/{p['instance']}"
        if item.operation == "instances.updateShieldedInstanceConfig":
            note = "then set shielded_instance_config " + json.dumps(
                p.get("body", {}), sort_keys=True
            )
        else:
            note = (
                'then set desired_status = "'
                + ("TERMINATED" if item.operation.endswith("stop") else "RUNNING")
                + '"'
            )
        return [
            Block("import", "google_compute_instance", _name(p["instance"]), {"id": rid}, i, note)
        ]
    return []


# ARM operations whose resource Terraform can import: (resource type, the parameter naming it).
_AZURE_IMPORTS = {
    "SecurityRules_CreateOrUpdate": ("azurerm_network_security_rule", "security_rule_name"),
    "Disks_Update": ("azurerm_managed_disk", "disk_name"),
    "Snapshots_Update": ("azurerm_snapshot", "snapshot_name"),
}


def _azure(item: PlanItem) -> list[Block]:
    from workbench.export import arm

    target = _AZURE_IMPORTS.get(item.operation)
    if target is None:
        return []
    call = arm.ARM_CALLS[item.operation]
    change = arm.body(item, call) or {}
    if item.operation == "SecurityRules_CreateOrUpdate":
        change = change.get("properties", {})
    rtype, name_key = target
    note = "then set " + json.dumps(change, sort_keys=True)
    rid = arm.resource_id(item, call)
    return [Block("import", rtype, _name(item.params[name_key]), {"id": rid}, item.index, note)]


def _hcl(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))} = {_hcl(v)}" for k, v in sorted(value.items()))
        return "{ " + inner + " }"
    return json.dumps(value)  # strings, numbers, booleans and lists are the same in HCL


def _block_text(block: Block) -> str:
    if block.kind == "import":
        lines = [
            f"# call #{block.call + 1}: {block.note} (terraform plan -generate-config-out=generated.tf writes the resource)",
            "import {",
            f"  to = {block.type}.{block.name}",
            f"  id = {json.dumps(block.args['id'])}",
            "}",
        ]
    else:
        lines = [f"# call #{block.call + 1}", f'resource "{block.type}" "{block.name}" {{']
        lines += [f"  {k} = {_hcl(v)}" for k, v in block.args.items()]
        lines.append("}")
    return "\n".join(lines)


def render(plan: Plan) -> Terraform:
    builders = {"aws": _aws, "gcp": _gcp, "azure": _azure}
    build = builders.get(plan.provider)
    blocks: list[Block] = []
    missing: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for item in plan.items:
        made = build(item) if build else []
        if not made:
            missing.append(f"#{item.index + 1} {item.call_text()}")
        for b in made:
            key = (b.kind, b.type, b.name)
            while key in seen:  # two calls on one resource name
                b.name += "_"
                key = (b.kind, b.type, b.name)
            seen.add(key)
            blocks.append(b)
    header = [
        f"# vmwb plan {plan.plan_id} ({plan.fix_id}), made {plan.created_at} by {plan.created_by}",
        f"# {len(plan.items)} call(s): {len(plan.items) - len(missing)} with a declarative form below.",
    ]
    header += [f"# NO DECLARATIVE FORM (apply with vmwb or by hand): {m}" for m in missing]
    text = "\n".join(header) + "\n\n" + "\n\n".join(_block_text(b) for b in blocks) + "\n"
    return Terraform(text, blocks, missing)

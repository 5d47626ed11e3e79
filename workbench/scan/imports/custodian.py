"""Cloud Custodian policy runs: ``custodian run -s OUT`` writes ``OUT/<policy>/resources.json`` (the matched
resources, as the cloud API described them) and ``metadata.json`` (the policy, its resource type, the account and
region it ran in). Every matched resource is a finding of ``custodian:<policy>``; a run that matched nothing
resolves what the policy matched before in that account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.scan.imports.landing import (
    SEVERITY_WORDS,
    Imported,
    ImportFileError,
    Parsed,
    read_json,
)

SOURCE = "custodian"

# Custodian resource type -> (the cache's kind, the key of the resource's id in the API's description).
_TYPES: dict[str, tuple[str, str]] = {
    "aws.ec2": ("instance", "InstanceId"),
    "aws.ebs": ("volume", "VolumeId"),
    "aws.ebs-snapshot": ("snapshot", "SnapshotId"),
    "aws.ami": ("image", "ImageId"),
    "aws.security-group": ("firewall_group", "GroupId"),
    "aws.vpc": ("network", "VpcId"),
    "aws.subnet": ("subnet", "SubnetId"),
    "gcp.instance": ("instance", "id"),
    "gcp.disk": ("volume", "id"),
    "gcp.snapshot": ("snapshot", "id"),
    "gcp.image": ("image", "id"),
    "gcp.firewall": ("firewall_group", "id"),
    "azure.vm": ("instance", "id"),
    "azure.disk": ("volume", "id"),
    "azure.networksecuritygroup": ("firewall_group", "id"),
}


def resources_files(path: Path) -> list[Path]:
    """``resources.json`` itself, a policy's folder, or an output folder holding one folder per policy."""
    if path.is_file():
        return [path]
    if (path / "resources.json").is_file():
        return [path / "resources.json"]
    found = sorted(path.glob("*/resources.json"))
    if not found:
        raise ImportFileError(
            f"{path}: no Cloud Custodian resources.json here (run `custodian run -s {path}`)"
        )
    return found


def _load(path: Path, what: str) -> tuple[Any, str]:
    if not path.exists():
        raise ImportFileError(
            f"{path}: missing; a Custodian run writes {what} beside resources.json"
        )
    return read_json(path, f"Cloud Custodian's {what}")


def read(path: Path, *, severity: str = "medium") -> Parsed:
    """The policy run's matched resources as findings, the policy as the rule that ran, and its account."""
    words = SEVERITY_WORDS.get(severity.lower())
    if words is None:
        raise ImportFileError(
            f"--severity {severity!r}: one of critical, high, medium, low, informational"
        )
    meta, _ = _load(path.parent / "metadata.json", "metadata.json")
    resources, digest = _load(path, "resources.json")
    policy = meta.get("policy") if isinstance(meta, dict) else None
    if not isinstance(policy, dict) or not policy.get("name") or not policy.get("resource"):
        raise ImportFileError(f"{path.parent / 'metadata.json'}: names no policy and resource type")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise ImportFileError(
            f"{path}: not Cloud Custodian's resources.json (a JSON array of resources)"
        )
    config = meta.get("config") or {}
    rtype = str(policy["resource"])
    rtype = rtype if "." in rtype else f"aws.{rtype}"  # Custodian's default provider
    provider = rtype.split(".", 1)[0]
    kind, id_key = _TYPES.get(rtype, ("", "id"))
    account = str(config.get("account_id") or "")
    region = str(config.get("region") or "")
    name = str(policy["name"])
    title = str(policy.get("description") or policy.get("comment") or name)
    # check.toml names Custodian equivalents as resource:filter (aws.ebs-snapshot:cross-account).
    filters = [f.get("type") for f in policy.get("filters") or [] if isinstance(f, dict)]
    aliases = tuple(f"{rtype}:{t}" for t in filters if isinstance(t, str))
    out: list[Imported] = []
    for i, res in enumerate(resources):
        rid = res.get(id_key) or res.get("id") or res.get("name")
        if not rid:
            raise ImportFileError(
                f"{path}: resource {i} has no {id_key}; is this a {rtype} policy's output?"
            )
        matched = res.get("c7n:MatchedFilters") or res.get("c7n:CrossAccountViolations")
        out.append(
            Imported(
                rule=name,
                title=title,
                severity=words,
                reason=f"matched Cloud Custodian policy {name}"
                + (f" ({', '.join(map(str, matched))})" if matched else ""),
                ref=str(rid),
                provider=provider,
                account=account,
                region=region,
                kind=kind,
                resource_id=str(rid),
                resource_name=str(res.get("name") or ""),
                evidence={"resource_type": rtype, "matched": matched},
                aliases=aliases,
            )
        )
    return Parsed(out, {name}, {account} if account else set(), digest)

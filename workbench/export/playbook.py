"""A fix plan as an Ansible playbook: one task per call of the plan, for teams that change estates only
through configuration management.

Every task makes exactly the plan's call, no more: where a collection module does that one thing
(``amazon.aws.ec2_tag``, ``amazon.aws.ec2_instance`` for a state change, ``azure.azcollection.azure_rm_resource``
for an ARM operation) it is used; otherwise the task runs the platform's own API call unchanged (the AWS CLI
with ``--cli-input-json``, the Compute REST API through ``ansible.builtin.uri``; google.cloud's modules are
declarative over whole resources and cannot express a patch of one field). Each task carries the plan id, the
call's index, its target and its before-state digest as tags and vars, so a callback can journal it. Calls with
no Ansible form (libvirt domain XML, vSphere reconfigure specs) are listed in the header and returned, never
silently dropped.

AWS tasks run as vmwb's fix identity, as vmwb's own apply would (``[aws] fix_profile``, ``fix_role_arn``,
``fix_external_id``): the profile as the play's ``AWS_PROFILE``, the role assumed once per account by
``amazon.aws.sts_assume_role`` (``no_log``: it registers credentials), whose credentials each task of that
account takes in its environment. Without either, the header says the tasks run as the caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.fixes.base import PlanItem
from workbench.fixes.plan import Plan

_COMPUTE = "https://compute.googleapis.com/compute/v1/projects/{project}"
# Compute operation -> (HTTP method, path under the project, the params key holding the body).
_GCP = {
    "firewalls.patch": ("PATCH", "/global/firewalls/{firewall}", "body"),
    "instances.stop": ("POST", "/zones/{zone}/instances/{instance}/stop", None),
    "instances.start": ("POST", "/zones/{zone}/instances/{instance}/start", None),
    "instances.updateShieldedInstanceConfig": (
        "PATCH",
        "/zones/{zone}/instances/{instance}/updateShieldedInstanceConfig",
        "body",
    ),
    "snapshots.setIamPolicy": ("POST", "/global/snapshots/{resource}/setIamPolicy", "policy"),
    "images.setIamPolicy": ("POST", "/global/images/{resource}/setIamPolicy", "policy"),
}
_AWS_STATES = {
    "StopInstances": "stopped",
    "StartInstances": "running",
    "TerminateInstances": "terminated",
}
_WAIT_FOR = {"snapshot_completed": ("snapshot-completed", "--snapshot-ids", "SnapshotId")}


@dataclass(slots=True)
class Playbook:
    text: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    not_expressed: list[str] = field(default_factory=list)  # call texts with no Ansible form


def _meta(plan: Plan, item: PlanItem) -> dict[str, Any]:
    return {
        "tags": ["vmwb", f"vmwb-plan-{plan.plan_id}", f"vmwb-call-{item.index}"],
        "vars": {
            "vmwb_plan": plan.plan_id,
            "vmwb_fix": plan.fix_id,
            "vmwb_call": item.index,
            "vmwb_target": item.target_uid,
            "vmwb_live_digest": item.live_digest,
        },
    }


def _aws(item: PlanItem) -> list[dict[str, Any]]:
    from botocore import xform_name

    p = item.params
    if item.operation == "CreateTags":
        return [
            {
                "amazon.aws.ec2_tag": {
                    "resource": rid,
                    "region": item.region,
                    "tags": {t["Key"]: t["Value"] for t in p["Tags"]},
                    "purge_tags": False,
                    "state": "present",
                }
            }
            for rid in p["Resources"]
        ]
    if item.operation == "DeleteTags":
        return [
            {
                "amazon.aws.ec2_tag": {
                    "resource": rid,
                    "region": item.region,
                    "tags": {t["Key"]: t.get("Value") for t in p["Tags"]},
                    "state": "absent",
                }
            }
            for rid in p["Resources"]
        ]
    if item.operation in _AWS_STATES and set(p) == {"InstanceIds"}:
        return [
            {
                "amazon.aws.ec2_instance": {
                    "instance_ids": list(p["InstanceIds"]),
                    "region": item.region,
                    "state": _AWS_STATES[item.operation],
                    "wait": True,
                }
            }
        ]
    action = xform_name(item.operation).replace("_", "-")
    argv = ["aws", item.service, action, "--region", item.region, "--output", "json"]
    tasks: list[dict[str, Any]] = [
        {
            "ansible.builtin.command": {"argv": [*argv, "--cli-input-json", json.dumps(p)]},
            "register": f"vmwb_call_{item.index}",
            "changed_when": True,
        }
    ]
    if item.wait in _WAIT_FOR:
        waiter, flag, key = _WAIT_FOR[item.wait]
        result = f"(vmwb_call_{item.index}.stdout | from_json).{key}"
        tasks.append(
            {
                "ansible.builtin.command": {
                    "argv": [
                        "aws",
                        item.service,
                        "wait",
                        waiter,
                        "--region",
                        item.region,
                        flag,
                        "{{ " + result + " }}",
                    ]
                },
                "changed_when": False,
            }
        )
    return tasks


def _gcp_operation_wait(index: int) -> dict[str, Any]:
    """Compute calls return an operation: the next call waits until it is DONE (what the fix engine does)."""
    return {
        "ansible.builtin.uri": {
            "url": "{{ vmwb_call_" + str(index) + ".json.selfLink }}",
            "method": "GET",
            "headers": {"Authorization": "Bearer {{ gcp_access_token }}"},
        },
        "register": f"vmwb_wait_{index}",
        "until": f"vmwb_wait_{index}.json.status == 'DONE'",
        "retries": 60,
        "delay": 5,
    }


def _gcp(item: PlanItem) -> list[dict[str, Any]] | None:
    p = item.params
    auth = {"Authorization": "Bearer {{ gcp_access_token }}"}
    if item.operation == "instances.setMetadata":
        base = (_COMPUTE + "/zones/{zone}/instances/{instance}").format(**p)
        drop = sorted({*p.get("unset", []), *p.get("set", {})})
        items = [{"key": k, "value": v} for k, v in sorted(p.get("set", {}).items())]
        read = f"vmwb_read_{item.index}.json.metadata"
        kept = (
            f"({read}['items'] | default([]) | rejectattr('key', 'in', {json.dumps(drop)}) | list)"
        )
        merged = "{{ {'fingerprint': " + read + ".fingerprint, 'items': " + kept
        merged += " + " + json.dumps(items) + "} }}"
        # setMetadata replaces every item and needs the current fingerprint: read, then write the merge.
        return [
            {
                "ansible.builtin.uri": {"url": base, "method": "GET", "headers": auth},
                "register": f"vmwb_read_{item.index}",
            },
            {
                "ansible.builtin.uri": {
                    "url": base + "/setMetadata",
                    "method": "POST",
                    "headers": auth,
                    "body_format": "json",
                    "body": merged,
                },
                "register": f"vmwb_call_{item.index}",
                "changed_when": True,
            },
            _gcp_operation_wait(item.index),
        ]
    spec = _GCP.get(item.operation)
    if spec is None:
        return None
    method, path, body_key = spec
    task: dict[str, Any] = {
        "url": (_COMPUTE + path).format(**p),
        "method": method,
        "headers": auth,
    }
    if body_key == "policy":
        task |= {"body_format": "json", "body": {"policy": p["policy"]}}
    elif body_key:
        task |= {"body_format": "json", "body": p[body_key]}
    tasks: list[dict[str, Any]] = [
        {"ansible.builtin.uri": task, "register": f"vmwb_call_{item.index}", "changed_when": True}
    ]
    if not item.operation.endswith("setIamPolicy"):  # setIamPolicy answers with the policy itself
        tasks.append(_gcp_operation_wait(item.index))
    return tasks


def _azure(item: PlanItem) -> list[dict[str, Any]] | None:
    from workbench.export import arm

    call = arm.ARM_CALLS.get(item.operation)
    if call is None:
        return None
    url = arm.resource_id(item, call) + (f"/{call.action}" if call.action else "")
    args: dict[str, Any] = {"url": url, "api_version": call.api_version, "method": call.method}
    body = arm.body(item, call)
    if body is not None:
        args["body"] = body
    return [{"azure.azcollection.azure_rm_resource": args, "register": f"vmwb_call_{item.index}"}]


def _assume_role(plan: Plan, account: str, aws: Mapping[str, Any]) -> dict[str, Any]:
    """The task that assumes the fix role in ``account``; its result is ``vmwb_identity_<account>``."""
    args: dict[str, Any] = {
        "role_arn": str(aws["fix_role_arn"]).replace("{account}", account),
        "role_session_name": "vmwb-fix",
    }
    if aws.get("fix_external_id"):
        args["external_id"] = aws["fix_external_id"]
    return {
        "name": f"assume the fix identity in {account}",
        "amazon.aws.sts_assume_role": args,
        "register": f"vmwb_identity_{account}",
        "no_log": True,
        "tags": ["vmwb", f"vmwb-plan-{plan.plan_id}"],
        "vars": {"vmwb_plan": plan.plan_id, "vmwb_fix": plan.fix_id},
    }


def _role_environment(account: str) -> dict[str, str]:
    creds = f"vmwb_identity_{account}.sts_creds"
    return {
        "AWS_ACCESS_KEY_ID": "{{ " + creds + ".access_key }}",
        "AWS_SECRET_ACCESS_KEY": "{{ " + creds + ".secret_key }}",
        "AWS_SESSION_TOKEN": "{{ " + creds + ".session_token }}",
    }


def _identity_line(aws: Mapping[str, Any]) -> str:
    if aws.get("fix_role_arn"):
        via = f" from profile {aws['fix_profile']}" if aws.get("fix_profile") else ""
        return f"# AWS tasks run as the fix identity: role {aws['fix_role_arn']}, assumed per account{via}."
    if aws.get("fix_profile"):
        return f"# AWS tasks run as the fix identity: profile {aws['fix_profile']} (AWS_PROFILE)."
    return (
        "# AWS tasks run with the caller's credentials: [aws] sets no fix_profile or fix_role_arn."
    )


def render(plan: Plan, aws: Mapping[str, Any] | None = None) -> Playbook:
    """The playbook of ``plan`` (see the module docstring); ``aws``: the ``[aws]`` config section, whose
    fix identity the AWS tasks run as."""
    import yaml

    aws = aws or {}
    assumed: set[str] = set()

    tasks: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in plan.items:
        if plan.provider == "aws":
            made: list[dict[str, Any]] | None = _aws(item)
        elif plan.provider == "gcp":
            made = _gcp(item)
        elif plan.provider == "azure":
            made = _azure(item)
        else:
            made = None
        if made is None:
            missing.append(f"#{item.index + 1} {item.call_text()}")
            continue
        role = plan.provider == "aws" and bool(aws.get("fix_role_arn"))
        if role and item.account not in assumed:
            assumed.add(item.account)
            tasks.append(_assume_role(plan, item.account, aws))
        for n, task in enumerate(made):
            step = f"#{item.index + 1}" + (f".{n + 1}" if len(made) > 1 else "")
            tasks.append(
                {
                    "name": f"{step} {item.description} [{item.target_uid}]",
                    **task,
                    **({"environment": _role_environment(item.account)} if role else {}),
                    **_meta(plan, item),
                }
            )
    play = {
        "name": f"vmwb plan {plan.plan_id}: {plan.title}",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": tasks,
    }
    if plan.provider == "gcp":
        play["vars"] = {"gcp_access_token": "{{ lookup('env', 'GCP_ACCESS_TOKEN') }}"}
    if plan.provider == "aws" and aws.get("fix_profile"):
        play["environment"] = {"AWS_PROFILE": aws["fix_profile"]}
    header = [
        f"# vmwb plan {plan.plan_id} ({plan.fix_id}), made {plan.created_at} by {plan.created_by}",
        f"# {len(plan.items)} call(s); one task per call, in the plan's order.",
        "# Review the plan with `vmwb fix plan` first; vmwb's own apply also verifies and journals.",
    ]
    if plan.provider == "aws":
        header.append(_identity_line(aws))
    if plan.provider == "gcp":
        header.append(
            "# The Compute REST calls read a token from GCP_ACCESS_TOKEN (gcloud auth print-access-token)."
        )
    for line in missing:
        header.append(f"# NOT EXPRESSED (no Ansible form; apply with vmwb): {line}")
    body = yaml.safe_dump([play], sort_keys=False, allow_unicode=True, width=120)
    return Playbook("\n".join(header) + "\n" + body, tasks, missing)

"""`vmwb fix export`: plans as Ansible playbooks and Terraform, held against the real tools' own specs.

The AWS plans are made by the fix engine against moto (real live reads). The GCP and Azure plans are built from
the calls their fixes make (the same operations and parameter shapes as workbench/fixes/gcp and azure). Every
playbook passes `ansible-playbook --syntax-check`, and every task's arguments are checked against its module's
documented argument spec (`ansible-doc -j`, from the collections the `ansible` package ships). Terraform output
parses as HCL2 and every block is held against the providers' documented arguments.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fix_estate import instance_id, snapshot_id, target, volume_id

from workbench.cli import main
from workbench.export import playbook, terraform
from workbench.fixes.base import PlanItem
from workbench.fixes.engine import FixEngine
from workbench.fixes.plan import Plan

BIN = Path(sys.executable).parent
TASK_KEYWORDS = {
    "name",
    "register",
    "changed_when",
    "until",
    "retries",
    "delay",
    "tags",
    "vars",
    "loop",
    "environment",
    "no_log",
}
MODULES = (
    "amazon.aws.ec2_tag",
    "amazon.aws.ec2_instance",
    "amazon.aws.sts_assume_role",
    "azure.azcollection.azure_rm_resource",
    "ansible.builtin.command",
    "ansible.builtin.uri",
)


@pytest.fixture(scope="module")
def ansible_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("ansible")
    return {**os.environ, "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp")}


@pytest.fixture(scope="module")
def specs(ansible_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each module's documented options, from ansible-doc (one call: it takes seconds to start)."""
    out = subprocess.run(
        [str(BIN / "ansible-doc"), "-j", *MODULES],
        capture_output=True,
        text=True,
        check=True,
        env=ansible_env,
        timeout=300,
    )
    return {name: doc["doc"]["options"] for name, doc in json.loads(out.stdout).items()}


def _check_playbooks(
    books: list[playbook.Playbook], tmp_path: Path, specs: dict[str, Any], env: dict[str, str]
) -> list[str]:
    """One syntax check of every book's play (ansible-playbook takes seconds to start), then each task."""
    plays = [play for book in books for play in yaml.safe_load(book.text)]
    path = tmp_path / "plans.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    check = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr + check.stdout
    used = []
    for play in plays:
        for task in play["tasks"]:
            assert "vmwb" in task["tags"] and task["vars"]["vmwb_plan"]
            (module,) = set(task) - TASK_KEYWORDS
            options, args = specs[module], task[module]
            unknown = set(args) - set(options)
            assert not unknown, f"{module}: {unknown} not in its documented options"
            for name, spec in options.items():
                if spec.get("required"):
                    assert name in args, f"{module}: required {name} missing"
                if spec.get("choices") and name in args and not str(args[name]).startswith("{{"):
                    assert args[name] in spec["choices"], f"{module}.{name}={args[name]!r}"
            used.append(module)
    return used


def _check_terraform(tf: terraform.Terraform) -> None:
    import hcl2

    parsed = hcl2.loads(tf.text)
    resources = [
        (rtype, args)
        for block in parsed.get("resource", [])
        for rtype, named in block.items()
        for args in named.values()
    ]
    assert len(resources) == sum(b.kind == "resource" for b in tf.blocks)
    for rtype, args in resources:
        required, optional = terraform.SCHEMA[rtype.strip('"')]
        given = {k for k in args if not k.startswith("__")}
        assert required <= given, f"{rtype}: missing {required - given}"
        assert given <= required | optional, f"{rtype}: unknown {given - required - optional}"
    imports = parsed.get("import", [])
    assert len(imports) == sum(b.kind == "import" for b in tf.blocks)
    for block in imports:
        assert {k for k in block if not k.startswith("__")} == {"to", "id"}
        assert block["to"].split(".")[0].strip("${}") in terraform.IMPORTS


def _aws_plans(make_engine: Any, ec2: Any) -> list[Plan]:
    import datetime as dt

    from test_fix_aws_moto import _open_group  # the same security group as the fix's own tests

    engine: FixEngine = make_engine()
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    iid = instance_id(ec2, {"Name": "old-batch"})
    gid = _open_group(ec2)
    plans = [
        engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid, "SNP-01")]),
        engine.plan("aws.instance.require_imdsv2", [target("instance", iid, "CFG-01")]),
        engine.plan(
            "aws.sg.revoke_world_admin_ingress",
            [target("firewall_group", gid)],
            {"narrow_to": "203.0.113.0/24"},
        ),
        engine.plan(
            "aws.ebs.encryption_by_default",
            [target("setting", "ebs_encryption_by_default", "SNP-05")],
        ),
        engine.plan(
            "aws.instance.mark_expiry",
            [target("instance", iid, "SPR-01")],
            {"owner": "team-a", "expiry_days": 7},
        ),
        engine.plan("aws.volume.delete_orphan", [target("volume", volume_id(ec2), "SPR-03")]),
    ]
    marked = plans[-2]
    engine.apply(marked)
    stop = make_engine(today=dt.date(2026, 12, 10)).plan(
        "aws.instance.stop_expired", [target("instance", iid, "SPR-01")]
    )
    make_engine(today=dt.date(2026, 12, 10)).apply(stop)
    plans.append(stop)
    plans.append(
        make_engine(today=dt.date(2026, 12, 24)).plan(
            "aws.instance.terminate_expired", [target("instance", iid, "SPR-01")]
        )
    )
    assert all(p.items for p in plans)
    return plans


@pytest.mark.usefixtures("moto")
def test_aws_plans_as_playbooks_and_terraform(
    make_engine: Any,
    ec2: Any,
    tmp_path: Path,
    specs: dict[str, Any],
    ansible_env: dict[str, str],
) -> None:
    ops: dict[str, set[str]] = {}
    plans = _aws_plans(make_engine, ec2)
    books = [playbook.render(plan) for plan in plans]
    assert not any(book.not_expressed for book in books)  # every AWS call has a task
    for module in _check_playbooks(books, tmp_path, specs, ansible_env):
        ops.setdefault(module, set())
    for plan in plans:
        tf = terraform.render(plan)
        _check_terraform(tf)
        assert len(tf.not_expressed) + len({b.call for b in tf.blocks}) == len(plan.items)
        for item in plan.items:
            ops.setdefault(item.operation, set()).add(plan.fix_id)
    # Modules where they do exactly the call, the AWS CLI's own operation where none does.
    assert {"amazon.aws.ec2_tag", "amazon.aws.ec2_instance", "ansible.builtin.command"} <= set(ops)
    # The waiter after CreateSnapshot reads the snapshot id the call returned.
    term = playbook.render(plans[-1])
    assert any("wait" in t.get("ansible.builtin.command", {}).get("argv", []) for t in term.tasks)
    assert "run with the caller's credentials" in term.text


def test_aws_playbooks_run_as_the_fix_identity(
    make_engine: Any,
    ec2: Any,
    tmp_path: Path,
    specs: dict[str, Any],
    ansible_env: dict[str, str],
) -> None:
    aws = {
        "fix_profile": "remediate",
        "fix_role_arn": "arn:aws:iam::{account}:role/VmwbRemediate",
        "fix_external_id": "vmwb-ext",
    }
    plans = _aws_plans(make_engine, ec2)
    books = [playbook.render(plan, aws) for plan in plans]
    assert "amazon.aws.sts_assume_role" in _check_playbooks(books, tmp_path, specs, ansible_env)
    for plan, book in zip(plans, books, strict=True):
        [play] = yaml.safe_load(book.text)
        assert play["environment"] == {"AWS_PROFILE": "remediate"}
        assert "role arn:aws:iam::{account}:role/VmwbRemediate, assumed per account" in book.text
        accounts = {item.account for item in plan.items}
        assumes = [t for t in book.tasks if "amazon.aws.sts_assume_role" in t]
        assert [a["amazon.aws.sts_assume_role"] for a in assumes] == [
            {
                "role_arn": f"arn:aws:iam::{acct}:role/VmwbRemediate",
                "role_session_name": "vmwb-fix",
                "external_id": "vmwb-ext",
            }
            for acct in sorted(accounts)
        ]
        assert all(a["no_log"] is True for a in assumes)  # it registers credentials
        assert book.tasks[0] is assumes[0]  # the identity before the first call
        for task in book.tasks:
            if task in assumes:
                continue
            acct = task["vars"]["vmwb_target"].split(":")[1]
            assert task["environment"]["AWS_SESSION_TOKEN"] == (
                "{{ vmwb_identity_" + acct + ".sts_creds.session_token }}"
            )


@pytest.mark.usefixtures("moto")
def test_terraform_says_which_calls_have_no_declarative_form(make_engine: Any, ec2: Any) -> None:
    engine: FixEngine = make_engine()
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    plan = engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid, "SNP-01")])
    tf = terraform.render(plan)
    assert tf.blocks == [] and len(tf.not_expressed) == 1
    assert "NO DECLARATIVE FORM" in tf.text and "ModifySnapshotAttribute" in tf.text
    imds = engine.plan(
        "aws.instance.require_imdsv2", [target("instance", instance_id(ec2), "CFG-01")]
    )
    (block,) = terraform.render(imds).blocks
    assert block.kind == "import" and block.type == "aws_instance"
    assert 'http_tokens = "required"' in block.note


def _plan(provider: str, fix_id: str, items: list[PlanItem]) -> Plan:
    for n, item in enumerate(items):
        item.index = n
    return Plan(
        plan_id="p0123456789a",
        fix_id=fix_id,
        title=fix_id,
        provider=provider,
        safety="reversible",
        created_at="2026-12-02T10:00:00Z",
        created_by="tester",
        role="operator",
        inputs={},
        permissions=[],
        notes=[],
        targets=[],
        items=items,
    ).seal()


def _gcp_plans() -> list[Plan]:
    uid = "gcp:proj-a:europe-west1:instance:web-1"
    where = {"project": "proj-a", "zone": "europe-west1-b", "instance": "web-1"}
    fw = "gcp:proj-a:global:firewall_group:allow-ssh"
    return [
        _plan(
            "gcp",
            "gcp.firewall.restrict_world_admin_ingress",
            [
                PlanItem(
                    fw,
                    "compute",
                    "firewalls.patch",
                    {
                        "project": "proj-a",
                        "firewall": "allow-ssh",
                        "body": {"sourceRanges": ["203.0.113.0/24"]},
                    },
                    "narrow",
                )
            ],
        ),
        _plan(
            "gcp",
            "gcp.instance.block_project_ssh_keys",
            [
                PlanItem(
                    uid,
                    "compute",
                    "instances.setMetadata",
                    {**where, "set": {"block-project-ssh-keys": "TRUE"}, "unset": []},
                    "set metadata",
                )
            ],
        ),
        _plan(
            "gcp",
            "gcp.instance.enable_shielded_vm",
            [
                PlanItem(uid, "compute", "instances.stop", dict(where), "stop"),
                PlanItem(
                    uid,
                    "compute",
                    "instances.updateShieldedInstanceConfig",
                    {**where, "body": {"enableSecureBoot": True, "enableVtpm": True}},
                    "shielded",
                    requires=[0],
                ),
                PlanItem(uid, "compute", "instances.start", dict(where), "start", requires=[1]),
            ],
        ),
        _plan(
            "gcp",
            "gcp.snapshot.remove_public_access",
            [
                PlanItem(
                    "gcp:proj-a:global:snapshot:snap-1",
                    "compute",
                    "snapshots.setIamPolicy",
                    {
                        "project": "proj-a",
                        "resource": "snap-1",
                        "policy": {"version": 1, "bindings": []},
                    },
                    "remove allUsers",
                )
            ],
        ),
    ]


def _azure_plans() -> list[Plan]:
    sub = "00000000-0000-0000-0000-000000000001"
    names = {"resource_group_name": "rg-a", "network_security_group_name": "nsg-a"}
    return [
        _plan(
            "azure",
            "azure.nsg.restrict_world_admin_rules",
            [
                PlanItem(
                    f"azure:{sub}:westeurope:firewall_group:nsg-a",
                    "network",
                    "SecurityRules_CreateOrUpdate",
                    {
                        **names,
                        "security_rule_name": "ssh",
                        "security_rule_parameters": {
                            "properties": {"sourceAddressPrefix": "203.0.113.0/24"}
                        },
                    },
                    "narrow",
                    account=sub,
                )
            ],
        ),
        _plan(
            "azure",
            "azure.disk.deny_network_access",
            [
                PlanItem(
                    f"azure:{sub}:westeurope:volume:disk-a",
                    "compute",
                    "Disks_Update",
                    {
                        "resource_group_name": "rg-a",
                        "disk_name": "disk-a",
                        "disk": {"properties": {"networkAccessPolicy": "DenyAll"}},
                    },
                    "deny",
                    account=sub,
                ),
                PlanItem(
                    f"azure:{sub}:westeurope:volume:disk-a",
                    "compute",
                    "Disks_RevokeAccess",
                    {"resource_group_name": "rg-a", "disk_name": "disk-a"},
                    "revoke SAS",
                    account=sub,
                ),
            ],
        ),
    ]


def test_gcp_and_azure_plans(
    tmp_path: Path, specs: dict[str, Any], ansible_env: dict[str, str]
) -> None:
    plans = [*_gcp_plans(), *_azure_plans()]
    books = [playbook.render(plan) for plan in plans]
    assert not any(book.not_expressed for book in books)
    _check_playbooks(books, tmp_path, specs, ansible_env)
    for plan in plans:
        _check_terraform(terraform.render(plan))
    (fw_plan, meta_plan, *_rest) = _gcp_plans()
    (task, wait) = playbook.render(fw_plan).tasks
    uri = task["ansible.builtin.uri"]
    assert uri["method"] == "PATCH"
    assert uri["url"].endswith("/projects/proj-a/global/firewalls/allow-ssh")
    assert uri["body"] == {"sourceRanges": ["203.0.113.0/24"]}
    assert wait["until"].endswith("status == 'DONE'")
    # setMetadata is a read-modify-write with the fingerprint, as the fix engine does it.
    read, write, _ = playbook.render(meta_plan).tasks
    assert read["ansible.builtin.uri"]["method"] == "GET"
    assert "fingerprint" in write["ansible.builtin.uri"]["body"]
    nsg = playbook.render(_azure_plans()[0]).tasks[0]["azure.azcollection.azure_rm_resource"]
    assert nsg["method"] == "PUT" and nsg["url"].endswith("/securityRules/ssh")


def test_on_prem_calls_are_listed_not_dropped() -> None:
    item = PlanItem(
        "libvirt:h:local:instance:vm1", "libvirt", "defineXML", {"xml": "<domain/>"}, "x"
    )
    plan = _plan("libvirt", "libvirt.graphics.listen_localhost", [item])
    book = playbook.render(plan)
    assert book.tasks == [] and book.not_expressed == ["#1 libvirt.defineXML(xml='<domain/>')"]
    assert "NOT EXPRESSED" in book.text


@pytest.mark.usefixtures("moto")
def test_cli_writes_private_files(
    make_engine: Any, ec2: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine: FixEngine = make_engine()
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    plan = engine.plan("aws.snapshot.revoke_public", [target("snapshot", sid, "SNP-01")])
    plan_file = tmp_path / "plan.json"
    plan.save(plan_file)
    out = tmp_path / "plan.yml"
    args = ["fix", "export", str(plan_file), "--format", "ansible", "--output", str(out)]
    assert main(args) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "modify-snapshot-attribute" in out.read_text()
    assert main(["fix", "export", str(plan_file), "--format", "terraform"]) == 0
    captured = capsys.readouterr()
    assert "no declarative form: #1 ec2.ModifySnapshotAttribute" in captured.err

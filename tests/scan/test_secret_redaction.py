"""Secrets in tags, labels, names and descriptions are redacted before they reach the cache (every provider:
it happens where rows are prepared), and so never reach an export; fingerprints are keyed HMACs."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from workbench import secret_scan
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.model import FirewallRule, Instance, ScopeRef, TaskOutput

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PASSWORD = "hunter2-correct-horse"
SCOPE = ScopeRef("aws", "111122223333", "eu-west-1")
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": "/nonexistent/vmwb-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vmwb-test-aws-credentials",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def _every_cell(db: Path) -> str:
    """Every value of every row of every table of the cache, as text."""
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells: list[str] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                cells.extend(str(v) for v in row)
        return "\n".join(cells)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def planted() -> Iterator[Any]:
    """A moto server of its own (a child process) with an instance whose tags hold an AWS key and a
    password, and a security group rule whose description holds a password assignment."""
    import boto3

    from workbench.emulators.aws import start_moto_server

    server = start_moto_server(separate_process=True)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in ENV.items():
                mp.setenv(k, v)
            ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=server.endpoint)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
            sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=sg,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 22,
                        "ToPort": 22,
                        "IpRanges": [
                            {"CidrIp": "10.0.0.0/8", "Description": f"admin password={PASSWORD}"}
                        ],
                    }
                ],
            )
            ec2.run_instances(
                ImageId="ami-12345678",
                MinCount=1,
                MaxCount=1,
                SubnetId=subnet,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [
                            {"Key": "Name", "Value": "web-01"},
                            {"Key": "deploy", "Value": f"key {AWS_KEY} for the pipeline"},
                            {"Key": "db_password", "Value": PASSWORD},
                        ],
                    }
                ],
            )
            yield server
    finally:
        server.stop()


def _sync(planted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, keep: bool) -> Path:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN"):
        monkeypatch.delenv(k, raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f"[general]\nkeep_raw_secrets = {'true' if keep else 'false'}\n"
        f'[aws]\nregions = ["eu-west-1"]\nendpoint_url = "{planted.endpoint}"\n'
    )
    db = tmp_path / "cache.db"
    assert main(["--db", str(db), "--config", str(config), "sync"]) in (0, 1)
    return db


def _exports(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    texts = []
    for kind in ("instances", "firewall-rules"):
        for fmt in ("csv", "json"):
            assert main(["--db", str(db), "inventory", kind, "--format", fmt]) == 0
            texts.append(capsys.readouterr().out)
    for fmt in ("csv", "json"):
        out = tmp_path / f"findings.{fmt}"
        assert main(["--db", str(db), "scan", "--format", fmt, "--output", str(out)]) in (0, 1)
        texts.append(out.read_text())
    return "\n".join(texts)


def test_planted_secrets_never_reach_the_cache_or_an_export(
    planted: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = _sync(planted, tmp_path, monkeypatch, keep=False)
    cells = _every_cell(db)
    assert "web-01" in cells  # the instance is there
    assert AWS_KEY not in cells and PASSWORD not in cells
    assert "[redacted:aws_access_key_id:" in cells and "[redacted:secret_named:" in cells
    assert "[redacted:assignment:" in cells  # the rule's description
    exported = _exports(db, tmp_path, capsys)
    assert "web-01" in exported
    assert AWS_KEY not in exported and PASSWORD not in exported


def test_keep_raw_secrets_keeps_them(
    planted: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = _sync(planted, tmp_path, monkeypatch, keep=True)
    cells = _every_cell(db)
    assert AWS_KEY in cells and PASSWORD in cells
    assert AWS_KEY in _exports(db, tmp_path, capsys)


def test_redaction_is_central_for_every_provider(tmp_path: Path) -> None:
    """Any record through the cache's writer is redacted: a GCP label, an Azure NSG rule description."""
    out = TaskOutput(
        [
            Instance(
                id="vm-1",
                name="vm-1",
                tags={"api_key": "sk-live-0123456789"},
                raw={"labels": {"api_key": "sk-live-0123456789"}},
            ),
            FirewallRule(
                id="r-1",
                description=f"token: {PASSWORD}",
                raw={"description": f"token: {PASSWORD}"},
            ),
        ]
    )
    with Cache.open(tmp_path / "c.db") as cache:
        cache.replace_task(cache.start_run({}), ScopeRef("gcp", "p", "global"), "t", out)
    cells = _every_cell(tmp_path / "c.db")
    assert "sk-live-0123456789" not in cells and PASSWORD not in cells


def test_the_same_secret_gets_the_same_marker_and_the_hash_is_stable(tmp_path: Path) -> None:
    def output() -> TaskOutput:
        return TaskOutput(
            [
                Instance(
                    id="i-1",
                    tags={"deploy": AWS_KEY},
                    raw={"Tags": [{"Key": "deploy", "Value": AWS_KEY}]},
                )
            ]
        )

    with Cache.open(tmp_path / "c.db") as cache:
        run = cache.start_run({})
        cache.replace_task(run, SCOPE, "t", output())
        again = cache.replace_task(run, SCOPE, "t", output())
        assert (again.changed, again.added) == (0, 0)  # a re-sync is not a change
        tags, raw = cache.db.execute("SELECT tags, raw FROM instances").fetchone()
    marker = json.loads(tags)["deploy"]
    assert marker.startswith("[redacted:aws_access_key_id:") and marker in raw


def test_fingerprints_are_keyed_hmacs_not_hashes() -> None:
    fp = secret_scan.fingerprint(PASSWORD)
    assert fp is not None and len(fp) == 32
    assert not hashlib.sha256(PASSWORD.encode()).hexdigest().startswith(fp[:12])
    hits = secret_scan.scan(f"export DB_PASSWORD={PASSWORD}\n")
    assert hits == [{"kind": "assignment", "line": 1, "fingerprint": fp}]


def test_another_key_gives_another_fingerprint(memory_keyring: Any) -> None:
    first = secret_scan.fingerprint(PASSWORD)
    memory_keyring.store.clear()  # a new machine: a new random key
    keyring.set_keyring(type(memory_keyring)())
    assert secret_scan.fingerprint(PASSWORD) != first


def test_no_keyring_redacts_without_a_fingerprint(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    assert secret_scan.fingerprint(PASSWORD) is None
    out = TaskOutput([Instance(id="i-1", tags={"deploy": AWS_KEY})])
    with Cache.open(tmp_path / "c.db") as cache:
        cache.replace_task(cache.start_run({}), SCOPE, "t", out)
        tags = json.loads(cache.db.execute("SELECT tags FROM instances").fetchone()[0])
    assert tags == {"deploy": "[redacted:aws_access_key_id]"}


def test_an_api_answer_naming_tokens_is_not_taken_for_a_secret() -> None:
    raw = json.dumps(
        {"ClientToken": "terraform-2026", "MetadataOptions": {"HttpTokens": "required"}}
    )
    assert not secret_scan.may_hold_secret(raw)
    assert secret_scan.may_hold_secret(json.dumps({"Description": f"password:\n {PASSWORD}"}))
    rec = Instance(id="i-1", tags={"Name": "web"}, raw=json.loads(raw))
    assert secret_scan.redact_record(rec) is rec

"""Every check has a failing and a passing fixture, built from model records into a temp cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from scan_estate import ACCOUNT, NOW, REGION, Estate

from workbench import model as m
from workbench.scan.engine import evaluate
from workbench.scan.loader import get_check, load_catalogue
from workbench.secret_scan import scan


def scan_script(script: str) -> list[dict[str, Any]]:
    """What the collector stores for a script: the likely secrets' kind, line and fingerprint."""
    return scan(script)


FOREIGN = "999988887777"


@dataclass
class Case:
    build: Callable[[Estate, bool], None]
    resource_id: str
    fail_params: dict[str, Any] = field(default_factory=dict)
    pass_params: dict[str, Any] = field(default_factory=dict)


def inst(bad_fields: dict[str, Any], good_fields: dict[str, Any], **common: Any) -> Callable:
    def build(e: Estate, bad: bool) -> None:
        fields = {"id": "i-1", "state": "running", "created_at": "2026-11-01T00:00:00Z"} | common
        e.put(m.Instance(**(fields | (bad_fields if bad else good_fields))))

    return build


def one(
    kind: type[m.Record], bad_fields: dict[str, Any], good_fields: dict[str, Any], **common: Any
):
    def build(e: Estate, bad: bool) -> None:
        e.put(kind(**(common | (bad_fields if bad else good_fields))))

    return build


def setting(key: str, bad: Any, good: Any) -> Callable:
    return one(m.Setting, {"value": bad}, {"value": good}, id=key, name=key)


def patch_state(bad_fields: dict[str, Any], good_fields: dict[str, Any]) -> Callable:
    def build(e: Estate, bad: bool) -> None:
        e.put(m.Instance(id="i-1", state="running"))
        e.put(m.PatchState(id="i-1", **(bad_fields if bad else good_fields)), task="patch")

    return build


def build_spr06(e: Estate, bad: bool) -> None:
    e.put(m.Instance(id="i-1", state="running"), m.Instance(id="i-2", state="running"))
    states = [m.PatchState(id="i-2", agent_online=True)]
    if not bad:
        states.append(m.PatchState(id="i-1", agent_online=True))
    e.put(*states, task="patch")


def build_iam06(e: Estate, bad: bool) -> None:
    e.put(
        m.Instance(id="i-1", state="running", firewall_groups=["sg-1"], extra={"key_name": "ops"}),
        m.Instance(id="i-2", state="running", firewall_groups=["sg-1"]),  # no relation: not reached
        m.FirewallGroup(id="sg-1", name="ssh"),
        m.FirewallRule(
            id="r1",
            group_id="sg-1",
            protocol="tcp",
            port_from=22,
            port_to=22,
            source="0.0.0.0/0" if bad else "10.0.0.0/8",
        ),
        relations=(m.Relation("instance", "i-1", "protected_by", "firewall_group", "sg-1"),),
    )


def build_pat03(e: Estate, bad: bool) -> None:
    e.put(m.Instance(id="i-1", state="running"))
    history = (
        ["2026-11-10T00:00:00Z", NOW]
        if bad
        else ["2026-11-10T00:00:00Z", "2026-11-20T00:00:00Z", NOW]
    )
    for n, at in enumerate(history):
        critical = 0 if (not bad and n == 1) else 2
        e.put(m.PatchState(id="i-1", critical_missing=critical), task="patch", now=at)


def build_image_use(field_bad: dict[str, Any], field_good: dict[str, Any]) -> Callable:
    def build(e: Estate, bad: bool) -> None:
        e.put(m.Instance(id="i-1", state="running", image_id="ami-1"))
        image = {"id": "ami-1", "owner": ACCOUNT} | (field_bad if bad else field_good)
        e.put(m.Image(**image), task="images")

    return build


def build_share(kind: str) -> Callable:
    def build(e: Estate, bad: bool) -> None:
        res: m.Record = (
            m.Snapshot(id="snap-1") if kind == "snapshot" else m.Image(id="ami-1", owner=ACCOUNT)
        )
        e.put(
            res,
            m.Grant(
                id=f"{res.id}/{FOREIGN}",
                resource_kind=kind,
                resource_id=res.id,
                grantee_kind="account",
                grantee=FOREIGN,
            ),
        )

    return build


def build_rule(bad_rule: dict[str, Any], good_rule: dict[str, Any]) -> Callable:
    def build(e: Estate, bad: bool) -> None:
        rule = {"id": "r1", "group_id": "sg-1", "source": "0.0.0.0/0"} | (
            bad_rule if bad else good_rule
        )
        e.put(m.FirewallGroup(id="sg-1", name="web"), m.FirewallRule(**rule))

    return build


def build_net03(e: Estate, bad: bool) -> None:
    records: list[m.Record] = [m.FirewallGroup(id="sg-d", name="default", is_default=True)]
    if bad:
        records.append(m.FirewallRule(id="r1", group_id="sg-d", source="sg-d", source_kind="group"))
    e.put(*records)


OLD = "2026-01-01T00:00:00Z"
CASES: dict[str, Case] = {
    "SPR-01": Case(
        inst({"created_at": OLD}, {"created_at": OLD, "tags": {"expires-on": "2027-01-01"}}), "i-1"
    ),
    "SPR-02": Case(
        inst(
            {"state_changed_at": "2026-06-01T00:00:00Z"},
            {"state_changed_at": "2026-11-01T00:00:00Z"},
            state="stopped",
        ),
        "i-1",
    ),
    "SPR-03": Case(one(m.Volume, {"state": "available"}, {"state": "in-use"}, id="vol-1"), "vol-1"),
    "SPR-04": Case(
        inst({"tags": {"owner": "ana"}}, {"tags": {"Owner": "ana", "env": "prod"}}), "i-1"
    ),
    "SPR-05": Case(
        inst({}, {}),
        "i-1",
        {"approved_regions": ["us-east-1"]},
        {"approved_regions": ["eu-west-1"]},
    ),
    "SPR-06": Case(build_spr06, "i-1"),
    "SPR-08": Case(
        inst({"tags": {"expires-on": "2026-11-01"}}, {"tags": {"expires-on": "2026-12-31"}}), "i-1"
    ),
    "SPR-09": Case(
        inst(
            {"tags": {"expires-on": "2026-10-01"}},
            {"tags": {"expires-on": "2026-11-20"}},
            state="stopped",
        ),
        "i-1",
    ),
    "CFG-01": Case(
        inst({"imds_tokens": "optional"}, {"imds_tokens": "required"}, imds_endpoint="enabled"),
        "i-1",
    ),
    "CFG-02": Case(setting("imds_defaults", {}, {"HttpTokens": "required"}), REGION),
    "CFG-03": Case(
        inst(
            {
                "extra": {
                    "user_data_secrets": scan_script(
                        "#!/bin/sh\nexport AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n"
                    )
                }
            },
            {"extra": {"user_data_secrets": scan_script("#!/bin/sh\necho hello\n")}},
        ),
        "i-1",
    ),
    "CFG-04": Case(inst({"public_ip": "203.0.113.5"}, {"public_ip": None}), "i-1"),
    "CFG-05": Case(
        inst(
            {"public_ip": "203.0.113.5"},
            {"public_ip": None},
            profile="arn:aws:iam::1:instance-profile/x",
        ),
        "i-1",
    ),
    "CFG-08": Case(
        inst({"deletion_protection": False}, {"deletion_protection": True}, tags={"env": "Prod"}),
        "i-1",
    ),
    "BOOT-04": Case(inst({"boot_mode": "legacy-bios"}, {"boot_mode": "uefi", "vtpm": True}), "i-1"),
    "IAM-06": Case(build_iam06, "i-1"),
    "PAT-01": Case(
        patch_state(
            {"missing_count": 3, "failed_count": 0}, {"missing_count": 0, "failed_count": 0}
        ),
        "i-1",
    ),
    "PAT-02": Case(
        patch_state(
            {"last_install_at": "2026-09-01T00:00:00Z"}, {"last_install_at": "2026-11-20T00:00:00Z"}
        ),
        "i-1",
    ),
    "PAT-03": Case(build_pat03, "i-1"),
    "PAT-04": Case(patch_state({"auto_patch": False}, {"auto_patch": True}), "i-1"),
    "PAT-05": Case(
        build_image_use(
            {"deprecated_at": "2026-01-01T00:00:00Z"}, {"deprecated_at": "2027-01-01T00:00:00Z"}
        ),
        "i-1",
    ),
    "SNP-01": Case(one(m.Snapshot, {"public": True}, {"public": False}, id="snap-1"), "snap-1"),
    "SNP-02": Case(
        setting("snapshot_block_public_access", "unblocked", "block-all-sharing"), REGION
    ),
    "SNP-03": Case(build_share("snapshot"), "snap-1", {}, {"allowlisted_accounts": [FOREIGN]}),
    "SNP-04": Case(
        one(m.Snapshot, {"encrypted": False}, {"encrypted": True}, id="snap-1"), "snap-1"
    ),
    "SNP-05": Case(setting("ebs_encryption_by_default", False, True), REGION),
    "SNP-08": Case(
        one(
            m.Snapshot,
            {"created_at": "2024-01-01T00:00:00Z"},
            {"created_at": "2026-10-01T00:00:00Z"},
            id="snap-1",
        ),
        "snap-1",
    ),
    "IMG-01": Case(
        one(m.Image, {"public": True}, {"public": False}, id="ami-1", owner=ACCOUNT), "ami-1"
    ),
    "IMG-02": Case(setting("image_block_public_access", "unblocked", "block-new-sharing"), REGION),
    "IMG-03": Case(build_image_use({"owner": FOREIGN}, {"owner": ACCOUNT}), "i-1"),
    "IMG-04": Case(
        one(
            m.Image,
            {},
            {"deprecated_at": "2027-01-01T00:00:00Z"},
            id="ami-1",
            created_at="2025-01-01T00:00:00Z",
        ),
        "ami-1",
    ),
    "IMG-05": Case(one(m.Image, {"encrypted": False}, {"encrypted": True}, id="ami-1"), "ami-1"),
    "IMG-06": Case(
        one(
            m.Image,
            {"tags": {"approved": "no"}},
            {"tags": {"approved": "true", "scan_id": "s-1"}},
            id="ami-1",
        ),
        "ami-1",
    ),
    "IMG-07": Case(build_share("image"), "ami-1", {}, {"allowlisted_accounts": [FOREIGN]}),
    "NET-01": Case(
        build_rule(
            {"protocol": "tcp", "port_from": 22, "port_to": 22},
            {"protocol": "tcp", "port_from": 443, "port_to": 443},
        ),
        "sg-1",
    ),
    "NET-02": Case(
        build_rule({"protocol": "-1"}, {"protocol": "tcp", "port_from": 443, "port_to": 443}),
        "sg-1",
    ),
    "NET-03": Case(build_net03, "sg-d"),
    "LOG-01": Case(one(m.Network, {"flow_logs": False}, {"flow_logs": True}, id="vpc-1"), "vpc-1"),
    # Issue 18's AWS-only checks (multi-platform ones are in test_catalogue_growth.py).
    "SNP-13": Case(one(m.Volume, {"encrypted": False}, {"encrypted": True}, id="vol-1"), "vol-1"),
    "NET-10": Case(
        one(m.FirewallGroup, {"name": "launch-wizard-1"}, {"name": "web"}, id="sg-1"), "sg-1"
    ),
    "IAM-10": Case(
        inst({"profile": None}, {"profile": "arn:aws:iam::1:instance-profile/x"}), "i-1"
    ),
    "BOOT-07": Case(
        inst(
            {"raw": {"VirtualizationType": "paravirtual"}}, {"raw": {"VirtualizationType": "hvm"}}
        ),
        "i-1",
    ),
    "CFG-09": Case(
        inst(
            {"raw": {"MetadataOptions": {"HttpPutResponseHopLimit": 3}}},
            {"raw": {"MetadataOptions": {"HttpPutResponseHopLimit": 1}}},
        ),
        "i-1",
    ),
}


def test_every_aws_check_has_fixtures() -> None:
    # The AWS catalogue's cases live here; checks of other providers bring theirs in their own test modules.
    aws = [c.id for c in load_catalogue() if c.providers == ("aws",) or c.id in CASES]
    assert sorted(CASES) == sorted(aws)


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_fails_and_passes(check_id: str, make_estate: Callable[[str], Estate]) -> None:
    case, check = CASES[check_id], get_check(check_id)
    bad, good = make_estate("bad"), make_estate("good")
    case.build(bad, True)
    case.build(good, False)
    rows = evaluate(bad.cache, check, params=case.fail_params, now=NOW)
    assert [r.resource_id for r in rows] == [case.resource_id]
    row = rows[0]
    assert row.reason and row.provider == "aws" and row.account == ACCOUNT
    assert row.resource_kind == check.resource_kind
    assert evaluate(good.cache, check, params=case.pass_params, now=NOW) == []


def test_user_data_secret_is_never_copied_into_the_finding(
    make_estate: Callable[[str], Estate],
) -> None:
    e = make_estate("ud")
    CASES["CFG-03"].build(e, True)
    (row,) = evaluate(e.cache, get_check("CFG-03"), now=NOW)
    assert "AKIA" not in repr(row.evidence) + row.reason
    (match,) = row.evidence["matches"]
    assert match["kind"] == "aws_access_key_id" and match["line"] == 2
    # A known placeholder is ignored by its fingerprint, never by its text.
    params = {"ignore_fingerprints": [match["fingerprint"]]}
    assert evaluate(e.cache, get_check("CFG-03"), params=params, now=NOW) == []

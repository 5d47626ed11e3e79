"""What a check's metadata now carries: the fixes it names (validated against the fix registry, the only
direction the link is declared in), its cost and the checks it runs after (validated by the loader and
respected by the scan engine), and the parameters bound to ``[policy]``."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from workbench.fixes import lookup
from workbench.scan import loader
from workbench.scan.engine import FindingRow, run_in_order

BASE = {
    "id": "XYZ-01",
    "title": "t",
    "providers": ["aws"],
    "resource_kind": "instance",
    "severity": "high",
    "area": "sprawl",
    "rationale": "r",
    "remediation": "m",
}


def check(cid: str, **extra: Any) -> loader.Check:
    return loader.validate_check(
        BASE | {"id": cid} | extra, "SELECT 1", f"checks/x/{cid}/check.toml", lookup.fix_ids()
    )


def test_the_loader_refuses_a_check_naming_an_unknown_fix() -> None:
    with pytest.raises(loader.CheckError) as info:
        check("XYZ-01", fix="aws.snapshot.revoke_publik")
    assert str(info.value) == (
        "checks/x/XYZ-01/check.toml: fix 'aws.snapshot.revoke_publik' is not a registered fix "
        "(did you mean 'aws.snapshot.revoke_public'?)"
    )
    with pytest.raises(loader.CheckError, match="is not a registered fix"):
        check("XYZ-01", fix=["aws.snapshot.revoke_public", "gcp.nothing"])
    with pytest.raises(loader.CheckError, match="fix must be a fix id or a list"):
        check("XYZ-01", fix=[])
    assert check("XYZ-01", fix=["aws.snapshot.revoke_public"]).fixes == (
        "aws.snapshot.revoke_public",
    )


def test_fixes_know_their_checks_from_the_check_metadata_only() -> None:
    assert lookup.get("azure.snapshot.revoke_sas").check_ids == ("SNP-11",)
    assert lookup.get("vsphere.snapshot.delete_old").check_ids == ("SNP-08",)
    assert lookup.get("aws.instance.mark_expiry").check_ids == ("SPR-01", "SPR-02")
    assert [f.id for f in lookup.for_check("NET-01")] == [
        "aws.sg.revoke_world_admin_ingress",
        "azure.nsg.restrict_world_admin_rules",
        "gcp.firewall.restrict_world_admin_ingress",
    ]
    assert lookup.for_check("NO-01") == []
    # Every registered fix resolves some check, and no fix class declares the link itself any more.
    for fix in lookup.all_fixes():
        assert fix.check_ids, fix.id
        assert "check_ids" not in vars(type(fix)), fix.id


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"cost": "huge"}, "cost must be one of low, medium, high, not 'huge'"),
        ({"after": "IMG-11"}, "after must be a non-empty list of strings"),
        ({"after": ["XYZ-01"]}, "after names the check itself"),
        (
            {"params": {"a": {"default": [], "description": "d", "policy": "org_acount"}}},
            "did you mean 'org_accounts'",
        ),
        ({"fixx": "x"}, "unknown key 'fixx' (did you mean 'fix'?)"),
    ],
)
def test_scheduling_and_policy_metadata_are_validated(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(loader.CheckError) as info:
        check("XYZ-01", **extra)
    assert message in str(info.value)


def test_the_catalogue_refuses_after_naming_no_check_or_a_cycle() -> None:
    with pytest.raises(loader.CheckError, match="after names no check 'XYZ-9'"):
        loader.validate_catalogue([check("XYZ-01", after=["XYZ-9"])])
    with pytest.raises(loader.CheckError, match="after forms a cycle"):
        loader.validate_catalogue(
            [check("XYZ-01", after=["XYZ-02"]), check("XYZ-02", after=["XYZ-01"])]
        )


def test_the_catalogue_carries_the_hints_the_engine_used_to_hard_code() -> None:
    img12 = loader.get_check("IMG-12")
    assert img12.after == ("IMG-11",)
    assert all(c.cost == "high" for c in loader.load_catalogue() if c.logic)
    assert loader.get_check("SNP-03").params["allowlisted_accounts"].policy == "org_accounts"


def test_checks_reading_the_instances_table_are_costed_above_low() -> None:
    # The engine's old guess ('instances AS' in the query: a pass over every VM), now each check's own
    # metadata: a check added without a cost would silently start among the cheapest.
    uncosted = [
        c.id for c in loader.load_catalogue() if "instances AS" in c.query and c.cost == "low"
    ]
    assert uncosted == []


def test_the_engine_respects_after_and_starts_the_costliest_first() -> None:
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    slow = check("ABC-01", cost="low")  # what the later check must wait for, although it is cheap
    later = check("ABC-02", cost="high", after=["ABC-01"])
    others = [check("ABC-03", cost="medium"), check("ABC-04", cost="high"), check("ABC-05")]

    def one(c: loader.Check) -> tuple[str, list[FindingRow] | None, str | None]:
        with lock:
            events.append(("start", c.id))
        time.sleep(0.2 if c.id == "ABC-01" else 0.01)
        with lock:
            events.append(("end", c.id))
        return c.id, [], None

    with ThreadPoolExecutor(1) as pool:  # one worker: the start order is the schedule
        done = [cid for cid, _, _ in run_in_order(pool, [slow, later, *others], one)]
    starts = [cid for kind, cid in events if kind == "start"]
    assert starts[:4] == [
        "ABC-04",
        "ABC-03",
        "ABC-01",
        "ABC-05",
    ]  # high, medium, then low, file order
    assert sorted(done) == ["ABC-01", "ABC-02", "ABC-03", "ABC-04", "ABC-05"]

    events.clear()
    with ThreadPoolExecutor(2) as pool:  # two workers: ABC-02 still waits for ABC-01 to finish
        list(run_in_order(pool, [slow, later, *others], one))
    assert events.index(("start", "ABC-02")) > events.index(("end", "ABC-01"))


def test_after_a_check_outside_the_scan_does_not_block() -> None:
    later = check("ABC-02", after=["ABC-01"])
    with ThreadPoolExecutor(1) as pool:
        assert [cid for cid, _, _ in run_in_order(pool, [later], lambda c: (c.id, [], None))] == [
            "ABC-02"
        ]

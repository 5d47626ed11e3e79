"""Scans over time: findings are new, stay, resolve, reopen; mutes hide without hiding; diffs; KPIs; compliance."""

from __future__ import annotations

import pytest
from scan_estate import ACCOUNT, NOW, Estate

from workbench import audit
from workbench import model as m
from workbench.config import parse
from workbench.scan import compliance, diff, kpi, mutes
from workbench.scan.engine import run_scan, select_checks
from workbench.scan.findings import list_findings
from workbench.scan.loader import CheckError, load_catalogue

LATER = "2026-11-27T12:00:00Z"
MUCH_LATER = "2027-02-01T12:00:00Z"


def snapshots(e: Estate, *, public: tuple[str, ...], now: str = NOW) -> None:
    e.put(
        *[
            m.Snapshot(
                id=f"snap-{n}",
                public=f"snap-{n}" in public,
                encrypted=True,
                created_at=now,
                tags={"team": "data" if n == 1 else "web"},
            )
            for n in (1, 2, 3)
        ],
        now=now,
    )


def statuses(e: Estate) -> dict[str, str]:
    rows = list_findings(e.cache.db, statuses=("open", "muted", "resolved"))
    return {r["resource_id"]: r["status"] for r in rows}


def test_new_then_resolved_then_reopened(estate: Estate) -> None:
    snapshots(estate, public=("snap-1", "snap-2"))
    first = run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    assert first.counts["new"] == 2 and first.counts["open"] == 2
    assert first.counts["open_critical"] == 2
    snapshots(estate, public=("snap-2",))
    second = run_scan(estate.cache, check_ids=["SNP-01"], now=LATER)
    assert second.counts["resolved"] == 1 and second.counts["new"] == 0
    assert statuses(estate) == {"snap-1": "resolved", "snap-2": "open"}
    row = next(r for r in list_findings(estate.cache.db) if r["resource_id"] == "snap-2")
    assert (row["first_seen"], row["last_seen"]) == (NOW, LATER)
    snapshots(estate, public=("snap-1", "snap-2"))
    third = run_scan(estate.cache, check_ids=["SNP-01"], now=MUCH_LATER)
    assert third.counts["reopened"] == 1
    d = diff.diff_scans(estate.cache)
    assert (d["from_scan"], d["to_scan"]) == (second.scan_id, third.scan_id)
    assert [f["resource_id"] for f in d["new"]] == ["snap-1"]
    d12 = diff.diff_scans(estate.cache, first.scan_id, second.scan_id)
    assert [f["resource_id"] for f in d12["resolved"]] == ["snap-1"]


def test_the_adjacent_scan_diff_reads_what_the_whole_history_says(estate: Estate) -> None:
    # The dashboard's diff (two adjacent scans) reads one scan's events through an index; any other pair
    # replays the events in between. Over new, resolved, reopened, muted and unmuted, both say the same.
    snapshots(estate, public=("snap-1", "snap-2"))
    scans = [run_scan(estate.cache, check_ids=["SNP-01"], now=NOW).scan_id]
    snapshots(estate, public=("snap-2", "snap-3"))
    mutes.add_mute(
        estate.cache,
        resource="snap-2",
        reason="r",
        author="ana",
        role="operator",
        expires_at="2026-12-15T00:00:00Z",  # past by the third scan: snap-2 unmuted then
        now=NOW,
    )
    scans.append(run_scan(estate.cache, check_ids=["SNP-01"], now=LATER).scan_id)
    snapshots(estate, public=("snap-1", "snap-2", "snap-3"))
    scans.append(run_scan(estate.cache, check_ids=["SNP-01"], now=MUCH_LATER).scan_id)
    for a, b in zip([0, *scans], scans, strict=False):
        whole = diff._between(estate.cache, a, b, None)
        assert diff._adjacent(estate.cache, a, b, None) == whole
        assert diff.diff_scans(estate.cache, a or None, b) == whole
        capped = diff._adjacent(estate.cache, a, b, 1)
        assert capped["counts"] == whole["counts"]
        assert all(capped[n] == whole[n][:1] for n in ("new", "resolved", "changed"))
    changes = {
        n: len(diff._between(estate.cache, scans[0], scans[1], None)[n])
        for n in ("new", "resolved", "changed")
    }
    assert changes == {
        "new": 1,
        "resolved": 1,
        "changed": 1,
    }  # snap-3 new, snap-1 gone, snap-2 muted


def test_scan_of_other_checks_leaves_findings_alone(estate: Estate) -> None:
    snapshots(estate, public=("snap-1",))
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    run_scan(estate.cache, check_ids=["SNP-04"], now=LATER)
    assert statuses(estate) == {"snap-1": "open"}


def test_mute_by_tag_then_expiry_reopens(estate: Estate) -> None:
    snapshots(estate, public=("snap-1", "snap-2"))
    mute_id = mutes.add_mute(
        estate.cache,
        check="SNP-0[1-4]",
        tag="team=da.*",
        reason="restore drill, ticket SEC-1",
        author="ana",
        role="operator",
        expires_at="2026-12-01T00:00:00Z",
        now=NOW,
    )
    result = run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    assert result.counts["muted"] == 1 and result.counts["open"] == 1
    muted = [r for r in list_findings(estate.cache.db) if r["status"] == "muted"]
    assert [(r["resource_id"], r["mute_id"]) for r in muted] == [("snap-1", mute_id)]
    # Past the expiry the mute no longer applies: the finding reopens as open on the next scan.
    after = run_scan(estate.cache, check_ids=["SNP-01"], now=MUCH_LATER)
    assert after.counts["unmuted"] == 1
    assert statuses(estate) == {"snap-1": "open", "snap-2": "open"}
    entries = list(audit.entries(estate.cache))
    assert [e.action for e in entries] == ["mute", "mute-lapsed"] and not audit.verify(estate.cache)
    assert '"why":"expired"' in (entries[1].details or "")


def test_mute_patterns_match_in_full_and_remove_is_audited(estate: Estate) -> None:
    snapshots(estate, public=("snap-1", "snap-2", "snap-3"))
    mute_id = mutes.add_mute(
        estate.cache,
        resource="snap-[12]",
        account=ACCOUNT,
        region="eu-.*",
        reason="r",
        author="ana",
        role="operator",
        expires_at=MUCH_LATER,
        now=NOW,
    )
    mutes.add_mute(
        estate.cache,
        resource="snap",
        reason="prefix only",
        author="ana",
        role="operator",
        expires_at=MUCH_LATER,
        now=NOW,
    )
    run_scan(estate.cache, check_ids=["SNP-01"], now=NOW)
    assert statuses(estate) == {"snap-1": "muted", "snap-2": "muted", "snap-3": "open"}
    mutes.remove_mute(estate.cache, mute_id, author="bo", role="responder", reason="drill over")
    run_scan(estate.cache, check_ids=["SNP-01"], now=LATER)
    assert set(statuses(estate).values()) == {"open"}
    assert [e.action for e in audit.entries(estate.cache)] == ["mute", "mute", "unmute"]
    assert [r["mute_id"] for r in mutes.list_mutes(estate.cache.db)] == [mute_id + 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "", "expires_at": MUCH_LATER, "check": "x"}, "reason"),
        ({"reason": "r", "expires_at": "", "check": "x"}, "expiry"),
        ({"reason": "r", "expires_at": MUCH_LATER}, "at least one pattern"),
        (
            {"reason": "r", "expires_at": MUCH_LATER, "tag": "team=("},
            "not a valid regular expression",
        ),
        ({"reason": "r", "expires_at": "2020-01-01T00:00:00Z", "check": "x"}, "already past"),
    ],
)
def test_bad_mutes_are_refused(estate: Estate, kwargs: dict, message: str) -> None:
    with pytest.raises(mutes.MuteError, match=message):
        mutes.add_mute(estate.cache, author="ana", role="operator", now=NOW, **kwargs)


def test_selection_by_area_framework_provider() -> None:
    catalogue = load_catalogue()
    assert {c.area for c in select_checks(catalogue, area="snapshot_backup")} == {"snapshot_backup"}
    cis = select_checks(catalogue, framework="cis_aws_compute")
    assert "SNP-01" in {c.id for c in cis} and all("cis_aws_compute" in c.frameworks for c in cis)
    assert {c.id for c in select_checks(catalogue, framework="cis")} >= {c.id for c in cis}
    gcp = select_checks(catalogue, provider="gcp")
    assert {"NET-01", "NET-02"} <= {c.id for c in gcp} and all("gcp" in c.providers for c in gcp)
    with pytest.raises(CheckError, match="no check 'NOPE-01'"):
        select_checks(catalogue, check_ids=["NOPE-01"])


def test_config_params_reach_the_query(estate: Estate) -> None:
    estate.put(m.Instance(id="i-1", state="running"))
    assert run_scan(estate.cache, check_ids=["SPR-05"], now=NOW).counts["open"] == 0
    params = {"SPR-05": {"approved_regions": ["us-east-1"]}}
    assert run_scan(estate.cache, check_ids=["SPR-05"], params=params, now=NOW).counts["open"] == 1


def test_a_scans_config_brings_its_check_params(estate: Estate) -> None:
    """What `vmwb scan` and the TUI pass: the config alone, its [checks.<ID>] overrides included."""
    estate.put(m.Instance(id="i-1", state="running"))
    config = parse({"checks": {"SPR-05": {"approved_regions": ["us-east-1"]}}})
    assert run_scan(estate.cache, check_ids=["SPR-05"], now=NOW, config=config).counts["open"] == 1
    explicit = {"SPR-05": {"approved_regions": ["eu-west-1"]}}  # given params win over the config's
    result = run_scan(estate.cache, check_ids=["SPR-05"], params=explicit, now=NOW, config=config)
    assert result.counts["open"] == 0


def test_kpis(estate: Estate) -> None:
    estate.put(*[m.Instance(id=f"i-{n}", state="running") for n in range(4)])
    states = [
        m.PatchState(
            id="i-0",
            missing_count=0,
            failed_count=0,
            last_scan_at=NOW,
            last_install_at="2026-11-20T00:00:00Z",
            critical_missing=0,
        ),
        m.PatchState(
            id="i-1",
            missing_count=2,
            failed_count=1,
            last_scan_at=NOW,
            last_install_at="2026-06-01T00:00:00Z",
            critical_missing=1,
        ),
    ]
    estate.put(*states, task="patch", now="2026-11-01T00:00:00Z")
    estate.put(*states, task="patch", now=NOW)
    estate.put(
        m.Snapshot(id="s-1", public=True, encrypted=False, created_at="2024-01-01T00:00:00Z"),
        m.Snapshot(id="s-2", encrypted=True, created_at=NOW),
        m.Snapshot(id="s-3", encrypted=True, created_at=NOW),
        m.Grant(
            id="s-2/42",
            resource_kind="snapshot",
            resource_id="s-2",
            grantee_kind="account",
            grantee="42",
        ),
        task="snaps",
    )
    k = kpi.compute_kpis(estate.cache, now=NOW)
    p, s = k["patch"], k["snapshots"]
    assert (p["fleet"], p["reporting"]) == (4, 2)
    assert p["compliance"]["value"] == 50.0 and p["patched_within_30d"]["count"] == 1
    assert p["critical_remediated_within_7d"] | {} == p["critical_remediated_within_7d"]
    assert p["critical_remediated_within_7d"]["total"] == 1  # i-1: open since 2026-11-01, overdue
    assert p["critical_remediated_within_7d"]["value"] == 0.0
    assert p["auto_deploy_success"]["value"] == 50.0
    assert s["total"] == 3
    assert [
        s[n]["count"]
        for n in ("public", "shared_outside_allowlist", "unencrypted", "past_retention")
    ] == [
        1,
        1,
        1,
        1,
    ]
    allow = kpi.compute_kpis(
        estate.cache, now=NOW, params={"SNP-03": {"allowlisted_accounts": ["42"]}}
    )
    assert allow["snapshots"]["shared_outside_allowlist"]["count"] == 0


def test_compliance_summary(estate: Estate) -> None:
    snapshots(estate, public=("snap-1",))
    before = {f["framework"]: f for f in compliance.summary(estate.cache)}
    assert before["cis_aws_compute"]["not_assessed"] == before["cis_aws_compute"]["covered"]
    run_scan(estate.cache, area="snapshot_backup", now=NOW)
    after = {f["framework"]: f for f in compliance.summary(estate.cache)}
    controls = {c["id"]: c for c in after["cis_aws_compute"]["controls"]}
    assert controls["2.2.2"]["status"] == "failing" and controls["2.2.2"]["checks"] == ["SNP-01"]
    assert controls["2.2.3"]["status"] == "passing"
    assert controls["2.5"]["status"] == "not_assessed"
    assert after["cis_aws_compute"]["versions"] == ["1.0.0"]

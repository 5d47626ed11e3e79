"""The brief's KPIs, computed from the cache and its history (no live API).

Public API: :func:`compute_kpis` ``(db, now=None, params=None) -> dict`` with

- ``patch.compliance``: share of VMs reporting patch state with nothing missing and nothing failed;
- ``patch.patched_within_30d``: share of those whose last successful install is at most 30 days old;
- ``patch.critical_remediated_within_7d``: from imported scan results (``vulnerabilities``: first_seen,
  fixed_at) when there are any, else from ``patch_history``, where each run of "critical patches missing" is an
  episode: the share fixed within 7 days, counting still-open ones older than 7 days as late (younger open
  ones are not yet due and are left out); ``source`` says which;
- ``patch.auto_deploy_success``: among VMs with automatic patching on (or not known to be off) and a recorded
  install, the share whose last deployment had no failed patch;
- ``snapshots``: the risk breakdown: public, shared outside the allowlist, unencrypted, past retention.

Each KPI has ``value`` (a percentage, None when nothing is measured), ``count``, ``total`` and ``definition``.
The allowlist and the retention come from the SNP-03 and SNP-08 parameters (``params`` maps check id to
overrides, as for :func:`workbench.scan.engine.run_scan`: ``loader.config_overrides`` fills them from ``[policy]``
``org_accounts`` and ``snapshot_retention_days``), so the KPI, the checks and the fixes agree.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from workbench.cache.backend import Reader
from workbench.clock import utcnow
from workbench.scan.loader import get_check


def _ratio(count: int, total: int, definition: str) -> dict[str, Any]:
    value = round(100.0 * count / total, 1) if total else None
    return {"value": value, "count": count, "total": total, "definition": definition}


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _cutoff(now: str, days: int) -> str:
    return (_ts(now) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _critical_episodes(db: Reader, now: str, window_days: int) -> dict[str, Any]:
    in_time = late = 0
    start: dict[str, str] = {}
    limit = dt.timedelta(days=window_days)
    cur = db.execute(
        "SELECT instance_uid, at, critical_missing FROM patch_history ORDER BY instance_uid, at"
    )
    for uid, at, critical in cur:
        if critical and critical > 0:
            start.setdefault(uid, at)
        elif uid in start and critical is not None:
            began = start.pop(uid)
            if _ts(at) - _ts(began) <= limit:
                in_time += 1
            else:
                late += 1
    for began in start.values():  # still open
        if _ts(now) - _ts(began) > limit:
            late += 1
    return _ratio(
        in_time,
        in_time + late,
        f"critical-patch episodes closed within {window_days} days, over closed and overdue ones",
    )


def _critical_vulns(db: Reader, now: str, window_days: int) -> dict[str, Any]:
    """From imported scan results (``vulnerabilities``): critical ones fixed in time, over fixed and overdue."""
    limit = dt.timedelta(days=window_days)
    in_time = late = 0
    for first_seen, fixed_at in db.execute(
        "SELECT first_seen, fixed_at FROM vulnerabilities WHERE severity = 'critical'"
    ):
        end = _ts(fixed_at) if fixed_at else _ts(now)
        if end - _ts(first_seen) > limit:
            late += 1
        elif fixed_at:
            in_time += 1
    return _ratio(
        in_time,
        in_time + late,
        f"critical vulnerabilities (imported scans) fixed within {window_days} days, over fixed and overdue",
    )


def patch_kpis(db: Reader, now: str) -> dict[str, Any]:
    live = "(i.state IS NULL OR i.state NOT IN ('terminated', 'shutting-down'))"
    base = (
        f"FROM patch_states AS ps LEFT JOIN instances AS i ON i.uid = ps.instance_uid WHERE {live}"
    )
    total = int(db.execute(f"SELECT COUNT(*) {base}").fetchone()[0])
    compliant = int(
        db.execute(
            f"SELECT COUNT(*) {base} AND COALESCE(ps.missing_count, 0) = 0 "
            "AND COALESCE(ps.failed_count, 0) = 0 AND ps.last_scan_at IS NOT NULL"
        ).fetchone()[0]
    )
    recent = int(
        db.execute(
            f"SELECT COUNT(*) {base} AND ps.last_install_at >= ?", (_cutoff(now, 30),)
        ).fetchone()[0]
    )
    auto_total, auto_ok = db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(COALESCE(ps.failed_count, 0) = 0), 0) {base} "
        "AND COALESCE(ps.auto_patch, 1) = 1 AND ps.last_install_at IS NOT NULL"
    ).fetchone()
    fleet = int(db.execute(f"SELECT COUNT(*) FROM instances AS i WHERE {live}").fetchone()[0])
    return {
        "fleet": fleet,
        "reporting": total,
        "compliance": _ratio(compliant, total, "VMs scanned with no missing and no failed patch"),
        "patched_within_30d": _ratio(
            recent, total, "VMs whose last patch install is at most 30 days old"
        ),
        "critical_remediated_within_7d": _critical(db, now),
        "auto_deploy_success": _ratio(
            int(auto_ok),
            int(auto_total),
            "VMs with automatic patching whose last deployment had no failed patch",
        ),
    }


def _critical(db: Reader, now: str) -> dict[str, Any]:
    # Vulnerability records are the direct measure; patch history is the fallback when none were imported.
    vulns = _critical_vulns(db, now, 7)
    if vulns["total"]:
        return vulns | {"source": "vulnerabilities"}
    return _critical_episodes(db, now, 7) | {"source": "patch_history"}


def snapshot_kpis(db: Reader, now: str, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    allow = get_check("SNP-03").resolve_params(params.get("SNP-03"))["allowlisted_accounts"]
    retention = int(get_check("SNP-08").resolve_params(params.get("SNP-08"))["retention_days"])
    total = int(db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])
    public = int(
        db.execute(
            "SELECT COUNT(*) FROM snapshots AS s WHERE s.public = 1 OR EXISTS (SELECT 1 FROM grants "
            "AS g WHERE g.resource_uid = s.uid AND g.grantee_kind IN ('public', 'all_authenticated'))"
        ).fetchone()[0]
    )
    shared = int(
        db.execute(
            "SELECT COUNT(DISTINCT g.resource_uid) FROM grants AS g JOIN snapshots AS s "
            "ON s.uid = g.resource_uid WHERE g.grantee_kind = 'account' AND g.grantee <> g.account "
            "AND g.grantee NOT IN (SELECT value FROM json_each(?))",
            (json.dumps(allow),),
        ).fetchone()[0]
    )
    unencrypted = int(
        db.execute("SELECT COUNT(*) FROM snapshots WHERE encrypted = 0").fetchone()[0]
    )
    old = int(
        db.execute(
            "SELECT COUNT(*) FROM snapshots WHERE created_at < ?", (_cutoff(now, retention),)
        ).fetchone()[0]
    )
    return {
        "total": total,
        "public": _ratio(public, total, "snapshots restorable by everyone"),
        "shared_outside_allowlist": _ratio(
            shared, total, "snapshots shared with an account outside the SNP-03 allowlist"
        ),
        "unencrypted": _ratio(unencrypted, total, "snapshots not encrypted"),
        "past_retention": _ratio(old, total, f"snapshots older than {retention} days (SNP-08)"),
    }


def compute_kpis(
    db: Reader, now: str | None = None, params: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "generated_at": now,
        "patch": patch_kpis(db, now),
        "snapshots": snapshot_kpis(db, now, params or {}),
    }

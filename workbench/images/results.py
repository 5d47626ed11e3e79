"""Import validation results (Trivy, OpenSCAP) into the cache, joined to the image or instance they are about.

A report names its artifact its own way (Trivy ``ami:ami-0abc…``, an XCCDF ``<target>`` host name plus
addresses); :func:`map_resource` finds the cached resource, or the caller names it. Results whose artifact is
not in the cache are kept under ``artifact:<name>`` so a later sync can still be joined by hand.

Vulnerabilities keep their history across imports: ``first_seen`` is the first scan that reported it,
``fixed_at`` the first later scan that no longer did (cleared again if it comes back). That history is what
:func:`critical_remediation_kpi` reads. Re-importing the same file (same SHA-256) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from workbench.cache.backend import Reader, Store
from workbench.clock import utcnow
from workbench.images import openscap, trivy
from workbench.images.trivy import ReportError


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    uid: str | None
    kind: str | None


@dataclass(slots=True)
class ImportResult:
    tool: str
    import_id: int
    target: Target
    duplicate: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


def _one(rows: list[Any], prefer_owner: bool = False) -> Any | None:
    if not rows:
        return None
    if prefer_owner:  # a shared image seen from several accounts: its owner's row speaks for it
        owned = [r for r in rows if r["account"] == r["owner"]]
        rows = owned or rows
        return rows[0]
    return rows[0] if len(rows) == 1 else None


def map_resource(
    db: Reader,
    names: list[str],
    addresses: list[str] | None = None,
    explicit: str | None = None,
) -> Target:
    """The cached image or instance a report is about: by uid, id, name, then address.

    ``explicit`` (``--resource``) must exist. Otherwise an ambiguous name (two instances called ``web``) maps
    to nothing rather than to a guess.
    """
    wanted = [explicit] if explicit else [n for n in names if n]
    for name in wanted:
        img = _one(
            db.execute(
                "SELECT uid, account, owner FROM images WHERE uid = ? OR id = ? ORDER BY uid",
                (name, name),
            ).fetchall(),
            prefer_owner=True,
        )
        if img is not None:
            return Target(img["uid"], img["uid"], "image")
        inst = _one(
            db.execute(
                "SELECT uid FROM instances WHERE uid = ? OR id = ? OR name = ?", (name, name, name)
            ).fetchall()
        )
        if inst is not None:
            return Target(inst["uid"], inst["uid"], "instance")
    if explicit:
        raise ReportError(f"no image or instance {explicit!r} in the cache")
    for addr in addresses or []:
        inst = _one(
            db.execute(
                "SELECT uid FROM instances WHERE private_ip = ? OR public_ip = ?", (addr, addr)
            ).fetchall()
        )
        if inst is not None:
            return Target(inst["uid"], inst["uid"], "instance")
    label = next((n for n in names if n), "unknown")
    return Target(f"artifact:{label}", None, None)


def _existing_import(conn: Reader, tool: str, digest: str) -> list[Any]:
    return conn.execute(
        "SELECT import_id, resource_key, resource_uid, resource_kind, summary FROM scan_imports "
        "WHERE tool = ? AND sha256 = ? ORDER BY import_id",
        (tool, digest),
    ).fetchall()


def _record_import(
    conn: Reader,
    tool: str,
    source: str,
    digest: str,
    artifact: str,
    target: Target,
    scanned_at: str,
    now: str,
    actor: str,
    summary: dict[str, Any],
) -> int:
    cur = conn.execute(
        "INSERT INTO scan_imports (tool, source, sha256, artifact, resource_key, resource_uid, "
        "resource_kind, scanned_at, imported_at, actor, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            tool,
            source,
            digest,
            artifact,
            target.key,
            target.uid,
            target.kind,
            scanned_at,
            now,
            actor,
            json.dumps(summary, sort_keys=True),
        ),
    )
    return int(cur.lastrowid or 0)


def _duplicates(tool: str, rows: list[Any]) -> list[ImportResult]:
    return [
        ImportResult(
            tool,
            r["import_id"],
            Target(r["resource_key"], r["resource_uid"], r["resource_kind"]),
            True,
            json.loads(r["summary"] or "{}"),
        )
        for r in rows
    ]


def import_trivy(
    db: Store,
    data: bytes,
    *,
    source: str = "",
    resource: str | None = None,
    actor: str = "",
    now: str | None = None,
) -> ImportResult:
    report = trivy.parse(data)
    digest = hashlib.sha256(data).hexdigest()

    with db.transaction() as conn:
        dup = _existing_import(conn, "trivy", digest)
        if dup:
            return _duplicates("trivy", dup)[0]
        now = now or utcnow()
        scanned = report.scanned_at or now
        target = map_resource(conn, [report.lookup_id, report.artifact], explicit=resource)
        new, fixed = _merge_vulns(conn, target, report, scanned, 0)
        summary = {"counts": report.counts(), "new": new, "fixed": fixed, "os": report.os}
        import_id = _record_import(
            conn, "trivy", source, digest, report.artifact, target, scanned, now, actor, summary
        )
        conn.execute(
            "UPDATE vulnerabilities SET last_import_id = ? WHERE resource_key = ? AND last_import_id = 0",
            (import_id, target.key),
        )
    return ImportResult("trivy", import_id, target, False, summary)


def _merge_vulns(
    conn: Reader,
    target: Target,
    report: trivy.TrivyReport,
    scanned: str,
    import_id: int,
) -> tuple[int, int]:
    """Upsert this scan's vulnerabilities and close the ones it no longer reports. Returns (new, fixed).

    Reports may arrive out of order: an older scan moves ``first_seen`` back but never closes a vulnerability
    or reopens one fixed after it was taken.
    """
    old = {
        (r["vuln_id"], r["pkg_name"]): r
        for r in conn.execute(
            "SELECT vuln_id, pkg_name, first_seen, last_seen, fixed_at FROM vulnerabilities "
            "WHERE resource_key = ?",
            (target.key,),
        )
    }
    new = 0
    seen: set[tuple[str, str]] = set()
    for v in report.vulns:
        key = (v.vuln_id, v.pkg_name)
        seen.add(key)
        prev = old.get(key)
        if prev is None:
            new += 1
            conn.execute(
                "INSERT INTO vulnerabilities (resource_key, resource_uid, vuln_id, pkg_name, "
                "installed_version, fixed_version, severity, title, first_seen, last_seen, fixed_at, "
                "last_import_id) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?)",
                (
                    target.key,
                    target.uid,
                    v.vuln_id,
                    v.pkg_name,
                    v.installed_version,
                    v.fixed_version,
                    v.severity,
                    v.title,
                    scanned,
                    scanned,
                    import_id,
                ),
            )
        else:
            newest = scanned >= prev["last_seen"]
            # Seen again after it was marked fixed: it came back. Seen in a scan older than the fix: history.
            reopen = prev["fixed_at"] is not None and scanned >= prev["fixed_at"]
            conn.execute(
                "UPDATE vulnerabilities SET first_seen=MIN(first_seen, ?), last_seen=MAX(last_seen, ?), "
                "fixed_at=CASE WHEN ? THEN NULL ELSE fixed_at END, "
                "installed_version=CASE WHEN ? THEN ? ELSE installed_version END, "
                "fixed_version=CASE WHEN ? THEN ? ELSE fixed_version END, "
                "severity=CASE WHEN ? THEN ? ELSE severity END, last_import_id=? "
                "WHERE resource_key=? AND vuln_id=? AND pkg_name=?",
                (
                    scanned,
                    scanned,
                    reopen,
                    newest,
                    v.installed_version,
                    newest,
                    v.fixed_version,
                    newest,
                    v.severity,
                    import_id,
                    target.key,
                    v.vuln_id,
                    v.pkg_name,
                ),
            )
    fixed = 0
    for key, prev in old.items():
        if key not in seen and prev["fixed_at"] is None and scanned > prev["last_seen"]:
            fixed += 1
            conn.execute(
                "UPDATE vulnerabilities SET fixed_at=? WHERE resource_key=? AND vuln_id=? AND pkg_name=?",
                (scanned, target.key, *key),
            )
    conn.execute(
        "UPDATE vulnerabilities SET resource_uid=? WHERE resource_key=?", (target.uid, target.key)
    )
    return new, fixed


def import_oscap(
    db: Store,
    data: bytes,
    *,
    source: str = "",
    resource: str | None = None,
    actor: str = "",
    now: str | None = None,
) -> list[ImportResult]:
    """One import per TestResult; each replaces the resource's hardening results unless it is older."""
    reports = openscap.parse(data)
    digest = hashlib.sha256(data).hexdigest()

    out: list[ImportResult] = []
    with db.transaction() as conn:
        dup = _existing_import(conn, "openscap", digest)
        if dup:
            return _duplicates("openscap", dup)
        now = now or utcnow()
        for rep in reports:
            target = map_resource(conn, [rep.target], rep.addresses, explicit=resource)
            scanned = rep.scanned_at or now
            summary = {
                "benchmark": rep.benchmark,
                "profile": rep.profile,
                "score": rep.percent,
                "passed": rep.passed,
                "failed": rep.failed,
                "stig_cat1_failed": sum(1 for r in rep.rules if r.stig_cat1),
            }
            import_id = _record_import(
                conn, "openscap", source, digest, rep.target, target, scanned, now, actor, summary
            )
            _store_hardening(conn, target, rep, scanned, import_id)
            out.append(ImportResult("openscap", import_id, target, False, summary))
    return out


def _store_hardening(
    conn: Reader,
    target: Target,
    rep: openscap.HardeningReport,
    scanned: str,
    import_id: int,
) -> None:
    prev = conn.execute(
        "SELECT scanned_at FROM hardening_scores WHERE resource_key = ?", (target.key,)
    ).fetchone()
    if prev is not None and scanned < prev[0]:
        return  # an older evaluation than the one we hold: history only (scan_imports)
    conn.execute("DELETE FROM hardening_results WHERE resource_key = ?", (target.key,))
    conn.executemany(
        "INSERT OR REPLACE INTO hardening_results (resource_key, resource_uid, import_id, rule_id, "
        "result, severity, title, cce_ids, stig_ids, cis_ids) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                target.key,
                target.uid,
                import_id,
                r.rule_id,
                r.result,
                r.severity,
                r.title,
                json.dumps(r.cce_ids),
                json.dumps(r.stig_ids),
                json.dumps(r.cis_ids),
            )
            for r in rep.rules
        ],
    )
    conn.execute(
        "INSERT OR REPLACE INTO hardening_scores (resource_key, resource_uid, import_id, benchmark, "
        "profile, score, max_score, passed, failed, scanned_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            target.key,
            target.uid,
            import_id,
            rep.benchmark,
            rep.profile,
            rep.percent,
            100.0,
            rep.passed,
            rep.failed,
            scanned,
        ),
    )


def critical_remediation_kpi(db: Reader, now: str | None = None, days: int = 7) -> dict[str, Any]:
    """KPI "critical vulnerabilities remediated within ``days`` days".

    Eligible: every critical finding that is fixed, or has been open at least ``days`` days (a finding first
    seen yesterday cannot have missed the deadline yet). ``percent`` is None when nothing is eligible.
    """
    row = db.execute(
        """
        SELECT
          SUM(CASE WHEN fixed_at IS NOT NULL OR julianday(:now) - julianday(first_seen) > :days
                   THEN 1 ELSE 0 END) AS eligible,
          SUM(CASE WHEN fixed_at IS NOT NULL AND julianday(fixed_at) - julianday(first_seen) <= :days
                   THEN 1 ELSE 0 END) AS within,
          SUM(CASE WHEN fixed_at IS NULL AND julianday(:now) - julianday(first_seen) > :days
                   THEN 1 ELSE 0 END) AS overdue,
          SUM(CASE WHEN fixed_at IS NULL THEN 1 ELSE 0 END) AS open
        FROM vulnerabilities WHERE severity = 'critical'
        """,
        {"now": now or utcnow(), "days": days},
    ).fetchone()
    eligible, within = int(row["eligible"] or 0), int(row["within"] or 0)
    return {
        "kpi": f"critical vulnerabilities remediated within {days} days",
        "eligible": eligible,
        "within": within,
        "percent": round(100.0 * within / eligible, 1) if eligible else None,
        "open": int(row["open"] or 0),
        "open_overdue": int(row["overdue"] or 0),
    }

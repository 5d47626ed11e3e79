"""The estate's posture in one read: what the dashboard and the posture report show, for every face alike.

:func:`read_posture` puts together the counts of :mod:`workbench.cache.posture` (kept by the cache as findings
are written), the scope health, the scan history, the KPIs, compliance per framework and the diff with the
previous scan. It is cheap at a million resources because nothing in it walks the inventory: the KPIs are the
ones the scan engine computed and stored with its scan (:func:`record_kpis`, in the scan's transaction), so
posture is as of the last scan, like the findings themselves. Only a cache that was never scanned (or was last
scanned by a vmwb that stored no KPIs) has its KPIs computed here, from the inventory as it is now.

Each part fails alone: a damaged table must not blank the whole posture; its error is in ``errors``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.cache import posture
from workbench.cache.backend import Reader
from workbench.errors import WorkbenchError
from workbench.scan import compliance, diff, kpi
from workbench.scan.loader import AREAS

HISTORY_SCANS = 40


@dataclass(slots=True)
class Posture:
    """Everything the dashboard shows, read in one go."""

    severity: dict[str, dict[str, int]] = field(default_factory=dict)  # severity -> status -> n
    areas: list[tuple[str, int]] = field(default_factory=list)  # area title, open findings
    kpis: dict[str, Any] | None = None
    scopes: list[posture.ScopeHealth] = field(default_factory=list)
    diff: dict[str, Any] | None = None
    history: list[int] = field(default_factory=list)  # open findings per scan, oldest first
    compliance: list[dict[str, Any]] = field(default_factory=list)
    last_scan: str = ""
    errors: list[str] = field(default_factory=list)


def read_posture(
    db: Reader,
    *,
    now: str | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    diff_rows: int | None = None,
) -> Posture:
    """The posture of the cache behind ``db``. ``now`` and ``params`` serve only the KPIs of a cache no scan
    stored KPIs for; ``diff_rows`` caps the rows of each diff bucket (its counts are always whole)."""
    out = Posture()
    out.severity = posture.severity_counts(db)
    out.areas = [
        (AREAS.get(g.value or "", g.value or "?"), g.count)
        for g in posture.group_counts(db, "area", ("open",))
    ]
    out.scopes = posture.scope_health(db)
    scans = posture.recent_scans(db, HISTORY_SCANS)
    if scans:
        out.last_scan = f"scan {scans[0].scan_id} at {scans[0].started_at}"
    out.history = [int(s.counts.get("open", 0) or 0) for s in reversed(scans)]
    try:
        out.kpis = latest_kpis(db) or kpi.compute_kpis(db, now=now, params=params)
    except Exception as exc:
        out.errors.append(f"KPIs: {exc}")
    try:
        out.diff = diff.diff_scans(db, limit=diff_rows)
    except WorkbenchError:
        out.diff = None  # no scan yet
    except Exception as exc:
        out.errors.append(f"diff: {exc}")
    try:
        out.compliance = compliance.summary(db)
    except Exception as exc:
        out.errors.append(f"compliance: {exc}")
    return out


def record_kpis(db: Reader, scan_id: int, kpis: dict[str, Any]) -> None:
    """Store the KPIs a scan computed (inside the scan's transaction)."""
    db.execute(
        "INSERT OR REPLACE INTO scan_kpis (scan_id, kpis) VALUES (?, ?)",
        (scan_id, json.dumps(kpis)),
    )


def latest_kpis(db: Reader) -> dict[str, Any] | None:
    """The KPIs stored with vmwb's latest scan, or None when it stored none (imports store none)."""
    row = db.execute(
        "SELECT k.kpis FROM scans AS s LEFT JOIN scan_kpis AS k ON k.scan_id = s.scan_id "
        "WHERE s.source = 'vmwb' ORDER BY s.scan_id DESC LIMIT 1"
    ).fetchone()
    if row is None or row[0] is None:
        return None
    try:
        value = json.loads(row[0])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

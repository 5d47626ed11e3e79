"""The read model of posture: severity rank, finding counts, finding detail, scope health and scan history.

Headless (no Textual) and beside :mod:`workbench.cache.browse`, which does the same for inventory: the CLI, the
exports and the screens read posture through these functions only, so they cannot disagree about a count. Every
function takes a connection the caller owns (a reader; one per thread) and returns dataclasses.

Counts come from ``finding_counts``, a summary the cache keeps by trigger on every write to ``findings`` (one row
per check, severity, area and status), so a dashboard at a million resources reads a few hundred rows instead of
grouping every finding. Only the finding rows themselves (the table source, the detail line) read ``findings``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.cache.backend import Reader

# The one severity order, worst first. Anything else ranks after all of these.
SEVERITIES = ("critical", "high", "medium", "low", "informational")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}
CURRENT = ("open", "muted")
# A scope is as bad as its worst task; an unknown status counts as failed.
SCOPE_STATUSES = ("ok", "stale", "failed")


def severity_rank(severity: str) -> int:
    """0 for critical, 1 for high … ``len(SEVERITIES)`` for anything unknown: lower is worse."""
    return _RANK.get(severity, len(SEVERITIES))


def severity_rank_sql(column: str = "severity") -> str:
    """:func:`severity_rank` as an SQL expression over ``column`` (a name of ours, never input)."""
    cases = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(SEVERITIES))
    return f"CASE {column} {cases} ELSE {len(SEVERITIES)} END"


def at_least(severity: str, bar: str) -> bool:
    """True when ``severity`` is ``bar`` or worse (``--fail-on high`` fails on high and critical)."""
    return severity_rank(severity) <= severity_rank(bar)


# -- counts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FindingCount:
    """How many findings of one check have this severity, area and status."""

    check_id: str
    severity: str
    area: str | None
    status: str
    count: int


def finding_counts(db: Reader, statuses: Collection[str] = CURRENT) -> list[FindingCount]:
    """The summary rows with these statuses (empty groups left out)."""
    rows = db.execute(
        "SELECT check_id, severity, area, status, n FROM finding_counts "
        "WHERE n > 0 AND status IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(statuses)),),
    )
    return [FindingCount(c, s, a or None, st, int(n)) for c, s, a, st, n in rows]


@dataclass(frozen=True, slots=True)
class GroupCount:
    """One group of the findings screen: its value, how many findings, and the worst severity in it."""

    value: str | None
    count: int
    severity: str


GROUPINGS = ("check", "severity", "area", "framework")


def group_counts(
    db: Reader,
    grouping: str,
    statuses: Collection[str] = CURRENT,
    frameworks: Mapping[str, Collection[str]] | None = None,
) -> list[GroupCount]:
    """Findings counted by ``grouping``, in the order the screens show them.

    ``check``: worst severity first, then id; ``severity``: by rank; ``area``: most findings first;
    ``framework``: in the order of ``frameworks`` (framework key → the ids of the checks mapped to it), empty
    frameworks left out.
    """
    counts = finding_counts(db, statuses)
    if grouping == "framework":
        by_check: dict[str, list[FindingCount]] = {}
        for c in counts:
            by_check.setdefault(c.check_id, []).append(c)
        out = []
        for key, ids in (frameworks or {}).items():
            rows = [c for i in ids for c in by_check.get(i, [])]
            if rows:
                out.append(GroupCount(key, sum(c.count for c in rows), _worst(rows)))
        return out
    if grouping not in ("check", "severity", "area"):
        raise ValueError(f"unknown grouping {grouping!r} (one of {', '.join(GROUPINGS)})")
    groups: dict[str | None, list[FindingCount]] = {}
    for c in counts:
        value = {"check": c.check_id, "severity": c.severity, "area": c.area}[grouping]
        groups.setdefault(value, []).append(c)
    out = [GroupCount(v, sum(c.count for c in rows), _worst(rows)) for v, rows in groups.items()]
    if grouping == "check":
        out.sort(key=lambda g: (severity_rank(g.severity), g.value or ""))
    elif grouping == "severity":
        out.sort(key=lambda g: severity_rank(g.severity))
    else:
        out.sort(key=lambda g: (-g.count, g.value or ""))
    return out


def group_filter(
    statuses: Collection[str],
    grouping: str | None = None,
    value: str | None = None,
    check_ids: Collection[str] | None = None,
) -> tuple[str, list[Any]]:
    """The condition on ``findings`` that selects one group of :func:`group_counts` (for the table source):
    these statuses and, when ``value`` is given, that check, severity or area, or (a framework) one of
    ``check_ids``. Values travel as parameters."""
    clauses = ["status IN (SELECT value FROM json_each(?))"]
    params: list[Any] = [json.dumps(list(statuses))]
    if value is not None and grouping is not None:
        if grouping == "framework":
            clauses.append("check_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(check_ids or ())))
        else:
            column = {"check": "check_id", "severity": "severity", "area": "area"}[grouping]
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def _worst(rows: Iterable[FindingCount]) -> str:
    return min((c.severity for c in rows), key=severity_rank)


def severity_counts(db: Reader, statuses: Collection[str] = CURRENT) -> dict[str, dict[str, int]]:
    """severity → status → count."""
    out: dict[str, dict[str, int]] = {}
    for c in finding_counts(db, statuses):
        by_status = out.setdefault(c.severity, {})
        by_status[c.status] = by_status.get(c.status, 0) + c.count
    return out


def check_counts(db: Reader, statuses: Collection[str] = ("open",)) -> dict[str, dict[str, int]]:
    """check id → status → count."""
    out: dict[str, dict[str, int]] = {}
    for c in finding_counts(db, statuses):
        by_status = out.setdefault(c.check_id, {})
        by_status[c.status] = by_status.get(c.status, 0) + c.count
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    """The posture summary every face prints: open and muted, open by severity and by area."""

    open: int = 0
    muted: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    by_area: list[tuple[str | None, int]] = field(default_factory=list)  # most first


def summary(db: Reader) -> Summary:
    counts = finding_counts(db, CURRENT)
    by_severity: dict[str, int] = {}
    for c in counts:
        if c.status == "open":
            by_severity[c.severity] = by_severity.get(c.severity, 0) + c.count
    areas = [(g.value, g.count) for g in group_counts(db, "area", ("open",))]
    return Summary(
        open=sum(c.count for c in counts if c.status == "open"),
        muted=sum(c.count for c in counts if c.status == "muted"),
        by_severity=dict(sorted(by_severity.items(), key=lambda kv: severity_rank(kv[0]))),
        by_area=areas,
    )


# -- one finding -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FindingRef:
    """What a finding names: enough to mute it, fix it or open its resource."""

    finding_id: int
    check_id: str
    resource_uid: str
    resource_kind: str
    resource_id: str
    resource_name: str
    provider: str
    account: str
    region: str
    status: str
    mute_id: int | None


_REF_COLUMNS = (
    "finding_id, check_id, resource_uid, resource_kind, resource_id, resource_name, provider, account, "
    "region, status, mute_id"
)


def _ref(row: Sequence[Any]) -> FindingRef:
    fid, check, uid, kind, rid, name, provider, account, region, status, mute = tuple(row)
    return FindingRef(
        int(fid), check, uid, kind, rid, name or "", provider, account, region, status, mute
    )


def finding_refs(db: Reader, finding_ids: Iterable[int]) -> list[FindingRef]:
    """The findings with these ids (any status), by check and resource."""
    rows = db.execute(
        f"SELECT {_REF_COLUMNS} FROM findings WHERE finding_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY check_id, resource_id",
        (json.dumps([int(i) for i in finding_ids]),),
    )
    return [_ref(r) for r in rows]


def open_findings(
    db: Reader,
    check_ids: Collection[str] | None = None,
    *,
    provider: str | None = None,
    kinds: Collection[str] | None = None,
    equivalents: bool = False,
) -> list[FindingRef]:
    """Open findings (of these checks, this provider, these resource kinds), by check and resource.

    ``equivalents``: imported findings (Prowler, SARIF, Custodian) whose rule maps to one of ``check_ids``
    count too, on resources the cache knows, and name that check (its guided fix applies to them).
    """
    columns = _REF_COLUMNS
    sql = "FROM findings WHERE status = 'open'"
    params: list[Any] = []
    if check_ids is not None:
        ids = json.dumps(sorted(check_ids))
        if equivalents:
            columns = _REF_COLUMNS.replace("check_id", "COALESCE(maps_to, check_id)", 1)
            sql += (
                " AND (check_id IN (SELECT value FROM json_each(?)) OR (maps_to IN "
                "(SELECT value FROM json_each(?)) AND resource_uid NOT LIKE 'external:%'))"
            )
            params += [ids, ids]
        else:
            sql += " AND check_id IN (SELECT value FROM json_each(?))"
            params.append(ids)
    sql = f"SELECT {columns} {sql}"
    if provider is not None:
        sql += " AND provider = ?"
        params.append(provider)
    if kinds is not None:
        sql += " AND resource_kind IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(sorted(kinds)))
    return [_ref(r) for r in db.execute(sql + " ORDER BY check_id, resource_id", params)]


def open_kinds(db: Reader, check_id: str) -> set[tuple[str, str]]:
    """``(provider, resource_kind)`` of the open findings of a check (which of its fixes they need)."""
    rows = db.execute(
        "SELECT DISTINCT provider, resource_kind FROM findings WHERE check_id = ? AND status = 'open'",
        (check_id,),
    )
    return {(str(p), str(k)) for p, k in rows}


@dataclass(frozen=True, slots=True)
class FindingDetail:
    """One finding with its mute rule, for the detail line under the findings table."""

    check_id: str
    resource_uid: str
    reason: str
    first_seen: str
    last_seen: str
    status: str
    mute_reason: str | None = None
    mute_author: str | None = None
    mute_expires_at: str | None = None


def finding_detail(db: Reader, finding_id: int) -> FindingDetail | None:
    row = db.execute(
        "SELECT f.check_id, f.resource_uid, f.reason, f.first_seen, f.last_seen, f.status, "
        "m.reason, m.author, m.expires_at FROM findings AS f LEFT JOIN mutes AS m "
        "ON m.mute_id = f.mute_id WHERE f.finding_id = ?",
        (finding_id,),
    ).fetchone()
    if row is None:
        return None
    check_id, uid, reason, first, last, status, m_reason, m_author, m_expires = tuple(row)
    return FindingDetail(
        check_id, uid, reason or "", first, last, status, m_reason, m_author, m_expires
    )


# -- scopes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScopeHealth:
    """One scope: its worst task status, that task's error and its oldest last success."""

    scope_id: str
    scope: str  # the label, else "account region"
    provider: str
    status: str  # ok | stale | failed
    error: str = ""
    success: str | None = None


def scope_health(db: Reader) -> list[ScopeHealth]:
    """Every scope, worst first (failed, stale, ok), then by provider and name."""
    rank = {s: i for i, s in enumerate(SCOPE_STATUSES)}
    scopes: dict[str, dict[str, Any]] = {}
    for row in db.execute(
        "SELECT scope_id, provider, account, region, label, status, error, last_success_at, task "
        "FROM scope_status ORDER BY scope_id, task"
    ):
        scope_id, provider, account, region, label, status, error, success, task = tuple(row)
        status = status if status in rank else "failed"
        cur = scopes.get(scope_id)
        if cur is None:
            cur = scopes[scope_id] = {
                "scope_id": scope_id,
                "scope": label or f"{account} {region}",
                "provider": provider,
                "status": "ok",
                "error": "",
                "success": success,
            }
        if rank[status] > rank[cur["status"]]:
            cur["status"], cur["error"] = status, f"{task}: {error or 'failed'}"
        if success and (not cur["success"] or success < cur["success"]):
            cur["success"] = success  # the scope is as fresh as its oldest task
    out = [ScopeHealth(**s) for s in scopes.values()]
    return sorted(out, key=lambda s: (-rank[s.status], s.provider, s.scope))


def scope_task_error(db: Reader, row_id: int) -> tuple[str, str | None] | None:
    """``(scope_id, error)`` of one row of ``scope_status`` (the sync screen's table keys by rowid)."""
    row = db.execute(
        "SELECT scope_id, error FROM scope_status WHERE rowid = ?", (row_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), row[1])


# -- scans -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScanRecord:
    scan_id: int
    started_at: str
    selection: dict[str, Any]
    counts: dict[str, Any]
    source: str = "vmwb"  # vmwb's own, or an import's (prowler, sarif:<tool>, custodian)


def recent_scans(db: Reader, limit: int = 40, source: str | None = "vmwb") -> list[ScanRecord]:
    """The last ``limit`` scans of ``source`` (vmwb's own by default; None: imports too), newest first
    (a damaged JSON column reads as empty)."""
    rows = db.execute(
        "SELECT scan_id, started_at, selection, counts, source FROM scans "
        "WHERE ? IS NULL OR source = ? ORDER BY scan_id DESC LIMIT ?",
        (source, source, limit),
    )
    return [
        ScanRecord(int(i), started, _obj(sel), _obj(c), str(src))
        for i, started, sel, c, src in rows
    ]


def _obj(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# -- images and audit --------------------------------------------------------------------------------------
def image_overview_row(db: Reader, row_id: int) -> dict[str, Any] | None:
    """One row of the ``image_overview`` view."""
    cur = db.execute("SELECT * FROM image_overview WHERE row_id = ?", (row_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], tuple(row), strict=True))


def open_vulnerabilities(db: Reader, resource_uid: str) -> list[tuple[str, int]]:
    """``(severity, count)`` of the imported vulnerabilities still open on a resource."""
    rows = db.execute(
        "SELECT severity, COUNT(*) FROM vulnerabilities WHERE resource_uid = ? AND fixed_at IS NULL "
        "GROUP BY severity",
        (resource_uid,),
    )
    return sorted(((str(s), int(n)) for s, n in rows), key=lambda r: severity_rank(r[0]))

"""What changed between two scans: new, resolved and changed findings.

Public API: :func:`diff_scans` ``(db, a=None, b=None, limit=None) -> dict``. ``b`` defaults to the latest scan and ``a``
to the scan before ``b`` (0 when ``b`` is the first, so everything is new). The answer comes from
``finding_events``: a finding whose first event in ``(a, b]`` is new/reopened and whose last is resolved came
and went in between and is left out. Each list holds the finding's current row plus ``change`` (the last
event); ``counts`` holds each list's full size, so a caller that only shows a few rows passes ``limit`` and
never loads the rest (after a first scan of a large estate every finding is "new").
"""

from __future__ import annotations

import json
from typing import Any

from workbench.cache.backend import Reader
from workbench.errors import WorkbenchError

_APPEARED = ("new", "reopened")


def scan_ids(db: Reader, source: str = "vmwb") -> list[int]:
    """The scans of one source: vmwb's own, or one importer's (``prowler``, ``sarif:trivy``, ``custodian``)."""
    return [
        int(r[0])
        for r in db.execute(
            "SELECT scan_id FROM scans WHERE source = ? ORDER BY scan_id", (source,)
        )
    ]


def _pick(ids: list[int], a: int | None, b: int | None, source: str) -> tuple[int, int]:
    if not ids:
        if source != "vmwb":
            raise WorkbenchError(f"no import from {source} yet")
        raise WorkbenchError("no scan yet: run `vmwb scan` first")
    if b is None:
        b = ids[-1]
    if b not in ids:
        raise WorkbenchError(f"no scan {b} of {source}")
    if a is None:
        earlier = [i for i in ids if i < b]
        a = earlier[-1] if earlier else 0
    elif a not in ids:
        raise WorkbenchError(f"no scan {a} of {source}")
    if a >= b:
        raise WorkbenchError(f"scan {a} is not before scan {b}")
    return a, b


def diff_scans(
    db: Reader,
    a: int | None = None,
    b: int | None = None,
    limit: int | None = None,
    *,
    source: str = "vmwb",
) -> dict[str, Any]:
    ids = scan_ids(db, source)
    a, b = _pick(ids, a, b, source)
    if not any(a < i < b for i in ids):  # no scan of this source in between: b's events say it all
        return _adjacent(db, a, b, limit)
    return _between(db, a, b, limit, source)


def _between(db: Reader, a: int, b: int, limit: int | None, source: str = "vmwb") -> dict[str, Any]:
    """Any two scans of a source: its events in ``(a, b]``, each finding judged by its first and last."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    cur = db.execute(
        "SELECT key, change FROM finding_events WHERE scan_id > ? AND scan_id <= ? "
        "AND scan_id IN (SELECT scan_id FROM scans WHERE source = ?) ORDER BY scan_id, rowid",
        (a, b, source),
    )
    for key, change in cur:
        first.setdefault(key, change)
        last[key] = change
    buckets: dict[str, list[str]] = {"new": [], "resolved": [], "changed": []}
    for key, change in last.items():
        if change in _APPEARED:
            buckets["new"].append(key)
        elif change == "resolved":
            if first[key] not in _APPEARED:
                buckets["resolved"].append(key)
        else:
            buckets["changed"].append(key)
    out: dict[str, Any] = {"from_scan": a, "to_scan": b}
    out["counts"] = {name: len(keys) for name, keys in buckets.items()}
    for name, keys in buckets.items():
        rows = db.execute(
            "SELECT * FROM findings WHERE key IN (SELECT value FROM json_each(?)) "
            "ORDER BY check_id, resource_uid LIMIT ?",
            (json.dumps(keys), -1 if limit is None else limit),
        ).fetchall()
        out[name] = [dict(r) | {"change": last[r["key"]]} for r in rows]
    return out


def _bucket(change: str) -> str:
    return "new" if change in _APPEARED else "resolved" if change == "resolved" else "changed"


def _adjacent(db: Reader, a: int, b: int, limit: int | None) -> dict[str, Any]:
    """The diff of two adjacent scans: scan ``b``'s events, one per finding (what the dashboard asks).

    Read in SQL, never loading more than ``limit`` rows per change: each change's events are walked in key
    order (``check_id|resource_uid``; check ids never prefix one another, so that is check, then resource
    order) on the index ``(scan_id, change, key)``, and the buckets merged.
    """
    counts = {"new": 0, "resolved": 0, "changed": 0}
    changes: list[str] = []
    for change, n in db.execute(
        "SELECT change, COUNT(*) FROM finding_events WHERE scan_id = ? GROUP BY change", (b,)
    ):
        counts[_bucket(change)] += int(n)
        changes.append(change)
    out: dict[str, Any] = {"from_scan": a, "to_scan": b, "counts": counts}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in counts}
    for change in changes:
        cur = db.execute(
            "SELECT f.* FROM finding_events AS e JOIN findings AS f ON f.key = e.key "
            "WHERE e.scan_id = ? AND e.change = ? ORDER BY e.key LIMIT ?",
            (b, change, -1 if limit is None else limit),
        )
        names = [d[0] for d in cur.description]
        rows[_bucket(change)].extend(
            dict(zip(names, tuple(r), strict=True)) | {"change": change} for r in cur
        )
    for name, found in rows.items():
        found.sort(key=lambda r: (r["check_id"], r["resource_uid"]))
        out[name] = found if limit is None else found[:limit]
    return out

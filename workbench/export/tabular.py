"""Findings as records, and as JSON, JSON lines, CSV and a plain-text table.

:func:`finding_records` joins each stored finding with its check's metadata; every exporter starts from these
records, so all formats carry the same fields: check_id, title, severity, status, provider, account, region,
resource_kind, resource_id (the provider's own id; the account or region for account- and region-level
checks), resource_name, resource_uid, reason (with the evidence), evidence, area, frameworks, equivalents, fix,
remediation, first_seen, last_seen, resolved_at, mute_id.

Untrusted strings (names, tags, reasons quoting them) go through :func:`workbench.textsafe.safe` in the table,
and every CSV cell through :func:`workbench.textsafe.csv_cell` (formula injection). JSON keeps values exact:
JSON encoding is its own escaping.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from workbench.scan.findings import list_findings
from workbench.scan.loader import Check, frameworks_dict, load_catalogue
from workbench.textsafe import csv_cell, safe

CSV_COLUMNS = (
    "check_id",
    "title",
    "severity",
    "status",
    "provider",
    "account",
    "region",
    "resource_kind",
    "resource_id",
    "resource_name",
    "reason",
    "area",
    "frameworks",
    "equivalents",
    "fix",
    "first_seen",
    "last_seen",
    "resolved_at",
)


def finding_records(
    db: sqlite3.Connection,
    *,
    statuses: tuple[str, ...] = ("open", "muted"),
    check_ids: list[str] | None = None,
    catalogue: list[Check] | None = None,
) -> list[dict[str, Any]]:
    checks = {c.id: c for c in (catalogue or load_catalogue())}
    out = []
    for row in list_findings(db, statuses=statuses, check_ids=check_ids):
        check = checks.get(row["check_id"])
        out.append(
            {
                "check_id": row["check_id"],
                "title": check.title if check else row["check_id"],
                "severity": row["severity"],
                "status": row["status"],
                "provider": row["provider"],
                "account": row["account"],
                "region": row["region"],
                "resource_kind": row["resource_kind"],
                "resource_id": row["resource_id"],
                "resource_name": row["resource_name"] or "",
                "resource_uid": row["resource_uid"],
                "reason": row["reason"] or "",
                "evidence": row["evidence"],
                "area": row["area"],
                "frameworks": frameworks_dict(check) if check else {},
                "equivalents": {k: list(v) for k, v in check.equivalents.items()} if check else {},
                "fix": check.fix if check else None,
                "remediation": check.remediation if check else "",
                "first_seen": row["first_seen"],
                "last_seen": row["last_seen"],
                "resolved_at": row["resolved_at"],
                "mute_id": row["mute_id"],
            }
        )
    return out


def to_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)


def _flat(value: Any) -> str:
    """Frameworks and equivalents in one cell: ``cis_aws_compute:2.2.2 2.2.3; nist_800_53:AC-3``."""
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            ids = item["ids"] if isinstance(item, dict) else item
            parts.append(f"{key}:{' '.join(ids)}")
        return "; ".join(parts)
    return "" if value is None else str(value)


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([csv_cell(_flat(r.get(c))) for c in CSV_COLUMNS])
    return buf.getvalue()


TABLE_COLUMNS = (
    ("severity", 8),
    ("check_id", 8),
    ("status", 8),
    ("account", 14),
    ("region", 14),
    ("resource_id", 24),
    ("resource_name", 20),
    ("reason", 60),
)


def render_table(rows: list[list[str]], widths: list[int]) -> str:
    """Plain, aligned text; cells must already be safe (and cut where they should be).

    ``widths`` are the least widths; a column as wide as its longest cell keeps every row aligned when a
    value is longer than expected (a long check title, an account alias)."""
    from rich.cells import cell_len

    actual = [max([w, *(cell_len(r[i]) for r in rows if i < len(r))]) for i, w in enumerate(widths)]
    lines = []
    for row in rows:
        cells = [c + " " * max(0, w - cell_len(c)) for c, w in zip(row, actual, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def to_table(records: list[dict[str, Any]]) -> str:
    header = [name.upper() for name, _ in TABLE_COLUMNS]
    body = [[safe(r.get(name), width) for name, width in TABLE_COLUMNS] for r in records]
    return render_table([header, *body], [w for _, w in TABLE_COLUMNS])

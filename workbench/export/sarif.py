"""Findings as SARIF 2.1.0 (one run, one rule per check, one result per finding).

A cloud resource has no file, so each result's location is a logical location (kind ``resource``) named by the
provider's id, with the cache uid as its fully qualified name. Muted findings carry an accepted external
suppression with the mute's reason; ``partialFingerprints`` hold the stable finding key so consumers can follow a
finding across runs. ``security-severity`` follows the GitHub code-scanning convention (critical 9.5, high
8.0, medium 5.5, low 3.0).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from workbench import __version__
from workbench.scan.loader import Check

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _rule(check: Check) -> dict[str, Any]:
    tags = ["security", check.area] + [f"{fw}:{cid}" for fw, cid in check.framework_controls()]
    return {
        "id": check.id,
        "name": "".join(
            w.capitalize() for w in check.title.replace("-", " ").split() if w.isalnum()
        ),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale},
        "help": {"text": check.remediation},
        "defaultConfiguration": {"level": LEVELS.get(check.severity, "note")},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY.get(check.severity, "1.0"),
            "severity": check.severity,
            "equivalents": {k: list(v) for k, v in check.equivalents.items()},
            **({"fix": check.fix} if check.fix else {}),
        },
    }


def _mute_reasons(db: sqlite3.Connection) -> dict[int, str]:
    return {int(r[0]): r[1] for r in db.execute("SELECT mute_id, reason FROM mutes")}


def build(
    records: list[dict[str, Any]], checks: list[Check], db: sqlite3.Connection | None = None
) -> dict[str, Any]:
    used = sorted({r["check_id"] for r in records})
    by_id = {c.id: c for c in checks}
    rules = [_rule(by_id[cid]) for cid in used if cid in by_id]
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    reasons = _mute_reasons(db) if db is not None else {}
    results = []
    for r in records:
        result: dict[str, Any] = {
            "ruleId": r["check_id"],
            "level": LEVELS.get(r["severity"], "note"),
            "message": {"text": f"{r['resource_kind']} {r['resource_id']}: {r['reason']}"},
            "locations": [
                {
                    "logicalLocations": [
                        {
                            "name": r["resource_id"],
                            "fullyQualifiedName": r["resource_uid"],
                            "kind": "resource",
                        }
                    ],
                    "message": {"text": f"{r['provider']} {r['account']} {r['region']}"},
                }
            ],
            "partialFingerprints": {"vmwbFindingKey/v1": f"{r['check_id']}|{r['resource_uid']}"},
            "properties": {
                "status": r["status"],
                "severity": r["severity"],
                "provider": r["provider"],
                "account": r["account"],
                "region": r["region"],
                "resourceKind": r["resource_kind"],
                "resourceName": r["resource_name"],
                "firstSeen": r["first_seen"],
                "lastSeen": r["last_seen"],
                "evidence": r["evidence"],
            },
        }
        if r["check_id"] in index:
            result["ruleIndex"] = index[r["check_id"]]
        if r["status"] == "muted":
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": reasons.get(r.get("mute_id") or -1, "muted"),
                }
            ]
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vmwb",
                        "fullName": "VM Security Workbench",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def to_sarif(
    records: list[dict[str, Any]], checks: list[Check], db: sqlite3.Connection | None = None
) -> str:
    return json.dumps(build(records, checks, db), indent=2, ensure_ascii=False) + "\n"

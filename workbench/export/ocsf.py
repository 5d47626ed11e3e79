"""Findings as OCSF Detection Findings (class 2004), shaped as Prowler emits them, one JSON object each.

``status_code`` is FAIL, ``status_id`` New (1) for open findings and Suppressed (3) for muted ones (Prowler's
mapping of muted findings); framework mappings and equivalents go to ``unmapped``. Built as plain dicts so the
core needs no OCSF package at run time; the tests validate the output against py-ocsf-models, Prowler's own OCSF
model package.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from workbench import __version__
from workbench.scan.loader import Check

OCSF_VERSION = "1.5.0"
CLASS_UID = 2004  # Detection Finding
ACTIVITY_CREATE = 1
SEVERITY_ID = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
STATUS = {"open": (1, "New"), "muted": (3, "Suppressed"), "resolved": (4, "Resolved")}
ACCOUNT_TYPE = {
    "aws": (10, "AWS Account"),
    "gcp": (5, "GCP Account"),
    "azure": (6, "Azure AD Account"),
}


def _epoch(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(dt.datetime.fromisoformat(iso).timestamp())


def detection_finding(r: dict[str, Any], check: Check | None) -> dict[str, Any]:
    status_id, status = STATUS.get(r["status"], (99, "Other"))
    type_id, type_name = ACCOUNT_TYPE.get(r["provider"], (99, "Other"))
    evidence = r.get("evidence")
    data: dict[str, Any] = {"evidence": evidence} if evidence is not None else {}
    return {
        "metadata": {
            "event_code": r["check_id"],
            "product": {
                "name": "VM Security Workbench",
                "uid": "vmwb",
                "vendor_name": "vmwb",
                "version": __version__,
            },
            "profiles": ["cloud", "datetime"],
            "tenant_uid": r["account"],
            "version": OCSF_VERSION,
        },
        "severity_id": SEVERITY_ID.get(r["severity"], 0),
        "severity": r["severity"].capitalize(),
        "status": status,
        "status_code": "FAIL",
        "status_detail": r["reason"],
        "status_id": status_id,
        "unmapped": {
            "area": r["area"],
            "compliance": {k: v["ids"] for k, v in r["frameworks"].items()},
            "equivalents": r["equivalents"],
            "fix": r["fix"],
        },
        "activity_name": "Create",
        "activity_id": ACTIVITY_CREATE,
        "finding_info": {
            "created_time": _epoch(r["first_seen"]),
            "created_time_dt": r["first_seen"],
            "desc": check.rationale if check else r["title"],
            "first_seen_time": _epoch(r["first_seen"]),
            "first_seen_time_dt": r["first_seen"],
            "last_seen_time": _epoch(r["last_seen"]),
            "last_seen_time_dt": r["last_seen"],
            "title": r["title"],
            "types": [r["area"]] if r["area"] else [],
            "uid": f"vmwb-{r['check_id']}-{r['resource_uid']}",
        },
        "resources": [
            {
                **({"cloud_partition": "aws"} if r["provider"] == "aws" else {}),
                "region": r["region"],
                "data": data,
                "group": {"name": r["resource_kind"]},
                "labels": [],
                "name": r["resource_name"] or r["resource_id"],
                "type": r["resource_kind"],
                "uid": r["resource_id"],
            }
        ],
        "category_name": "Findings",
        "category_uid": 2,
        "class_name": "Detection Finding",
        "class_uid": CLASS_UID,
        "cloud": {
            "account": {
                "name": r["account"],
                "type": type_name,
                "type_id": type_id,
                "uid": r["account"],
            },
            "provider": r["provider"],
            "region": r["region"],
        },
        "remediation": {"desc": r["remediation"] or r["title"]},
        "risk_details": check.rationale if check else r["title"],
        "time": _epoch(r["last_seen"]),
        "time_dt": r["last_seen"],
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
    }


def build(records: list[dict[str, Any]], checks: list[Check]) -> list[dict[str, Any]]:
    by_id = {c.id: c for c in checks}
    return [detection_finding(r, by_id.get(r["check_id"])) for r in records]


def to_ocsf(records: list[dict[str, Any]], checks: list[Check]) -> str:
    """A JSON array, as Prowler's ``json-ocsf`` output."""
    return json.dumps(build(records, checks), indent=2, ensure_ascii=False) + "\n"

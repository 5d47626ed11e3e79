"""Prowler 5.x ``json-ocsf`` output: a JSON array of OCSF Detection Findings (class 2004).

Every element is validated with py-ocsf-models (the OCSF schema's own Python models, as Prowler writes them)
before anything is imported; the first element that does not validate refuses the file, naming it. FAIL results
become findings; PASS results say which (rule, account) pairs ran, so a rule that passes now resolves what it
reported before; MANUAL results say nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.scan.imports.landing import (
    SEVERITY_WORDS,
    Imported,
    ImportFileError,
    Parsed,
    first_error,
    read_json,
)

SOURCE = "prowler"
_PROVIDERS = {"aws": "aws", "gcp": "gcp", "azure": "azure", "kubernetes": "kubernetes"}


def read(path: Path) -> Parsed:
    """The failing results, the rules that ran and the accounts covered; raises on an invalid file."""
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding
    from pydantic import ValidationError

    data, digest = read_json(path, "a Prowler OCSF JSON file")
    if not isinstance(data, list):
        raise ImportFileError(
            f"{path}: not a Prowler OCSF JSON file (expected a JSON array of findings)"
        )
    out: list[Imported] = []
    rules: set[str] = set()
    accounts: set[str] = set()
    for i, raw in enumerate(data):
        try:
            finding = DetectionFinding.model_validate(raw)
        except ValidationError as exc:
            raise ImportFileError(
                f"{path}: finding {i} is not an OCSF Detection Finding: {first_error(exc)}; "
                "nothing was imported"
            ) from exc
        rule = finding.metadata.event_code or (
            finding.finding_info.analytic.uid if finding.finding_info.analytic else None
        )
        if not rule:
            raise ImportFileError(
                f"{path}: finding {i} names no Prowler check; nothing was imported"
            )
        cloud = finding.cloud
        account = cloud.account.uid if cloud and cloud.account and cloud.account.uid else ""
        provider = _PROVIDERS.get((cloud.provider if cloud else "") or "", "")
        status = (finding.status_code or "").upper()
        if status not in ("PASS", "FAIL"):
            continue  # MANUAL: Prowler could not judge
        rules.add(rule)
        if account:
            accounts.add(account)
        if status != "FAIL":
            continue
        severity = SEVERITY_WORDS.get(str(finding.severity or "").lower(), "medium")
        for res in finding.resources or [{}]:  # a finding names one resource in Prowler 5
            res_data: dict[str, Any] = res.model_dump() if hasattr(res, "model_dump") else {}
            ref = str(res_data.get("uid") or res_data.get("name") or finding.finding_info.uid)
            out.append(
                Imported(
                    rule=rule,
                    title=finding.finding_info.title or rule,
                    severity=severity,
                    reason=finding.status_detail or finding.message or "",
                    ref=ref,
                    provider=provider,
                    account=account,
                    region=str(res_data.get("region") or (cloud.region if cloud else "") or ""),
                    resource_name=str(res_data.get("name") or ""),
                    evidence={
                        "finding_uid": finding.finding_info.uid,
                        "resource_type": res_data.get("type"),
                        "remediation": (
                            list(finding.remediation.references or [])
                            if finding.remediation
                            else []
                        ),
                    },
                )
            )
    return Parsed(out, rules, accounts, digest)

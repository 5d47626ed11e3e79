"""Parse a Trivy JSON report (``trivy vm|rootfs|image --format json``, schema version 2).

Only what the checks and the KPI need is kept: the artifact the report is about, when it was scanned, and one
:class:`Vuln` per (vulnerability, package). Trivy lists the same CVE once per affected package, and a package
can appear in several ``Results`` targets (an OS layer and a language lockfile): those repeats collapse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.clock import iso
from workbench.errors import WorkbenchError

SEVERITIES = ("critical", "high", "medium", "low", "unknown")
# Prefixes ``trivy vm`` puts before the id of a cloud artifact (``ami:ami-0abc…``, ``ebs:snap-…``).
_ARTIFACT_PREFIXES = ("ami:", "ebs:", "vm:")


class ReportError(WorkbenchError):
    """A result file that is not what it claims to be."""


@dataclass(frozen=True, slots=True)
class Vuln:
    vuln_id: str
    pkg_name: str
    installed_version: str | None
    fixed_version: str | None
    severity: str
    title: str | None


@dataclass(slots=True)
class TrivyReport:
    artifact: str
    artifact_type: str
    scanned_at: str | None
    os: str | None
    vulns: list[Vuln] = field(default_factory=list)

    @property
    def lookup_id(self) -> str:
        """The artifact name without Trivy's ``ami:`` / ``ebs:`` prefix: the id to find in the cache."""
        for prefix in _ARTIFACT_PREFIXES:
            if self.artifact.startswith(prefix):
                return self.artifact[len(prefix) :]
        return self.artifact

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for v in self.vulns:
            out[v.severity] += 1
        return out


def _severity(value: Any) -> str:
    text = str(value or "unknown").lower()
    return text if text in SEVERITIES else "unknown"


def parse(data: bytes | str) -> TrivyReport:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ReportError(f"not a Trivy JSON report: {exc}") from exc
    if not isinstance(doc, dict) or "ArtifactName" not in doc or "Results" not in doc:
        raise ReportError("not a Trivy JSON report (no ArtifactName / Results); use --format json")
    meta = doc.get("Metadata") or {}
    os_info = meta.get("OS") or {}
    os_name = " ".join(str(os_info.get(k, "")) for k in ("Family", "Name")).strip() or None
    report = TrivyReport(
        artifact=str(doc["ArtifactName"]),
        artifact_type=str(doc.get("ArtifactType") or ""),
        scanned_at=iso(doc.get("CreatedAt"), strict=True),
        os=os_name,
    )
    seen: set[tuple[str, str]] = set()
    for result in doc.get("Results") or []:
        for v in (result or {}).get("Vulnerabilities") or []:
            vid = str(v.get("VulnerabilityID") or "").strip()
            if not vid:
                continue
            pkg = str(v.get("PkgName") or "")
            if (vid, pkg) in seen:
                continue
            seen.add((vid, pkg))
            report.vulns.append(
                Vuln(
                    vid,
                    pkg,
                    v.get("InstalledVersion"),
                    v.get("FixedVersion") or None,
                    _severity(v.get("Severity")),
                    v.get("Title"),
                )
            )
    return report

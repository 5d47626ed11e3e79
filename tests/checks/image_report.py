"""A Trivy v2 JSON report for the check fixtures, shaped like ``trivy vm --format json`` output."""

from __future__ import annotations

import json


def trivy_json(artifact: str, severity: str, created: str) -> bytes:
    vuln = {
        "VulnerabilityID": "CVE-2026-0001",
        "PkgName": "openssl",
        "InstalledVersion": "3.0.1",
        "FixedVersion": "3.0.2",
        "Severity": severity,
        "Title": "openssl: example",
    }
    return json.dumps(
        {
            "SchemaVersion": 2,
            "CreatedAt": created,
            "ArtifactName": artifact,
            "ArtifactType": "vm",
            "Results": [{"Target": artifact, "Class": "os-pkgs", "Vulnerabilities": [vuln]}],
        }
    ).encode()

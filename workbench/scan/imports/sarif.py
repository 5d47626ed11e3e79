"""SARIF 2.1.0 logs from any scanner: each run's failing results as findings of ``sarif:<tool>``.

The log is validated against the parts of the SARIF 2.1.0 specification it is read by (OASIS, sections 3.13
sarifLog, 3.14 run, 3.18 toolComponent, 3.27 result, 3.28 location, 3.33 logicalLocation), with pydantic, before
anything is imported; the first violation refuses the file. A result's resource is its logical location's fully
qualified name (cloud scanners, vmwb's own SARIF) or else its artifact's URI (files: kept as not in the cache).
Severity is the rule's ``security-severity`` property (GitHub's convention: 9.0+ critical, 7.0+ high, 4.0+
medium, else low) or else the result's or rule's ``level``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.scan.imports.landing import (
    SEVERITY_WORDS,
    Imported,
    ImportFileError,
    Parsed,
    first_error,
    read_json,
)

Level = Literal["none", "note", "warning", "error"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Message(_Open):
    text: str | None = None
    id: str | None = None


class ReportingConfiguration(_Open):
    level: Level | None = None


class Rule(_Open):
    id: str
    name: str | None = None
    shortDescription: Message | None = None
    defaultConfiguration: ReportingConfiguration | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class Driver(_Open):
    name: str
    rules: list[Rule] = Field(default_factory=list)


class Tool(_Open):
    driver: Driver


class LogicalLocation(_Open):
    name: str | None = None
    fullyQualifiedName: str | None = None
    kind: str | None = None


class ArtifactLocation(_Open):
    uri: str | None = None


class PhysicalLocation(_Open):
    artifactLocation: ArtifactLocation | None = None


class Location(_Open):
    physicalLocation: PhysicalLocation | None = None
    logicalLocations: list[LogicalLocation] = Field(default_factory=list)


class Result(_Open):
    ruleId: str | None = None
    ruleIndex: int | None = None
    level: Level | None = None
    kind: str | None = None
    message: Message
    locations: list[Location] = Field(default_factory=list)


class Run(_Open):
    tool: Tool
    results: list[Result] | None = None


class Log(_Open):
    version: Literal["2.1.0"]
    runs: list[Run]


def load(path: Path) -> tuple[Log, str]:
    """The validated log and the SHA-256 of the file."""
    data, digest = read_json(path, "a SARIF JSON file")
    try:
        return Log.model_validate(data), digest
    except ValidationError as exc:
        raise ImportFileError(
            f"{path}: not a SARIF 2.1.0 log: {first_error(exc)}; nothing was imported"
        ) from exc


def tool_name(log: Log) -> str:
    names = {re.sub(r"[^a-z0-9._-]+", "-", r.tool.driver.name.lower()).strip("-") for r in log.runs}
    if len(names) != 1:
        raise ImportFileError(
            f"the log holds runs of {len(names)} tools ({', '.join(sorted(names))}): import one tool per file"
        )
    return names.pop() or "unknown"


def _severity(rule: Rule | None, result: Result) -> str:
    score = (rule.properties.get("security-severity") if rule else None) or None
    try:
        value = float(score) if score is not None else None
    except (TypeError, ValueError):
        value = None
    if value is not None:
        if value >= 9.0:
            return "critical"
        if value >= 7.0:
            return "high"
        if value >= 4.0:
            return "medium"
        return "low"
    level = result.level or (
        rule.defaultConfiguration.level if rule and rule.defaultConfiguration else None
    )
    return SEVERITY_WORDS.get(level or "warning", "medium")


def _ref(result: Result) -> tuple[str, str]:
    """(what names the resource, its short name)."""
    for loc in result.locations:
        for logical in loc.logicalLocations:
            if logical.fullyQualifiedName or logical.name:
                return str(logical.fullyQualifiedName or logical.name), str(logical.name or "")
    for loc in result.locations:
        art = loc.physicalLocation.artifactLocation if loc.physicalLocation else None
        if art and art.uri:
            return art.uri, art.uri.rsplit("/", 1)[-1]
    return "", ""


def read_log(log: Log, digest: str) -> Parsed:
    out: list[Imported] = []
    ran: set[str] = set()
    for run in log.runs:
        rules = run.tool.driver.rules
        by_id = {r.id: r for r in rules}
        ran.update(by_id)
        for result in run.results or []:
            rule = by_id.get(result.ruleId or "")
            if rule is None and result.ruleIndex is not None and 0 <= result.ruleIndex < len(rules):
                rule = rules[result.ruleIndex]
            rule_id = result.ruleId or (rule.id if rule else "")
            if not rule_id:
                raise ImportFileError(
                    "a result names no rule (ruleId or ruleIndex); nothing was imported"
                )
            ran.add(rule_id)
            if result.kind not in (None, "fail", "open", "review"):
                continue  # pass / notApplicable / informational: not a finding (SARIF 3.27.9)
            ref, name = _ref(result)
            title = (
                rule.shortDescription.text
                if rule and rule.shortDescription and rule.shortDescription.text
                else rule_id
            )
            out.append(
                Imported(
                    rule=rule_id,
                    title=title or rule_id,
                    severity=_severity(rule, result),
                    reason=result.message.text or title or rule_id,
                    ref=ref or f"{rule_id}:no-location",
                    resource_name=name,
                    evidence={"tool": run.tool.driver.name},
                )
            )
    return Parsed(out, ran, set(), digest)

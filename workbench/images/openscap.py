"""Parse OpenSCAP results: XCCDF 1.1 / 1.2 result files and ARF reports, as ``oscap xccdf eval`` writes them
(``--results`` and ``--results-arf``).

Each ``TestResult`` becomes one :class:`HardeningReport`: the target (host name, addresses), the benchmark and
profile, the score, and one :class:`RuleResult` per ``rule-result`` with its severity and its identifiers:
CCE ids, DISA STIG ids (``V-``/``SV-`` idents and STIG rule references such as ``RHEL-08-010010``) and CIS
recommendation numbers (references to cisecurity.org). Idents come from the rule-result (oscap copies them
there); references only exist on the benchmark's ``Rule``, which both formats carry alongside the results.
Elements are matched by local name, so both XCCDF versions and the ARF wrapper read the same way.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from workbench.clock import iso
from workbench.images.trivy import ReportError

_STIG_IDENT = re.compile(r"^S?V-\d+")
_FAIL = frozenset({"fail", "error"})


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule_id: str
    result: str  # pass | fail | error | unknown | notapplicable | notchecked | notselected | informational | fixed
    severity: str
    title: str | None
    cce_ids: tuple[str, ...] = ()
    stig_ids: tuple[str, ...] = ()
    cis_ids: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.result in _FAIL

    @property
    def stig_cat1(self) -> bool:
        """A failed STIG rule of high severity: DISA's category I."""
        return self.failed and self.severity == "high" and bool(self.stig_ids)


@dataclass(slots=True)
class HardeningReport:
    target: str
    addresses: list[str]
    benchmark: str | None
    profile: str | None
    scanned_at: str | None
    score: float | None
    max_score: float | None
    rules: list[RuleResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rules if r.result == "pass")

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rules if r.failed)

    @property
    def percent(self) -> float | None:
        """The score on a 0–100 scale (the default model's maximum is 100; others are scaled)."""
        if self.score is None:
            return None
        if self.max_score:
            return round(100.0 * self.score / self.max_score, 2)
        return self.score


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def _text(elem: ET.Element | None) -> str:
    return (elem.text or "").strip() if elem is not None else ""


@dataclass(slots=True)
class _RuleInfo:
    title: str | None
    severity: str | None
    idents: list[tuple[str, str]]
    references: list[tuple[str, str]]


def _rules(root: ET.Element) -> dict[str, _RuleInfo]:
    out: dict[str, _RuleInfo] = {}
    for elem in root.iter():
        if _local(elem.tag) != "Rule" or "id" not in elem.attrib:
            continue
        titles = _children(elem, "title")
        out[elem.attrib["id"]] = _RuleInfo(
            _text(titles[0]) if titles else None,
            elem.attrib.get("severity"),
            [(i.attrib.get("system", ""), _text(i)) for i in _children(elem, "ident")],
            [(r.attrib.get("href", ""), _text(r)) for r in _children(elem, "reference")],
        )
    return out


def _classify(
    idents: list[tuple[str, str]], references: list[tuple[str, str]]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    cce: list[str] = []
    stig: list[str] = []
    cis: list[str] = []
    for system, value in idents:
        if not value:
            continue
        if "cce" in system.lower() or value.upper().startswith("CCE-"):
            cce.append(value)
        elif "cyber.mil" in system or "disa" in system.lower() or _STIG_IDENT.match(value):
            stig.append(value)
    for href, value in references:
        low = href.lower()
        if not value:
            continue
        if "cyber.mil" in low or "iase.disa.mil" in low:
            stig.extend(v.strip() for v in value.split(",") if v.strip())
        elif "cisecurity.org" in low:
            cis.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(dict.fromkeys(cce)), tuple(dict.fromkeys(stig)), tuple(dict.fromkeys(cis))


def _score(test: ET.Element) -> tuple[float | None, float | None]:
    scores = _children(test, "score")
    if not scores:
        return None, None
    preferred = [s for s in scores if s.attrib.get("system", "") == "urn:xccdf:scoring:default"]
    s = (preferred or scores)[0]
    try:
        value = float(_text(s))
        maximum = float(s.attrib["maximum"]) if "maximum" in s.attrib else None
    except ValueError:
        return None, None
    return value, maximum


def _report(
    test: ET.Element, rules: dict[str, _RuleInfo], benchmark: str | None
) -> HardeningReport:
    facts = {
        f.attrib.get("name", ""): _text(f)
        for tf in _children(test, "target-facts")
        for f in _children(tf, "fact")
    }
    target = _text(next(iter(_children(test, "target")), None)) or facts.get(
        "urn:xccdf:fact:asset:identifier:fqdn", ""
    )
    profiles = _children(test, "profile")
    bench = _children(test, "benchmark")
    score, maximum = _score(test)
    report = HardeningReport(
        target=target,
        addresses=[_text(a) for a in _children(test, "target-address") if _text(a)],
        benchmark=(bench[0].attrib.get("id") if bench else None) or benchmark,
        profile=profiles[0].attrib.get("idref") if profiles else None,
        scanned_at=iso(test.attrib.get("end-time") or test.attrib.get("start-time"), strict=True),
        score=score,
        max_score=maximum,
    )
    for rr in _children(test, "rule-result"):
        rid = rr.attrib.get("idref", "")
        info = rules.get(rid, _RuleInfo(None, None, [], []))
        own_idents = [(i.attrib.get("system", ""), _text(i)) for i in _children(rr, "ident")]
        cce, stig, cis = _classify(own_idents + info.idents, info.references)
        severity = (rr.attrib.get("severity") or info.severity or "unknown").lower()
        report.rules.append(
            RuleResult(
                rid,
                _text(next(iter(_children(rr, "result")), None)) or "unknown",
                severity,
                info.title,
                cce,
                stig,
                cis,
            )
        )
    return report


def parse(data: bytes) -> list[HardeningReport]:
    """Every TestResult in an XCCDF result file or an ARF report."""
    # oscap never writes a DOCTYPE; refusing one rules out entity tricks in a file someone handed us.
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise ReportError("refusing an XCCDF/ARF file with a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ReportError(f"not an XCCDF or ARF result file: {exc}") from exc
    rules = _rules(root)
    benchmark = next(
        (e.attrib.get("id") for e in root.iter() if _local(e.tag) == "Benchmark"), None
    )
    tests = [e for e in root.iter() if _local(e.tag) == "TestResult"]
    if not tests:
        raise ReportError(
            "no TestResult in this file: give the output of `oscap xccdf eval --results` or "
            "`--results-arf`, not the benchmark itself"
        )
    return [_report(t, rules, benchmark) for t in tests]

"""Land another tool's findings beside vmwb's own: one scan of that tool's source per imported file.

Each importer (:mod:`.prowler`, :mod:`.sarif`, :mod:`.custodian`) turns its file into :class:`Imported` rows
after validating the whole file (nothing is written when any part is invalid). :func:`land` then:

- links each finding to the cached resource by uid, ARN or (provider, account, id); a finding for a resource
  the cache does not hold is kept, under ``external:<source>:<ref>``, and listed as such;
- records a ``scans`` row of its own ``source`` (``prowler``, ``sarif:<tool>``, ``custodian``), so imports never
  mix into vmwb's scan history, ``vmwb diff`` or the dashboard's trend;
- stores the findings through the same path as a vmwb scan (:func:`workbench.scan.findings.store`): events,
  mutes and history work alike. Rule ids carry their source (``prowler:ec2_ebs_public_snapshot``), so a vmwb
  scan never resolves an imported finding, nor the other way round;
- resolves what a newer file of the same source no longer reports, for the rules the file ran and the accounts
  it covers only (a file of account A says nothing of account B);
- maps each rule to the vmwb check that lists it in ``[equivalents]``, so ``vmwb fix plan CHECK`` takes the
  imported findings too;
- does nothing at all when the same file (by SHA-256) was already imported from that source.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.cache import schema
from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.errors import WorkbenchError
from workbench.scan.engine import FindingRow

# An importer's severity words, as vmwb's (workbench.scan.loader.SEVERITIES).
SEVERITY_WORDS = {
    "critical": "critical",
    "high": "high",
    "error": "high",
    "medium": "medium",
    "moderate": "medium",
    "warning": "medium",
    "low": "low",
    "note": "low",
    "informational": "informational",
    "info": "informational",
    "none": "informational",
}

# ARN resource types as the cache's kinds.
_ARN_KINDS = {
    "instance": "instance",
    "volume": "volume",
    "snapshot": "snapshot",
    "image": "image",
    "security-group": "firewall_group",
    "security-group-rule": "firewall_rule",
    "vpc": "network",
    "subnet": "subnet",
}
_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>\d*):"
    r"(?P<type>[^/:]+)[/:](?P<id>.+)$"
)


class ImportFileError(WorkbenchError):
    """The file is not what its importer reads; nothing was imported."""


@dataclass(slots=True)
class Imported:
    """One failing result of another tool, as its importer read it."""

    rule: str  # the tool's own rule id (Prowler's check id, SARIF's ruleId, Custodian's policy)
    title: str
    severity: str  # vmwb's words (see SEVERITY_WORDS)
    reason: str
    ref: str  # what the tool names the resource by: an ARN, a vmwb uid, an Azure id, a name
    provider: str = ""
    account: str = ""
    region: str = ""
    kind: str = ""  # the cache's kind when the tool says it
    resource_id: str = ""
    resource_name: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    # Other names of the rule in check.toml's [equivalents] (Custodian: ``aws.ebs-snapshot:cross-account``).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """An imported rule, as :func:`workbench.scan.findings.store` needs it."""

    id: str
    severity: str
    area: str


@dataclass(slots=True)
class ImportResult:
    source: str
    scan_id: int | None  # None: the same file was imported before
    counts: dict[str, int]
    not_in_cache: int = 0
    mapped: int = 0  # findings whose rule a vmwb check lists as its equivalent
    fixable: int = 0  # of those, the ones whose check names a guided fix
    previous_scan_id: int | None = None


@dataclass(slots=True)
class Parsed:
    """One validated file: its failing results, the rules that ran, the accounts it covers, its SHA-256."""

    findings: list[Imported]
    ran_rules: set[str]
    accounts: set[str]
    sha256: str


def read_json(path: Path, what: str) -> tuple[Any, str]:
    """The file's JSON and the SHA-256 of its bytes, from one read; an unreadable file is one line."""
    try:
        data = path.read_bytes()  # an import file, never a database
        return json.loads(data.decode("utf-8")), hashlib.sha256(data).hexdigest()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ImportFileError(f"{path}: not {what} ({exc})") from exc


def first_error(exc: Exception) -> str:
    """A validation error's first problem as ``where: what`` (pydantic), else its first line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(top)"
        return f"{where}: {first.get('msg', exc)}"
    return str(exc).splitlines()[0]


def _lookup(db: Any, kind: str, provider: str, account: str, rid: str) -> Any:
    """The cached resource with this id (or uid) in the kind's table, or in any table when the kind is not known."""
    from workbench.cache import browse

    kinds = [kind] if kind in schema.TABLES else list(schema.TABLES)
    for k in kinds:
        sql = f"SELECT * FROM {schema.TABLES[k]} WHERE (id = ? OR uid = ?)"
        args: list[Any] = [rid, rid]
        if provider:
            sql += " AND provider = ?"
            args.append(provider)
        if account:
            sql += " AND account = ?"
            args.append(account)
        row = db.execute(sql + " LIMIT 1", args).fetchone()
        if row is not None:
            return browse.Resource(k, dict(row))
    return None


def link(db: Any, f: Imported) -> tuple[str, str, bool]:
    """The cached resource's (uid, kind, True), or a stable external key when the cache does not hold it.

    A cached resource fills what the tool left out (provider, account, region, id, name) from its row.
    """
    from workbench.cache import browse

    m = _ARN.match(f.ref)
    if m:
        f.provider = f.provider or "aws"
        f.account = f.account or m["account"]
        f.region = f.region or m["region"]
        f.resource_id = f.resource_id or m["id"]
        f.kind = _ARN_KINDS.get(m["type"], f.kind)
    res = browse.resource(db, f.ref)  # already a vmwb uid (vmwb's own SARIF, say)
    if res is None:
        rid = f.resource_id or f.ref
        res = _lookup(db, f.kind, f.provider, f.account, rid)
        if res is None and f.ref != rid:
            res = _lookup(db, f.kind, f.provider, f.account, f.ref)
    if res is None:
        return f"external:{f.ref}", f.kind or "external", False
    row = res.row
    f.provider, f.account, f.region = str(row["provider"]), str(row["account"]), str(row["region"])
    f.resource_id = str(row["id"])
    f.resource_name = f.resource_name or str(row.get("name") or "")
    return res.uid, res.kind, True


def _equivalents(source_tool: str) -> tuple[dict[str, str], set[str]]:
    """The tool's rule id -> the vmwb check listing it in [equivalents] (a check with a fix first), and the
    checks among them that name a guided fix."""
    from workbench.scan.loader import load_catalogue

    out: dict[str, str] = {}
    with_fix: set[str] = set()
    for check in sorted(load_catalogue(), key=lambda c: (c.fix is None, c.id)):
        for rule in check.equivalents.get(source_tool, ()):
            out.setdefault(rule, check.id)
        if check.fix is not None:
            with_fix.add(check.id)
    return out, with_fix


def land(
    cache: Cache,
    source: str,
    path: Path,
    parsed: Parsed,
    *,
    actor: str,
    role: str,
    tool: str | None = None,
    now: str | None = None,
) -> ImportResult:
    """Store one validated file's findings as a scan of ``source`` (see the module docstring)."""
    from workbench import audit
    from workbench.scan import findings as findings_mod
    from workbench.scan import mutes

    now = now or utcnow()
    digest, findings, accounts = parsed.sha256, parsed.findings, parsed.accounts
    db = cache.db
    before = db.execute(
        "SELECT scan_id FROM scans WHERE source = ? AND source_sha256 = ?", (source, digest)
    ).fetchone()
    if before is not None:
        return ImportResult(source, None, {}, previous_scan_id=int(before[0]))
    equivalents, with_fix = _equivalents(tool or source)
    rows: dict[str, list[FindingRow]] = {f"{source}:{r}": [] for r in parsed.ran_rules}
    rules: dict[str, Rule] = {}
    maps_to: dict[str, str] = {}
    not_in_cache = 0
    for f in findings:
        rule_id = f"{source}:{f.rule}"
        uid, kind, cached = link(db, f)
        not_in_cache += not cached
        evidence = {**f.evidence, "source": source, "rule": f.rule, "title": f.title}
        if not cached:
            evidence["in_cache"] = False
        rules.setdefault(rule_id, Rule(rule_id, f.severity, "imported"))
        rows.setdefault(rule_id, []).append(
            FindingRow(
                rule_id,
                uid,
                kind,
                f.resource_id or f.ref,
                f.resource_name,
                f.provider or "unknown",
                f.account or "",
                f.region or "",
                f.reason,
                json.dumps(evidence, sort_keys=True, default=str),
            )
        )
        check = next((equivalents[n] for n in (f.rule, *f.aliases) if n in equivalents), None)
        if check and cached:
            maps_to[f"{rule_id}|{uid}"] = check
    for (
        rule_id
    ) in rows:  # rules that ran but reported nothing still resolve what they reported before
        rules.setdefault(rule_id, Rule(rule_id, "informational", "imported"))
    active = mutes.MuteSet.load(db, now)
    selection = {
        "source": source,
        "file": path.name,
        "rules": sorted(rows),
        "accounts": sorted(accounts),
    }
    with cache.transaction():
        cur = db.execute(
            "INSERT INTO scans (started_at, selection, source, source_file, source_sha256) "
            "VALUES (?, ?, ?, ?, ?)",
            (now, json.dumps(selection), source, str(path), digest),
        )
        scan_id = int(cur.lastrowid or 0)
        counts = findings_mod.store(
            cache,
            scan_id,
            list(rules.values()),
            rows,
            active,
            now,
            accounts=accounts or None,
            source=source,
        )
        db.executemany(
            "UPDATE findings SET maps_to = ? WHERE key = ?",
            [(check, key) for key, check in maps_to.items()],
        )
        db.execute(
            "UPDATE scans SET finished_at = ?, counts = ? WHERE scan_id = ?",
            (utcnow(), json.dumps(counts), scan_id),
        )
        audit.append(
            cache,
            actor=actor,
            role=role,
            action="import",
            target=source,
            details={"scan_id": scan_id, "file": str(path), "sha256": digest, **counts},
            result="ok",
        )
    audit.anchor(cache)
    fixable = sum(check in with_fix for check in maps_to.values())
    return ImportResult(source, scan_id, counts, not_in_cache, len(maps_to), fixable)

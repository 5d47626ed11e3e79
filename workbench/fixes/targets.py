"""Which resources a fix acts on: open findings first, then (when asked by id) resources of the cache.

``vmwb fix plan CHECK`` takes every open finding of the check; ``--resource ID`` narrows to those resources, and
a resource with no open finding is still accepted when the cache knows it (the check engine may not have run).
Region-wide setting fixes with no finding take the setting rows of the cache, optionally narrowed by region.
:func:`candidates` answers the other question, for the fix wizard: which fixes apply to these findings, with
the targets each would act on. Both read the findings through :mod:`workbench.cache.posture`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from workbench.cache import posture, schema
from workbench.cache.backend import Reader
from workbench.cache.store import Cache
from workbench.fixes import lookup
from workbench.fixes.base import Fix, FixError, Target
from workbench.model import make_uid


def choose_fix(
    cache: Cache, check_or_fix: str, fix_id: str | None = None
) -> tuple[Fix, str | None]:
    """The fix to use and the check whose findings it reads (None when a fix id was given)."""
    if check_or_fix in lookup.fix_ids():
        return lookup.get(check_or_fix), None
    candidates = lookup.for_check(check_or_fix)
    if fix_id:
        chosen = [f for f in candidates if f.id == fix_id]
        if not chosen:
            names = ", ".join(f.id for f in candidates) or "none"
            raise FixError(f"{fix_id} does not fix {check_or_fix} (its fixes: {names})")
        return chosen[0], check_or_fix
    if not candidates:
        raise FixError(f"no fix for check {check_or_fix!r} (see `vmwb fix list`)")
    if len(candidates) > 1:
        # A check may span providers (NET-01: AWS, GCP, Azure): pick the fix its open findings need.
        open_rows = posture.open_kinds(cache.db, check_or_fix)
        fitting = [
            f
            for f in candidates
            if any(
                p == f.provider and k in (f.resource_kind, *f.also_targets) for p, k in open_rows
            )
        ]
        if len(fitting) == 1:
            return fitting[0], check_or_fix
        names = ", ".join(f.id for f in candidates)
        raise FixError(f"{check_or_fix} has several fixes ({names}): choose one with --fix")
    return candidates[0], check_or_fix


def _from_row(row: sqlite3.Row | tuple[str, ...]) -> Target:
    check_id, uid, kind, rid, name, provider, account, region = tuple(row)
    return Target(check_id or "", uid, kind, rid, provider, account, region, name or "")


def _target(ref: posture.FindingRef) -> Target:
    return Target(
        ref.check_id,
        ref.resource_uid,
        ref.resource_kind,
        ref.resource_id,
        ref.provider,
        ref.account,
        ref.region,
        ref.resource_name,
    )


def _kinds(fix: Fix) -> tuple[str, ...]:
    """The resource kinds a fix acts on."""
    return (fix.resource_kind, *fix.also_targets)


@dataclass(slots=True)
class Candidate:
    """One fix that applies to some of the chosen findings, with the targets it would act on."""

    fix: Fix
    targets: list[Target] = field(default_factory=list)


def candidates(
    db: Reader, finding_ids: Sequence[int] | None = None, check_id: str | None = None
) -> list[Candidate]:
    """Every fix for the chosen findings (open or muted), else for the open findings of ``check_id``, else
    of every check; each with its targets (normalised, once each), the fix with the most targets first."""
    if finding_ids is not None:
        refs = [r for r in posture.finding_refs(db, finding_ids) if r.status in posture.CURRENT]
    else:
        refs = posture.open_findings(db, [check_id] if check_id else None)
    by_check: dict[str, list[posture.FindingRef]] = {}
    for ref in refs:
        by_check.setdefault(ref.check_id, []).append(ref)
    found: dict[str, Candidate] = {}
    for check, check_refs in by_check.items():
        try:
            fixes = lookup.for_check(check)
        except FixError:
            continue
        for fix in fixes:
            cand = found.setdefault(fix.id, Candidate(fix))
            seen = {t.resource_uid for t in cand.targets}
            kinds = _kinds(fix)
            for ref in check_refs:
                if ref.provider != fix.provider or ref.resource_kind not in kinds:
                    continue
                target = fix.normalize_target(_target(ref))
                if target.resource_uid not in seen:
                    seen.add(target.resource_uid)
                    cand.targets.append(target)
    order = {"reversible": 0, "additive": 1, "irreversible": 2}
    chosen = [c for c in found.values() if c.targets]
    return sorted(chosen, key=lambda c: (-len(c.targets), order.get(c.fix.safety, 3), c.fix.id))


def resolve(
    cache: Cache,
    check_or_fix: str,
    resource_ids: Sequence[str] = (),
    *,
    fix_id: str | None = None,
    regions: Iterable[str] = (),
) -> tuple[Fix, list[Target]]:
    fix, check_id = choose_fix(cache, check_or_fix, fix_id)
    checks = [check_id] if check_id else list(fix.check_ids)
    region_set = set(regions)
    refs = (
        posture.open_findings(
            cache.db, checks, provider=fix.provider, kinds=_kinds(fix), equivalents=True
        )
        if checks
        else []
    )
    refs.sort(key=lambda r: (r.account, r.region, r.resource_id))
    found = [_target(r) for r in refs]
    if region_set:
        found = [t for t in found if t.region in region_set]
    if resource_ids:
        wanted = set(resource_ids)
        found = [t for t in found if wanted & {t.resource_id, t.resource_uid}]
        seen = {x for t in found for x in (t.resource_id, t.resource_uid)}
        for rid in resource_ids:
            if rid not in seen:
                found.extend(_from_cache(cache, fix, rid, region_set))
    elif not found and fix.resource_kind == "setting":
        found = _settings(cache, fix, region_set)
    targets: dict[str, Target] = {}
    for t in found:
        norm = fix.normalize_target(t)
        targets.setdefault(norm.resource_uid, norm)
    if not targets:
        what = f"open findings of {check_id}" if check_id else f"open findings for {fix.id}"
        raise FixError(f"no {what}: run a scan, or name resources with --resource ID")
    return fix, list(targets.values())


def _from_cache(cache: Cache, fix: Fix, rid: str, regions: set[str]) -> list[Target]:
    table = schema.TABLES[fix.resource_kind]
    rows = cache.db.execute(
        f"SELECT '', uid, ?, id, name, provider, account, region FROM {table} "
        "WHERE provider=? AND (id=? OR uid=?)",
        (fix.resource_kind, fix.provider, rid, rid),
    ).fetchall()
    found = [_from_row(r) for r in rows if not regions or r[7] in regions]
    if not found:
        raise FixError(
            f"{rid}: no open finding and no {fix.resource_kind} with that id in the cache"
        )
    return found


def _settings(cache: Cache, fix: Fix, regions: set[str]) -> list[Target]:
    key = getattr(fix, "setting_key", "")
    rows = cache.db.execute(
        "SELECT DISTINCT account, region FROM settings WHERE provider=? AND id=?",
        (fix.provider, key),
    ).fetchall()
    pairs = {(a, r) for a, r in rows if not regions or r in regions}
    return [
        Target("", make_uid(fix.provider, a, r, "setting", key), "setting", key, fix.provider, a, r)
        for a, r in sorted(pairs)
    ]


def finding_closed(cache: Cache, fix: Fix, target: Target) -> bool:
    """Whether ``target``'s finding is known to the cache but no longer open (resolved or muted since).

    Apply re-validates a plan against the findings with this. A target whose finding the cache never held
    (named by hand) is judged by live state alone; a plan retargeted at it is refused by its recorded checksum.
    """
    rows = cache.db.execute(
        "SELECT check_id, resource_uid, resource_kind, resource_id, resource_name, provider, account, "
        "region, status FROM findings WHERE check_id=? AND provider=?",
        (target.check_id, fix.provider),
    ).fetchall()
    states = {
        str(r[8])
        for r in rows
        if fix.normalize_target(_from_row(tuple(r)[:8])).resource_uid == target.resource_uid
    }
    return bool(states) and "open" not in states

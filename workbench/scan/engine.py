"""Evaluate checks over the cache (never over live APIs) and record the scan.

Public API:

- :func:`run_scan` ``(cache, *, check_ids=None, area=None, framework=None, provider=None, params=None,
  now=None, config=None) -> ScanResult``: evaluates the chosen checks, applies the mutes, upserts findings (new,
  still open, resolved, muted, reopened) and writes one ``scans`` row plus ``finding_events``. ``params`` maps a
  check id to parameter overrides (default: ``config``'s ``[policy]`` and ``[checks.<ID>]``, see
  :func:`~workbench.scan.loader.config_overrides`); ``now`` (ISO 8601) fixes the
  clock for tests and for the time arithmetic of the queries; ``config`` is the session's
  :class:`~workbench.config.Config`, handed to the Python check logic that reads settings of its own (the image
  checks' ``[images]`` trust root and ``[policy]`` trusted publishers). None stands for an empty ``Config()``: the engine
  never reads a config file itself.
- :func:`evaluate` ``(cache, check, *, params=None, now=None, config=None) -> list[FindingRow]``: the rows
  that fail one check, with no write at all.
- :func:`evaluate_many`: several checks on two threads with their own read-only connections (what
  ``run_scan`` uses).
- :func:`select_checks`: the selection rules (all, by id, by area, by framework, by provider).

A query is bound with named parameters: ``:now`` and every check parameter (list parameters as JSON text, to be
used with ``json_each``). It returns ``resource_uid, resource_kind, resource_id, resource_name, provider,
account, region, reason`` and optionally ``evidence`` (JSON) and ``tags`` (JSON).
"""

from __future__ import annotations

import concurrent.futures
import json
import operator
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.scan.loader import COSTS, Check, CheckError, config_overrides, load_catalogue

if TYPE_CHECKING:
    from workbench.config import Config

MMAP_BYTES = 1 << 30
REQUIRED_COLUMNS = (
    "resource_uid",
    "resource_kind",
    "resource_id",
    "resource_name",
    "provider",
    "account",
    "region",
    "reason",
)


@dataclass(slots=True)
class FindingRow:
    """One resource failing one check, as the query (and the Python post-filter) returned it."""

    check_id: str
    resource_uid: str
    resource_kind: str
    resource_id: str
    resource_name: str
    provider: str
    account: str
    region: str
    reason: str
    evidence: Any = (
        None  # JSON text as the query returned it (parsed lazily: most rows are never read)
    )
    tags: Any = None  # JSON text or a dict

    def evidence_data(self) -> Any:
        return _json_or_none(self.evidence)

    def tag_dict(self) -> dict[str, str] | None:
        value = _json_or_none(self.tags)
        return value if isinstance(value, dict) else None


@dataclass(slots=True)
class ScanResult:
    scan_id: int
    started_at: str
    finished_at: str
    checks: list[str]
    counts: dict[str, int]
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def bind(check: Check, params: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """Named SQL parameters: resolved check parameters (lists as JSON) plus ``now``."""
    values = check.resolve_params(params)
    bound: dict[str, Any] = {
        k: json.dumps(v) if isinstance(v, list) else (int(v) if isinstance(v, bool) else v)
        for k, v in values.items()
    }
    bound["now"] = now
    return bound


def _json_or_none(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def evaluate(
    cache: Cache | sqlite3.Connection,
    check: Check,
    *,
    params: dict[str, Any] | None = None,
    now: str | None = None,
    config: Config | None = None,
) -> list[FindingRow]:
    """Rows failing ``check``. Reads only. ``config``: the session's, for the check's Python logic (None: an
    empty ``Config()``)."""
    db = cache.db if isinstance(cache, Cache) else cache
    bound = bind(check, params, now or utcnow())
    sql = check.query.strip().rstrip(";")
    cur = db.cursor()
    cur.row_factory = (
        None  # plain tuples: a sqlite3.Row per row costs more than the query on big results
    )
    try:
        cur.execute(sql, bound)
    except sqlite3.Error as exc:
        raise CheckError(f"check {check.id}: query failed: {exc}") from exc
    names = [d[0] for d in cur.description]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise CheckError(f"check {check.id}: query does not return {', '.join(missing)}")
    # One itemgetter per query puts the columns in FindingRow order (the queries order them differently);
    # a missing evidence / tags column reads a NULL appended to each row.
    idx = {n: i for i, n in enumerate(names)}
    null = len(names)
    get = operator.itemgetter(
        *(idx[c] for c in REQUIRED_COLUMNS), idx.get("evidence", null), idx.get("tags", null)
    )
    cid = check.id
    try:
        if "evidence" in idx and "tags" in idx:
            rows = [FindingRow(cid, *get(r)) for r in cur]
        else:
            rows = [FindingRow(cid, *get((*r, None))) for r in cur]
    except sqlite3.Error as exc:
        raise CheckError(f"check {check.id}: query failed: {exc}") from exc
    for row in rows:  # NULL name / reason read as empty text
        if row.resource_name is None:
            row.resource_name = ""
        if row.reason is None:
            row.reason = ""
    if check.logic:
        from workbench.checks import logic

        rows = logic.apply(check.id, rows, check.resolve_params(params), db=db, config=config)
    return rows


def evaluate_many(
    cache: Cache,
    checks: list[Check],
    *,
    params: dict[str, dict[str, Any]] | None = None,
    now: str | None = None,
    workers: int = 2,
    config: Config | None = None,
) -> tuple[dict[str, list[FindingRow]], dict[str, str]]:
    """Evaluate several checks on ``workers`` threads, each with its own read-only connection.

    SQLite releases the GIL while it steps a query, so two connections keep two cores busy. Every check sees
    the same ``config`` (as for :func:`evaluate`). Returns rows by check id and the error of each check that
    could not run.
    """
    now = now or utcnow()
    params = params or {}
    local = threading.local()
    opened: list[sqlite3.Connection] = []
    lock = threading.Lock()

    def conn() -> sqlite3.Connection:
        db = getattr(local, "db", None)
        if db is None:
            db = cache.reader()
            if isinstance(db, sqlite3.Connection):
                # Map the file: a scan reads most of the cache, and mapped pages skip a copy per read.
                db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            local.db = db
            with lock:
                opened.append(db)
        return db

    def one(check: Check) -> tuple[str, list[FindingRow] | None, str | None]:
        try:
            rows = evaluate(conn(), check, params=params.get(check.id), now=now, config=config)
            return check.id, rows, None
        except CheckError as exc:
            return check.id, None, str(exc)

    done: dict[str, tuple[list[FindingRow] | None, str | None]] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
            for cid, rows, error in run_in_order(pool, checks, one):
                done[cid] = (rows, error)
    finally:
        for db in opened:
            db.close()
    results: dict[str, list[FindingRow]] = {}
    errors: dict[str, str] = {}
    for check in checks:  # catalogue order, whatever order they ran in
        rows, error = done[check.id]
        if rows is None:
            errors[check.id] = error or "failed"
        else:
            results[check.id] = rows
    return results, errors


def run_in_order(
    pool: concurrent.futures.Executor,
    checks: list[Check],
    one: Callable[[Check], tuple[str, list[FindingRow] | None, str | None]],
) -> Iterator[tuple[str, list[FindingRow] | None, str | None]]:
    """Run ``one`` over ``checks`` as their metadata asks: a check starts only when every check of this run it
    names in ``after`` has finished; among those ready, the costliest (``cost``) starts first, so no long
    check starts last while the other thread idles. Yields results as they finish."""
    chosen = {c.id for c in checks}
    waiting = {c.id: {a for a in c.after if a in chosen} for c in checks}
    by_id = {c.id: c for c in checks}
    order = {c.id: i for i, c in enumerate(sorted(checks, key=_cost_rank))}
    running: dict[concurrent.futures.Future[Any], str] = {}

    def start_ready() -> None:
        ready = sorted((cid for cid, deps in waiting.items() if not deps), key=order.__getitem__)
        for cid in ready:
            del waiting[cid]
            running[pool.submit(one, by_id[cid])] = cid

    start_ready()
    while running:
        finished, _ = concurrent.futures.wait(
            running, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in finished:
            cid = running.pop(future)
            for deps in waiting.values():
                deps.discard(cid)
            yield future.result()
        start_ready()


def _cost_rank(check: Check) -> int:
    """Costliest first (``cost`` in check.toml)."""
    return -COSTS.index(check.cost)


def _matches_framework(check: Check, framework: str) -> bool:
    want = framework.lower().replace("-", "_")
    return any(key == want or key.startswith(want) for key in check.frameworks)


def select_checks(
    catalogue: list[Check],
    *,
    check_ids: Iterable[str] | None = None,
    area: str | None = None,
    framework: str | None = None,
    provider: str | None = None,
) -> list[Check]:
    """The checks a scan runs. Filters combine (AND); an unknown id or an empty result is an error."""
    chosen = list(catalogue)
    if check_ids:
        wanted = [c.upper() for c in check_ids]
        known = {c.id for c in catalogue}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise CheckError(f"no check {unknown[0]!r} (see `vmwb checks`)")
        chosen = [c for c in chosen if c.id in wanted]
    if area:
        chosen = [c for c in chosen if c.area == area.replace("-", "_")]
    if framework:
        chosen = [c for c in chosen if _matches_framework(c, framework)]
    if provider:
        chosen = [c for c in chosen if provider in c.providers]
    if not chosen:
        raise CheckError("no check matches that selection (see `vmwb checks`)")
    return chosen


def run_scan(
    cache: Cache,
    *,
    check_ids: Iterable[str] | None = None,
    area: str | None = None,
    framework: str | None = None,
    provider: str | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    now: str | None = None,
    config: Config | None = None,
) -> ScanResult:
    """Evaluate the chosen checks and store their findings. See the module docstring."""
    if params is None and config is not None:
        params = config_overrides(config)
    from workbench import audit as audit_log
    from workbench.scan import findings, kpi, mutes, posture

    now = now or utcnow()
    t0 = time.perf_counter()
    checks = select_checks(
        load_catalogue(), check_ids=check_ids, area=area, framework=framework, provider=provider
    )
    params = params or {}
    for check in checks:  # validate every override before writing anything
        check.resolve_params(params.get(check.id))
    selection = {
        "checks": [c.id for c in checks],
        "area": area,
        "framework": framework,
        "provider": provider,
    }
    results, errors = evaluate_many(cache, checks, params=params, now=now, config=config)
    if provider:
        results = {
            cid: [r for r in rows if r.provider == provider] for cid, rows in results.items()
        }
    active = mutes.MuteSet.load(cache.db, now)
    # Read before the write lock is taken; stored with the scan, so the dashboard reads them as they are.
    try:
        kpis: dict[str, Any] | None = kpi.compute_kpis(cache.db, now, params)
    except (
        sqlite3.Error
    ):  # a damaged inventory table must not stop the scan; posture computes them then
        kpis = None
    with cache.transaction():
        cur = cache.db.execute(
            "INSERT INTO scans (started_at, selection) VALUES (?, ?)", (now, json.dumps(selection))
        )
        scan_id = int(cur.lastrowid or 0)
        counts = findings.store(cache, scan_id, checks, results, active, now, provider=provider)
        if kpis is not None:
            posture.record_kpis(cache.db, scan_id, kpis)
        counts["errors"] = len(errors)
        finished = utcnow()
        cache.db.execute(
            "UPDATE scans SET finished_at=?, counts=? WHERE scan_id=?",
            (finished, json.dumps(counts), scan_id),
        )
    if counts.get("audited"):  # the scan audited the mutes that lapsed
        audit_log.anchor(cache)
    return ScanResult(
        scan_id, now, finished, [c.id for c in checks], counts, errors, time.perf_counter() - t0
    )

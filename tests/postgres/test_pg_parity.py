"""The proof: the check engine and the read model give the same answers on SQLite and on PostgreSQL.

A fixture estate (the checks bench's synthetic estate, and the two-account AWS estate synced from moto by the
real collector) is copied from SQLite into PostgreSQL with ``vmwb cache copy``'s function; then the same scan
(same clock) runs on each backend and every finding, every posture number the dashboard shows and the KPIs
are compared, for every check of the catalogue (findings and evidence alike).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.cache import posture
from workbench.cache.postgres import PgCache
from workbench.cache.store import Cache
from workbench.cache_copy import copy_cache
from workbench.scan import engine, kpi
from workbench.scan.loader import load_catalogue

pytestmark = pytest.mark.xdist_group("postgres")

NOW = "2026-11-26T12:00:00Z"


@pytest.fixture(scope="module")
def bench_estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from workbench.bench.checks import build_cache
    from workbench.images import keys

    path = tmp_path_factory.mktemp("bench-estate") / "estate.db"
    build_cache(path, 3000, keys.Signer(Ed25519PrivateKey.generate(), "bench"))
    return path


@pytest.fixture(params=["bench", "aws"])
def estate(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "bench":
        src = request.getfixturevalue("bench_estate")
    else:
        src = request.getfixturevalue("aws_estate").db_path
    dst = tmp_path / "estate.db"
    with Cache.open(src) as cache:  # through SQLite: its online backup
        cache.backup(dst)
    yield dst


def _number(v: Any) -> Any:
    """A JSON value with 8.0 read as 8 (SQLite writes a REAL column's whole number with ".0", PostgreSQL
    without) and lists in a fixed order (a json_group_array without ORDER BY has none, on either backend);
    true stays distinct from 1."""
    if isinstance(v, dict):
        return {k: _number(x) for k, x in v.items()}
    if isinstance(v, list):
        return sorted((_number(x) for x in v), key=repr)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _rows(rows: list[engine.FindingRow]) -> list[str]:
    return sorted(
        repr(
            (
                r.resource_uid,
                r.reason,
                r.resource_kind,
                r.resource_id,
                r.resource_name,
                r.provider,
                r.account,
                r.region,
                r.tag_dict(),
                _number(r.evidence_data()),
            )
        )
        for r in rows
    )


def _portable() -> list[str]:
    return [c.id for c in load_catalogue()]


def _findings(store: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in store.execute(
            "SELECT key, check_id, resource_uid, resource_kind, resource_id, resource_name, provider, "
            "account, region, severity, area, status, reason, first_seen, last_seen FROM findings "
            "ORDER BY key"
        )
    ]


def _read_model(store: Any) -> dict[str, Any]:
    summary = posture.summary(store)
    return {
        "summary": dataclasses.asdict(summary),
        "counts": sorted(map(repr, posture.finding_counts(store, ("open", "muted", "resolved")))),
        "severity": posture.severity_counts(store),
        "checks": posture.check_counts(store),
        "groups": [
            posture.group_counts(store, g) for g in ("area", "severity", "check", "framework")
        ],
        # Ties of its order (check, resource id) and the ids fall as the scan's threads finish, on
        # either backend: compared without the id, in a total order.
        "open": sorted(dataclasses.astuple(f)[1:] for f in posture.open_findings(store)),
        "scopes": posture.scope_health(store),
        "scans": [(s.counts, s.started_at) for s in posture.recent_scans(store)],
    }


def test_every_check_gives_the_same_findings_on_both_backends(estate: Path, pg_url: str) -> None:
    copy_cache(str(estate), pg_url)
    with Cache.open(estate) as sqlite, PgCache.open(pg_url) as pg:
        ran = found = 0
        for check in load_catalogue():
            on_sqlite = engine.evaluate(sqlite, check, now=NOW)
            on_pg = engine.evaluate(pg, check, now=NOW)
            assert _rows(on_pg) == _rows(on_sqlite), check.id
            ran += 1
            found += len(on_sqlite)
        assert ran == len(load_catalogue())  # every check, none left to SQLite
        assert found > 50  # the estate fails many checks: the comparison is not of empty lists


def test_a_scan_stores_the_same_findings_and_posture_on_both_backends(
    estate: Path, pg_url: str
) -> None:
    copy_cache(str(estate), pg_url)
    checks = _portable()
    with Cache.open(estate) as sqlite, PgCache.open(pg_url) as pg:
        results = {}
        for name, store in (("sqlite", sqlite), ("pg", pg)):
            results[name] = engine.run_scan(store, check_ids=checks, now=NOW)
            assert results[name].errors == {}, name
        assert results["pg"].counts == results["sqlite"].counts
        assert results["sqlite"].counts["open"] > 0
        assert _findings(pg) == _findings(sqlite)
        assert _read_model(pg) == _read_model(sqlite)
        assert kpi.compute_kpis(pg, NOW, {}) == kpi.compute_kpis(sqlite, NOW, {})
        # A second scan moves findings the same way (seen again, none new).
        for store in (sqlite, pg):
            engine.run_scan(store, check_ids=checks, now="2026-11-27T12:00:00Z")
        assert _findings(pg) == _findings(sqlite)
        assert _read_model(pg) == _read_model(sqlite)

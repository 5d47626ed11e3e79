"""``vmwb cache copy``: a whole cache from SQLite into PostgreSQL and back, row for row, with its audit chain
still verifying; a destination that holds anything is refused in one line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from workbench import audit
from workbench.cache import backend
from workbench.cache.postgres import PgCache
from workbench.cache.store import Cache
from workbench.cache_copy import NOT_COPIED, OWN_META, tables
from workbench.cli import main
from workbench.scan import mutes
from workbench.scan.engine import run_scan

pytestmark = pytest.mark.xdist_group("postgres")

NOW = "2026-11-26T12:00:00Z"


@pytest.fixture
def team_cache(tmp_path: Path, aws_estate: Any) -> Path:
    """The AWS estate as synced from moto (twice), scanned, with a mute, a journal entry and their audit
    entries."""
    path = tmp_path / "laptop.db"
    with Cache.open(aws_estate.db_path) as estate:
        estate.backup(path)
    aws_estate.ensure_live()
    with Cache.open(path) as cache:
        from workbench.sync import SyncEngine

        # A VM the cache forgot comes back with the next sync: inventory history (resource_changes).
        with cache.transaction():
            cache.execute("DELETE FROM instances WHERE uid = (SELECT MIN(uid) FROM instances)")
        with aws_estate.env():
            assert SyncEngine(cache, [aws_estate.provider()], task_timeout=60).run().status == "ok"
        run_scan(cache, now=NOW)
        mutes.add_mute(
            cache,
            reason="accepted: lab",
            author="ana",
            role="operator",
            expires_at="2099-01-01T00:00:00Z",
            check="NET-.*",
        )
        run_scan(cache, now="2026-11-27T12:00:00Z")
        with cache.transaction():
            cache.execute(
                "INSERT INTO journal (plan_id, fix_id, resource_uid, api_call, before, status, actor, "
                "role, created_at) VALUES ('p1', 'aws.ebs.encrypt', 'aws:1:r:volume:v', ?, ?, 'verified', "
                "'ana', 'operator', ?)",
                (json.dumps({"operation": "X"}), json.dumps({"encrypted": False}), NOW),
            )
        audit.append(cache, "ana", "operator", "apply", "aws:1:r:volume:v", {"plan": "p1"})
        assert audit.verify(cache) == []
    return path


def _dump(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in tables():
        cols = [d[0] for d in store.execute(f"SELECT * FROM {table} LIMIT 0").description]
        where = " WHERE key NOT IN ('cache_id', 'schema_version')" if table == "meta" else ""
        rows = store.execute(f"SELECT {', '.join(cols)} FROM {table}{where}").fetchall()
        out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_copy_sqlite_to_postgres_and_back_keeps_every_row_and_the_audit_chain(
    team_cache: Path, pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "copy", str(team_cache), pg_url]) == 0
    assert "copied" in capsys.readouterr().out
    with Cache.open(team_cache) as laptop, PgCache.open(pg_url, create=False) as team:
        before = _dump(laptop)
        assert _dump(team) == before
        for table in (
            "instances",
            "resource_changes",
            "findings",
            "finding_events",
            "mutes",
            "journal",
        ):
            assert before[table], f"the fixture estate has no {table}: the test would prove nothing"
        assert len(before["audit_log"]) >= 2
        assert audit.verify(team) == []
        # The summary the dashboard reads was rebuilt by PostgreSQL's triggers from the copied findings.
        counts = "SELECT check_id, severity, area, status, n FROM finding_counts WHERE n > 0"
        assert sorted(map(tuple, team.execute(counts))) == sorted(
            map(tuple, laptop.execute(counts))
        )
        # The destination is another cache: its own id; the next new row follows the copied ones.
        assert (
            team.execute("SELECT value FROM meta WHERE key='cache_id'").fetchone()[0]
            != (laptop.execute("SELECT value FROM meta WHERE key='cache_id'").fetchone()[0])
        )
        audit.append(team, "bo", "operator", "mute", "x", {"on": "team"})
        assert audit.verify(team) == []
        assert audit.count(team) == len(before["audit_log"]) + 1

    offline = tmp_path / "offline.db"
    assert main(["cache", "copy", pg_url, str(offline)]) == 0
    with Cache.open(offline) as snapshot, PgCache.open(pg_url) as team:
        assert _dump(snapshot) == _dump(team)
        assert audit.verify(snapshot) == []  # with a head file written beside the new cache
    assert set(tables()) & NOT_COPIED == set() and OWN_META == {"cache_id", "schema_version"}


def test_a_destination_that_holds_anything_is_refused_in_one_line(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src.db"
    with Cache.open(src) as cache, cache.transaction():
        cache.execute("INSERT INTO mutes (reason, author, created_at) VALUES ('r', 'a', 't')")
    assert main(["cache", "copy", str(src), pg_url]) == 0
    capsys.readouterr()
    assert main(["cache", "copy", str(src), pg_url]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not empty (mutes has rows)" in err
    with PgCache.open(pg_url) as team:
        assert team.execute("SELECT count(*) FROM mutes").fetchone()[0] == 1  # nothing merged
    # Into an existing SQLite cache with rows: refused too, and the file is as it was.
    dst = tmp_path / "dst.db"
    with Cache.open(dst) as cache, cache.transaction():
        cache.execute("INSERT INTO mutes (reason, author, created_at) VALUES ('mine', 'b', 't')")
    assert main(["cache", "copy", str(src), str(dst)]) != 0
    assert "not empty" in capsys.readouterr().err
    db = sqlite3.connect(dst)
    assert db.execute("SELECT reason FROM mutes").fetchall() == [("mine",)]
    db.close()


def test_a_missing_source_and_an_unreachable_database_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_cluster: Any
) -> None:
    assert main(["cache", "copy", str(tmp_path / "none.db"), str(tmp_path / "b.db")]) != 0
    assert "no cache at" in capsys.readouterr().err
    bad = f"postgresql://nobody:secret@127.0.0.1:{pg_cluster.port}/nodb"
    assert main(["cache", "copy", bad, str(tmp_path / "b.db")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot connect" in err and "secret" not in err
    assert backend.redact(bad) == f"postgresql://nobody:***@127.0.0.1:{pg_cluster.port}/nodb"

"""The audit log is append-only and keyed-chained (each tampering class: tests/test_audit_tamper.py)."""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from workbench import audit
from workbench.cache.store import Cache
from workbench.cli import main


def _filled(tmp_path: Path, n: int = 5) -> Cache:
    cache = Cache.open(tmp_path / "cache.db")
    for i in range(n):
        audit.append(cache, "alice", "operator", "apply", f"plan-{i}", {"calls": i}, "ok")
    return cache


def _tamper(cache: Cache, sql: str, *params: object) -> None:
    # The triggers stop casual edits; a determined editor drops them first. verify() must still see it.
    cache.db.execute("DROP TRIGGER audit_log_no_update")
    cache.db.execute("DROP TRIGGER audit_log_no_delete")
    cache.db.execute(sql, params)


def test_intact_chain_verifies(tmp_path: Path) -> None:
    cache = _filled(tmp_path)
    assert audit.verify(cache) == []
    entries = list(audit.entries(cache))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


def test_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    cache = _filled(tmp_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        cache.db.execute("UPDATE audit_log SET result='fail' WHERE seq=2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        cache.db.execute("DELETE FROM audit_log WHERE seq=2")


def test_append_inside_a_rolled_back_transaction_leaves_no_false_alarm(tmp_path: Path) -> None:
    cache = _filled(tmp_path, 2)
    with pytest.raises(RuntimeError), cache.transaction():
        audit.append(cache, "bob", None, "mute", "mute:1", {"reason": "x"})
        raise RuntimeError("the caller's work failed")
    assert audit.verify(cache) == []
    with cache.transaction():
        audit.append(cache, "bob", None, "mute", "mute:1", {"reason": "x"})
    audit.anchor(cache)
    _tamper(cache, "DELETE FROM audit_log WHERE seq = 3")
    assert audit.verify(cache)


def test_export_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = _filled(tmp_path, 3)
    out = io.StringIO()
    assert audit.export(cache, out, "jsonl") == 3
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[1]["details"] == {"calls": 1} and rows[1]["actor"] == "alice"
    cache.close()
    db = str(tmp_path / "cache.db")
    assert main(["--db", db, "audit", "verify"]) == 0
    assert main(["--db", db, "audit", "export", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert "intact: 3 entries" in text and text.count("alice") == 3
    cache = Cache.open(db)
    _tamper(cache, "UPDATE audit_log SET target='plan-x' WHERE seq=1")
    cache.close()
    assert main(["--db", db, "audit", "verify"]) == 1
    assert "entry 1 was edited" in capsys.readouterr().out

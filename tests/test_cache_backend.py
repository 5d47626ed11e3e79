"""The seam a second backend implements: the cache is a Store (its transaction reentrant), a connection a Reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.cache.backend import Reader, Store
from workbench.cache.connection import connect
from workbench.cache.store import Cache
from workbench.fixes.journal import Journal


def test_the_cache_is_a_store_and_a_connection_only_a_reader(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        assert isinstance(cache, Store) and isinstance(cache, Reader)
        db = connect(cache.path, readonly=True)
        try:
            assert isinstance(db, Reader) and not isinstance(db, Store)
            # A reader reads what the store wrote; it cannot write the journal.
            assert Journal(db).recent() == []
            with pytest.raises(TypeError, match="through the cache"):
                Journal(db).set_status(1, "verified")
        finally:
            db.close()


def test_a_nested_transaction_joins_the_outer_one(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        with cache.transaction():
            cache.execute("INSERT INTO scans (started_at) VALUES ('a')")
            with cache.transaction():  # joins: nothing is committed yet
                cache.execute("INSERT INTO scans (started_at) VALUES ('b')")
            assert cache.in_transaction
        assert not cache.in_transaction
        assert cache.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 2

        # An error leaving the inner block rolls back the whole outer transaction.
        with pytest.raises(RuntimeError), cache.transaction():
            cache.execute("INSERT INTO scans (started_at) VALUES ('c')")
            with cache.transaction():
                cache.execute("INSERT INTO scans (started_at) VALUES ('d')")
                raise RuntimeError("inner work failed")
        assert not cache.in_transaction
        assert cache.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 2

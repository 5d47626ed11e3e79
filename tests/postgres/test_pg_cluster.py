"""The test cluster itself: it runs, takes connections on loopback, and gives each test its own database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.xdist_group("postgres")


def test_cluster_serves_loopback_with_fresh_databases(pg_cluster: Any, pg_url: str) -> None:
    with psycopg.connect(pg_url) as db:
        version = db.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 150000
        assert db.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname='public'"
        ).fetchone() == (0,)
        assert db.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
    assert pg_url.startswith(pg_cluster.url("").rstrip("/"))

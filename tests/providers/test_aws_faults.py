"""Faults injected with botocore event hooks into a real sync of the moto estate.

us-east-1 denies everything (AccessDenied), the second account's volumes in eu-west-1 hang past the task
timeout, and the main account's snapshots in eu-west-1 are throttled twice before adaptive retries get
through. The other scopes land; failed ones keep their old rows and show ``stale`` with the error. Throttling runs
on its own, since the adaptive rate limiter then slows every call of that scope's client.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from workbench.cache.store import Cache
from workbench.cli import main
from workbench.emulators.aws_manifest import MAIN_ACCOUNT, SECOND_ACCOUNT
from workbench.providers.base import ScopeFailure
from workbench.sync import SyncEngine

_CRED = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/")
THROTTLE_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded'
    b"</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID>"
    b"</Response>"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _who(request: Any) -> tuple[str, str]:
    """(access key, region) from the SigV4 Authorization header."""
    auth = request.headers.get("Authorization", b"")
    match = _CRED.search(auth.decode() if isinstance(auth, bytes) else auth)
    return (match.group(1), match.group(2)) if match else ("", "")


class Faults:
    def __init__(self) -> None:
        self.throttled = 0
        self.snapshot_calls = 0
        self.lock = threading.Lock()

    def deny_us_east_1(self, context: dict[str, Any], **_: Any) -> None:
        if context.get("client_region") == "us-east-1":
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "injected denial"}}, "Injected"
            )

    def hang_second_volumes(self, request: Any, **_: Any) -> None:
        key, region = _who(request)
        if region == "eu-west-1" and key != "testing":
            time.sleep(6.0)

    def throttle_main_snapshots(self, request: Any, **_: Any) -> AWSResponse | None:
        key, region = _who(request)
        if region != "eu-west-1" or key != "testing":
            return None
        with self.lock:
            self.snapshot_calls += 1
            if self.throttled >= 2:
                return None
            self.throttled += 1
        return AWSResponse(request.url, 503, {}, _Raw(THROTTLE_BODY))

    def hooks(self) -> list[tuple[str, Any]]:
        return [
            ("before-call", self.deny_us_east_1),
            ("before-send.ec2.DescribeVolumes", self.hang_second_volumes),
            ("before-send.ec2.DescribeSnapshots", self.throttle_main_snapshots),
        ]


@pytest.fixture(scope="module")
def faulty_run(aws_estate, tmp_path_factory):  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()
    db = aws_estate.copy_db(tmp_path_factory.mktemp("faults"))
    faults = Faults()
    with aws_estate.env(), Cache.open(db) as cache:
        before = {
            r[0]: r[1]
            for r in cache.db.execute("SELECT region, COUNT(*) FROM instances GROUP BY region")
        }
        provider = aws_estate.provider(hooks=faults.hooks()[:2])
        result = SyncEngine(cache, [provider], task_timeout=5.0).run()
    return db, result, faults, before


def test_other_scopes_land(faulty_run) -> None:  # type: ignore[no-untyped-def]
    _, result, _, _ = faulty_run
    assert result.status == "partial", [(o.scope_id, o.task, o.error) for o in result.failed]
    ok = {(o.scope_id, o.task) for o in result.outcomes if o.status == "ok"}
    assert (f"aws:{MAIN_ACCOUNT}:eu-west-1", "instances") in ok
    assert (f"aws:{SECOND_ACCOUNT}:eu-west-1", "instances") in ok


def test_throttling_recovers_with_adaptive_retries(aws_estate, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A run of its own: after throttling, the adaptive client slows its whole scope down.
    aws_estate.ensure_live()
    faults = Faults()
    section = {**aws_estate.section, "regions": ["eu-west-1"], "role_arns": []}
    from workbench.providers.aws.provider import AwsProvider

    provider = AwsProvider.from_config(section, hooks=[faults.hooks()[2]])
    with aws_estate.env(), Cache.open(aws_estate.copy_db(tmp_path)) as cache:
        provider.task_names = ("snapshots",)
        result = SyncEngine(cache, [provider], task_timeout=60).run()
    (snaps,) = result.outcomes
    assert snaps.status == "ok" and snaps.resources > 0, snaps.error
    assert faults.throttled == 2 and faults.snapshot_calls >= 3


def test_denied_region_is_stale_and_keeps_rows(faulty_run) -> None:  # type: ignore[no-untyped-def]
    db, _, _, before = faulty_run
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT scope_id, task, status, error FROM scope_status WHERE region='us-east-1'"
    ).fetchall()
    assert rows and {r[2] for r in rows} == {"stale"}
    assert all("AccessDenied" in r[3] for r in rows)
    after = dict(conn.execute("SELECT region, COUNT(*) FROM instances GROUP BY region").fetchall())
    assert after["us-east-1"] == before["us-east-1"] > 0


def test_timed_out_task_is_stale(faulty_run) -> None:  # type: ignore[no-untyped-def]
    db, _, _, _ = faulty_run
    conn = sqlite3.connect(db)
    status, error = conn.execute(
        "SELECT status, error FROM scope_status WHERE scope_id=? AND task='volumes'",
        (f"aws:{SECOND_ACCOUNT}:eu-west-1",),
    ).fetchone()
    assert status == "stale" and "timed out" in error
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM volumes WHERE scope_id=?", (f"aws:{SECOND_ACCOUNT}:eu-west-1",)
        ).fetchone()[0]
        > 0
    )


def test_cli_exit_status_is_1_on_failure(aws_estate, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()
    db = aws_estate.copy_db(tmp_path)
    faults = Faults()
    monkeypatch.setattr(
        "workbench.cli.sync.build_providers",
        lambda ctx, args: [aws_estate.provider(hooks=[faults.hooks()[0]])],
    )
    config = (
        tmp_path / "empty.toml"
    )  # the sync reads [general] (keep_raw_secrets) even with no providers
    config.write_text("")
    with aws_estate.env():
        code = main(["--db", str(db), "--config", str(config), "sync"])
    out = capsys.readouterr()
    assert code == 1
    assert "AccessDenied" in out.out and "stale" not in out.err


def test_failed_assume_role_is_a_scope_failure(aws_estate) -> None:  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()

    def deny(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole"
        )

    with aws_estate.env():
        found = aws_estate.provider(hooks=[("before-call.sts.AssumeRole", deny)]).discover()
    failures = [f for f in found if isinstance(f, ScopeFailure)]
    assert [(f.scope.account, f.scope.region) for f in failures] == [(SECOND_ACCOUNT, "*")]
    assert "AccessDenied" in failures[0].error
    scopes = {(s.account, s.region) for s in found if not isinstance(s, ScopeFailure)}
    assert scopes == {(MAIN_ACCOUNT, "eu-west-1"), (MAIN_ACCOUNT, "us-east-1")}

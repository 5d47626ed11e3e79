"""Fixtures for the fix engine: a moto-backed EC2, a fresh cache, an engine, findings rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fix_estate import REGION, TODAY

from workbench.cache.store import Cache
from workbench.config import Config
from workbench.fixes.engine import FixEngine


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "VMWB_TEST_FIX_PAUSE"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def moto(aws_env: None) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def ec2(moto: None) -> Any:
    import boto3

    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = Cache.open(tmp_path / "cache.db")
    yield c
    c.close()


@pytest.fixture
def make_engine(cache: Cache) -> Callable[..., FixEngine]:
    def make(role: str = "operator", read_only: bool = False, **kwargs: Any) -> FixEngine:
        config = kwargs.pop("config", None) or Config()
        return FixEngine(
            cache,
            config,
            role=role,
            read_only=read_only,
            user="tester",
            today=kwargs.pop("today", TODAY),
            **kwargs,
        )

    return make


@pytest.fixture
def engine(make_engine: Callable[..., FixEngine]) -> FixEngine:
    return make_engine()

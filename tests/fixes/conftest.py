"""Fixtures for the fix engine: a moto-backed EC2, a fresh cache, an engine, findings rows; for the tests with
child `vmwb` processes, ``cli_env`` (config, key file, cache path) and ``moto_server`` (one estate for all)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fix_estate import REGION, TODAY

from workbench import audit
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


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A config and a cache shared by this process and child `vmwb` processes. The children have no
    keyring, so the audit chain's key is a 0600 file outside the cache folder ([audit] key_file)."""
    key_file = tmp_path / "keys" / "audit.key"
    key_file.parent.mkdir()
    key_file.write_bytes(base64.b64encode(os.urandom(32)))
    key_file.chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[policy]\norg_accounts = []\n\n[audit]\nkey_file = "{key_file}"\n', encoding="utf-8"
    )
    monkeypatch.setenv("VMWB_CONFIG", str(config))
    (tmp_path / "data").mkdir()
    audit.use_key_file(key_file)
    yield str(tmp_path / "data" / "cache.db")
    audit.use_key_file(None)


@pytest.fixture
def moto_server(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server, so a child process and this one see the same estate."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()

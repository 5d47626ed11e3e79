"""Shared fixtures. Keep this file generic; area-specific fixtures live in their folder's conftest.

``memory_keyring`` (autouse): every test runs against a fresh in-memory keyring (:class:`MemoryKeyring`; the
fixture yields it, ``memory_keyring.store`` holds the secrets), so no test ever touches the user's keyring.
A test that wants keyring's fail backend sets it itself. Session- and module-scoped fixtures get one too.

``open_cache`` : ``open_cache(name)`` opens a new cache ``<tmp_path>/<name>.db`` (several side by side in one
test), all closed after the test.

``fixture_servers`` (a module in this folder, importable from any test) gives a test module the GCP or Azure
fixture server and SDK clients pointed at it.

``pg_cluster`` (session scope): a throw-away PostgreSQL cluster (``tests/pg_cluster.py``) on a free loopback
port, stopped and removed at the end; ``pg_url`` gives each test a fresh empty database in it. Both skip with
the reason (PostgreSQL not installed, no ``postgres`` user under root) when no cluster can run here.

``aws_estate`` (session scope): a moto server on 127.0.0.1 with the seeded two-account estate
(``workbench.emulators.aws.seed_estate``) and a cache synced from it by the real AWS collector. It is an
:class:`AwsEstate`:

- ``manifest``: what was planted (``manifest.uids[kind]``, ``manifest.category("public_snapshots")`` …);
- ``db_path``: the synced cache. Treat it as read-only; ``copy_db(tmp_path)`` gives a private copy;
- ``endpoint``, ``section``: the moto endpoint and the ``[aws]`` config section that syncs the estate;
- ``env()``: a context manager with fake credentials and no shared AWS files, for your own boto3 calls
  and syncs (``provider(**overrides)`` builds an ``AwsProvider`` for the estate);
- ``ensure_live()``: moto's backends are process-global and ``mock_aws()`` resets them; call this
  before talking to the server and it re-seeds and re-syncs (new ids, same manifest categories) if needed.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend

_PG_DATABASE_NUMBERS = itertools.count()


class MemoryKeyring(KeyringBackend):
    """A real keyring backend holding secrets in a dict: tests never touch the user's keyring."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@contextlib.contextmanager
def _installed(backend: KeyringBackend) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="session", autouse=True)
def _session_keyring() -> Iterator[None]:
    # Session- and module-scoped fixtures are set up before any test's own keyring.
    with _installed(MemoryKeyring()):
        yield


@pytest.fixture(autouse=True)
def memory_keyring(_session_keyring: None) -> Iterator[MemoryKeyring]:
    from workbench import audit, secrets

    backend = MemoryKeyring()
    with _installed(backend):
        yield backend
    # A test that read a config with [general] key_folder or [audit] key_file set them for the process.
    secrets.use_folder(None)
    audit.use_key_file(None)


@pytest.fixture
def open_cache(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    from workbench.cache.store import Cache

    opened: list[Cache] = []

    def open_(name: str) -> Cache:
        cache = Cache.open(tmp_path / f"{name}.db")
        opened.append(cache)
        return cache

    yield open_
    for cache in opened:
        cache.close()


AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": "/nonexistent/vmwb-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vmwb-test-aws-credentials",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN")


@dataclass
class AwsEstate:
    server: Any
    manifest: Any
    db_path: Path
    section: dict[str, Any]

    @property
    def endpoint(self) -> str:
        return str(self.server.endpoint)

    @contextlib.contextmanager
    def env(self) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in AWS_TEST_ENV.items():
                mp.setenv(key, value)
            for key in AWS_UNSET:
                mp.delenv(key, raising=False)
            yield

    def provider(self, **overrides: Any) -> Any:
        from workbench.providers.aws.provider import AwsProvider

        return AwsProvider.from_config(self.section, **overrides)

    def copy_db(self, dest_dir: Path) -> Path:
        dest = Path(dest_dir) / "aws-estate.db"
        shutil.copy2(self.db_path, dest)
        return dest

    def sync(self) -> None:
        from workbench.cache.store import Cache
        from workbench.sync import SyncEngine

        with self.env(), Cache.open(self.db_path) as cache:
            result = SyncEngine(cache, [self.provider()], task_timeout=60).run()
        assert result.status == "ok", result.failed

    def ensure_live(self) -> None:
        import boto3
        from botocore.exceptions import ClientError

        from workbench.emulators.aws import seed_estate

        some = min(self.manifest.uids["instance"]).split(":")
        with self.env():
            ec2 = boto3.client("ec2", region_name=some[2], endpoint_url=self.endpoint)
            try:
                ec2.describe_instances(InstanceIds=[some[-1]])
                return
            except ClientError:
                pass
            self.server.stop()
            from workbench.emulators.aws import start_moto_server

            self.server = start_moto_server()
            self.section["endpoint_url"] = self.server.endpoint
            self.manifest = seed_estate(self.server.endpoint)
        self.db_path.unlink()
        self.sync()


@pytest.fixture(scope="session")
def aws_estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsEstate]:
    from workbench.emulators.aws import seed_estate, start_moto_server

    server = start_moto_server()
    try:
        db = tmp_path_factory.mktemp("aws-estate") / "cache.db"
        estate = AwsEstate(server, None, db, {})
        with estate.env():
            estate.manifest = seed_estate(server.endpoint)
        estate.section = {
            "regions": list(estate.manifest.regions),
            "role_arns": [estate.manifest.role_arn],
            "endpoint_url": server.endpoint,
            "max_attempts": 4,
        }
        estate.sync()
        yield estate
    finally:
        estate.server.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    import pg_cluster as cluster_module

    why = cluster_module.missing()
    if why:
        pytest.skip(why)
    cluster = cluster_module.Cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Any, request: pytest.FixtureRequest) -> str:
    """A new empty database in the session's cluster, named after the test."""
    import re

    import psycopg

    name = f"t{next(_PG_DATABASE_NUMBERS)}_{re.sub(r'[^a-z0-9]+', '_', request.node.name.lower())[:40]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    return str(pg_cluster.url(name))

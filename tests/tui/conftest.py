"""Fixtures for the TUI tests: a fixed cache with hostile names, an in-memory keyring, the app factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from tui_estate import build_cache


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in a dict, so tests never touch the user's keyring."""

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


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def estate_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cache(tmp_path_factory.mktemp("estate") / "cache.db")


@pytest.fixture
def cache_path(estate_template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (sync tests write to it)."""
    target = tmp_path / "cache.db"
    target.write_bytes(estate_template.read_bytes())
    return target

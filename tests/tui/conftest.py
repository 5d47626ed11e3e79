"""Fixtures for the TUI tests: a fixed cache with hostile names (the keyring: the root conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_estate import build_cache


@pytest.fixture(scope="session")
def estate_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cache(tmp_path_factory.mktemp("estate") / "cache.db")


@pytest.fixture
def cache_path(estate_template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (sync tests write to it)."""
    target = tmp_path / "cache.db"
    target.write_bytes(estate_template.read_bytes())
    return target

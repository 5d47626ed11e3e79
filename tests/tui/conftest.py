"""Fixtures for the TUI tests: a fixed cache with hostile names (``cache_path``) and the same estate scanned
(``posture_db``), a fresh copy of each per test (the keyring: the root conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from posture_estate import build_posture_cache
from tui_estate import build_cache

Builder = Callable[[Path], Path]


@pytest.fixture(scope="session")
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Builder, Path], Path]:
    """``fresh_copy(builder, tmp_path)``: a private copy of the cache ``builder`` writes, built once a session."""
    from workbench import audit, secrets

    templates: dict[Builder, tuple[Path, str | None]] = {}

    def copy(builder: Builder, tmp_path: Path) -> Path:
        if builder not in templates:
            built = builder(tmp_path_factory.mktemp(builder.__name__) / "cache.db")
            templates[builder] = (built, secrets.get_secret(audit.KEY_NAME))
        source, key = templates[builder]
        target = tmp_path / "cache.db"
        target.write_bytes(source.read_bytes())
        # The audit chain was signed with the builder's key and anchored in its head file: both go along.
        head = source.with_name(source.name + ".audit-head")
        if head.exists():
            target.with_name(target.name + ".audit-head").write_bytes(head.read_bytes())
        if key is not None:
            secrets.set_secret(audit.KEY_NAME, key)
        return target

    return copy


@pytest.fixture
def cache_path(fresh_copy: Callable[[Builder, Path], Path], tmp_path: Path) -> Path:
    """A fresh copy per test (sync tests write to it)."""
    return fresh_copy(build_cache, tmp_path)


@pytest.fixture
def posture_db(fresh_copy: Callable[[Builder, Path], Path], tmp_path: Path) -> Path:
    """A fresh copy of the scanned estate per test (mutes, scans and undo write to it)."""
    return fresh_copy(build_posture_cache, tmp_path)

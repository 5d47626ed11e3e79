"""Fixtures for the image-factory tests: an in-memory keyring and the estate cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from image_estate import MemoryKeyring, build

from workbench.cache.store import Cache


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = build(tmp_path / "cache.db")
    try:
        yield c
    finally:
        c.close()

"""Fixtures for the image-factory tests: the estate cache (the in-memory keyring is the root conftest's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from image_estate import build

from workbench.cache.store import Cache


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    c = build(tmp_path / "cache.db")
    try:
        yield c
    finally:
        c.close()

"""Fixture caches for the check tests (see scan_estate.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scan_estate import Estate

from workbench.cache.store import Cache


@pytest.fixture
def estate(open_cache: Callable[[str], Cache]) -> Estate:
    return Estate(open_cache("cache"))


@pytest.fixture
def make_estate(open_cache: Callable[[str], Cache]) -> Callable[[str], Estate]:
    """Several independent caches in one test (failing and passing fixtures side by side)."""
    return lambda name: Estate(open_cache(name))

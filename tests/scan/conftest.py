"""Fixture caches for the check tests, written through the real cache API from model records."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from workbench import model
from workbench.cache.store import Cache, TaskOutput

NOW = "2026-11-26T12:00:00Z"
ACCOUNT = "111111111111"
REGION = "eu-west-1"


class Estate:
    """A temp cache plus a way to put records into it, one collector task at a time."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.run = cache.start_run({"fixture": True})

    def put(
        self,
        *records: model.Record,
        task: str = "fixture",
        account: str = ACCOUNT,
        region: str = REGION,
        provider: str = "aws",
        now: str = NOW,
        relations: tuple[model.Relation, ...] = (),
    ) -> None:
        scope = model.ScopeRef(provider, account, region)
        out = TaskOutput(records=list(records), relations=list(relations))
        self.cache.replace_task(self.run, scope, task, out, now=now)


@pytest.fixture
def estate(open_cache: Callable[[str], Cache]) -> Estate:
    return Estate(open_cache("cache"))


@pytest.fixture
def make_estate(open_cache: Callable[[str], Cache]) -> Callable[[str], Estate]:
    """Several independent caches in one test (failing and passing fixtures side by side)."""
    return lambda name: Estate(open_cache(name))

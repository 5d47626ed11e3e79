"""The scan tests' fixture estate: a temp cache written through the real cache API from model records.

Kept apart from conftest.py so test modules import it by a unique name (``from conftest import`` would pick
whichever conftest was imported first).
"""

from __future__ import annotations

from workbench import model
from workbench.cache.store import Cache
from workbench.model import TaskOutput

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

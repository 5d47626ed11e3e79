"""Small helpers shared by the AWS collectors: tags, names, times, paging with checkpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from workbench.clock import iso
from workbench.providers.base import TaskContext

_TRANSITION = re.compile(
    r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)"
)  # AWS: GMT, moto: UTC


def tag_dict(item: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in item.get("Tags") or [] if "Key" in t}


def transition_time(reason: str | None) -> str | None:
    """``"User initiated (2024-01-01 10:00:00 GMT)"`` → ``"2024-01-01T10:00:00Z"``."""
    match = _TRANSITION.search(reason or "")
    return f"{match.group(1).replace(' ', 'T')}Z" if match else None


def pages(
    client: Any, operation: str, ctx: TaskContext, key: str, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """The items under ``key`` of every page, with a checkpoint before each page."""
    paginator = client.get_paginator(operation)
    for page in paginator.paginate(**kwargs):
        ctx.checkpoint()
        yield from page.get(key) or []


def jsonable(item: Any) -> Any:
    """The API item with datetimes as ISO strings, for ``raw``."""
    if isinstance(item, dict):
        return {k: jsonable(v) for k, v in item.items() if k != "ResponseMetadata"}
    if isinstance(item, list):
        return [jsonable(v) for v in item]
    if isinstance(item, datetime):
        return iso(item)
    return item

"""Small helpers shared by the AWS collectors: tags, names, times, paging with checkpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from workbench.clock import iso
from workbench.errors import BadAnswer
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
    """The items under ``key`` of every page, with a checkpoint before each page.

    The API always sends ``key`` (an empty list is ``<xSet/>``, parsed as ``[]``), so a page without it is
    not its answer: read as "no resources" it would delete every row the task knew.
    """
    paginator = client.get_paginator(operation)
    for page in paginator.paginate(**kwargs):
        ctx.checkpoint()
        yield from expect(page, key, operation)


def expect(response: dict[str, Any], key: str, operation: str) -> Any:
    """``response[key]``, which the operation always answers with; :class:`BadAnswer` when it is missing."""
    if key not in response:
        raise BadAnswer(f"{operation}: the answer has no {key}, so it is not the API's answer")
    return response[key]


def vanished(exc: BaseException) -> bool:
    """The resource a detail call asked about is gone (deleted since it was listed)."""
    code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
    return code.endswith("NotFound")


def check_content_type(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parse`` hook: a success must be in the protocol's format (XML or JSON).

    A proxy's login or error page answers 200 with HTML; botocore's XML parser may read a well-formed one as an
    empty result. Errors (3xx and up) are left to botocore, which parses and retries them.
    """
    if response_dict.get("status_code", 200) >= 300 or operation_model.output_shape is None:
        return
    headers = response_dict.get("headers") or {}
    ctype = str(headers.get("content-type") or headers.get("Content-Type") or "").lower()
    body = response_dict.get("body") or b""
    if ("xml" in ctype or "json" in ctype) and body:
        return
    what = f"{ctype or 'no content type'}, {len(body)} bytes"
    raise BadAnswer(f"{operation_model.name}: the answer is {what}, not the API's answer")


def jsonable(item: Any) -> Any:
    """The API item with datetimes as ISO strings, for ``raw``."""
    if isinstance(item, dict):
        return {k: jsonable(v) for k, v in item.items() if k != "ResponseMetadata"}
    if isinstance(item, list):
        return [jsonable(v) for v in item]
    if isinstance(item, datetime):
        return iso(item)
    return item

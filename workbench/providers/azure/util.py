"""Small helpers shared by the Azure collectors and fixes: ARM ids, times, paging with checkpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from workbench.errors import BadAnswer
from workbench.providers.base import TaskContext

Json = dict[str, Any]
# A GET of a collection: a resource type (``…/providers/Microsoft.Compute/disks``), or a child type of a
# resource (``…/networkWatchers/nw/flowLogs``); not one resource, not a view of one (``…/instanceView``).
_LIST_PATH = re.compile(r"(^/subscriptions$|/providers/[^/]+/[^/]+(/[^/]+/[^/]+)*$)", re.IGNORECASE)
_VIEWS = ("instanceview",)


def arm_id(value: str | None) -> str | None:
    """The canonical (lower-case) spelling of an ARM id, or None.

    ARM ids are case-insensitive and Azure itself mixes spellings of one resource (a disk's id says
    ``RG-WEB-PROD``, the VM's ``managedBy`` reference ``rg-web-prod``), so every id is stored lower-cased or the
    cache's joins and relations would silently miss.
    """
    return value.lower() if value else None


def ref_id(ref: Any) -> str | None:
    """The id of an ARM sub-resource reference (``{"id": ...}``), canonical."""
    return arm_id(ref.get("id")) if isinstance(ref, dict) else None


def parse_id(resource_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a top-level ARM resource id."""
    parts = resource_id.strip("/").split("/")
    if (
        len(parts) < 8
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != "resourcegroups"
    ):
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    return parts[1], parts[3], parts[7]


def as_json(item: Any) -> Json:
    """The REST JSON of an SDK model (azure-mgmt models are mappings with the wire's camelCase keys)."""
    if isinstance(item, dict):
        return item
    return dict(item.as_dict())


def paged(pager: Any, ctx: TaskContext) -> Iterator[Json]:
    """Every item of an ARM list as REST JSON, with a checkpoint before each page."""
    for page in pager.by_page():
        ctx.checkpoint()
        for item in page:
            yield as_json(item)


def tags(item: Json) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (item.get("tags") or {}).items()}


def props(item: Json) -> Json:
    value = item.get("properties")
    return value if isinstance(value, dict) else {}


def lower(value: Any) -> str:
    return str(value).lower() if value else ""


def ids_of(refs: Iterable[Any]) -> list[str]:
    return [i for i in (ref_id(r) for r in refs or ()) if i]


def check_answer(response: Any) -> None:
    """azure-core ``raw_response_hook``: a success must be ARM's JSON, and a list must carry ``value``.

    A proxy's login page (HTML) or a ``{}`` would otherwise be read as an empty list, and the task's rows
    deleted. Errors are left to azure-core, which maps and retries them.
    """
    http = response.http_response
    if not 200 <= http.status_code < 300:
        return
    body = http.body()
    ctype = str(http.headers.get("Content-Type") or "").lower()
    request = response.http_request
    path = urlsplit(request.url).path
    what = f"{request.method} {path}"
    if not body:
        return  # 202/204 of an operation: nothing to read
    if "json" not in ctype:
        raise BadAnswer(f"{what}: the answer is {ctype or 'no content type'}, not ARM's JSON")
    path = path.rstrip("/")
    listing = request.method == "GET" and _LIST_PATH.search(path) is not None
    if not listing or path.lower().endswith(_VIEWS):
        return  # one resource's JSON: azure-core parses it next, and a broken body fails there
    # A list is parsed here too (once more than azure-core does): only its value list tells a '{}' from
    # an empty list.
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadAnswer(f"{what}: the answer is not complete JSON ({exc})") from exc
    if not (isinstance(data, dict) and isinstance(data.get("value"), list)):
        raise BadAnswer(f"{what}: the answer has no value list, so it is not ARM's answer")

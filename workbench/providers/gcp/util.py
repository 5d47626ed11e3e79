"""Small helpers shared by the GCP collectors: REST-shaped dicts, self-link parsing, times, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workbench.errors import BadAnswer
from workbench.providers.base import TaskContext

Json = dict[str, Any]


def as_dict(message: Any) -> Json:
    """A proto-plus message as the REST API's own JSON (camelCase, int64 as strings).

    Collectors read the documented REST field names (``shieldedInstanceConfig.enableSecureBoot``) rather than the
    SDK's Python names (``I_p_protocol``), and ``raw`` keeps the shape users know from ``gcloud --format=json``.
    """
    if isinstance(message, dict):
        return message
    return dict(
        type(message).to_dict(
            message,
            preserving_proto_field_name=False,
            use_integers_for_enums=False,
        )
    )


def last(url: str | None) -> str:
    """The last path segment of a self-link (``…/zones/us-central1-a`` → ``us-central1-a``)."""
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


def link_parts(url: str | None) -> dict[str, str]:
    """``…/projects/p/zones/z/disks/d`` → ``{"projects": "p", "zones": "z", "disks": "d"}``."""
    parts = (url or "").split("/")
    return {parts[i]: parts[i + 1] for i in range(len(parts) - 1) if parts[i] and parts[i + 1]}


def zonal_id(url: str | None) -> str:
    """The cache id of a zonal resource from its self-link: ``<zone>/<name>`` (names repeat across zones)."""
    parts = link_parts(url)
    zone = parts.get("zones") or parts.get("regions") or ""
    return f"{zone}/{last(url)}" if zone else last(url)


def resource_id(item: Json) -> str:
    """A zonal or regional resource's cache id from its required fields: ``<zone or region>/<name>``.

    ``zone``/``region`` and ``name`` are always returned; ``selfLink`` is optional (a field mask or a proxy may
    drop it), and an id built from it alone would collapse such resources into one row. The numeric ``id``
    stands in for a missing name.
    """
    place = last(item.get("zone")) or last(item.get("region"))
    name = item.get("name") or str(item.get("id") or "")
    if not (place and name):
        return zonal_id(item.get("selfLink")) or name
    return f"{place}/{name}"


def image_ref(url: str | None, project: str) -> str | None:
    """An image self-link as a cache id: the name for the scope's own images, ``<project>/<name>`` otherwise."""
    if not url:
        return None
    owner = link_parts(url).get("projects")
    return last(url) if owner in (None, project) else f"{owner}/{last(url)}"


def meta_items(metadata: Json | None) -> dict[str, str]:
    """Metadata ``items`` as a dict (keys as sent)."""
    return {i["key"]: i.get("value", "") for i in (metadata or {}).get("items") or [] if "key" in i}


def truthy(value: str | None) -> bool | None:
    """GCP metadata flags are strings (TRUE/true/1/y); None when the key is absent."""
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "y", "yes", "on")


def pages(pager: Any, ctx: TaskContext) -> Iterator[Any]:
    """Each response page of a pager, with a checkpoint before the next page is fetched.

    Compute Engine always names a list answer's ``kind`` (``compute#snapshotList``) and leaves ``items`` out
    when there are none, so a page without a kind is not its answer (a ``{}`` from a proxy): read as "no
    resources" it would delete every row the task knew.
    """
    for page in pager.pages:
        ctx.checkpoint()
        expect_kind(page)
        yield page


def expect_kind(message: Any) -> None:
    """:class:`BadAnswer` unless a Compute Engine answer that has a ``kind`` field names it."""
    fields = getattr(getattr(type(message), "meta", None), "fields", None) or {}
    if "kind" in fields and not message.kind:
        name = type(message).__name__
        raise BadAnswer(f"{name}: the answer has no kind, so it is not the API's answer")


def vanished(exc: BaseException) -> bool:
    """The resource a detail call asked about is gone (deleted since it was listed)."""
    from google.api_core import exceptions

    return isinstance(exc, exceptions.NotFound)


def items(pager: Any, ctx: TaskContext) -> Iterator[Json]:
    """The items of a plain list pager, as REST dicts."""
    for page in pages(pager, ctx):
        for item in page.items:
            yield as_dict(item)


def aggregated(pager: Any, ctx: TaskContext, field: str) -> Iterator[Json]:
    """The items of an aggregated list pager (``{"zones/z": {field: [...]}}``), as REST dicts."""
    for page in pages(pager, ctx):
        for scoped in page.items.values():
            for item in getattr(scoped, field):
                yield as_dict(item)

"""Resource history, the read half: the estate as of a past time, field-level changes since a time, and one
resource's timeline (its own versions and its grants'). The versions are written by the sync writer
(:mod:`workbench.cache.versions`); a resource without versions never changed, so its live row is its state
from its ``first_seen`` on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.cache import schema, versions
from workbench.cache.backend import Reader
from workbench.cache.rows import row_columns

# Fields compared key by key (``tags.owner``); ``raw`` (the provider's own answer) is kept in each version
# but repeats the typed fields, so a diff would list every change twice.
_NESTED = ("tags", "extra")
_SKIPPED = {"raw"}


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """One resource's net change over a window: ``added`` | ``removed`` | ``changed``."""

    uid: str
    kind: str
    change: str
    at: str  # when it last moved in the window
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step of a resource's history. ``subject`` is the resource itself or one of its grants."""

    at: str
    subject: str  # "self" | "grant"
    uid: str
    change: str  # first seen | changed | removed | back | added
    fields: tuple[FieldChange, ...] = ()
    version: dict[str, Any] | None = field(default=None, compare=False)


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    """What differs between two versions, tags and extra key by key."""
    out: list[FieldChange] = []
    for name in dict.fromkeys([*before, *after]):
        if name in _SKIPPED:
            continue
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in _NESTED:
            a, b = _decoded(old) or {}, _decoded(new) or {}
            if isinstance(a, dict) and isinstance(b, dict):
                for key in dict.fromkeys([*a, *b]):
                    if a.get(key) != b.get(key):
                        out.append(FieldChange(f"{name}.{key}", a.get(key), b.get(key)))
                continue
        out.append(FieldChange(name, old, new))
    return tuple(out)


def tag(version: dict[str, Any] | None, key: str) -> Any:
    """A tag's value in a version (keys compared case-insensitively, as SPR-04 does), else None."""
    tags = _decoded((version or {}).get("tags")) or {}
    if not isinstance(tags, dict):
        return None
    return next((v for k, v in tags.items() if str(k).lower() == key.lower()), None)


class _Bodies:
    """Version bodies by hash, read once each."""

    def __init__(self, db: Reader) -> None:
        self.db = db
        self.seen: dict[str, dict[str, Any]] = {}

    def __call__(self, digest: str | None) -> dict[str, Any] | None:
        if digest is None:
            return None
        found = self.seen.get(digest)
        if found is None:
            row = self.db.execute(
                "SELECT body FROM resource_blobs WHERE hash = ?", (digest,)
            ).fetchone()
            found = versions.decode(bytes(row[0])) if row else {}
            self.seen[digest] = found
        return found


def _live(
    db: Reader, kind: str, where: str, params: Iterable[Any]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(uid, first_seen, version) of a kind's live rows without versions matching ``where``."""
    cols = ", ".join([*versions.SCOPE_FIELDS, *row_columns(kind)])
    rows = db.execute(
        f"SELECT uid, first_seen, {cols} FROM {schema.TABLES[kind]} AS t WHERE {where} "
        "AND NOT EXISTS (SELECT 1 FROM resource_versions AS v WHERE v.uid = t.uid)",
        tuple(params),
    )
    return [(r[0], r[1], versions.body(kind, tuple(r)[2:5], tuple(r)[5:])) for r in rows]


def rows_at(db: Reader, kind: str, when: str) -> list[dict[str, Any]]:
    """Every resource of ``kind`` as it was at ``when`` (versions' fields plus ``uid``), by uid."""
    out = {uid: {"uid": uid, **v} for uid, _, v in _live(db, kind, "t.first_seen <= ?", (when,))}
    body = _Bodies(db)
    for uid, digest in db.execute(
        "SELECT v.uid, v.hash FROM resource_versions AS v WHERE v.kind = ?1 AND v.at <= ?2 AND v.seq = "
        "(SELECT MAX(w.seq) FROM resource_versions AS w WHERE w.uid = v.uid AND w.at <= ?2)",
        (kind, when),
    ):
        version = body(digest)
        if version is not None:
            out[uid] = {"uid": uid, **version}
    return [out[uid] for uid in sorted(out)]


def changes_since(db: Reader, since: str) -> list[ResourceChange]:
    """Each resource added, removed or changed after ``since``, with its changed fields, by kind and uid."""
    body = _Bodies(db)
    steps: dict[str, list[tuple[str, str, str | None]]] = {}  # uid -> [(kind, at, hash)] in order
    for uid, kind, at, digest in db.execute(
        "SELECT uid, kind, at, hash FROM resource_versions WHERE uid IN "
        "(SELECT uid FROM resource_versions WHERE at > ?) ORDER BY uid, seq",
        (since,),
    ):
        steps.setdefault(uid, []).append((kind, at, digest))
    out: list[ResourceChange] = []
    for uid, walk in steps.items():
        before = next((d for _, at, d in reversed(walk) if at <= since), None)
        had = any(at <= since for _, at, _ in walk)
        kind, at, after = walk[-1]
        old, new = body(before) if had else None, body(after)
        if old is None and new is None:
            continue  # came and went within the window
        if old is None:
            out.append(ResourceChange(uid, kind, "added", at))
        elif new is None:
            out.append(ResourceChange(uid, kind, "removed", at))
        elif changed := field_changes(old, new):
            out.append(ResourceChange(uid, kind, "changed", at, changed))
    for kind in schema.TABLES:
        out.extend(
            ResourceChange(uid, kind, "added", seen)
            for uid, seen, _ in _live(db, kind, "t.first_seen > ?", (since,))
        )
    kinds = list(schema.TABLES)
    return sorted(out, key=lambda c: (kinds.index(c.kind), c.uid))


def _walk(
    db: Reader, uid: str, subject: str, body: _Bodies, live: tuple[str, dict[str, Any]] | None
) -> list[TimelineEntry]:
    """The timeline of one uid: its versions, or its live row alone when it has none."""
    rows = db.execute(
        "SELECT at, hash FROM resource_versions WHERE uid = ? ORDER BY seq", (uid,)
    ).fetchall()
    if not rows:
        return [TimelineEntry(live[0], subject, uid, "first seen", version=live[1])] if live else []
    out: list[TimelineEntry] = []
    prev: dict[str, Any] | None = None
    for at, digest in rows:
        cur = body(digest)
        fields: tuple[FieldChange, ...]
        if not out:
            change, fields = ("first seen", ()) if cur is not None else ("removed", ())
        elif cur is None:
            change, fields = "removed", ()
        elif prev is None:
            change, fields = "back", ()
        else:
            change, fields = "changed", field_changes(prev, cur)
        out.append(TimelineEntry(at, subject, uid, change, fields, cur or prev))
        prev = cur
    return out


def timeline(db: Reader, kind: str, uid: str) -> list[TimelineEntry]:
    """What happened to one resource and to the grants on it, oldest first."""
    body = _Bodies(db)

    def live(k: str, u: str) -> tuple[str, dict[str, Any]] | None:
        found = _live(db, k, "t.uid = ?", (u,))
        return (found[0][1], found[0][2]) if found else None

    entries = _walk(db, uid, "self", body, live(kind, uid))
    grants = {
        r[0]
        for r in db.execute(
            "SELECT uid FROM resource_versions WHERE about_uid = ? "
            "UNION SELECT uid FROM grants WHERE resource_uid = ?",
            (uid, uid),
        )
    }
    start = entries[0].at if entries else ""
    for grant in sorted(grants):
        steps = _walk(db, grant, "grant", body, live("grant", grant))
        # A grant first seen after the resource was: it appeared then.
        entries.extend(
            TimelineEntry(e.at, e.subject, e.uid, "added", e.fields, e.version)
            if e.change in ("first seen", "back") and e.at > start
            else e
            for e in steps
        )
    return sorted(entries, key=lambda e: (e.at, e.subject != "self"))


def horizon_note(now: str, days: int, when: str) -> str | None:
    """A line saying ``when`` is before the history kept (``[policy] history_retention_days``), else None."""
    edge = versions.horizon(now, days)
    if when >= edge:
        return None
    return (
        f"{when} is before the history kept ({days} days, since {edge}): "
        "changes before then are not all known"
    )

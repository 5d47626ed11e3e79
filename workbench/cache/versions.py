"""Resource versions, the write half: what the single sync writer records when a resource's content changes.

A version is the row as the table stores it (its scope columns and every column the content hash covers,
values as stored: JSON columns stay JSON text), as canonical JSON, zlib-compressed and kept once per
SHA-256 (``resource_blobs``); ``resource_versions`` says which uid had which content from when on. A resource
that never changed has no versions (its live row is all there is to know), so a re-sync pays only for what
moved. On its first change or removal the row it had is recorded first, dated its ``first_seen``. The reads
are :mod:`workbench.cache.history`.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from workbench import canonical, clock
from workbench.cache import schema
from workbench.cache.backend import Reader
from workbench.cache.rows import row_columns

# Columns of a version besides the kind's row columns; ``search`` and ``hash`` are derived, not content.
SCOPE_FIELDS = ("provider", "account", "region")
_DERIVED = {"search", "hash"}
# zlib level 6 (the default) is within a few per cent of 9 on these bodies at half the time.
_LEVEL = 6


def fields(kind: str) -> list[str]:
    """The fields a version of ``kind`` holds, in order: scope, then the row's content columns."""
    return [*SCOPE_FIELDS, *(c for c in row_columns(kind) if c not in _DERIVED)]


def body(kind: str, scope: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """A version from ``scope`` (provider, account, region) and a row in ``row_columns(kind)`` order."""
    out = dict(zip(SCOPE_FIELDS, scope, strict=True))
    out.update((c, v) for c, v in zip(row_columns(kind), row, strict=True) if c not in _DERIVED)
    return out


def encode(value: dict[str, Any]) -> tuple[str, bytes]:
    """(content hash, compressed canonical JSON) of a version."""
    text = canonical.encode(value)
    return hashlib.sha256(text).hexdigest(), zlib.compress(text, _LEVEL)


def decode(blob: bytes) -> dict[str, Any]:
    import json

    value = json.loads(zlib.decompress(blob))
    assert isinstance(value, dict)
    return value


def with_history(db: Reader, uids: Iterable[str]) -> set[str]:
    """The uids among ``uids`` that have versions already."""
    wanted = sorted(set(uids))
    if not wanted:
        return set()
    return {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT uid FROM resource_versions WHERE uid IN (SELECT value FROM json_each(?))",
            (canonical.dumps(wanted),),
        )
    }


def prefix_has_history(db: Reader, prefix: str) -> bool:
    """Whether any uid starting with ``prefix`` (a scope and kind) has versions: a re-added one must get one."""
    return (
        db.execute(
            "SELECT 1 FROM resource_versions WHERE uid >= ? AND uid < ? LIMIT 1",
            (prefix, prefix + "\U0010ffff"),
        ).fetchone()
        is not None
    )


def live_versions(
    db: Reader, kind: str, uids: Iterable[str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(uid, first_seen, version) of the live rows ``uids``, read before the writer replaces them."""
    wanted = sorted(set(uids))
    if not wanted:
        return []
    cols = ", ".join([*SCOPE_FIELDS, *row_columns(kind)])
    table = schema.TABLES[kind]
    out = []
    for r in db.execute(
        f"SELECT uid, first_seen, {cols} FROM {table} WHERE uid IN (SELECT value FROM json_each(?))",
        (canonical.dumps(wanted),),
    ):
        row = tuple(r)
        out.append((row[0], row[1], body(kind, row[2:5], row[5:])))
    return out


def about(kind: str, version: dict[str, Any] | None) -> str | None:
    """The resource a grant is on (its timeline shows the grant), else None."""
    if kind == "grant" and version is not None:
        value = version.get("resource_uid")
        return value if isinstance(value, str) else None
    return None


def record(
    db: Reader,
    run_id: int | None,
    kind: str,
    entries: Sequence[tuple[str, str, dict[str, Any] | None, str | None]],
) -> None:
    """Store ``entries`` (uid, at, version or None for a removal, the grant's resource) in that order."""
    if not entries:
        return
    blobs: dict[str, bytes] = {}
    rows = []
    for uid, at, version, on in entries:
        digest = None
        if version is not None:
            digest, blob = encode(version)
            blobs[digest] = blob
        rows.append((uid, kind, on, run_id, at, digest))
    db.executemany(
        "INSERT OR IGNORE INTO resource_blobs (hash, body) VALUES (?, ?)", list(blobs.items())
    )
    db.executemany(
        "INSERT INTO resource_versions (uid, kind, about_uid, run_id, at, hash) VALUES (?,?,?,?,?,?)",
        rows,
    )


def horizon(now: str, days: int) -> str:
    """The oldest time whose estate the history still shows in full, ``days`` before ``now``."""
    when = clock.parse(now)
    assert when is not None
    return clock.iso(when - timedelta(days=days)) or now


def prune(db: Reader, now: str, days: int) -> int:
    """Forget versions older than ``days``, keeping each resource's state at the horizon (its last version
    before it, unless that was its removal); then the bodies no version uses. Returns the versions dropped."""
    cutoff = horizon(now, days)
    dropped = db.execute(
        "DELETE FROM resource_versions WHERE at <= ?1 AND seq NOT IN "
        "(SELECT MAX(seq) FROM resource_versions WHERE at <= ?1 GROUP BY uid)",
        (cutoff,),
    ).rowcount
    dropped += db.execute(
        "DELETE FROM resource_versions WHERE at <= ? AND hash IS NULL", (cutoff,)
    ).rowcount
    if dropped:
        db.execute(
            "DELETE FROM resource_blobs WHERE hash NOT IN "
            "(SELECT hash FROM resource_versions WHERE hash IS NOT NULL)"
        )
    return max(dropped, 0)

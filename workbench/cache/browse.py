"""Read-side queries the browsing UI needs: view filters, one resource, its neighbours, a search across kinds.

Headless on purpose (no Textual): the TUI, the command palette and tests share it. Every function takes a
read-only connection the caller owns (one per thread). Column names that come from the operator (``account=…``
in ``:snap account=2222``) are checked against the table's real columns before they reach SQL; values only ever
travel as parameters.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.cache import posture, schema

# Columns shown as data but never as filters or in the field list (the raw JSON has its own view).
HIDDEN_COLUMNS = frozenset({"search", "hash", "raw"})


@dataclass(frozen=True, slots=True)
class ViewFilter:
    """A parsed filter line: free text for FTS plus column and tag conditions.

    ``account=2222 env=prod web`` → text ``web``, columns ``{"account": "2222"}``, tags ``{"env": "prod"}``.
    A key that names a column of the table filters that column; any other key is a tag key (``tag.env=prod``
    forces the tag reading for keys that collide with columns).
    """

    text: str = ""
    columns: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE fragment (empty when there is nothing to filter) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in self.columns:
            clauses.append(f'"{column}" = ?')
            params.append(value)
        for key, value in self.tags:
            clauses.append("EXISTS (SELECT 1 FROM json_each(tags) WHERE key = ? AND value = ?)")
            params.extend((key, value))
        return " AND ".join(clauses), params

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.columns] + [f"tag.{k}={v}" for k, v in self.tags]
        if self.text:
            parts.append(f"/{self.text}")
        return " ".join(parts)


def parse_filter(kind: str, line: str) -> ViewFilter:
    """Parse ``key=value`` terms and free text; raises ValueError with a message for the operator."""
    try:
        terms = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise ValueError(f"cannot read the filter: {exc}") from exc
    known = set(schema.resource_columns(kind)) - HIDDEN_COLUMNS
    text: list[str] = []
    columns: list[tuple[str, str]] = []
    tags: list[tuple[str, str]] = []
    for term in terms:
        key, sep, value = term.partition("=")
        if not sep or not key:
            text.append(term)
        elif key.startswith("tag.") and len(key) > 4:
            tags.append((key[4:], value))
        elif key in known:
            columns.append((key, value))
        else:
            tags.append((key, value))
    return ViewFilter(" ".join(text), tuple(columns), tuple(tags))


@dataclass(slots=True)
class Resource:
    kind: str
    row: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.row["uid"])

    @property
    def tags(self) -> dict[str, Any]:
        return _loads(self.row.get("tags")) or {}

    @property
    def raw(self) -> Any:
        return _loads(self.row.get("raw"))

    def fields(self) -> list[tuple[str, Any]]:
        """Every column except the bookkeeping ones, in table order."""
        skip = HIDDEN_COLUMNS | {"row_id", "tags"}
        return [(k, v) for k, v in self.row.items() if k not in skip]


def _loads(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def kind_of_uid(uid: str) -> str | None:
    """The kind inside a uid (``provider:account:region:kind:id``), when it can be told."""
    for kind in schema.TABLES:
        if f":{kind}:" in uid:
            return kind
    return None


def resource(db: sqlite3.Connection, uid: str) -> Resource | None:
    """One resource by uid, from whichever table holds it."""
    guess = kind_of_uid(uid)
    kinds = [guess] if guess else []
    kinds += [k for k in schema.TABLES if k != guess]
    for kind in kinds:
        cur = db.execute(f"SELECT * FROM {schema.TABLES[kind]} WHERE uid = ?", (uid,))
        row = cur.fetchone()
        if row is not None:
            names = [d[0] for d in cur.description]
            return Resource(kind, dict(zip(names, row, strict=True)))
    return None


def uid_for_row(db: sqlite3.Connection, kind: str, row_id: int) -> str | None:
    row = db.execute(
        f"SELECT uid FROM {schema.TABLES[kind]} WHERE row_id = ?", (row_id,)
    ).fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A related resource: how it relates (``attached``, ``← launched_from`` …) and what it is."""

    relation: str
    uid: str
    kind: str
    id: str
    name: str
    present: bool = True  # False when the relation points at something not in the cache


_REVERSE = {
    "attached": "attached to",
    "snapshot_of": "snapshots",
    "launched_from": "launched from it",
    "protected_by": "protects",
    "in_network": "members",
}


def related(db: sqlite3.Connection, res: Resource) -> list[Neighbour]:
    """Resources linked to ``res`` both ways, plus the joins that are not edges in ``relations``."""
    out: list[Neighbour] = []
    seen: set[tuple[str, str]] = set()

    def add(relation: str, uid: str) -> None:
        if (relation, uid) in seen or uid == res.uid:
            return
        seen.add((relation, uid))
        other = resource(db, uid)
        if other is None:
            kind = kind_of_uid(uid) or "?"
            out.append(Neighbour(relation, uid, kind, uid.rsplit(":", 1)[-1], "", present=False))
        else:
            row = other.row
            out.append(Neighbour(relation, uid, other.kind, str(row["id"]), row.get("name") or ""))

    for kind, dst in db.execute(
        "SELECT kind, dst_uid FROM relations WHERE src_uid = ?", (res.uid,)
    ):
        add(kind, dst)
    for kind, src in db.execute(
        "SELECT kind, src_uid FROM relations WHERE dst_uid = ?", (res.uid,)
    ):
        add(_REVERSE.get(kind, f"← {kind}"), src)
    for relation, uid in _derived_links(db, res, [n.uid for n in out]):
        add(relation, uid)
    return out


def _derived_links(
    db: sqlite3.Connection, res: Resource, neighbours: list[str]
) -> Iterator[tuple[str, str]]:
    row, scope = res.row, res.row["scope_id"]
    if res.kind == "instance":
        # Rules that apply: instance → protected_by → group → its rules (by group_id, same scope).
        groups = [u for u in neighbours if kind_of_uid(u) == "firewall_group"]
        for group_uid in groups:
            group = resource(db, group_uid)
            if group is not None:
                yield from _rules_of(db, scope, str(group.row["id"]))
        yield from _uids(db, "patch_states", "instance_uid = ?", (res.uid,), "patch state")
    elif res.kind == "firewall_group":
        yield from _rules_of(db, scope, str(row["id"]))
    elif res.kind == "firewall_rule":
        yield from _uids(
            db, "firewall_groups", "scope_id = ? AND id = ?", (scope, row["group_id"]), "rule of"
        )
    elif res.kind in ("snapshot", "image", "volume"):
        yield from _uids(db, "grants", "resource_uid = ?", (res.uid,), "grants")
        if res.kind == "snapshot" and row.get("source_volume_id"):
            yield from _uids(
                db,
                "volumes",
                "scope_id = ? AND id = ?",
                (scope, row["source_volume_id"]),
                "source volume",
            )
        if res.kind == "image":
            yield from _uids(
                db,
                "instances",
                "scope_id = ? AND image_id = ?",
                (scope, row["id"]),
                "launched from it",
            )
    elif res.kind == "grant" and row.get("resource_uid"):
        yield ("grant on", str(row["resource_uid"]))
    elif res.kind == "patch_state" and row.get("instance_uid"):
        yield ("instance", str(row["instance_uid"]))


def _rules_of(db: sqlite3.Connection, scope: str, group_id: str) -> Iterator[tuple[str, str]]:
    return _uids(db, "firewall_rules", "scope_id = ? AND group_id = ?", (scope, group_id), "rule")


def _uids(
    db: sqlite3.Connection, table: str, where: str, params: tuple[Any, ...], relation: str
) -> Iterator[tuple[str, str]]:
    for (uid,) in db.execute(f"SELECT uid FROM {table} WHERE {where} ORDER BY row_id", params):
        yield relation, str(uid)


def findings(db: sqlite3.Connection, uid: str) -> list[sqlite3.Row | tuple[Any, ...]]:
    """``(severity, check_id, status, reason, last_seen)`` of every finding on ``uid``, worst first."""
    return db.execute(
        "SELECT severity, check_id, status, reason, last_seen FROM findings WHERE resource_uid = ? "
        f"ORDER BY status = 'open' DESC, {posture.severity_rank_sql()}, check_id",
        (uid,),
    ).fetchall()


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str
    uid: str
    id: str
    name: str
    account: str
    region: str


BROWSABLE = (
    "instance",
    "volume",
    "snapshot",
    "image",
    "firewall_group",
    "firewall_rule",
    "grant",
    "network",
    "subnet",
    "host",
)


def search(db: sqlite3.Connection, text: str, *, limit: int = 20) -> list[SearchHit]:
    """Resources whose id, name or tags contain ``text``, across kinds (FTS trigram from 3 characters).

    Shorter text matches ids and names by prefix through their B-tree indexes, so ``i-`` still works.
    """
    text = text.strip()
    if not text:
        return []
    hits: list[SearchHit] = []
    for kind in BROWSABLE:
        table = schema.TABLES[kind]
        if len(text) >= 3:
            phrase = '"' + text.replace('"', '""') + '"'
            sql = (
                f"SELECT uid, id, name, account, region FROM {table} WHERE row_id IN "
                f"(SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ? LIMIT ?)"
            )
            params: tuple[Any, ...] = (phrase, limit)
        else:
            prefix = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            sql = (
                f"SELECT uid, id, name, account, region FROM {table} "
                "WHERE id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' LIMIT ?"
            )
            params = (prefix, prefix, limit)
        for uid, rid, name, account, region in db.execute(sql, params):
            hits.append(SearchHit(kind, uid, rid, name or "", account, region))
        if len(hits) >= limit:
            break
    return hits[:limit]


@dataclass(slots=True)
class ScopeSummary:
    ok: int = 0
    stale: int = 0
    failed: int = 0
    stale_scopes: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.ok + self.stale + self.failed


def scope_summary(db: sqlite3.Connection) -> ScopeSummary:
    """Fresh / stale / failed counts per scope (a scope is as bad as its worst task:
    :func:`workbench.cache.posture.scope_health`)."""
    summary = ScopeSummary()
    for scope in posture.scope_health(db):
        setattr(summary, scope.status, getattr(summary, scope.status) + 1)
        if scope.status != "ok":
            summary.stale_scopes.add(scope.scope_id)
    return summary

"""Turning a collector task's records into cache rows: the CPU-bound half of an ingest.

It needs no connection, so the sync engine runs it in the collector's thread (:func:`prepare`) while the single
writer (:class:`workbench.cache.store.Cache`) only executes statements. JSON goes through orjson. The
statements (:func:`upsert_sql`) write many rows each, and bind the columns that are the same for a whole
task once rather than per row.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import operator
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from workbench import model
from workbench.cache import schema
from workbench.secret_scan import may_hold_secret, redact_record, secret_named


def _make_encoder() -> Callable[[Any], str]:
    """A compact JSON encoder built once: ``json.dumps`` builds a new encoder on every call.

    Ingest encodes three values per resource, so the per-call setup dominated (see ``vmwb bench ingest``).
    """
    c_make = getattr(json.encoder, "c_make_encoder", None)
    if c_make is None:  # pragma: no cover - CPython always has the C accelerator
        return json.JSONEncoder(separators=(",", ":"), default=str, sort_keys=True).encode
    # markers=None skips the circular-reference check: API responses are trees.
    iterencode = c_make(
        None, str, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
    join = "".join

    def encode(value: Any) -> str:
        return join(iterencode(value, 0))

    return encode


_encode = _make_encoder()


# orjson is ~5x faster than the stdlib encoder on API-sized items. Datetimes and dataclasses go through
# ``default=str``; non-ASCII is stored as UTF-8 instead of \\u escapes. Keys are sorted: the content hash
# covers this text, and an SDK may hand the same answer's maps in another order each process (GCP's
# protobuf maps: labels), which read as a change of every such resource on every sync.
_ORJSON_OPTS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_SORT_KEYS
)
_dumps = orjson.dumps


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return _dumps(value, default=str, option=_ORJSON_OPTS).decode()
    except orjson.JSONEncodeError:
        return _json_rare(value)


def _json_rare(value: Any) -> str:
    """Non-string keys (slower in orjson, so only on demand), then what orjson refuses at all (integers
    beyond 64 bits, lone surrogates, nesting deeper than 255): the stdlib encoder takes those."""
    try:
        return _dumps(value, default=str, option=_ORJSON_OPTS | orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return _encode(value)


@dataclass(slots=True)
class PreparedTask:
    """A task's output as rows, ready for :meth:`Cache.replace_task`: the CPU-bound half of an ingest,
    which needs no connection and so can run in the collector's thread."""

    rows: dict[str, list[tuple[Any, ...]]]  # kind → rows in ``row_columns(kind)`` order
    relations: list[tuple[str, str, str, str, str]]
    patch_states: list[model.Record]
    stale: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)  # kind → id → error


def prepare(
    scope: model.ScopeRef, task: str, output: model.TaskOutput, *, keep_raw_secrets: bool = False
) -> PreparedTask:
    """``output`` as rows. Secrets in names, tags, labels, descriptions, ``extra`` and ``raw`` are redacted
    here, for every provider alike (:func:`workbench.secret_scan.redact_record`), unless
    ``keep_raw_secrets`` (``[general] keep_raw_secrets``)."""
    by_kind: dict[str, list[model.Record]] = {}
    for rec in output.records:
        by_kind.setdefault(rec.KIND, []).append(rec)
    p, a, r, sid = scope.provider, scope.account, scope.region, scope.scope_id
    relations = [
        (
            sid,
            task,
            model.make_uid(p, a, r, rel.src_kind, rel.src_id),
            rel.kind,
            model.make_uid(p, a, r, rel.dst_kind, rel.dst_id),
        )
        for rel in output.relations
    ]
    stale: dict[str, dict[str, str]] = {}
    for (kind, rid), error in output.stale.items():
        stale.setdefault(kind, {})[rid] = error
    return PreparedTask(
        {
            kind: build_rows(scope, kind, recs, redact=not keep_raw_secrets)
            for kind, recs in by_kind.items()
        },
        relations,
        by_kind.get("patch_state", []),
        stale,
    )


# A row holds what varies per resource; the columns that are the same for a whole task (uid prefix, scope,
# task, seen times) are bound once per statement, which writes many rows (see ``upsert_sql``).
ROW_BASE = ("id", "name", "created_at", "tags", "extra", "raw", "search", "hash")
HASH_AT = ROW_BASE.index("hash")
_CONST_COLUMNS = ("scope_id", "task", "provider", "account", "region", "first_seen", "last_seen")
# Rows per statement. sqlite3 lets go of the GIL once per statement step: one row per step let every
# collector thread that wanted the GIL in first, and the writer waited for each (up to 5 ms) before its
# next row. Chunks are powers of two, so a kind has a handful of statements for SQLite to cache.
ROWS_PER_STATEMENT = 256


def row_columns(kind: str) -> list[str]:
    return [*ROW_BASE, *(name for name, _ in schema.kind_columns(kind))]


def task_constants(scope: model.ScopeRef, task: str, kind: str, now: str) -> tuple[str, ...]:
    """The values of ``upsert_sql``'s first parameters: the uid prefix, then ``_CONST_COLUMNS``."""
    prefix = model.make_uid(scope.provider, scope.account, scope.region, kind, "")
    return (prefix, scope.scope_id, task, scope.provider, scope.account, scope.region, now, now)


def chunk_sizes(count: int) -> list[int]:
    """``count`` rows as full chunks of ROWS_PER_STATEMENT, then the rest in powers of two."""
    sizes = [ROWS_PER_STATEMENT] * (count // ROWS_PER_STATEMENT)
    rest = count % ROWS_PER_STATEMENT
    bit = ROWS_PER_STATEMENT
    while rest:
        bit //= 2
        if rest & bit:
            sizes.append(bit)
            rest -= bit
    return sizes


@functools.lru_cache(maxsize=512)
def upsert_sql(kind: str, keep: tuple[int, ...], rows: int) -> str:
    """Insert-or-update of ``rows`` rows, each holding the ``keep`` positions of ``row_columns(kind)``.

    Parameters: the ``task_constants`` first (shared by every row), then each row's values in turn. A
    column left out is NULL in ``excluded``, so an update clears it as it should.
    """
    table = schema.TABLES[kind]
    names = row_columns(kind)
    cols = ["uid", *_CONST_COLUMNS, *(names[i] for i in keep)]
    consts = len(_CONST_COLUMNS) + 1
    shared = ",".join(f"?{n}" for n in range(2, consts + 1))
    tuples = []
    for r in range(rows):
        first = consts + r * len(keep) + 1  # the row's id: model.make_uid is the prefix then the id
        own = ",".join(f"?{first + j}" for j in range(len(keep)))
        tuples.append(f"(?1||?{first},{shared},{own})")
    # Every column, not only the kept ones: a value that became None must clear the old one.
    updates = ",".join(f"{c}=excluded.{c}" for c in (*_CONST_COLUMNS[:-2], "last_seen", *names))
    return (
        f"INSERT INTO {table} ({','.join(cols)}) VALUES {','.join(tuples)} "
        f"ON CONFLICT(uid) DO UPDATE SET {updates}"
    )


def staged_columns(kind: str) -> list[str]:
    """Every column a task writes to ``kind``'s table, in the order of a staged row: the uid, the
    ``task_constants`` after the prefix, then ``row_columns(kind)``."""
    return ["uid", *_CONST_COLUMNS, *row_columns(kind)]


def merge_sql(kind: str, staging: str) -> str:
    """``upsert_sql``'s effect for rows staged in the table ``staging`` (``staged_columns`` order, one row
    per uid): one statement however many rows (PostgreSQL's ingest COPYs them there first)."""
    table = schema.TABLES[kind]
    cols = ",".join(staged_columns(kind))
    updates = ",".join(
        f"{c}=excluded.{c}" for c in (*_CONST_COLUMNS[:-2], "last_seen", *row_columns(kind))
    )
    return (
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging} "
        f"ON CONFLICT(uid) DO UPDATE SET {updates}"
    )


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return to_json(value)
    return value


_KIND_PLAN: dict[str, tuple[Callable[[Any], tuple[Any, ...]], tuple[int, ...]]] = {}


def _kind_plan(kind: str) -> tuple[Callable[[Any], tuple[Any, ...]], tuple[int, ...]]:
    """A C-level getter of the kind's own typed fields, and the positions that need ``_cell``.

    Plain ``str``/``int``/``float`` fields go to SQLite as they are; only bool, list, dict and Any ones
    need converting, which saves a Python call per field per resource.
    """
    plan = _KIND_PLAN.get(kind)
    if plan is None:
        derived = schema_derived(kind)
        own = [(n, t) for n, t in schema.kind_columns(kind) if n not in derived]
        hints = typing.get_type_hints(model.RECORD_TYPES[kind])
        convert = tuple(
            i
            for i, (n, _) in enumerate(own)
            if not any(
                str(hints[n]) == t
                for t in (
                    "<class 'str'>",
                    "<class 'int'>",
                    "str | None",
                    "int | None",
                    "float | None",
                )
            )
        )
        names = [n for n, _ in own]
        getter = operator.attrgetter(*names) if len(names) > 1 else None

        def get(rec: Any, _g: Any = getter, _n: str = names[0] if names else "") -> tuple[Any, ...]:
            return tuple(_g(rec)) if _g is not None else ((getattr(rec, _n),) if _n else ())

        plan = (get, convert)
        _KIND_PLAN[kind] = plan
    return plan


def build_rows(
    scope: model.ScopeRef, kind: str, records: Sequence[model.Record], *, redact: bool = True
) -> list[tuple[Any, ...]]:
    """Rows in ``row_columns(kind)`` order (``HASH_AT`` is the content hash); ``redact``: secrets replaced
    by ``[redacted:<kind>:<fingerprint>]`` (see :mod:`workbench.secret_scan`)."""
    where = (scope.provider, scope.account, scope.region)
    plan = _kind_plan(kind)
    needs_derived = kind in schema.DERIVED_COLUMNS
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for rec in records:
        row, text = _row(rec, kind, plan, needs_derived, where)
        # One search of everything the row stores tells the usual record (no secret) at once.
        if redact and (
            may_hold_secret(text) or any(secret_named(k, v) for k, v in rec.tags.items())
        ):
            clean = redact_record(rec)
            if clean is not rec:
                row, _ = _row(clean, kind, plan, needs_derived, where)
        append(row)
    return rows


def _row(
    rec: model.Record,
    kind: str,
    plan: tuple[Callable[[Any], tuple[Any, ...]], tuple[int, ...]],
    needs_derived: bool,
    where: tuple[str, str, str],
) -> tuple[tuple[Any, ...], str]:
    """One record's row, and the text its hash covers (every value the row stores)."""
    get, convert = plan
    dumps, opts = _dumps, _ORJSON_OPTS
    values = get(rec)
    if convert:
        cells = list(values)
        for i in convert:
            cells[i] = _cell(cells[i])
        values = tuple(cells)
    if needs_derived:
        values += _derived(kind, *where, rec)
    rec_tags, raw_value = rec.tags, rec.raw
    try:  # to_json, inlined: three calls per resource
        tags: str | None = dumps(rec_tags, default=str, option=opts).decode()
        extra: str | None = dumps(rec.extra, default=str, option=opts).decode()
        raw = None if raw_value is None else dumps(raw_value, default=str, option=opts).decode()
    except orjson.JSONEncodeError:
        tags, extra, raw = to_json(rec_tags), to_json(rec.extra), to_json(raw_value)
    name = rec.name
    # Hash the encoded text: stable across processes (unlike hash()) and cheap to feed.
    text = f"{name}\x1f{rec.created_at}\x1f{tags}\x1f{extra}\x1f{raw}\x1f{values!r}"
    digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    search = " ".join([rec.id, name or "", *[f"{k}={v}" for k, v in rec_tags.items()]])
    return (rec.id, name, rec.created_at, tags, extra, raw, search, digest) + values, text


def schema_derived(kind: str) -> set[str]:
    return {name for name, _ in schema.DERIVED_COLUMNS.get(kind, ())}


def _derived(kind: str, p: str, a: str, r: str, rec: model.Record) -> tuple[Any, ...]:
    if kind == "firewall_rule":
        assert isinstance(rec, model.FirewallRule)
        return (int(model.is_world(rec.source)),)
    if kind == "grant":
        assert isinstance(rec, model.Grant)
        return (model.make_uid(p, a, r, rec.resource_kind, rec.resource_id),)
    if kind == "patch_state":
        return (model.make_uid(p, a, r, "instance", rec.id),)
    return ()

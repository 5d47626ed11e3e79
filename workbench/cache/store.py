"""The inventory cache: one SQLite file, opened safely, migrated with a backup, written one task at a time.

Writes go through one connection (the sync engine's); readers open their own (one per thread). A task's rows are
replaced atomically: rows the task wrote before and did not see now are removed in the same transaction, and
nothing is touched when a task fails (its rows stay, its scope is marked stale with the error).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import operator
import os
import shutil
import sqlite3
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import orjson

from workbench import model
from workbench.cache import schema
from workbench.errors import CacheError

SQLITE_MAGIC = b"SQLite format 3\x00"


def utcnow() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _make_encoder() -> Callable[[Any], str]:
    """A compact JSON encoder built once: ``json.dumps`` builds a new encoder on every call.

    Ingest encodes three values per resource, so the per-call setup dominated (see ``vmwb bench ingest``).
    """
    c_make = getattr(json.encoder, "c_make_encoder", None)
    if c_make is None:  # pragma: no cover - CPython always has the C accelerator
        return json.JSONEncoder(separators=(",", ":"), default=str).encode
    # markers=None skips the circular-reference check: API responses are trees.
    iterencode = c_make(None, str, json.encoder.encode_basestring_ascii, None, ":", ",",
                        False, False, True)  # fmt: skip
    join = "".join

    def encode(value: Any) -> str:
        return join(iterencode(value, 0))

    return encode


_encode = _make_encoder()


# orjson is ~5x faster than the stdlib encoder on API-sized items. Datetimes and dataclasses go through
# ``default=str`` as before, so the stored text (and the content hash over it) stays what it was for
# ASCII data; non-ASCII is stored as UTF-8 instead of \\u escapes.
_ORJSON_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_dumps = orjson.dumps


def _json(value: Any) -> str | None:
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
class TaskOutput:
    """What one collector task produced for one scope."""

    records: list[model.Record] = field(default_factory=list)
    relations: list[model.Relation] = field(default_factory=list)

    def add(self, record: model.Record) -> None:
        self.records.append(record)

    def relate(self, src_kind: str, src_id: str, kind: str, dst_kind: str, dst_id: str) -> None:
        self.relations.append(model.Relation(src_kind, src_id, kind, dst_kind, dst_id))


@dataclass(slots=True)
class IngestStats:
    added: int = 0
    changed: int = 0
    removed: int = 0
    seen: int = 0


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database, without touching it."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise CacheError(f"cannot read the cache {path}: {exc.strerror}") from exc
    if head and head != SQLITE_MAGIC:
        raise CacheError(
            f"{path} is not a vmwb cache (not an SQLite database); it was left untouched. "
            "Point --db at another file or move this one away."
        )


def _create_private(path: Path) -> None:
    """Create the cache file with mode 0600 before SQLite opens it: it describes the estate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


class Cache:
    """An open cache. Use :meth:`open`; close with :meth:`close` or as a context manager."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db
        self._dirty_search: set[str] = set()  # kinds whose FTS index needs a rebuild

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> Cache:
        p = Path(path).expanduser()
        if p.exists():
            _check_sqlite_file(p)
        elif create:
            _create_private(p)
        else:
            raise CacheError(f"no cache at {p}: run `vmwb sync` (or `vmwb demo`) first")
        try:
            db = connect(p)
            cache = cls(p, db)
            cache._migrate()
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"the cache {p} is damaged ({exc}); it was left untouched") from exc
        return cache

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reader(self) -> sqlite3.Connection:
        """A new read-only connection for another thread."""
        return connect(self.path, readonly=True)

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.version
        if current > schema.SCHEMA_VERSION:
            raise CacheError(
                f"the cache {self.path} has schema v{current}, newer than this vmwb "
                f"(v{schema.SCHEMA_VERSION}); upgrade vmwb or use another --db"
            )
        if current == schema.SCHEMA_VERSION:
            return
        if current > 0:
            self.backup(self.path.with_name(f"{self.path.name}.v{current}.bak"))
        for version in range(current, schema.SCHEMA_VERSION):
            with self.transaction():
                schema.MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    def backup(self, target: Path) -> Path:
        """A consistent copy of the cache (SQLite's online backup), mode 0600."""
        if target.exists():
            shutil.move(target, target.with_name(target.name + ".old"))
        _create_private(target)
        dst = sqlite3.connect(target)
        with dst:
            self.db.backup(dst)
        dst.close()
        return target

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ----------------------------------------------------------------- sync runs
    def start_run(self, params: dict[str, Any]) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO sync_runs (started_at, status, params) VALUES (?, 'running', ?)",
                (utcnow(), _json(params)),
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, resources: int, errors: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE sync_runs SET finished_at=?, status=?, resources=?, errors=? WHERE run_id=?",
                (utcnow(), status, resources, errors, run_id),
            )

    # ----------------------------------------------------------------- ingest
    def replace_task(
        self,
        run_id: int,
        scope: model.ScopeRef,
        task: str,
        output: TaskOutput | PreparedTask,
        *,
        started_at: str | None = None,
        now: str | None = None,
    ) -> IngestStats:
        """Atomically replace what ``task`` knows of ``scope`` with ``output``.

        ``output`` may be :func:`prepare`'d already (in a collector thread, so that building rows overlaps
        the writer's SQLite work).
        """
        now = now or utcnow()
        prepared = output if isinstance(output, PreparedTask) else prepare(scope, task, output)
        stats = IngestStats()
        consts = _scope_literals(scope, task, now)
        with self.transaction():
            had_rows = self._task_had_rows(scope.scope_id, task)
            for kind in schema.TABLES:
                self._replace_kind(run_id, scope, task, kind, prepared.rows.get(kind, []),
                                   now, consts, stats, had_rows)  # fmt: skip
            self._replace_relations(scope, task, prepared.relations)
            self._record_patch_history(run_id, scope, prepared.patch_states, now)
            self._set_status(run_id, scope, task, "ok", None, stats.seen, started_at or now, now)
        return stats

    def _task_had_rows(self, scope_id: str, task: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM scope_status WHERE scope_id=? AND task=? AND last_success_at IS NOT NULL",
            (scope_id, task),
        ).fetchone()
        return row is not None

    def _replace_kind(
        self,
        run_id: int,
        scope: model.ScopeRef,
        task: str,
        kind: str,
        rows: Sequence[tuple[Any, ...]],
        now: str,
        consts: tuple[str, ...],
        stats: IngestStats,
        log_changes: bool,
    ) -> None:
        table = schema.TABLES[kind]
        old: dict[str, tuple[str, str]] = {
            rid: (uid, digest)
            for rid, uid, digest in self.db.execute(
                f"SELECT id, uid, hash FROM {table} WHERE scope_id=? AND task=?",
                (scope.scope_id, task),
            )
        }
        if not rows and not old:
            return
        prefix = model.make_uid(scope.provider, scope.account, scope.region, kind, "")
        changes: list[tuple[int, str, str, str, str]] = []
        stats.seen += len(rows)
        if not old:  # a first load: every row is new, nothing to compare
            stats.added += len(rows)
            write = rows
            if log_changes:
                changes = [(run_id, prefix + row[0], kind, "added", now) for row in rows]
            gone: list[str] = []
        else:
            seen: set[str] = set()
            write = []
            unchanged: list[tuple[str, str]] = []
            for row in rows:
                rid, digest = row[0], row[HASH_AT]
                seen.add(rid)
                prev = old.get(rid)
                if prev is None:
                    stats.added += 1
                    write.append(row)
                    if log_changes:
                        changes.append((run_id, prefix + rid, kind, "added", now))
                elif prev[1] != digest:
                    stats.changed += 1
                    write.append(row)
                    changes.append((run_id, prev[0], kind, "changed", now))
                else:
                    unchanged.append((now, prev[0]))
            if unchanged:  # seen again as it was: touching last_seen rewrites no index
                self.db.executemany(f"UPDATE {table} SET last_seen=? WHERE uid=?", unchanged)
            gone = [uid for rid, (uid, _) in old.items() if rid not in seen]
        if write:
            self._write_rows(kind, write, _literal(prefix), consts)
        if gone:
            stats.removed += len(gone)
            self.db.executemany(f"DELETE FROM {table} WHERE uid=?", [(u,) for u in gone])
            changes.extend((run_id, uid, kind, "removed", now) for uid in gone)
        if changes:
            self.db.executemany(
                "INSERT INTO resource_changes (run_id, uid, kind, change, at) VALUES (?,?,?,?,?)",
                changes,
            )
        self._dirty_search.add(kind)

    def _write_rows(
        self, kind: str, rows: Sequence[tuple[Any, ...]], uid_prefix: str, consts: tuple[str, ...]
    ) -> None:
        """Upsert ``rows``, grouped by which of their values are None.

        CPython's sqlite3 binds None through its adapter lookup (~1 µs, as much as the rest of a small
        row), so each group's statement leaves its None columns out instead: they are NULL either way.
        """
        groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
        is_, nones = operator.is_, itertools.repeat(None)
        for row in rows:
            mask = tuple(map(is_, row, nones))
            group = groups.get(mask)
            if group is None:
                groups[mask] = group = []
            group.append(row)
        for mask, group in groups.items():
            keep = tuple(i for i, none in enumerate(mask) if not none)
            if not keep or keep[0] != 0:
                raise ValueError(f"a {kind} record without an id")
            sql = _upsert_sql(kind, keep, uid_prefix, consts)
            self.db.executemany(sql, map(operator.itemgetter(*keep), group))

    def _replace_relations(
        self, scope: model.ScopeRef, task: str, rows: list[tuple[str, str, str, str, str]]
    ) -> None:
        self.db.execute("DELETE FROM relations WHERE scope_id=? AND task=?", (scope.scope_id, task))
        self.db.executemany(
            "INSERT INTO relations (scope_id, task, src_uid, kind, dst_uid) VALUES (?,?,?,?,?)",
            rows,
        )

    def _record_patch_history(
        self, run_id: int, scope: model.ScopeRef, states: Sequence[model.Record], now: str
    ) -> None:
        rows = []
        for st in states:
            assert isinstance(st, model.PatchState)
            uid = model.make_uid(scope.provider, scope.account, scope.region, "instance", st.id)
            rows.append(
                (run_id, uid, now, st.last_install_at, st.missing_count, st.failed_count,
                 st.critical_missing)
            )  # fmt: skip
        if rows:
            self.db.executemany(
                "INSERT INTO patch_history (run_id, instance_uid, at, last_install_at, "
                "missing_count, failed_count, critical_missing) VALUES (?,?,?,?,?,?,?)",
                rows,
            )

    def record_failure(
        self,
        run_id: int,
        scope: model.ScopeRef,
        task: str,
        error: str,
        *,
        started_at: str | None = None,
    ) -> None:
        """A task failed: keep every row it wrote before, mark the scope stale (or failed if never ok)."""
        now = utcnow()
        with self.transaction():
            status = "stale" if self._task_had_rows(scope.scope_id, task) else "failed"
            self._set_status(run_id, scope, task, status, error, None, started_at or now, now)

    def _set_status(
        self,
        run_id: int,
        scope: model.ScopeRef,
        task: str,
        status: str,
        error: str | None,
        resources: int | None,
        started_at: str,
        now: str,
    ) -> None:
        ok = status == "ok"
        self.db.execute(
            """
            INSERT INTO scope_status (scope_id, task, provider, account, region, label, status,
                                      last_attempt_at, last_success_at, error, resources, run_id)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
            ON CONFLICT(scope_id, task) DO UPDATE SET
              status=excluded.status, label=excluded.label, last_attempt_at=excluded.last_attempt_at,
              last_success_at=COALESCE(excluded.last_success_at, scope_status.last_success_at),
              error=excluded.error, resources=COALESCE(excluded.resources, scope_status.resources),
              run_id=excluded.run_id
            """,
            (
                scope.scope_id, task, scope.provider, scope.account, scope.region, scope.label,
                status, now, now if ok else None, error, resources, run_id,
            ),
        )  # fmt: skip
        self.db.execute(
            "INSERT INTO scope_runs (run_id, scope_id, task, status, error, started_at, "
            "finished_at, resources) VALUES (?,?,?,?,?,?,?,?)",
            (run_id, scope.scope_id, task, status, error, started_at, now, resources or 0),
        )

    # ----------------------------------------------------------------- search index
    def refresh_search(self, kinds: Iterable[str] | None = None) -> None:
        """Rebuild the FTS index of the kinds written since the last refresh (or of ``kinds``)."""
        todo = set(kinds) if kinds is not None else set(self._dirty_search)
        for kind in sorted(todo):
            table = schema.TABLES[kind]
            with self.transaction():
                self.db.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES('rebuild')")
        self._dirty_search.difference_update(todo)

    # ----------------------------------------------------------------- reading
    def scope_status(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM scope_status ORDER BY scope_id, task").fetchall()

    def count(self, kind: str) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {schema.TABLES[kind]}").fetchone()[0])


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the cache's pragmas. ``isolation_level=None``: transactions are explicit."""
    if readonly:
        db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # The writer's page cache holds the hot index pages of a big ingest (default: 2 MB).
        db.execute("PRAGMA cache_size=-65536")
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    return db


@dataclass(slots=True)
class PreparedTask:
    """A task's output as rows, ready for :meth:`Cache.replace_task`: the CPU-bound half of an ingest,
    which needs no connection and so can run in the collector's thread."""

    rows: dict[str, list[tuple[Any, ...]]]  # kind → rows in ``row_columns(kind)`` order
    relations: list[tuple[str, str, str, str, str]]
    patch_states: list[model.Record]


def prepare(scope: model.ScopeRef, task: str, output: TaskOutput) -> PreparedTask:
    by_kind: dict[str, list[model.Record]] = {}
    for rec in output.records:
        by_kind.setdefault(rec.KIND, []).append(rec)
    p, a, r, sid = scope.provider, scope.account, scope.region, scope.scope_id
    relations = [
        (sid, task, model.make_uid(p, a, r, rel.src_kind, rel.src_id), rel.kind,
         model.make_uid(p, a, r, rel.dst_kind, rel.dst_id))
        for rel in output.relations
    ]  # fmt: skip
    return PreparedTask(
        {kind: build_rows(scope, kind, recs) for kind, recs in by_kind.items()},
        relations,
        by_kind.get("patch_state", []),
    )


# A row holds what varies per resource; the columns that are the same for a whole task (uid prefix, scope,
# task, seen times) are SQL literals of the task's statement, since binding a text value costs ~0.2 µs.
ROW_BASE = ("id", "name", "created_at", "tags", "extra", "raw", "search", "hash")
HASH_AT = ROW_BASE.index("hash")
_CONST_COLUMNS = ("scope_id", "task", "provider", "account", "region", "first_seen", "last_seen")


def row_columns(kind: str) -> list[str]:
    return [*ROW_BASE, *(name for name, _ in schema.kind_columns(kind))]


def _literal(text: str) -> str:
    """An SQL string literal (the sqlite3 module refuses NUL in SQL text: that goes as a hex blob)."""
    if "\x00" in text:
        return f"CAST(X'{text.encode().hex()}' AS TEXT)"
    return "'" + text.replace("'", "''") + "'"


def _scope_literals(scope: model.ScopeRef, task: str, now: str) -> tuple[str, ...]:
    values = (scope.scope_id, task, scope.provider, scope.account, scope.region, now, now)
    return tuple(_literal(v) for v in values)


def _upsert_sql(kind: str, keep: tuple[int, ...], uid_prefix: str, consts: tuple[str, ...]) -> str:
    """Insert-or-update of rows holding the ``keep`` positions of ``row_columns(kind)``.

    A column left out is NULL in ``excluded``, so an update clears it as it should.
    """
    table = schema.TABLES[kind]
    names = row_columns(kind)
    uid = f"{uid_prefix}||?1"  # model.make_uid: the prefix is the task's, the id the row's
    cols = ["uid", *_CONST_COLUMNS, *(names[i] for i in keep)]
    values = [uid, *consts, *(f"?{n + 1}" for n in range(len(keep)))]
    updates = ",".join(f"{c}=excluded.{c}" for c in cols if c not in ("uid", "first_seen"))
    return (
        f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join(values)}) "
        f"ON CONFLICT(uid) DO UPDATE SET {updates}"
    )


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return _json(value)
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
            i for i, (n, _) in enumerate(own)
            if not any(str(hints[n]) == t for t in ("<class 'str'>", "<class 'int'>",
                                                    "str | None", "int | None", "float | None"))
        )  # fmt: skip
        names = [n for n, _ in own]
        getter = operator.attrgetter(*names) if len(names) > 1 else None

        def get(rec: Any, _g: Any = getter, _n: str = names[0] if names else "") -> tuple[Any, ...]:
            return tuple(_g(rec)) if _g is not None else ((getattr(rec, _n),) if _n else ())

        plan = (get, convert)
        _KIND_PLAN[kind] = plan
    return plan


def build_rows(
    scope: model.ScopeRef, kind: str, records: Sequence[model.Record]
) -> list[tuple[Any, ...]]:
    """Rows in ``row_columns(kind)`` order (``HASH_AT`` is the content hash)."""
    p, a, r = scope.provider, scope.account, scope.region
    get, convert = _kind_plan(kind)
    needs_derived = kind in schema.DERIVED_COLUMNS
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    blake = hashlib.blake2b
    dumps, opts, encode_error = _dumps, _ORJSON_OPTS, orjson.JSONEncodeError
    for rec in records:
        values = get(rec)
        if convert:
            cells = list(values)
            for i in convert:
                cells[i] = _cell(cells[i])
            values = tuple(cells)
        if needs_derived:
            values += _derived(kind, p, a, r, rec)
        rec_tags, raw_value = rec.tags, rec.raw
        try:  # _json, inlined: three calls per resource
            tags: str | None = dumps(rec_tags, default=str, option=opts).decode()
            extra: str | None = dumps(rec.extra, default=str, option=opts).decode()
            raw = None if raw_value is None else dumps(raw_value, default=str, option=opts).decode()
        except encode_error:
            tags, extra, raw = _json(rec_tags), _json(rec.extra), _json(raw_value)
        name = rec.name
        # Hash the encoded text: stable across processes (unlike hash()) and cheap to feed.
        digest = blake(
            f"{name}\x1f{rec.created_at}\x1f{tags}\x1f{extra}\x1f{raw}\x1f{values!r}".encode(),
            digest_size=8,
        ).hexdigest()
        search = " ".join([rec.id, name or "", *[f"{k}={v}" for k, v in rec_tags.items()]])
        append((rec.id, name, rec.created_at, tags, extra, raw, search, digest) + values)
    return rows


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

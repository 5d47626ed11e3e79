"""The cache in PostgreSQL: the :class:`~workbench.cache.backend.Reader` and ``Store`` protocols over psycopg 3.

The schema is not written twice: :func:`schema_statements` builds SQLite's (every migration of
:mod:`workbench.cache.schema`, in memory) and reads it back through SQLite (tables, columns, keys, indexes,
views) to emit PostgreSQL's, so a new migration reaches both. What SQLite does by trigger (the append-only
audit log, the ``finding_counts`` summary) PostgreSQL does by the trigger functions below;
``tests/postgres/test_pg_schema.py`` proves both schemas have the same tables, columns and behaviour.

Statements are the SQLite dialect the core is written in, translated by :mod:`workbench.cache.pg_sql`, and
bound client-side (values become literals, typed by the column they meet, as SQLite's are), on connections in
autocommit mode whose transactions are explicit, as the SQLite cache's are. Errors of the database are raised
as :class:`PostgresError`, a :class:`sqlite3.OperationalError`, so that the core's handlers of a failing
statement (written for SQLite) treat both backends alike.

:class:`PgCache` is a :class:`~workbench.cache.store.Cache` (``Cache.open`` returns one for a
``postgresql://`` URL), so every command's writes (sync runs, ingest, findings, mutes, the journal, the audit
chain) are the SQLite cache's own code; what differs is overridden here: opening, transactions, readers, and
ingest's row writes, which COPY a task's rows into a staging table and merge them in one statement.

Not yet on PostgreSQL (see docs and the issue): search (pg_trgm; the search index stays pending), migrations
of an older PostgreSQL schema, roles and row-level security.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import psycopg
from psycopg import pq

from workbench.cache import pg_sql, schema
from workbench.cache.backend import redact
from workbench.cache.rows import merge_sql, staged_columns
from workbench.cache.store import Cache
from workbench.errors import CacheError

__all__ = ["PgCache", "PgReader", "PostgresError", "Row", "schema_statements"]

_TYPES = {
    "INTEGER": "BIGINT",
    "REAL": "DOUBLE PRECISION",
    "TEXT": "TEXT",
    "BLOB": "BYTEA",
    "": "TEXT",
}
_SCHEMA_KEY = "schema_version"


class PostgresError(sqlite3.OperationalError):
    """A statement PostgreSQL refused or a connection it lost, as one line."""


class Row(tuple[Any, ...]):
    """A result row indexable by position and by column name, as :class:`sqlite3.Row`."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Self:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


class Cursor:
    """A statement's result with :class:`sqlite3.Cursor`'s face (``lastrowid``, ``row_factory`` None for
    plain tuples)."""

    def __init__(self, reader: PgReader) -> None:
        self._reader = reader
        self._cur: psycopg.ClientCursor[Any] = psycopg.ClientCursor(reader.conn)
        self.row_factory: Any = Row
        self.lastrowid: int | None = None
        self._names: dict[str, int] = {}

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        if sql.lstrip().upper().startswith("PRAGMA"):
            return self._pragma(sql)
        t = pg_sql.translate(sql)
        text = t.sql
        pk = self._reader.identity_of(t.insert_table) if t.insert_table else None
        if pk and " RETURNING " not in text.upper():
            text += f" RETURNING {pk}"
        try:
            if t.style == "none" and not parameters:
                self._cur.execute(text.replace("%%", "%"))
            else:
                self._cur.execute(text, pg_sql.bind(t.style, parameters))
            if pk:
                ids = self._cur.fetchall()
                self.lastrowid = int(ids[-1][0]) if ids else None
        except psycopg.Error as exc:
            raise PostgresError(_one_line(exc)) from exc
        self._names = {d.name: i for i, d in enumerate(self._cur.description or ())}
        return self

    def executemany(self, sql: str, parameters: Any, /) -> Self:
        t = pg_sql.translate(sql)
        try:
            self._cur.executemany(t.sql, [pg_sql.bind(t.style, p) for p in parameters])
        except psycopg.Error as exc:
            raise PostgresError(_one_line(exc)) from exc
        return self

    def _pragma(self, sql: str) -> Self:
        """The one SQLite pragma the core reads on any backend, ``database_list``, answered as a database
        with no file (as an in-memory SQLite one is); the tuning pragmas do nothing here."""
        if "database_list" not in sql:
            raise PostgresError(f"no SQLite pragma on PostgreSQL: {sql.strip()}")
        self._cur.execute("SELECT 0 AS seq, 'main' AS name, '' AS file WHERE false")
        self._names = {"seq": 0, "name": 1, "file": 2}
        return self

    def _make(self, values: Any) -> Any:
        return values if self.row_factory is None else Row(values, self._names)

    def fetchone(self) -> Any:
        try:
            values = self._cur.fetchone()
        except psycopg.ProgrammingError:  # no result (an UPDATE): as sqlite3, None
            return None
        return None if values is None else self._make(values)

    def fetchall(self) -> list[Any]:
        try:
            return [self._make(v) for v in self._cur.fetchall()]
        except psycopg.ProgrammingError:
            return []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def _one_line(exc: psycopg.Error) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class PgReader:
    """A connection that runs the cache's SQL: the :class:`~workbench.cache.backend.Reader` protocol."""

    def __init__(self, conn: psycopg.Connection[Any], identities: dict[str, str]) -> None:
        self.conn = conn
        self._identities = identities

    @classmethod
    def connect(cls, url: str, *, readonly: bool = False) -> PgReader:
        conn = _connect(url, readonly=readonly)
        return cls(conn, _identities(conn))

    def identity_of(self, table: str) -> str | None:
        return self._identities.get(table.strip('"').lower())

    def cursor(self) -> Cursor:
        return Cursor(self)

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return Cursor(self).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        return Cursor(self).executemany(sql, parameters)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(url: str, *, readonly: bool = False) -> psycopg.Connection[Any]:
    options = "-c TimeZone=UTC" + (" -c default_transaction_read_only=on" if readonly else "")
    try:
        return psycopg.connect(url, autocommit=True, options=options, connect_timeout=10)
    except psycopg.Error as exc:
        raise CacheError(f"cannot connect to the cache {redact(url)}: {_one_line(exc)}") from None


def _identities(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Each table's identity column (SQLite's INTEGER PRIMARY KEY): what lastrowid reads."""
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    return {str(t): str(c) for t, c in rows}


# PgReader's execute returns its Cursor where Cache's returns sqlite3's: both are the seam's Rows.
class PgCache(PgReader, Cache):  # type: ignore[misc]
    """The cache in a PostgreSQL database: the :class:`~workbench.cache.backend.Store` writer, and a
    :class:`~workbench.cache.store.Cache` for every command (its own SQL, translated)."""

    def __init__(self, url: str, conn: psycopg.Connection[Any], identities: dict[str, str]) -> None:
        PgReader.__init__(self, conn, identities)
        self.url = url
        self.path = Path(redact(url))  # what messages name; there is no file
        self.db = self  # type: ignore[assignment]  # the store reads through itself
        self.read_only_query = None
        self._moved = set()

    @classmethod
    def open(cls, path: Any, *, create: bool = True, demo: bool = False) -> PgCache:
        """Open the cache in the database at ``path`` (a URL), creating its schema in an empty database."""
        url = str(path)
        conn = _connect(url)
        try:
            version = _schema_version(conn)
            if version is None:
                if not create:
                    raise CacheError(f"no vmwb cache in {redact(url)}: copy or sync one first")
                _create_schema(conn)
            elif version != schema.SCHEMA_VERSION:
                raise CacheError(
                    f"the cache {redact(url)} has schema v{version}, this vmwb v{schema.SCHEMA_VERSION}; "
                    "migrating a PostgreSQL cache is not supported yet"
                )
            cache = cls(url, conn, _identities(conn))
            cache.settle_interrupted_runs()
            return cache
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        PgReader.close(self)

    @property
    def version(self) -> int:
        return _schema_version(self.conn) or 0

    @property
    def is_demo(self) -> bool:
        return False

    def backup(self, target: Path) -> Path:
        raise CacheError(
            f"the cache {self.path} is in PostgreSQL: back it up with pg_dump, or `vmwb cache copy` it "
            "into a SQLite file"
        )

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgCache]:  # type: ignore[override]
        """``BEGIN`` … ``COMMIT``, reentrant as the SQLite cache's: an inner block joins the outer one."""
        if self.in_transaction:
            yield self
            return
        try:
            self.conn.execute("BEGIN")
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            if self.in_transaction:
                with contextlib.suppress(psycopg.Error):
                    self.conn.execute("ROLLBACK")
            raise PostgresError(_one_line(exc)) from exc

    @contextlib.contextmanager
    def bulk_writes(self) -> Iterator[None]:
        yield  # no WAL checkpoints to hold back: the server runs its own

    def checkpoint(self) -> None:
        """The server checkpoints on its own."""

    def analyze(self) -> None:
        self.conn.execute("ANALYZE")

    def refresh_search(self, kinds: Any = None) -> set[str]:
        """No search index on PostgreSQL yet (pg_trgm): the kinds stay pending, nothing is built."""
        return set()

    def reader(self) -> PgReader:  # type: ignore[override]
        """A new read-only connection for another thread."""
        return PgReader(_connect(self.url, readonly=True), self._identities)

    def _write_rows(
        self, kind: str, rows: Sequence[tuple[Any, ...]], consts: tuple[str, ...]
    ) -> None:
        """COPY the rows into this connection's staging table, then merge them in one statement (the
        SQLite cache's multi-row upserts, row by row here, were the cost of an ingest)."""
        table = schema.TABLES[kind]
        staging = f"vmwb_stage_{table}"
        prefix, shared = consts[0], consts[1:]
        last: dict[str, tuple[Any, ...]] = {
            row[0]: row for row in rows
        }  # an id listed twice: the last
        try:
            # Temporary: this session's alone, without constraints, gone with the connection. Made in
            # the task's transaction each time (IF NOT EXISTS), since a rolled-back task takes it along.
            self.conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS "
                f"SELECT {','.join(staged_columns(kind))} FROM {table} WITH NO DATA"
            )
            self.conn.execute(f"TRUNCATE {staging}")
            with self.conn.cursor().copy(f"COPY {staging} FROM STDIN") as out:
                for rid, row in last.items():
                    out.write_row((prefix + rid, *shared, *row))
            self.conn.execute(merge_sql(kind, staging))
        except psycopg.Error as exc:
            raise PostgresError(_one_line(exc)) from exc

    def is_empty(self) -> bool:
        """True when no table of the estate, findings, journal or audit has a row."""
        for table in _copied_tables():
            if self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                return False
        return True


def _schema_version(conn: psycopg.Connection[Any]) -> int | None:
    row = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    found = conn.execute("SELECT value FROM meta WHERE key = %s", (_SCHEMA_KEY,)).fetchone()
    return int(found[0]) if found else None


# ----------------------------------------------------------------------------------------- the schema
def sqlite_schema() -> sqlite3.Connection:
    """SQLite's schema at the current version, in memory: the one definition both backends are made from."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    for migration in schema.MIGRATIONS:
        migration(db)
    return db


def _virtual_tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    )
    return {r[0] for r in rows}


def sqlite_tables(db: sqlite3.Connection) -> list[str]:
    """The real tables of SQLite's schema (not the search indexes and their shadow tables)."""
    virtual = _virtual_tables(db)
    names = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY rowid"
        )
    ]
    return [
        n for n in names if n not in virtual and not any(n.startswith(v + "_") for v in virtual)
    ]


def _table_ddl(db: sqlite3.Connection, table: str) -> str:
    cols = db.execute(f"PRAGMA table_info({table})").fetchall()
    pk = [c[1] for c in sorted(cols, key=lambda c: c[5]) if c[5]]
    parts = []
    for _cid, name, typ, notnull, default, in_pk in cols:
        if pk == [name] and typ.upper() == "INTEGER":
            parts.append(f"{name} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            continue
        text = f"{name} {_TYPES[typ.upper()]}"
        if text.endswith("TEXT"):
            text += ' COLLATE "C"'  # SQLite's BINARY order, whatever the cluster's locale
        if notnull:
            text += " NOT NULL"
        if default is not None:
            text += f" DEFAULT {default}"
        if in_pk and len(pk) == 1:
            text += " PRIMARY KEY"
        parts.append(text)
    if len(pk) > 1:
        parts.append(f"PRIMARY KEY ({', '.join(pk)})")
    for _seq, index, unique, origin, _partial in db.execute(f"PRAGMA index_list({table})"):
        if unique and origin == "u":
            names = [r[2] for r in db.execute(f"PRAGMA index_info({index})")]
            parts.append(f"UNIQUE ({', '.join(names)})")
    return f"CREATE TABLE {table} (\n  " + ",\n  ".join(parts) + "\n)"


# What SQLite does by trigger, PostgreSQL does by these (the same effects; tests/postgres proves them).
_TRIGGERS = r"""
CREATE FUNCTION vmwb_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION vmwb_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION vmwb_append_only();
CREATE FUNCTION vmwb_finding_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE finding_counts SET n = n - 1 WHERE check_id = OLD.check_id AND severity = OLD.severity
      AND area = COALESCE(OLD.area, '') AND status = OLD.status;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO finding_counts (check_id, severity, area, status, n)
    VALUES (NEW.check_id, NEW.severity, COALESCE(NEW.area, ''), NEW.status, 1)
    ON CONFLICT (check_id, severity, area, status) DO UPDATE SET n = finding_counts.n + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER finding_counts_insert AFTER INSERT ON findings
  FOR EACH ROW EXECUTE FUNCTION vmwb_finding_counts();
CREATE TRIGGER finding_counts_update AFTER UPDATE OF check_id, severity, area, status ON findings
  FOR EACH ROW WHEN (OLD.check_id IS DISTINCT FROM NEW.check_id OR OLD.severity IS DISTINCT FROM NEW.severity
    OR OLD.area IS DISTINCT FROM NEW.area OR OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION vmwb_finding_counts();
CREATE TRIGGER finding_counts_delete AFTER DELETE ON findings
  FOR EACH ROW EXECUTE FUNCTION vmwb_finding_counts();
"""

# SQLite's triggers the statements above stand for: a new one must get its PostgreSQL twin.
SQLITE_TRIGGERS = frozenset(
    {
        "audit_log_no_update",
        "audit_log_no_delete",
        "finding_counts_insert",
        "finding_counts_update",
        "finding_counts_delete",
    }
)


def schema_statements() -> list[str]:
    """PostgreSQL's schema, from SQLite's: compatibility functions, tables, indexes, views, triggers."""
    db = sqlite_schema()
    try:
        triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
        if triggers != SQLITE_TRIGGERS:
            raise RuntimeError(
                f"SQLite triggers without a PostgreSQL twin: {triggers ^ SQLITE_TRIGGERS}"
            )
        tables = sqlite_tables(db)
        stmts = [pg_sql.COMPAT_SQL]
        stmts += [_table_ddl(db, t) for t in tables]
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL ORDER BY rowid"
        ):
            stmts.append(sql)
        for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type='view' ORDER BY rowid"):
            stmts.append(pg_sql.translate(sql).sql.replace("%%", "%"))
        stmts.append(_TRIGGERS)
        return stmts
    finally:
        db.close()


def _copied_tables() -> list[str]:
    db = sqlite_schema()
    try:
        return sqlite_tables(db)
    finally:
        db.close()


def _create_schema(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        for stmt in schema_statements():
            conn.execute(stmt.encode())  # bytes: no placeholder processing of the bodies' '%'
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('cache_id', %s), (%s, %s)",
            (uuid.uuid4().hex, _SCHEMA_KEY, str(schema.SCHEMA_VERSION)),
        )
        conn.execute(
            "INSERT INTO search_pending (kind) VALUES " + ", ".join(["(%s)"] * len(schema.TABLES)),
            list(schema.TABLES),
        )

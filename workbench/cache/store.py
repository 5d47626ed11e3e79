"""The inventory cache: one SQLite file, opened safely, migrated with a backup, written one task at a time.

Writes go through one connection (the sync engine's); readers open their own (one per thread). A task's rows are
replaced atomically: rows the task wrote before and did not see now are removed in the same transaction, and
nothing is touched when a task fails (its rows stay, its scope is marked stale with the error).
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from workbench import model
from workbench.cache import schema, search
from workbench.cache.connection import (
    AUTOCHECKPOINT_PAGES,
    BULK_AUTOCHECKPOINT_PAGES,
    check_sqlite_file,
    connect,
    create_private,
)
from workbench.cache.rows import (
    HASH_AT,
    PreparedTask,
    chunk_sizes,
    prepare,
    task_constants,
    to_json,
    upsert_sql,
)
from workbench.clock import utcnow
from workbench.errors import CacheError

__all__ = ["Cache", "IngestStats"]


@dataclass(slots=True)
class IngestStats:
    added: int = 0
    changed: int = 0
    removed: int = 0
    seen: int = 0


class Cache:
    """An open cache. Use :meth:`open`; close with :meth:`close` or as a context manager."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db
        # The kinds with rows added, changed or removed since the last pop_moved_kinds.
        self._moved: set[str] = set()

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> Cache:
        p = Path(path).expanduser()
        if p.exists():
            check_sqlite_file(p)
        elif create:
            create_private(p)
        else:
            raise CacheError(
                f"no cache at {p}: run `vmwb sync` first, or `vmwb demo --keep`, which leaves a "
                "demo cache and says where (plain `vmwb demo` works in a temporary folder)"
            )
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
        create_private(target)
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

    @contextlib.contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Checkpoint once at the end of many transactions (a sync) instead of every 4 MB of them.

        Each transaction stays atomic and durable in the WAL; readers see every commit as before.
        """
        self.db.execute(f"PRAGMA wal_autocheckpoint={BULK_AUTOCHECKPOINT_PAGES}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            self.checkpoint()

    def checkpoint(self) -> None:
        """Copy the WAL into the file as far as readers allow (PASSIVE: it never waits for them)."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # ----------------------------------------------------------------- sync runs
    def start_run(self, params: dict[str, Any]) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO sync_runs (started_at, status, params) VALUES (?, 'running', ?)",
                (utcnow(), to_json(params)),
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
        output: model.TaskOutput | PreparedTask,
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
        with self.transaction():
            had_rows = self._task_had_rows(scope.scope_id, task)
            for kind in schema.TABLES:
                self._replace_kind(
                    run_id, scope, task, kind, prepared.rows.get(kind, []), now, stats, had_rows
                )
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
        if not (write or gone):  # rows seen again as they were leave the search text as it is
            return
        self._moved.add(kind)
        # A current search index is kept current here, in the rows' transaction. One awaiting its rebuild
        # (a new cache's first sync) is left to it: rebuilding is cheaper than indexing row by row.
        indexed = search.is_current(self.db, kind)
        # Once each: an id the API listed twice is one row, and must be one entry.
        written = (
            [(uid,) for uid in dict.fromkeys(prefix + row[0] for row in write)] if indexed else []
        )
        if indexed:
            search.unindex(self.db, table, [*written, *((uid,) for uid in gone)])
        if write:
            self._write_rows(kind, write, task_constants(scope, task, kind, now))
        if gone:
            stats.removed += len(gone)
            self.db.executemany(f"DELETE FROM {table} WHERE uid=?", [(u,) for u in gone])
            changes.extend((run_id, uid, kind, "removed", now) for uid in gone)
        if written:
            search.index(self.db, table, written)
        if changes:
            self.db.executemany(
                "INSERT INTO resource_changes (run_id, uid, kind, change, at) VALUES (?,?,?,?,?)",
                changes,
            )

    def pop_moved_kinds(self) -> set[str]:
        """The kinds that had rows added, changed or removed since the last call."""
        moved, self._moved = self._moved, set()
        return moved

    def _write_rows(
        self, kind: str, rows: Sequence[tuple[Any, ...]], consts: tuple[str, ...]
    ) -> None:
        """Upsert ``rows``, grouped by which of their values are None, many rows per statement.

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
            values = operator.itemgetter(*keep) if len(keep) > 1 else lambda row: (row[0],)
            start = 0
            for size in chunk_sizes(len(group)):
                params = list(consts)
                for row in group[start : start + size]:
                    params.extend(values(row))
                self.db.execute(upsert_sql(kind, keep, size), params)
                start += size

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
                (
                    run_id,
                    uid,
                    now,
                    st.last_install_at,
                    st.missing_count,
                    st.failed_count,
                    st.critical_missing,
                )
            )
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
                scope.scope_id,
                task,
                scope.provider,
                scope.account,
                scope.region,
                scope.label,
                status,
                now,
                now if ok else None,
                error,
                resources,
                run_id,
            ),
        )
        self.db.execute(
            "INSERT INTO scope_runs (run_id, scope_id, task, status, error, started_at, "
            "finished_at, resources) VALUES (?,?,?,?,?,?,?,?)",
            (run_id, scope.scope_id, task, status, error, started_at, now, resources or 0),
        )

    # ----------------------------------------------------------------- search index
    def refresh_search(self, kinds: Iterable[str] | None = None) -> set[str]:
        """Build the search index of the kinds awaiting one (or of ``kinds``); returns those built.

        After a kind's first build every write keeps its index current (see :mod:`workbench.cache.search`),
        so after a sync of an established cache there is nothing to do here.
        """
        todo = set(search.pending(self.db) if kinds is None else kinds)
        for kind in sorted(todo):
            with self.transaction():
                search.rebuild(self.db, kind)
        return todo

    def analyze(self) -> None:
        """Refresh the planner's statistics: without them SQLite guesses every index equally selective, and
        the checks' plans depend on knowing which are not. A full ANALYZE (~0.7 s at a million resources):
        a sampled one (``analysis_limit``) took ~1,000 rows per value for columns such as state, where
        there were 110,000, and the planner then walked those indexes instead of scanning."""
        self.db.execute("PRAGMA analysis_limit=0")
        self.db.execute("ANALYZE")

    # ----------------------------------------------------------------- reading
    def scope_status(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM scope_status ORDER BY scope_id, task").fetchall()

    def count(self, kind: str) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {schema.TABLES[kind]}").fetchone()[0])

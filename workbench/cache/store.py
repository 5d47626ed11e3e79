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
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from workbench import model
from workbench.cache import backend, schema, search, versions
from workbench.cache.connection import (
    APPLICATION_ID,
    AUTOCHECKPOINT_PAGES,
    BULK_AUTOCHECKPOINT_PAGES,
    DEMO_APPLICATION_ID,
    READ_ONLY_URIS,
    CacheFile,
    apply_pragmas,
    connect,
    create_private,
    identify,
    is_file_error,
    open_raw,
    sqlite_error,
    writable,
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
from workbench.process_owner import Owner

__all__ = ["KEPT_MARK", "UNKNOWN_MARK", "Cache", "IngestStats"]

# A stale row's hash starts with one of these, so the next answer that reads it rewrites it (clearing the
# mark) even when its content is the same; extra.stale says why: {"error", "since", "kept"}.
KEPT_MARK = "kept:"  # the row as the cache knew it; this sync could not read it
UNKNOWN_MARK = "unknown:"  # never known: what the answer told, the unread parts None
_MARK_KEPT = (
    "UPDATE {table} SET extra=json_set(COALESCE(extra, '{{}}'), '$.stale', json_object('error', ?1, "
    "'since', COALESCE(json_extract(extra, '$.stale.since'), ?2), 'kept', json('true'))), "
    "hash=CASE WHEN hash LIKE 'kept:%' THEN hash ELSE 'kept:' || COALESCE(hash, '') END, last_seen=?3 "
    "WHERE uid=?4"
)
_MARK_UNKNOWN = (
    "UPDATE {table} SET extra=json_set(COALESCE(extra, '{{}}'), '$.stale', json_object('error', ?1, "
    "'since', ?2, 'kept', json('false'))), hash='unknown:' || COALESCE(hash, '') WHERE uid=?3"
)


@dataclass(slots=True)
class IngestStats:
    added: int = 0
    changed: int = 0
    removed: int = 0
    seen: int = 0
    kept: int = 0  # rows the answer could not read now, kept as the cache knew them (marked stale)
    unknown: int = 0  # rows never known, stored with what the answer told (marked stale)
    stale_error: str | None = None  # the first error of a kept row

    @property
    def kept_error(self) -> str | None:
        """What the operator is told when rows were kept: how many, and the first call's error."""
        return f"{self.kept} kept from an earlier sync: {self.stale_error}" if self.kept else None


def _wal_size(path: Path) -> int:
    """The size of the cache's -wal (0 when there is none): a stat, never an open of a file SQLite holds."""
    try:
        return (path.parent / f"{path.name}-wal").stat().st_size
    except OSError:
        return 0


class Cache:
    """An open cache. Use :meth:`open`; close with :meth:`close` or as a context manager."""

    def __init__(
        self, path: Path, db: sqlite3.Connection, *, read_only_query: str | None = None
    ) -> None:
        self.path = path
        self.db = db
        # Set when this process may not write the file (read-only media or permissions): how it was opened.
        self.read_only_query = read_only_query
        # The kinds with rows added, changed or removed since the last pop_moved_kinds.
        self._moved: set[str] = set()

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, create: bool = True, demo: bool = False
    ) -> Cache:
        """Open (or create) the cache at ``path``; ``demo`` marks a new cache as a demo one.

        The one factory of both backends: a ``postgresql://`` URL opens the cache in that database
        (:class:`~workbench.cache.postgres.PgCache`), anything else the SQLite file. The file is identified
        through SQLite before any pragma or migration touches it: a file that is not a vmwb cache is refused
        and left as it was (see :mod:`workbench.cache.connection`).
        """
        if backend.is_url(path):
            from workbench.cache.postgres import (
                PgCache,
            )  # psycopg is loaded only for a PostgreSQL cache

            return PgCache.open(str(path), create=create)
        p = Path(path).expanduser()
        if not p.exists():
            if not create:
                raise CacheError(
                    f"no cache at {p}: run `vmwb sync` first, or `vmwb demo --keep`, which leaves a "
                    "demo cache and says where (plain `vmwb demo` works in a temporary folder)"
                )
            create_private(p)
        elif not writable(p):
            return cls._open_read_only(p)
        db: sqlite3.Connection | None = None
        try:
            db = open_raw(p)
            found = identify(db, p)
            cache = cls(p, apply_pragmas(db))
            cache._migrate(found, demo=demo)
            cache.settle_interrupted_runs()  # what every listing of the runs (CLI, TUI) then shows
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise sqlite_error(exc, p) from exc
        except BaseException:
            if db is not None:
                db.close()
            raise
        return cache

    @classmethod
    def _open_read_only(cls, p: Path) -> Cache:
        """A cache this process may not write, for reading: every write is refused by SQLite (one line)."""
        error: CacheError | None = None
        for query in READ_ONLY_URIS:
            if query != READ_ONLY_URIS[0] and _wal_size(p):
                # immutable would not read the -wal: its commits would be missing from what is shown
                raise CacheError(
                    f"the cache {p} is read-only and its last changes are still in {p.name}-wal, "
                    "which SQLite can only read with a writable folder; copy the cache with its -wal "
                    "to a writable folder"
                )
            try:
                db = connect(p, readonly=True, query=query)
            except CacheError as exc:
                error = exc
                continue
            try:
                found = identify(db, p)
            except sqlite3.Error as exc:
                db.close()
                if exc.sqlite_errorname.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
                    # A WAL cache whose folder may not be written has no -shm for mode=ro (on a read-only
                    # file system CANTOPEN, without permission READONLY_DIRECTORY): immutable reads it.
                    error = sqlite_error(exc, p)
                    continue
                raise sqlite_error(exc, p) from exc
            except BaseException:
                db.close()
                raise
            if found.version != schema.SCHEMA_VERSION or found.state in ("new", "adopted"):
                db.close()
                raise CacheError(
                    f"the cache {p} is read-only and needs an upgrade this vmwb cannot write "
                    f"(schema v{found.version}, this vmwb reads v{schema.SCHEMA_VERSION}); "
                    "copy it to a writable folder"
                )
            return cls(p, db, read_only_query=query)
        assert error is not None
        raise error

    @property
    def read_only_note(self) -> str | None:
        """The one line an operator is told when the cache is open read-only, else None."""
        if self.read_only_query is None:
            return None
        return (
            f"the cache {self.path} is read-only (read-only file system or no write permission): "
            "reading only (sync, fix, mute and imports refuse; scan shows its last findings)"
        )

    def refuse_read_only(self, action: str) -> None:
        """:class:`CacheError` (one line, nothing written) when the cache is open read-only."""
        if self.read_only_query is not None:
            raise CacheError(
                f"the cache {self.path} is read-only (read-only file system or no write permission): "
                f"{action} writes to it, so nothing was done; use a writable --db"
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reader(self) -> sqlite3.Connection:
        """A new read-only connection for another thread."""
        if self.read_only_query is not None:
            return connect(self.path, readonly=True, query=self.read_only_query)
        return connect(self.path, readonly=True)

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, found: CacheFile, *, demo: bool = False) -> None:
        current = found.version
        if current > schema.SCHEMA_VERSION:
            raise CacheError(
                f"the cache {self.path} has schema v{current}, newer than this vmwb "
                f"(v{schema.SCHEMA_VERSION}); upgrade vmwb or use another --db"
            )
        if current == schema.SCHEMA_VERSION and found.state != "adopted":
            return
        if current > 0 and current < schema.SCHEMA_VERSION:
            self.backup(self.path.with_name(f"{self.path.name}.v{current}.bak"))
        mark = DEMO_APPLICATION_ID if found.state == "demo" or (demo and current == 0) else None
        with self.transaction():
            # The mark goes in with the first migration: a cache is never half ours.
            self.db.execute(f"PRAGMA application_id = {mark or APPLICATION_ID}")
        for version in range(current, schema.SCHEMA_VERSION):
            with self.transaction():
                schema.MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    @property
    def is_demo(self) -> bool:
        return int(self.db.execute("PRAGMA application_id").fetchone()[0]) == DEMO_APPLICATION_ID

    def backup(self, target: Path) -> Path:
        """A consistent copy of the cache (SQLite's online backup) in a new file, mode 0600.

        A file already at ``target`` (an earlier backup someone may have open) is never moved or replaced:
        the copy goes to the first free ``target.N``.
        """
        candidate, n = target, 0
        while True:
            try:
                create_private(candidate)
                break
            except CacheError:
                if not candidate.exists():
                    raise
                n += 1
                candidate = target.with_name(f"{target.name}.{n}")
        dst = sqlite3.connect(candidate)
        try:
            self.db.backup(dst)
        finally:
            dst.close()
        return candidate

    # The reader half of :class:`workbench.cache.backend.Store`: read functions take the cache or a connection.
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.db.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.db.executemany(sql, parameters)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; reentrant: inside a transaction already held, it joins that one
        (the outermost commits, and an error that leaves an inner block rolls the whole of it back). A full
        disk, a read-only or failing file system or a damaged file is raised as one :class:`CacheError`
        line (nothing was written)."""
        if self.db.in_transaction:
            yield self.db
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            if is_file_error(exc):
                raise sqlite_error(exc, self.path) from exc
            raise

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
        """A new ``running`` row owned by this process; runs of processes that are gone are settled first."""
        self.settle_interrupted_runs()
        owner = Owner.current()
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO sync_runs (started_at, status, params, owner_pid, owner_start, "
                "owner_host, heartbeat_at) VALUES (?, 'running', ?, ?, ?, ?, ?)",
                (utcnow(), to_json(params), owner.pid, owner.start, owner.host, owner.heartbeat),
            )
        return int(cur.lastrowid or 0)

    def heartbeat(self, run_id: int) -> None:
        """The run's owner is alive (for owners on another host, judged by this alone)."""
        with self.transaction():
            self.db.execute(
                "UPDATE sync_runs SET heartbeat_at=? WHERE run_id=?", (utcnow(), run_id)
            )

    def settle_interrupted_runs(self) -> list[int]:
        """Mark ``interrupted`` every ``running`` run whose owner process is gone (killed, crashed, rebooted);
        a run whose owner lives is left alone. Returns the runs settled."""
        running = self.db.execute(
            "SELECT run_id, owner_pid, owner_start, owner_host, heartbeat_at FROM sync_runs "
            "WHERE status = 'running'"
        ).fetchall()
        gone = [int(r[0]) for r in running if Owner(r[1], r[2], r[3], r[4]).gone()]
        if gone:
            with self.transaction():
                self.db.executemany(
                    "UPDATE sync_runs SET status='interrupted', finished_at=? "
                    "WHERE run_id=? AND status='running'",
                    [(utcnow(), run_id) for run_id in gone],
                )
        return gone

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
        kept_uids: set[str] = set()
        with self.transaction():
            had_rows = self._task_had_rows(scope.scope_id, task)
            for kind in schema.TABLES:  # (snapshots and images before grants: see _grants_of)
                self._replace_kind(
                    run_id,
                    scope,
                    task,
                    kind,
                    prepared.rows.get(kind, []),
                    now,
                    stats,
                    had_rows,
                    prepared.stale.get(kind, {}),
                    kept_uids,
                )
            self._replace_relations(scope, task, prepared.relations, kept_uids)
            self._record_patch_history(run_id, scope, prepared.patch_states, now)
            # What the cache knew is still shown, but this sync could not confirm all of it: stale.
            status = "stale" if stats.kept else "ok"
            self._set_status(
                run_id, scope, task, status, stats.kept_error, stats.seen, started_at or now, now
            )
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
        stale: dict[str, str],
        kept_uids: set[str],
    ) -> None:
        table = schema.TABLES[kind]
        old: dict[str, tuple[str, str]] = {
            rid: (uid, digest or "")
            for rid, uid, digest in self.db.execute(
                f"SELECT id, uid, hash FROM {table} WHERE scope_id=? AND task=?",
                (scope.scope_id, task),
            )
        }
        if not rows and not old:
            return
        # Stale records (a call behind them failed): the row the cache knew is kept as it was, marked
        # stale; one it never knew (or knew only as unknown) is written as the answer told, marked too.
        keep: dict[str, str] = {}  # id → uid of old rows that stay as they were
        unknown: list[tuple[str, str, str]] = []  # (error, since, uid)
        kept: list[tuple[str, str, str, str]] = []  # (error, since, now, uid)
        prefix = model.make_uid(scope.provider, scope.account, scope.region, kind, "")
        for rid, error in stale.items():
            prev = old.get(rid)
            if prev is not None and not prev[1].startswith(UNKNOWN_MARK):
                keep[rid] = prev[0]
                kept.append((error, now, now, prev[0]))
                stats.stale_error = stats.stale_error or error
            else:
                unknown.append((error, now, prefix + rid))
        if keep:
            rows = [row for row in rows if row[0] not in keep]
            kept_uids.update(keep.values())
            stats.kept += len(keep)
        stats.unknown += len(unknown)
        if kind == "grant" and kept_uids:  # a kept snapshot or image keeps the grants it had
            keep.update(self._grants_of(scope.scope_id, task, kept_uids))
        changes: list[tuple[int, str, str, str, str]] = []
        stats.seen += len(rows) + len(keep)
        moved: list[tuple[str, Any]] = []  # (uid, new row) of rows added or changed: their history
        if not old:  # a first load: every row is new, nothing to compare
            stats.added += len(rows)
            write = rows
            if log_changes:
                changes = [(run_id, prefix + row[0], kind, "added", now) for row in rows]
            gone: list[str] = []
            if rows and versions.prefix_has_history(self.db, prefix):  # back after a removal
                moved = [(prefix + row[0], row) for row in rows]
        else:
            seen: set[str] = set(keep)
            write = []
            unchanged: list[tuple[str, str]] = []
            for row in rows:
                rid, digest = row[0], row[HASH_AT]
                seen.add(rid)
                prev = old.get(rid)
                if prev is None:
                    stats.added += 1
                    write.append(row)
                    moved.append((prefix + rid, row))
                    if log_changes:
                        changes.append((run_id, prefix + rid, kind, "added", now))
                elif prev[1] == digest:
                    unchanged.append((now, prev[0]))
                elif prev[1].partition(":")[2] == digest:
                    write.append(row)  # read again as it was when marked stale: only the mark goes
                else:
                    stats.changed += 1
                    write.append(row)
                    moved.append((prev[0], row))
                    changes.append((run_id, prev[0], kind, "changed", now))
            if unchanged:  # seen again as it was: touching last_seen rewrites no index
                self.db.executemany(f"UPDATE {table} SET last_seen=? WHERE uid=?", unchanged)
            gone = [uid for rid, (uid, _) in old.items() if rid not in seen]
        if kept:
            self.db.executemany(_MARK_KEPT.format(table=table), kept)
        if not (write or gone):  # rows seen again as they were leave the search text as it is
            if unknown:
                self.db.executemany(_MARK_UNKNOWN.format(table=table), unknown)
            return
        self._moved.add(kind)
        history = self._versions(scope, kind, moved, gone, now)  # read before the rows are replaced
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
        if unknown:
            self.db.executemany(_MARK_UNKNOWN.format(table=table), unknown)
        if written:
            search.index(self.db, table, written)
        versions.record(
            self.db, run_id, kind, history
        )  # after the rows: a row SQLite refused goes first
        if changes:
            self.db.executemany(
                "INSERT INTO resource_changes (run_id, uid, kind, change, at) VALUES (?,?,?,?,?)",
                changes,
            )

    def _versions(
        self,
        scope: model.ScopeRef,
        kind: str,
        moved: Sequence[tuple[str, Any]],
        gone: Sequence[str],
        now: str,
    ) -> list[tuple[str, str, dict[str, Any] | None, str | None]]:
        """History of the rows about to be written or removed (before they are): a resource's first change
        or removal records the row it had (dated its first_seen) before the new version or the removal; an
        added one gets a version only when it has history (it was removed before)."""
        had = versions.with_history(self.db, [uid for uid, _ in moved] + list(gone))
        live = {uid for uid, _ in moved} | set(gone)
        first = versions.live_versions(self.db, kind, live - had)
        entries: list[tuple[str, str, dict[str, Any] | None, str | None]] = [
            (uid, seen, v, versions.about(kind, v)) for uid, seen, v in first
        ]
        known = had | {uid for uid, _, _ in first}  # added rows new to the cache need no version
        where = (scope.provider, scope.account, scope.region)
        for uid, row in moved:
            if uid in known:
                v = versions.body(kind, where, row)
                entries.append((uid, now, v, versions.about(kind, v)))
        on = {uid: about for uid, _, _, about in entries if about}
        entries.extend((uid, now, None, on.get(uid)) for uid in gone if uid in known)
        return entries

    def prune_history(self, days: int | None, *, now: str | None = None) -> int:
        """Forget resource versions older than ``days`` (``[policy] history_retention_days``)."""
        if days is None:
            return 0
        with self.transaction():
            return versions.prune(self.db, now or utcnow(), days)

    def _grants_of(self, scope_id: str, task: str, uids: set[str]) -> dict[str, str]:
        """id → uid of the task's grants on the resources ``uids``."""
        return dict(
            self.db.execute(
                "SELECT id, uid FROM grants WHERE scope_id=? AND task=? "
                "AND resource_uid IN (SELECT value FROM json_each(?))",
                (scope_id, task, to_json(sorted(uids))),
            ).fetchall()
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
        self,
        scope: model.ScopeRef,
        task: str,
        rows: list[tuple[str, str, str, str, str]],
        kept_uids: set[str],
    ) -> None:
        # A kept row keeps the relations it had, unless this answer stated its relations anew (an AWS
        # instance whose attributes failed still came with its list entry): a libvirt domain whose XML could
        # not be read has none this time, and its disks and networks are what the cache knew.
        keep = sorted(kept_uids - {row[2] for row in rows})
        self.db.execute(
            "DELETE FROM relations WHERE scope_id=? AND task=? "
            "AND src_uid NOT IN (SELECT value FROM json_each(?))",
            (scope.scope_id, task, to_json(keep)),
        )
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
        ok = (
            resources is not None
        )  # the task's rows landed (a stale task's too: what it could read)
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

"""The seam between vmwb and its database: the one interface every cache backend implements.

Two roles, no more:

- A **reader** (:class:`Reader`) runs statements and hands back rows. Every read function of the core takes
  one (``def entries(db: Reader)``), whichever face calls it: a read-only ``sqlite3.Connection`` a screen or
  a worker thread owns, or the :class:`~workbench.cache.store.Cache` itself, which reads through its writer
  connection. Nothing else of the connection is part of the contract.
- The **writer** (:class:`Store`) is the :class:`~workbench.cache.store.Cache`: a reader that also owns the
  transaction. ``transaction()`` is reentrant: a write function opens one whether or not its caller already
  holds one, and only the outermost commits (or rolls back, on an error anywhere inside). Write functions
  take the store, never a bare connection, so that the transaction they need is always theirs to open.

A second backend (PostgreSQL) implements these two protocols: its reader runs the same SQL (the SQLite
dialect the checks are written in is the contract's language, translated or shared), its store opens
readers for other threads with ``reader()`` and nests transactions the same way. ``sqlite3.Connection`` and
``sqlite3.Cursor`` satisfy :class:`Reader` and :class:`Rows` as they are.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


def is_url(target: object) -> bool:
    """True when ``target`` names a PostgreSQL cache (a libpq URL) rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for messages and a PostgreSQL cache's ``path``."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Rows(Protocol):
    """What a statement returns: rows to iterate or fetch, the column names, the new row's id."""

    @property
    def description(self) -> Any: ...

    @property
    def lastrowid(self) -> int | None: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


@runtime_checkable
class Reader(Protocol):
    """Runs statements: ``?`` or ``:name`` parameters, rows indexable by position and by column name."""

    def execute(self, sql: str, parameters: Any = (), /) -> Rows: ...

    def executemany(self, sql: str, parameters: Any, /) -> Rows: ...


@runtime_checkable
class Store(Reader, Protocol):
    """The writer: a reader that owns the (reentrant) transaction, and opens readers for other threads."""

    path: Path

    @property
    def in_transaction(self) -> bool:
        """True inside :meth:`transaction` (an audit entry written then moves the chain head only after the
        outermost commit)."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[Reader]: ...

    def reader(self) -> Reader: ...

    def close(self) -> None: ...

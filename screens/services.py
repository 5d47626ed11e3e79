"""What the app is given by its factory: the cache, the config, the operator's role, the demo estate.

Built by :func:`workbench.screens.app.create_app` (the CLI and the tests use the same factory); nothing here
opens a connection until asked.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.cache.connection import connect
from workbench.config import Config


@dataclass(slots=True)
class Services:
    cache_path: Path
    config: Config
    role: str
    #: Read-only forced by --read-only or the config: the session toggle cannot turn it off.
    read_only_forced: bool
    #: A running demo estate (its emulators live as long as the app) or a builder to run at start-up.
    demo: Any = None
    demo_builder: Callable[..., Any] | None = None
    demo_label: str = ""
    _ui_reader: sqlite3.Connection | None = field(default=None, repr=False)

    def reader(self) -> sqlite3.Connection:
        """A new read-only connection (``mode=ro``); the caller closes it (workers: one per thread)."""
        return connect(self.cache_path, readonly=True)

    def ui_reader(self) -> sqlite3.Connection:
        """The UI thread's one shared read-only connection, opened once, closed with the app; never close
        it. Called from another thread (a worker) it gives that thread a new connection instead (SQLite
        connections stay in their thread), which the caller closes."""
        if threading.current_thread() is not threading.main_thread():
            return self.reader()
        if self._ui_reader is None:
            self._ui_reader = connect(self.cache_path, readonly=True)
        return self._ui_reader

    def close(self) -> None:
        if self._ui_reader is not None:
            self._ui_reader.close()
            self._ui_reader = None
        close = getattr(self.demo, "close", None)
        if close is not None:
            close()
            self.demo = None

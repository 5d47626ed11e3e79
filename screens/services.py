"""What the app is given by its factory: the cache, the config, the operator's role, the demo estate.

Built by :func:`workbench.screens.app.create_app` (the CLI and the tests use the same factory); nothing here
opens a connection until asked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
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

    def reader(self) -> sqlite3.Connection:
        """A new read-only connection (``mode=ro``); the caller closes it."""
        return connect(self.cache_path, readonly=True)

    def close(self) -> None:
        close = getattr(self.demo, "close", None)
        if close is not None:
            close()
            self.demo = None

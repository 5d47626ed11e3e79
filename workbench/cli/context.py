"""What every subcommand needs: the config, the cache, the operator's role, opened only when asked for."""

from __future__ import annotations

import argparse
import getpass
from dataclasses import dataclass, field
from pathlib import Path

from workbench import config as config_mod
from workbench.cache.store import Cache


@dataclass(slots=True)
class CliContext:
    db_path: Path
    config_path: str | None
    read_only_flag: bool = False
    role_flag: str | None = None
    _config: config_mod.Config | None = None
    _cache: Cache | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        db = Path(args.db).expanduser() if args.db else config_mod.default_db_path()
        return cls(db, args.config, bool(args.read_only), args.role)

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            self._config = config_mod.load(self.config_path)
            from workbench import audit

            # Where the audit chain's key lives when the machine has no keyring (see workbench/audit.py).
            # Every command that writes or checks the audit log reads the config (role, user) first.
            audit.use_key_file(self._config.provider("audit").get("key_file"))
        return self._config

    @property
    def role(self) -> str:
        return self.role_flag or self.config.role

    @property
    def read_only(self) -> bool:
        return self.read_only_flag or self.config.read_only

    @property
    def user(self) -> str:
        return self.config.user or getpass.getuser()

    def cache(self, *, create: bool = True) -> Cache:
        if self._cache is None:
            self._cache = Cache.open(self.db_path, create=create)
        return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

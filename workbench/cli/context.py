"""What every subcommand needs: the config, the cache, the operator's role, opened only when asked for.

Privilege can only be lowered, never raised: the effective role is the least of the default config file's role,
the role of the file named by ``--config`` (or ``$VMWB_CONFIG``) and ``--role``; read-only is on when any of
them turns it on. So ``--role operator`` cannot lift ``role = "viewer"``, and ``--config`` pointing at another
file cannot drop ``read_only = true``. On an operator's own machine this is a guard against mistakes; the
security boundary is the fix identity's cloud permissions (README, "Roles").
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass, field
from pathlib import Path

from workbench import config as config_mod
from workbench.cache.backend import is_url, redact
from workbench.cache.store import Cache
from workbench.errors import ConfigError


def least_role(*roles: str | None) -> str:
    """The least privileged of ``roles`` (None: not given); operator when none is given."""
    given = [r for r in roles if r is not None]
    return min(given, key=config_mod.ROLES.index) if given else config_mod.ROLES[-1]


def checked(config: config_mod.Config) -> config_mod.Config:
    """``config`` once its ``[checks.<ID>]`` tables are validated against the catalogue (the rest of the file
    was validated when it was read)."""
    if config.sections.get("checks"):
        from workbench.scan.loader import check_config

        check_config(config)
    return config


@dataclass(slots=True)
class CliContext:
    db_flag: str | None  # --db: a file or a postgresql:// URL
    config_path: str | None
    read_only_flag: bool = False
    role_flag: str | None = None
    _config: config_mod.Config | None = None
    _cache: Cache | None = field(default=None, repr=False)
    _privilege: list[config_mod.Config] | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        return cls(args.db, args.config, bool(args.read_only), args.role)

    @property
    def db_target(self) -> str:
        """The cache: ``--db``, ``$VMWB_DB``, ``[cache] url`` or the default file (see config.cache_target)."""
        return config_mod.cache_target(self.db_flag, self.config.cache_url)

    @property
    def db_path(self) -> Path:
        """The cache as messages name it: its file, or its URL without the password."""
        target = self.db_target
        return Path(redact(target)) if is_url(target) else Path(target)

    @property
    def on_postgres(self) -> bool:
        return is_url(self.db_target)

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            config = checked(config_mod.load(self.config_path))
            # Deprecated keys still work: say once where they belong now.
            for note in config.notes:
                print(f"vmwb: note: {note}", file=sys.stderr)
            from workbench import audit

            # Where vmwb's keys live when the machine has no keyring (see workbench/secrets.py and audit.py).
            # Every command that writes or checks the audit log reads the config (role, user) first.
            self._use_key_folder(config)
            audit.use_key_file(config.provider("audit").get("key_file"))
            self._config = config
        return self._config

    def _use_key_folder(self, config: config_mod.Config) -> None:
        """``[general] key_folder`` as this process's keyring, never the cache's own folder."""
        from workbench import secrets

        if config.key_folder is None:
            secrets.use_folder(None)
            return
        folder = Path(config.key_folder).expanduser()
        target = config_mod.cache_target(self.db_flag, config.cache_url)
        if not is_url(target) and folder.resolve() == Path(target).resolve().parent:
            raise ConfigError(
                f"[general] key_folder {folder} is the cache's folder: keep the keys elsewhere, "
                "or whoever copies the cache copies them"
            )
        secrets.use_folder(folder)

    def _privilege_configs(self) -> list[config_mod.Config]:
        """The config in use, and the default config file too when another file was named: either may
        lower privilege. A default file that does not parse is an error (failing closed). Read once: the
        files do not change under one command, and every role or read-only question asks again."""
        if self._privilege is not None:
            return self._privilege
        configs = [self.config]
        default = config_mod.user_config_path()
        named = self.config.path
        if named is not None and default.exists() and default.resolve() != named.resolve():
            configs.append(checked(config_mod.load(default)))
        self._privilege = configs
        return configs

    @property
    def role(self) -> str:
        """The effective role: the least of every config's role and ``--role``."""
        return least_role(*(c.role for c in self._privilege_configs()), self.role_flag)

    @property
    def read_only(self) -> bool:
        """Read-only when the flag or any config says so."""
        return self.read_only_flag or any(c.read_only for c in self._privilege_configs())

    @property
    def user(self) -> str:
        return self.config.user or getpass.getuser()

    def cache(self, *, create: bool = True, write: str | None = None) -> Cache:
        """The cache, opened once. ``write``: what the command writes (``"sync"``), so that a read-only
        cache refuses it up front in one line; a reading command is told once that the cache is read-only."""
        if self._cache is None:
            self._cache = Cache.open(self.db_target, create=create)
            if self._cache.read_only_note and write is None:
                print(f"vmwb: note: {self._cache.read_only_note}", file=sys.stderr)
        if write is not None:
            self._cache.refuse_read_only(write)
        return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

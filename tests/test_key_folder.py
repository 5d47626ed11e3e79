"""``[general] key_folder``: vmwb's keyring as a folder of 0600 files, for machines with no OS keyring."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from workbench import secrets
from workbench.cli.context import CliContext
from workbench.errors import ConfigError


@pytest.fixture
def no_keyring(memory_keyring) -> None:  # type: ignore[no-untyped-def]
    keyring.set_keyring(fail.Keyring())


def _ctx(tmp_path: Path, folder: Path) -> CliContext:
    config = tmp_path / "c.toml"
    config.write_text(f'[general]\nkey_folder = "{folder}"\n', encoding="utf-8")
    return CliContext(tmp_path / "cache" / "c.db", str(config))


def test_a_key_folder_is_the_keyring_where_there_is_none(no_keyring: None, tmp_path: Path) -> None:
    with pytest.raises(secrets.SecretStoreError, match="key_folder"):
        secrets.ensure_random_key("audit-chain")  # the one line says what to do
    folder = tmp_path / "keys"
    assert _ctx(tmp_path, folder).config.key_folder == str(folder)
    key = secrets.ensure_random_key("audit-chain")
    assert secrets.ensure_random_key("audit-chain") == key  # made once, then read
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "vmwb--audit-chain").stat().st_mode & 0o777) == "0o600"
    secrets.set_secret("vsphere:vc1.example.com", "s3cret")
    assert secrets.get_secret("vsphere:vc1.example.com") == "s3cret"
    assert secrets.delete_secret("vsphere:vc1.example.com") is True
    assert secrets.delete_secret("vsphere:vc1.example.com") is False


def test_a_key_folder_open_to_others_is_refused(no_keyring: None, tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    _ctx(tmp_path, folder).config  # noqa: B018 - reading the config installs the folder
    folder.chmod(0o755)
    with pytest.raises(secrets.SecretStoreError, match="chmod 700"):
        secrets.get_secret("audit-chain")


def test_the_cache_folder_is_never_the_key_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is the cache's folder"):
        _ctx(tmp_path, tmp_path / "cache").config  # noqa: B018

"""Credentials in the operating system's keyring, under the service ``vmwb``.

Secrets (a vCenter password, an Azure client secret) never go into the cache or the config file: both are
plain files that get copied, backed up and attached to tickets. ``keyring`` picks the platform's store (Secret
Service, macOS Keychain, Windows Credential Locker); on a headless box there is often none, and keyring's own
error for that is cryptic, so every failure here becomes one :class:`SecretStoreError` line that says what to do.
There, ``[general] key_folder`` names a folder of the operator's own that serves as the keyring instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

SERVICE = "vmwb"

_NO_BACKEND_HINT = (
    "no working keyring backend: start a Secret Service (gnome-keyring, KWallet), select another "
    "backend (PYTHON_KEYRING_BACKEND), or set [general] key_folder to a folder of your own (0700, "
    "outside the cache folder) for vmwb's keys"
)

#: ``[general] key_folder``: a folder of 0600 files used instead of the OS keyring (workbench/key_folder.py).
_folder: Path | None = None


class SecretStoreError(WorkbenchError):
    """The keyring is missing or refused the operation."""


def use_folder(path: str | os.PathLike[str] | None) -> None:
    """Keep vmwb's secrets in this folder instead of the OS keyring (``[general] key_folder``); None: the
    keyring. The folder is created (0700) when it does not exist."""
    global _folder
    if path is None:
        _folder = None
        return
    from workbench.key_folder import make_folder

    try:
        _folder = make_folder(Path(path).expanduser())
    except OSError as exc:
        raise SecretStoreError(f"the key folder {path} cannot be made: {exc.strerror}") from None


def _keyring() -> Any:
    if _folder is not None:
        from workbench.key_folder import FolderKeyring

        return FolderKeyring(_folder)
    # Imported on use: keyring probes backends at import, which is slow and may touch D-Bus.
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise SecretStoreError(_NO_BACKEND_HINT)
    return backend


def backend_name() -> str:
    """The keyring backend in use, for the settings screen; raises when there is none."""
    backend = _keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise SecretStoreError("a secret needs a name (e.g. vsphere:vc1.example.com)")


def set_secret(name: str, value: str) -> None:
    """Store ``value`` under ``name``, replacing any previous value."""
    _check_name(name)
    from keyring import errors

    kr = _keyring()
    try:
        kr.set_password(SERVICE, name, value)
    except errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring refused to store {name!r}: {exc}") from exc


def get_secret(name: str) -> str | None:
    """The stored value, or None when there is none."""
    _check_name(name)
    from keyring import errors

    kr = _keyring()
    try:
        value = kr.get_password(SERVICE, name)
    except errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring refused to read {name!r}: {exc}") from exc
    return value if value is None else str(value)


def delete_secret(name: str) -> bool:
    """Remove the secret; False when there was none."""
    _check_name(name)
    from keyring import errors

    kr = _keyring()
    try:
        kr.delete_password(SERVICE, name)
    except errors.PasswordDeleteError:
        return False
    except errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring refused to delete {name!r}: {exc}") from exc
    return True


def ensure_random_key(name: str, nbytes: int = 32) -> bytes:
    """A random key kept in the keyring under ``name``, generated on first use (HMAC keys and the like).

    The cache never holds it, so whoever can write the cache file cannot forge what the key authenticates.
    """
    import base64
    import binascii
    import secrets as random_source

    stored = get_secret(name)
    if stored is not None:
        try:
            return base64.b64decode(stored, validate=True)
        except binascii.Error as exc:
            raise SecretStoreError(
                f"the key {name!r} in the keyring is not base64 ({exc})"
            ) from exc
    key = random_source.token_bytes(nbytes)
    set_secret(name, base64.b64encode(key).decode("ascii"))
    return key

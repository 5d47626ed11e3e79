"""The demo's own throw-away keys: a keyring in a 0600 folder beside the demo cache.

The demo estate is disposable, so its keys are too: the audit chain's key, the image signing key and the
secret-fingerprint key live in files next to the demo cache and go with it, and the user's real keyring is
never written. It also makes the demo work on a headless machine with no keyring backend at all (CI, a fresh
VM over SSH), where the audit log would otherwise refuse every fix.

The audit key is also named in the demo config (``[audit] key_file``), so a ``vmwb --config demo.toml``
beside the demo app writes to the same chain.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from workbench.private_files import write_private_text

#: The audit chain's key file inside the demo's key folder (its keyring name, ``audit-chain``, as a file).
AUDIT_KEY = "audit-chain.key"


class FolderKeyring(KeyringBackend):
    """One 0600 file per secret in a 0700 folder. Only ever installed by the demo, for its own keys."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, folder: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.folder = folder

    def _path(self, service: str, username: str) -> Path:
        # Names like ``vsphere:vc1.example.com`` become one safe file name each.
        return self.folder / re.sub(r"[^A-Za-z0-9._-]", "_", f"{service}--{username}")

    def get_password(self, service: str, username: str) -> str | None:
        try:
            return self._path(service, username).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def set_password(self, service: str, username: str, password: str) -> None:
        write_private_text(self._path(service, username), password)

    def delete_password(self, service: str, username: str) -> None:
        try:
            self._path(service, username).unlink()
        except FileNotFoundError:
            raise PasswordDeleteError(username) from None


def install(folder: Path) -> Path:
    """Use ``folder`` as this process's keyring and audit key; returns the audit key file's path."""
    import keyring

    from workbench import audit

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key_file = folder / AUDIT_KEY
    if not key_file.exists():
        write_private_text(key_file, base64.b64encode(os.urandom(32)).decode("ascii"))
    keyring.set_keyring(FolderKeyring(folder))
    audit.use_key_file(key_file)
    return key_file

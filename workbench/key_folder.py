"""A keyring in a folder: one 0600 file per secret, for machines with no keyring backend.

Headless machines (CI runners, a VM over SSH, containers) often have no Secret Service, and the audit chain,
the image signing key and the secret fingerprints all need a key. ``[general] key_folder`` names a 0700 folder
that serves as vmwb's keyring instead (:func:`workbench.secrets.use_folder`). It is a plain-file store, so it
is only as safe as the folder's permissions: keep it outside the cache's folder (whoever copies the cache would
copy the keys) and readable by you alone; a folder others can read or enter is refused.

The demo uses one beside its throw-away cache, so its keys are thrown away with it.
"""

from __future__ import annotations

import re
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

from workbench.private_files import write_private_text


class FolderKeyring(KeyringBackend):
    """One 0600 file per secret in a 0700 folder."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, folder: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.folder = folder

    def _path(self, service: str, username: str) -> Path:
        try:
            mode = self.folder.stat().st_mode
        except OSError as exc:
            raise KeyringError(
                f"the key folder {self.folder} cannot be read: {exc.strerror}"
            ) from None
        if mode & 0o077:
            raise KeyringError(
                f"the key folder {self.folder} is open to others: chmod 700 {self.folder}"
            )
        # Names like ``vsphere:vc1.example.com`` become one safe file name each.
        return self.folder / re.sub(r"[^A-Za-z0-9._-]", "_", f"{service}--{username}")

    def get_password(self, service: str, username: str) -> str | None:
        try:
            return self._path(service, username).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyringError(
                f"cannot read {username!r} from {self.folder}: {exc.strerror}"
            ) from None

    def set_password(self, service: str, username: str, password: str) -> None:
        try:
            write_private_text(self._path(service, username), password)
        except OSError as exc:
            raise KeyringError(
                f"cannot write {username!r} to {self.folder}: {exc.strerror}"
            ) from None

    def delete_password(self, service: str, username: str) -> None:
        try:
            self._path(service, username).unlink()
        except FileNotFoundError:
            raise PasswordDeleteError(username) from None


def make_folder(folder: Path) -> Path:
    """Create ``folder`` as a key folder (0700) when it does not exist yet."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder

"""Signing keys for the approved-image registry and the trust root that verifies them.

The private key is an Ed25519 key kept in the OS keyring (service ``vmwb``, name ``image-signing:<key name>``)
through :mod:`workbench.secrets`: never in the cache or the config, which are plain files that get copied.
The public key is exported as PEM and pinned in the config, so a team shares one trust root::

    [images]
    key_name = "default"              # which keyring key signs here
    trusted_keys = ["MCowBQYDK2VwAyEA…", "/etc/vmwb/team-signing.pub.pem"]
    trust_local_key = true            # false: only the pinned keys count (a shared trust root)

A key is named by its ``key_id``: ``ed25519:`` plus the first 32 hex digits of SHA-256 over the raw public key.
Entries name the key id they were signed with; verification looks the id up in the trust root only (an
entry can never bring its own key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import ConfigError, WorkbenchError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from workbench.config import Config

DEFAULT_KEY_NAME = "default"
_SECRET_PREFIX = "image-signing:"


class SigningKeyError(WorkbenchError):
    """No signing key, or a key that cannot be read."""


def _raw_public(pub: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pub: Ed25519PublicKey) -> str:
    return "ed25519:" + hashlib.sha256(_raw_public(pub)).hexdigest()[:32]


def public_pem(pub: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_b64(pub: Ed25519PublicKey) -> str:
    """The DER SubjectPublicKeyInfo as one base64 line: what goes into ``trusted_keys``."""
    from cryptography.hazmat.primitives import serialization

    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


@dataclass(slots=True)
class Signer:
    """A loaded private key and its id."""

    private: Ed25519PrivateKey
    name: str = DEFAULT_KEY_NAME

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def _secret_name(name: str) -> str:
    return _SECRET_PREFIX + (name or DEFAULT_KEY_NAME)


def load_signer(name: str = DEFAULT_KEY_NAME) -> Signer | None:
    """The keyring's signing key, or None when there is none yet."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from workbench import secrets

    stored = secrets.get_secret(_secret_name(name))
    if stored is None:
        return None
    try:
        raw = base64.b64decode(stored, validate=True)
        return Signer(Ed25519PrivateKey.from_private_bytes(raw), name)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError(
            f"the image signing key {name!r} in the keyring is not an Ed25519 key ({exc})"
        ) from exc


def ensure_signer(name: str = DEFAULT_KEY_NAME) -> Signer:
    """The keyring's signing key, generated and stored on first use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from workbench import secrets

    signer = load_signer(name)
    if signer is not None:
        return signer
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    secrets.set_secret(_secret_name(name), base64.b64encode(raw).decode("ascii"))
    return Signer(private, name)


def _is_file(text: str) -> bool:
    try:
        return Path(text).expanduser().is_file()
    except OSError:  # base64 text can be longer than a path may be
        return False


def parse_public_key(spec: str, where: str = "images.trusted_keys") -> Ed25519PublicKey:
    """A trusted key from config: a PEM file path, inline PEM, or base64 (DER SPKI or the raw 32 bytes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = spec.strip()
    try:
        if text.startswith("-----BEGIN"):
            key: Any = serialization.load_pem_public_key(text.encode("ascii"))
        elif text.endswith(".pem") or _is_file(text):
            key = serialization.load_pem_public_key(Path(text).expanduser().read_bytes())
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) == 32:
                key = Ed25519PublicKey.from_public_bytes(raw)
            else:
                key = serialization.load_der_public_key(raw)
    except (OSError, ValueError, binascii.Error, TypeError) as exc:
        raise ConfigError(f"{where}: cannot read the public key {spec[:60]!r}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{where}: {spec[:60]!r} is not an Ed25519 public key")
    return key


@dataclass(slots=True)
class TrustRoot:
    """The public keys whose signatures count, by key id, and where each came from."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def add(self, pub: Ed25519PublicKey, source: str) -> str:
        kid = key_id(pub)
        self.keys[kid] = pub
        self.sources.setdefault(kid, source)
        return kid

    def verify(self, kid: str, signature_b64: str, data: bytes) -> bool | None:
        """True: valid; False: the key is trusted but the signature does not match; None: untrusted key."""
        from cryptography.exceptions import InvalidSignature

        pub = self.keys.get(kid)
        if pub is None:
            return None
        # A key id is the key's own fingerprint, so (kid, signature, data) always verifies the same way:
        # scans check the same signatures in several checks (IMG-11, IMG-12) and in every scan.
        memo_key = (kid, signature_b64, hashlib.sha256(data).digest())
        known = _VERIFIED.get(memo_key)
        if known is not None:
            return known
        try:
            pub.verify(base64.b64decode(signature_b64, validate=True), data)
        except (InvalidSignature, binascii.Error, ValueError):
            valid = False
        else:
            valid = True
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[memo_key] = valid
        return valid


_VERIFIED: dict[tuple[str, str, bytes], bool] = {}
_VERIFIED_MAX = 200_000


def images_section(config: Config | None) -> dict[str, Any]:
    return dict(config.sections.get("images", {})) if config is not None else {}


def trust_root(config: Config | None, *, signer: Signer | None = None) -> TrustRoot:
    """Keys pinned in ``[images] trusted_keys`` plus, unless ``trust_local_key = false``, the local key.

    ``signer`` skips the keyring lookup (the caller already holds the key). A keyring that cannot be read leaves
    the local key out rather than failing: entries it signed then show as ``untrusted_key`` (fail closed).
    """
    section = images_section(config)
    root = TrustRoot()
    pinned = section.get("trusted_keys", [])
    if not isinstance(pinned, list) or not all(isinstance(k, str) for k in pinned):
        raise ConfigError(
            "images.trusted_keys must be a list of strings (base64 keys or PEM paths)"
        )
    for i, spec in enumerate(pinned):
        root.add(parse_public_key(spec, f"images.trusted_keys[{i}]"), f"config[{i}]")
    trust_local = section.get("trust_local_key", True)
    if not isinstance(trust_local, bool):
        raise ConfigError("images.trust_local_key must be true or false")
    if trust_local:
        local = signer
        if local is None:
            try:
                local = load_signer(key_name(config))
            except WorkbenchError:
                local = None
        if local is not None:
            root.add(local.public, "local keyring")
    return root


def key_name(config: Config | None) -> str:
    name = images_section(config).get("key_name", DEFAULT_KEY_NAME)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("images.key_name must be a non-empty string")
    return name

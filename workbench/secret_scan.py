"""Find likely credentials in user data, startup scripts, tags, labels, names and descriptions, without keeping
them.

Collectors scan user data at collection time and store only what was found (kind, line, fingerprint), never
the script itself. Everything else a record carries (tags, labels, names, descriptions, ``extra`` and the raw
API answer) is redacted centrally before it reaches the cache (:func:`redact_record`, called from
``workbench.cache.rows``): a secret becomes ``[redacted:<kind>:<fingerprint>]``, so the cache and every export
hold no secret (``[general] keep_raw_secrets = true`` keeps raw values).

The fingerprint is an HMAC-SHA256 (128 bits shown) keyed by a random key kept in the OS keyring
(``secret-fingerprint``, :func:`workbench.secrets.ensure_random_key`), never in the cache: an unkeyed hash of a
short password can be confirmed offline by hashing guesses. It lets an operator ignore a known placeholder
(check parameter ``ignore_fingerprints``) without its text being written down. With no keyring, secrets are
redacted without a fingerprint, never with an unkeyed hash.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import re
import threading
from typing import Any

# Specific enough to keep false positives rare: key ids have a fixed shape, PEM headers are unambiguous, and the
# generic rule needs an assignment of a long literal to a secret-sounding name.
SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack_token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),
    # Starts at the secret-sounding word itself: a leading ``[\w.-]*`` made the search backtrack at every
    # word of the text (1.7 ms for 2 KB of JSON, against ~20 µs this way).
    "assignment": re.compile(
        r"(?i)(?:password|passwd|secret|token|api_?key)[\w.-]*\s*[:=]\s*['\"]?([^\s'\"$]{8,})"
    ),
}
# What the secrets start with, lower-cased, looked for with ``in`` (a fast substring search): one regex over the
# whole text, even of literal alternatives, cost 3-4 times as much per record (``vmwb bench ingest``).
_PREFIXES = (
    "-----begin",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
)
_SECRET_WORDS = ("passw", "secret", "token", "api_key", "apikey", "api-key")
# After a secret-sounding word: more of the name, then ``:`` or ``=``; whitespace may be JSON- or
# repr-escaped, since the text checked is often encoded (``HttpTokens":`` is not an assignment).
_ASSIGNMENT_TAIL = re.compile(r"[\w.-]*(?:\s|\\[nrtfbv]|\\x0[bc]|\\u00[0-9a-f]{2})*[:=]")
# A tag or label key that says its value is a secret (``db_password = hunter2hunter2``).
SECRET_NAME = re.compile(r"(?i)password|passwd|secret|token|api_?key|private_?key|credential")
MIN_SECRET_VALUE = 8
MAX_HITS = 20
FINGERPRINT_KEY = "secret-fingerprint"
FINGERPRINT_HEX = 32  # 128 bits


def decode_user_data(text: str | bytes) -> str:
    """User data comes base64-encoded from the EC2 API; decode it when it is, else keep it as it is."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    stripped = text.strip()
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text  # gzip'd or binary user data: scan what we have


# ------------------------------------------------------------------------------------ fingerprints
_key_lock = threading.Lock()
_key_for: tuple[object, bytes | None] | None = None  # (the keyring backend it came from, the key)


def _fingerprint_key() -> bytes | None:
    """The HMAC key from the keyring, fetched once per keyring backend; None when there is no keyring."""
    global _key_for
    import keyring

    from workbench.secrets import SecretStoreError, ensure_random_key

    backend = keyring.get_keyring()
    with _key_lock:
        if _key_for is not None and _key_for[0] is backend:
            return _key_for[1]
        try:
            key: bytes | None = ensure_random_key(FINGERPRINT_KEY)
        except SecretStoreError:
            key = None  # redacted without a fingerprint, never with an unkeyed hash
        _key_for = (backend, key)
        return key


def fingerprint(secret: str) -> str | None:
    """The keyed fingerprint of ``secret`` (32 hex digits), or None when no keyring holds a key."""
    key = _fingerprint_key()
    if key is None:
        return None
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]


def scan(script: str) -> list[dict[str, Any]]:
    """Likely secrets in ``script``: ``[{"kind", "line", "fingerprint"}]``, at most MAX_HITS."""
    hits: list[dict[str, Any]] = []
    for kind, rx in SECRET_PATTERNS.items():
        for m in rx.finditer(script):
            secret = m.group(1) if m.groups() else m.group(0)
            line = script.count("\n", 0, m.start()) + 1
            hits.append({"kind": kind, "line": line, "fingerprint": fingerprint(secret)})
            if len(hits) >= MAX_HITS:
                return hits
    return hits


# ------------------------------------------------------------------------------------ redaction
def marker(kind: str, secret: str) -> str:
    """What stands in for a secret: its kind and keyed fingerprint (or the kind alone, with no keyring)."""
    fp = fingerprint(secret)
    return f"[redacted:{kind}:{fp}]" if fp else f"[redacted:{kind}]"


def may_hold_secret(text: str) -> bool:
    """False when ``text`` (plain, or JSON / repr encoded) holds nothing :data:`SECRET_PATTERNS` would find.

    A few substring searches of the lower-cased text; a secret-sounding word counts only when an assignment
    follows it, so the usual text (an API answer naming ``ClientToken`` and ``HttpTokens``) is cleared at once.
    """
    low = text.lower()
    if ("akia" in low or "asia" in low) and SECRET_PATTERNS["aws_access_key_id"].search(text):
        return True
    if any(prefix in low for prefix in _PREFIXES):
        return True
    for word in _SECRET_WORDS:
        at = low.find(word)
        while at >= 0:
            if _ASSIGNMENT_TAIL.match(low, at + len(word)):
                return True
            at = low.find(word, at + 1)
    return False


def secret_named(key: str, value: Any) -> bool:
    """A tag whose key says its value is a secret, and whose value looks like one (long, one word)."""
    return (
        isinstance(value, str)
        and len(value) >= MIN_SECRET_VALUE
        and not any(c.isspace() for c in value)
        and not value.startswith("[redacted:")
        and SECRET_NAME.search(key) is not None
    )


class Redactor:
    """Finds the secrets of one record and replaces them, the same secret by the same marker everywhere."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}  # secret text -> marker

    def add(self, kind: str, secret: str) -> None:
        if secret and secret not in self.found and not secret.startswith("[redacted:"):
            self.found[secret] = marker(kind, secret)

    def collect(self, value: Any) -> None:
        """Find secrets in every string of ``value`` (a str, or nested dicts / lists)."""
        if isinstance(value, str):
            if may_hold_secret(value):
                for kind, rx in SECRET_PATTERNS.items():
                    for m in rx.finditer(value):
                        self.add(kind, m.group(1) if m.groups() else m.group(0))
        elif isinstance(value, dict):
            for v in value.values():
                self.collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                self.collect(v)

    def apply(self, value: Any) -> Any:
        """``value`` with every found secret replaced by its marker (a new object; keys kept)."""
        if not self.found:
            return value
        if isinstance(value, str):
            for secret in sorted(
                self.found, key=len, reverse=True
            ):  # longest first: no partial leftovers
                if secret in value:
                    value = value.replace(secret, self.found[secret])
            return value
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.apply(v) for v in value)
        return value


_SKIP_FIELDS = {"id"}  # a resource's id is its key; no provider id is secret-shaped


def redact_record(rec: Any) -> Any:
    """``rec`` with its secrets replaced by markers (a copy), or ``rec`` itself when it holds none.

    Looks at the name, the tags (values, and values whose key names a secret), every other field (the
    description of a firewall rule, a setting's value), ``extra`` and ``raw``.
    """
    fields = [f.name for f in dataclasses.fields(rec) if f.name not in _SKIP_FIELDS]
    red = Redactor()
    for name in fields:
        red.collect(getattr(rec, name))
    # The key of a tag or label may say its value is a secret (API keys like HttpTokens are not looked at:
    # only the operator's own tags; the value is then replaced wherever it appears, raw included).
    for key, value in rec.tags.items():
        if secret_named(key, value):
            red.add("secret_named", value)
    if not red.found:
        return rec
    changes = {name: red.apply(getattr(rec, name)) for name in fields}
    changes["extra"] = {
        **changes["extra"],
        "redacted_secrets": sorted({m for m in red.found.values()}),
    }
    return dataclasses.replace(rec, **changes)

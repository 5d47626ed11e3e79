"""Find likely credentials in instance user data and startup scripts, without keeping them.

Collectors run this at collection time and store only what was found (kind, line, a short fingerprint), never
the script itself: the cache holds no secret. The fingerprint lets an operator ignore a known placeholder
(check parameter ``ignore_fingerprints``) without the placeholder's text ever being written down.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

# Specific enough to keep false positives rare: key ids have a fixed shape, PEM headers are unambiguous, and the
# generic rule needs an assignment of a long literal to a secret-sounding name.
SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack_token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),
    "assignment": re.compile(
        r"(?i)\b[\w.-]*(?:password|passwd|secret|token|api_?key)[\w.-]*\s*[:=]\s*['\"]?([^\s'\"$]{8,})"
    ),
}
MAX_HITS = 20


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


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


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

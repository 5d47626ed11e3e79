"""Python escape hatches: what a check's SQL cannot say, registered by check id.

A check with ``logic = true`` in its ``check.toml`` still has a ``query.sql``; its rows (candidates) pass through
the function registered here, which keeps, drops or rewrites them. Keep this one module; each function is small
and pure (rows and parameters in, rows out): no I/O, no cloud calls.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

Logic = Callable[[list[Any], dict[str, Any]], list[Any]]
LOGIC: dict[str, Logic] = {}


def register(check_id: str) -> Callable[[Logic], Logic]:
    def deco(fn: Logic) -> Logic:
        LOGIC[check_id] = fn
        return fn

    return deco


def apply(check_id: str, rows: list[Any], params: dict[str, Any]) -> list[Any]:
    fn = LOGIC.get(check_id)
    if fn is None:
        raise LookupError(
            f"check {check_id} declares logic = true but has no function in checks/logic.py"
        )
    return fn(rows, params)


# Patterns for credentials that must never sit in user data. Each is specific enough to keep false positives
# rare: key ids have a fixed shape, PEM headers are unambiguous, and the generic rule needs an assignment of a
# long literal to a secret-sounding name.
_SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack_token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),
    "assignment": re.compile(
        r"(?i)\b[\w.-]*(?:password|passwd|secret|token|api_?key)[\w.-]*\s*[:=]\s*['\"]?([^\s'\"$]{8,})"
    ),
}


def _decode_user_data(text: str) -> str:
    """User data comes base64-encoded from the EC2 API; decode it when it is, else keep it as is."""
    stripped = text.strip()
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text  # gzip'd or binary user data: scan what we have


@register("CFG-03")
def secrets_in_user_data(rows: list[Any], params: dict[str, Any]) -> list[Any]:
    ignore = [re.compile(p) for p in params.get("ignore_patterns", [])]
    failing = []
    for row in rows:
        evidence = row.evidence_data() or {}
        script = _decode_user_data(str(evidence.pop("user_data", "") or ""))
        hits: list[dict[str, Any]] = []
        for kind, rx in _SECRET_PATTERNS.items():
            for m in rx.finditer(script):
                if any(i.search(m.group(0)) for i in ignore):
                    continue
                line = script.count("\n", 0, m.start()) + 1
                hits.append({"kind": kind, "line": line})
        if hits:
            kinds = sorted({str(h["kind"]) for h in hits})
            # The secret itself is never copied into the finding: only its kind and line.
            row.reason = f"user data holds {len(hits)} likely secret(s): {', '.join(kinds)}"
            row.evidence = {"matches": hits[:20]}
            failing.append(row)
    return failing


# Image factory: Ed25519 signatures and publisher parsing live in workbench.images.check_logic (imported on
# use: cryptography is only needed when these checks run).
@register("IMG-11")
def image_approval_unverified(rows: list[Any], params: dict[str, Any]) -> list[Any]:
    from workbench.images import check_logic

    return check_logic.instances_on_unverified_approval(rows, params)


@register("IMG-12")
def image_registry_entry_failing(rows: list[Any], params: dict[str, Any]) -> list[Any]:
    from workbench.images import check_logic

    return check_logic.registry_entries_failing(rows, params)


@register("IMG-14")
def image_untrusted_publisher(rows: list[Any], params: dict[str, Any]) -> list[Any]:
    from workbench.images import check_logic

    return check_logic.untrusted_publishers(rows, params)

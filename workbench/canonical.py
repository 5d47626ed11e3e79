"""Canonical JSON: the one byte form that is hashed, chained and signed (plan checksums, the audit chain,
image-approval signatures).

Keys sorted, no whitespace, UTF-8 as is (not ``\\u`` escapes), and only JSON's own types: a value JSON cannot
hold (a datetime, a set, NaN) is an error here, never quietly turned into some text that a second copy of
this code might turn into other text. ``tests/test_canonical.py`` pins the exact bytes.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def encode(value: Any) -> bytes:
    return dumps(value).encode("utf-8")

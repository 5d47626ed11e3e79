"""The one canonical JSON form: its exact bytes are pinned, because hashes, the audit chain and signatures
made by one version must verify under the next."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import pytest

from workbench import audit, canonical

SAMPLE = {"b": [1, 2.5, None, True], "a": {"z": "é ✓", "y": "\u001b[2J"}, "c": ""}
GOLDEN = '{"a":{"y":"\\u001b[2J","z":"é ✓"},"b":[1,2.5,null,true],"c":""}'


def test_exact_text_and_bytes() -> None:
    assert canonical.dumps(SAMPLE) == GOLDEN
    assert canonical.encode(SAMPLE) == GOLDEN.encode("utf-8")


def test_key_order_does_not_matter() -> None:
    reordered = {"c": "", "a": {"y": "\u001b[2J", "z": "é ✓"}, "b": [1, 2.5, None, True]}
    assert canonical.dumps(reordered) == GOLDEN


@pytest.mark.parametrize("value", [dt.datetime(2026, 1, 1), {1, 2}, math.nan, math.inf, b"x"])
def test_values_json_cannot_hold_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical.dumps({"v": value})


def test_the_audit_chain_hashes_the_canonical_form() -> None:
    body = {
        "seq": 1,
        "at": "2026-12-01T00:00:00Z",
        "actor": "ana",
        "role": "operator",
        "action": "plan",
        "target": "SNP-01",
        "details": '{"a":1}',
        "result": "ok",
        "prev_hash": audit.GENESIS,
    }
    expected = hashlib.sha256(canonical.encode(body)).hexdigest()
    assert audit.entry_hash(**body) == expected

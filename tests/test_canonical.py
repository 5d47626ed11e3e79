"""The one canonical JSON form: its exact bytes are pinned, because hashes, the audit chain and signatures
made by one version must verify under the next."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
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


def test_the_audit_chain_signs_the_canonical_form() -> None:
    """Deliberately changed for issue 13: the chain is an HMAC-SHA256 under a key the cache never holds;
    the unkeyed SHA-256 of older logs is still pinned, because verify must recognise a legacy segment."""
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
    key = bytes(range(32))
    expected = hmac.new(key, canonical.encode(body), hashlib.sha256).hexdigest()
    assert audit.entry_hash(**body, key=key) == expected
    assert expected == "f91550eea849f3d7d60fcb30f4289b711fe8817bdd148a7cf287ae27a27db145"
    assert audit.legacy_hash(**body) == hashlib.sha256(canonical.encode(body)).hexdigest()

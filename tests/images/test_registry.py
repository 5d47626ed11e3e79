"""The signed approved-image registry: round trip, tampering, untrusted keys, revocation, pinned trust root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from image_estate import GOLDEN, GOLDEN_UID, NOW

from workbench import audit, canonical, config
from workbench.cache.store import Cache
from workbench.errors import ConfigError, PermissionDenied
from workbench.images import keys, registry, verify
from workbench.images.registry import RegistryError


def _drop_guard(cache: Cache) -> None:
    """What an attacker with file access does first: nothing stops raw SQL on the registry table."""
    cache.db.execute("PRAGMA foreign_keys=OFF")


def test_signing_round_trip(cache: Cache) -> None:
    signer = keys.ensure_signer()
    assert keys.ensure_signer().key_id == signer.key_id  # stored in the keyring, loaded again
    entry = registry.approve(
        cache, GOLDEN, "CIS-hardened, scanned", signer, actor="ana", role="operator", now=NOW
    )
    assert entry.image_uid == GOLDEN_UID  # the owner's row is preferred for a shared AMI
    assert entry.account == "111122223333" and entry.digest == "sha256:abc"
    payload = json.loads(entry.payload)
    assert payload["image_id"] == GOLDEN and payload["prev_hash"] == registry.GENESIS
    result = verify.verify(cache, keys.trust_root(None))
    assert result.intact
    assert [s.status for s in result.statuses] == ["ok"]
    # approve is in the audit log, with the entry id and payload hash
    logged = [e for e in audit.entries(cache) if e.action == "approve"]
    assert len(logged) == 1 and json.loads(logged[0].details or "{}")["entry_id"] == entry.entry_id
    assert audit.verify(cache) == []
    with pytest.raises(RegistryError, match="already approved"):
        registry.approve(cache, GOLDEN, "again", signer, actor="ana", role="operator")


def test_reason_required_and_unknown_image(cache: Cache) -> None:
    signer = keys.ensure_signer()
    with pytest.raises(RegistryError, match="reason"):
        registry.approve(cache, GOLDEN, "  ", signer, actor="ana", role="operator")
    with pytest.raises(RegistryError, match="no image"):
        registry.approve(cache, "ami-nope", "x", signer, actor="ana", role="operator")


def test_edited_entry_is_tampered(cache: Cache) -> None:
    signer = keys.ensure_signer()
    registry.approve(cache, GOLDEN, "ok", signer, actor="ana", role="operator", now=NOW)
    registry.approve(cache, "ami-old", "legacy", signer, actor="ana", role="operator", now=NOW)
    _drop_guard(cache)
    # Edit a column only (what SQL joins see): the payload no longer matches it.
    cache.db.execute("UPDATE image_registry SET image_id = 'ami-evil' WHERE entry_id = 1")
    # Edit the signed payload itself: the signature no longer matches.
    cache.db.execute(
        "UPDATE image_registry SET payload = replace(payload, 'legacy', 'approved by CISO') "
        "WHERE entry_id = 2"
    )
    result = verify.verify(cache, keys.trust_root(None))
    by_id = result.by_id()
    assert by_id[1].status == "tampered" and "image_id" in by_id[1].message
    assert by_id[2].status == "tampered" and "signature does not match" in by_id[2].message
    assert not result.intact


def test_untrusted_key(cache: Cache) -> None:
    mallory = keys.Signer(Ed25519PrivateKey.generate(), "mallory")
    registry.approve(cache, GOLDEN, "trust me", mallory, actor="mallory", role="operator")
    keys.ensure_signer()  # the local key exists but is not the one that signed
    result = verify.verify(cache, keys.trust_root(None))
    status = result.statuses[0]
    assert status.status == "untrusted_key"
    assert mallory.key_id in status.message


def test_inserted_entry_not_in_audit_log(cache: Cache) -> None:
    """Someone holding the signing key but writing the table directly: no audit record, so tampered."""
    signer = keys.ensure_signer()
    entry = registry.approve(cache, GOLDEN, "ok", signer, actor="ana", role="operator", now=NOW)
    body = json.loads(entry.payload)
    body.update(entry_id=2, image_id="ami-market", prev_hash=registry.payload_hash(entry.payload))
    text = canonical.dumps(body)
    cols = {
        **{f: body.get(f) for f in registry.FIELDS},
        "payload": text,
        "signature": signer.sign(text.encode()),
    }
    cache.db.execute(
        f"INSERT INTO image_registry ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        tuple(cols.values()),
    )
    status = verify.verify(cache, keys.trust_root(None)).by_id()[2]
    assert status.status == "tampered" and "audit log" in status.message


def test_deleted_entries_are_reported(cache: Cache) -> None:
    signer = keys.ensure_signer()
    registry.approve(cache, GOLDEN, "ok", signer, actor="ana", role="operator")
    registry.approve(cache, "ami-old", "ok", signer, actor="ana", role="operator")
    registry.revoke(cache, "ami-old", "superseded", signer, actor="ana", role="operator")
    _drop_guard(cache)
    cache.db.execute("DELETE FROM image_registry WHERE entry_id = 2")  # hide the approval
    cache.db.execute("DELETE FROM image_registry WHERE entry_id = 3")  # hide the revocation (tail)
    result = verify.verify(cache, keys.trust_root(None))
    assert not result.intact
    assert any("entry 2" in p and "deleted" in p for p in result.problems)
    assert any("entry 3" in p for p in result.problems)


def test_revoke(cache: Cache) -> None:
    signer = keys.ensure_signer()
    approval = registry.approve(cache, GOLDEN, "ok", signer, actor="ana", role="operator")
    rev = registry.revoke(
        cache, GOLDEN_UID, "CVE-2026-0001 in base", signer, actor="bob", role="responder"
    )
    assert rev.action == "revoke" and rev.revokes == approval.entry_id
    assert rev.prev_hash == registry.payload_hash(approval.payload)
    result = verify.verify(cache, keys.trust_root(None))
    assert result.intact
    assert [s.status for s in result.statuses] == ["revoked", "ok"]
    state = verify.image_states(result)[("aws", GOLDEN)]
    assert state.status == "revoked"
    assert [e.action for e in audit.entries(cache)] == ["approve", "revoke"]
    with pytest.raises(RegistryError, match="no approval in force"):
        registry.revoke(cache, GOLDEN, "twice", signer, actor="bob", role="operator")
    # A new approval after the revocation is in force again.
    registry.approve(cache, GOLDEN, "rebuilt", signer, actor="ana", role="operator")
    states = verify.image_states(verify.verify(cache, keys.trust_root(None)))
    assert states[("aws", GOLDEN)].status == "ok"


def test_forged_revocation_still_revokes(cache: Cache) -> None:
    """Fail closed: a revocation whose signature is broken still stops the image being trusted."""
    signer = keys.ensure_signer()
    registry.approve(cache, GOLDEN, "ok", signer, actor="ana", role="operator")
    registry.revoke(cache, "1", "bad", signer, actor="ana", role="operator")
    _drop_guard(cache)
    cache.db.execute("UPDATE image_registry SET signature = 'AAAA' WHERE entry_id = 2")
    result = verify.verify(cache, keys.trust_root(None))
    assert [s.status for s in result.statuses] == ["revoked", "tampered"]


def test_pinned_trust_root_from_config(cache: Cache, tmp_path: Path) -> None:
    team = keys.Signer(Ed25519PrivateKey.generate(), "team")
    registry.approve(cache, GOLDEN, "team build", team, actor="ci", role="operator")
    pem = tmp_path / "team.pub.pem"
    pem.write_text(keys.public_pem(team.public))
    local = keys.ensure_signer()
    registry.approve(cache, "ami-old", "mine", local, actor="ana", role="operator")
    # Pinned by PEM path, local key left out: the team key is the only trust root.
    cfg = config.parse({"images": {"trusted_keys": [str(pem)], "trust_local_key": False}})
    statuses = [s.status for s in verify.verify(cache, keys.trust_root(cfg)).statuses]
    assert statuses == ["ok", "untrusted_key"]
    # Pinned as base64 (what export-key prints), plus the local key.
    cfg = config.parse({"images": {"trusted_keys": [keys.public_b64(team.public)]}})
    assert verify.verify(cache, keys.trust_root(cfg)).intact
    with pytest.raises(ConfigError, match="trusted_keys"):
        keys.trust_root(config.parse({"images": {"trusted_keys": ["not-a-key"]}}))


def test_permissions() -> None:
    with pytest.raises(PermissionDenied, match="read-only"):
        registry.require_writer("operator", True)
    with pytest.raises(PermissionDenied, match="viewer"):
        registry.require_writer("viewer", False)
    registry.require_writer("responder", False)

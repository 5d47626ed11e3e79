"""Verify the approved-image registry: every entry's signature, its columns, the chain, the audit trail.

Per entry the status is one of:

- ``ok``: signed by a trusted key, payload intact, columns equal to the payload, chain link intact.
- ``tampered``: the signature does not match, a column differs from the signed payload, the link to the
  previous entry is broken (an entry before it was deleted or altered), or the entry is not in the audit log
  (it was inserted behind vmwb's back).
- ``untrusted_key``: signed by a key that is not in the trust root (:func:`workbench.images.keys.trust_root`).
- ``revoked``: an intact approval that a revocation cancels.

A revocation entry whose own signature fails still cancels its approval: when in doubt the image is not
trusted (fail closed), and the broken revocation is reported as tampered. Audit records of approvals or
revocations whose registry entry is gone are reported as ``problems`` (entries deleted from the end of the
chain leave no broken link behind, but the hash-chained audit log still remembers them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.cache.backend import Reader
from workbench.images.keys import TrustRoot
from workbench.images.registry import FIELDS, GENESIS, Entry, entries, payload_hash

OK, TAMPERED, UNTRUSTED, REVOKED = "ok", "tampered", "untrusted_key", "revoked"
BAD = frozenset({TAMPERED, UNTRUSTED})


@dataclass(slots=True)
class EntryStatus:
    entry: Entry
    status: str
    message: str


@dataclass(slots=True)
class Verification:
    statuses: list[EntryStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems and all(s.status not in BAD for s in self.statuses)

    def counts(self) -> dict[str, int]:
        out = {OK: 0, TAMPERED: 0, UNTRUSTED: 0, REVOKED: 0}
        for s in self.statuses:
            out[s.status] += 1
        return out

    def by_id(self) -> dict[int, EntryStatus]:
        return {s.entry.entry_id: s for s in self.statuses}


def check_signed(entry: Entry, root: TrustRoot) -> tuple[str, str]:
    """Signature and payload/column agreement of one entry, on its own."""
    try:
        signed = json.loads(entry.payload)
    except ValueError:
        return TAMPERED, f"entry {entry.entry_id}: its signed payload is not valid JSON (edited)"
    if not isinstance(signed, dict):
        return TAMPERED, f"entry {entry.entry_id}: its signed payload is not an object (edited)"
    if signed.get("key_id") != entry.key_id:
        return TAMPERED, f"entry {entry.entry_id}: its key id column differs from the signed one"
    verdict = root.verify(entry.key_id, entry.signature, entry.payload.encode())
    if verdict is None:
        return UNTRUSTED, (
            f"entry {entry.entry_id} is signed by {entry.key_id}, which is not a trusted key "
            "(pin it in [images] trusted_keys if it should be)"
        )
    if verdict is False:
        return TAMPERED, (
            f"entry {entry.entry_id} was edited after signing: its signature does not match"
        )
    columns = entry.columns()
    changed = [f for f in FIELDS if signed.get(f) != columns[f]]
    if changed:
        return TAMPERED, (
            f"entry {entry.entry_id} was edited after signing: {', '.join(changed)} "
            "differ from the signed payload"
        )
    return OK, "signature valid"


def _audited_ids(conn: Reader) -> dict[int, tuple[str, str | None, str | None]]:
    """entry_id -> (action, target, payload hash) of every approve/revoke the audit log recorded."""
    out: dict[int, tuple[str, str | None, str | None]] = {}
    rows = conn.execute(
        "SELECT action, target, details FROM audit_log WHERE action IN ('approve', 'revoke')"
    ).fetchall()
    for action, target, details in rows:
        try:
            data = json.loads(details or "{}")
            out[int(data["entry_id"])] = (action, target, data.get("payload_sha256"))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def check_entry(
    e: Entry,
    root: TrustRoot,
    prev_payload: str | None,
    prev_ok: bool,
    audit_record: tuple[str, str | None] | None,
) -> tuple[str, str]:
    """One entry's status from itself, the payload before it in the chain (None for the first entry), whether
    that one verified, and what the audit log recorded for it ((action, payload hash) or None)."""
    status, message = check_signed(e, root)
    if status != OK:
        return status, message
    expected_prev = payload_hash(prev_payload) if prev_payload is not None else GENESIS
    # A broken link right after a bad entry is that entry's fault, already reported: don't blame this one.
    if e.prev_hash != expected_prev and prev_ok:
        return TAMPERED, (
            f"entry {e.entry_id}: the chain link to the entry before it is broken "
            "(an earlier entry was deleted or altered)"
        )
    if audit_record is None or audit_record[0] != e.action:
        return TAMPERED, (
            f"entry {e.entry_id} is not in the audit log: it was not made by vmwb approve/revoke"
        )
    if audit_record[1] not in (None, payload_hash(e.payload)):
        return TAMPERED, f"entry {e.entry_id} differs from what the audit log recorded"
    return OK, message


def verify(db: Reader, root: TrustRoot) -> Verification:
    """The status of every entry, plus registry-wide problems."""
    items = entries(db)
    audited = _audited_ids(db)
    result = Verification()
    prev_text: str | None = None
    prev_ok = True
    revoked_by: dict[int, int] = {}
    for e in items:
        record = audited.get(e.entry_id)
        status, message = check_entry(
            e, root, prev_text, prev_ok, (record[0], record[2]) if record else None
        )
        if e.action == "revoke" and e.revokes is not None:
            revoked_by.setdefault(int(e.revokes), e.entry_id)
        result.statuses.append(EntryStatus(e, status, message))
        prev_text, prev_ok = e.payload, status == OK
    for s in result.statuses:
        rid = revoked_by.get(s.entry.entry_id)
        if s.entry.action == "approve" and s.status == OK and rid is not None:
            s.status, s.message = REVOKED, f"revoked by entry {rid}"
    present = {e.entry_id for e in items}
    for entry_id, (action, target, _) in sorted(audited.items()):
        if entry_id not in present:
            result.problems.append(
                f"registry entry {entry_id} ({action} of {target}) is in the audit log but missing "
                "from the registry (deleted)"
            )
    return result


@dataclass(frozen=True, slots=True)
class ImageState:
    """What the registry says about one image: its latest approval and that approval's status."""

    provider: str
    image_id: str
    entry_id: int
    status: str  # ok | tampered | untrusted_key | revoked
    message: str
    reason: str


def image_states(verification: Verification) -> dict[tuple[str, str], ImageState]:
    """(provider, image_id) -> state of the latest approval. A bad revocation taints nothing else."""
    out: dict[tuple[str, str], ImageState] = {}
    for s in verification.statuses:
        e = s.entry
        if e.action != "approve":
            continue
        out[(e.provider, e.image_id)] = ImageState(
            e.provider, e.image_id, e.entry_id, s.status, s.message, e.reason
        )
    return out


def summary(verification: Verification) -> dict[str, Any]:
    return {"counts": verification.counts(), "problems": len(verification.problems)}

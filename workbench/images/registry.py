"""The approved-image registry: signed approvals and revocations, appended to the cache.

Every entry is one row of ``image_registry`` whose ``payload`` is canonical JSON (sorted keys, no spaces) of
all its fields, signed with the operator's Ed25519 key (:mod:`workbench.images.keys`). The payload also holds
``prev_hash``, the SHA-256 of the previous entry's payload, so entries form a chain: deleting or reordering one
breaks the next link. A revocation is an entry too (``action = "revoke"``, ``revokes`` = the approval's id), so
revoking is signed exactly like approving. Each write also appends to the hash-chained audit log in the same
transaction, which lets :mod:`workbench.images.verify` notice entries deleted from the end of the chain.

Nothing here trusts the typed columns: they exist for SQL joins, and verification compares them to the payload.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from workbench import canonical
from workbench.cache.backend import Reader, Store
from workbench.clock import utcnow
from workbench.errors import PermissionDenied, WorkbenchError
from workbench.images.keys import Signer

GENESIS = "0" * 64
PAYLOAD_VERSION = 1
# Payload fields that are also columns (entry_id included), in column order.
FIELDS = (
    "entry_id",
    "action",
    "provider",
    "account",
    "image_id",
    "image_uid",
    "name",
    "image_created_at",
    "digest",
    "reason",
    "actor",
    "signed_at",
    "revokes",
    "prev_hash",
    "key_id",
)


class RegistryError(WorkbenchError):
    """An approval or revocation that cannot be made (unknown image, already approved, …)."""


def payload_hash(payload_text: str) -> str:
    return hashlib.sha256(payload_text.encode()).hexdigest()


@dataclass(slots=True)
class Entry:
    """One registry row as stored (columns, payload text, signature)."""

    entry_id: int
    action: str
    provider: str
    account: str | None
    image_id: str
    image_uid: str | None
    name: str | None
    image_created_at: str | None
    digest: str | None
    reason: str
    actor: str
    signed_at: str
    revokes: int | None
    prev_hash: str
    key_id: str
    payload: str
    signature: str

    def columns(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


@dataclass(frozen=True, slots=True)
class ImageRef:
    """The facts an approval pins about an image, from the cache's ``images`` table."""

    provider: str
    account: str | None
    image_id: str
    image_uid: str | None
    name: str | None
    created_at: str | None
    digest: str | None


def require_writer(role: str, read_only: bool) -> None:
    """Approving and revoking change the trust state: never in read-only mode, never as a viewer."""
    if read_only:
        raise PermissionDenied("read-only mode: approving or revoking images is turned off")
    if role == "viewer":
        raise PermissionDenied("the viewer role cannot approve or revoke images")


def entries(db: Reader) -> list[Entry]:
    cols = ", ".join((*FIELDS, "payload", "signature"))
    rows = db.execute(f"SELECT {cols} FROM image_registry ORDER BY entry_id").fetchall()
    return [Entry(*tuple(r)) for r in rows]


def resolve_image(db: Reader, ref: str) -> ImageRef:
    """An image by uid or provider id. The same id seen from several accounts is one image (a shared AMI);
    the row in its owner's account is preferred because that one carries the owner's view of it."""
    rows = db.execute(
        "SELECT uid, provider, account, id, name, created_at, owner, digest FROM images "
        "WHERE uid = ? OR id = ? ORDER BY (account = owner) DESC, uid",
        (ref, ref),
    ).fetchall()
    if not rows:
        raise RegistryError(f"no image {ref!r} in the cache (run `vmwb sync`, or give its uid)")
    providers = {r["provider"] for r in rows}
    if len(providers) > 1:
        raise RegistryError(f"{ref!r} names images of several providers; give the image's uid")
    r = rows[0]
    return ImageRef(
        r["provider"],
        r["owner"] or r["account"],
        r["id"],
        r["uid"],
        r["name"],
        r["created_at"],
        r["digest"],
    )


def _active_approval(conn: Reader, provider: str, image_id: str) -> int | None:
    row = conn.execute(
        "SELECT a.entry_id FROM image_registry AS a WHERE a.action = 'approve' AND a.provider = ? "
        "AND a.image_id = ? AND NOT EXISTS (SELECT 1 FROM image_registry AS r WHERE r.action = "
        "'revoke' AND r.revokes = a.entry_id) ORDER BY a.entry_id DESC LIMIT 1",
        (provider, image_id),
    ).fetchone()
    return int(row[0]) if row else None


def _append(db: Store, signer: Signer, fields: dict[str, Any], role: str | None) -> Entry:
    """Sign and insert one entry plus its audit record, atomically (the chain head is read inside)."""
    from workbench import audit

    with db.transaction() as conn:
        last = conn.execute(
            "SELECT entry_id, payload FROM image_registry ORDER BY entry_id DESC LIMIT 1"
        ).fetchone()
        body = dict(fields)
        body["entry_id"] = int(last[0]) + 1 if last else 1
        body["prev_hash"] = payload_hash(str(last[1])) if last else GENESIS
        body["key_id"] = signer.key_id
        signed = {"v": PAYLOAD_VERSION, **body}
        payload = canonical.dumps(signed)
        signature = signer.sign(payload.encode())
        values: dict[str, Any] = {f: body.get(f) for f in FIELDS}
        entry = Entry(**values, payload=payload, signature=signature)
        conn.execute(
            f"INSERT INTO image_registry ({', '.join(FIELDS)}, payload, signature) "
            f"VALUES ({', '.join('?' * (len(FIELDS) + 2))})",
            (*(body.get(f) for f in FIELDS), payload, signature),
        )
        audit.append(
            db,
            entry.actor,
            role,
            entry.action,
            entry.image_uid or f"{entry.provider}:{entry.image_id}",
            {
                "entry_id": entry.entry_id,
                "image_id": entry.image_id,
                "provider": entry.provider,
                "reason": entry.reason,
                "key_id": entry.key_id,
                "revokes": entry.revokes,
                "payload_sha256": payload_hash(payload),
            },
            at=entry.signed_at,
        )
    # The chain head moves only once the outermost transaction has committed (a caller's may be open).
    if not db.in_transaction:
        audit.anchor(db)
    return entry


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise RegistryError("a reason is required (it is signed into the entry and audited)")
    return text


def approve(
    db: Store,
    ref: str | ImageRef,
    reason: str,
    signer: Signer,
    *,
    actor: str,
    role: str | None,
    now: str | None = None,
) -> Entry:
    """Approve an image (by uid or id from the cache, or an explicit :class:`ImageRef`)."""
    image = ref if isinstance(ref, ImageRef) else resolve_image(db, ref)
    why = _reason(reason)
    existing = _active_approval(db, image.provider, image.image_id)
    if existing is not None:
        raise RegistryError(f"{image.image_id} is already approved (entry {existing})")
    return _append(
        db,
        signer,
        {
            "action": "approve",
            "provider": image.provider,
            "account": image.account,
            "image_id": image.image_id,
            "image_uid": image.image_uid,
            "name": image.name,
            "image_created_at": image.created_at,
            "digest": image.digest,
            "reason": why,
            "actor": actor,
            "signed_at": now or utcnow(),
            "revokes": None,
        },
        role,
    )


def find_approval(conn: Reader, ref: str) -> Entry:
    """The approval ``ref`` names: an entry id, or an image id / uid with an approval still in force."""
    if ref.isdigit():
        row = conn.execute(
            "SELECT image_id, provider, action FROM image_registry WHERE entry_id = ?", (int(ref),)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no registry entry {ref}")
        if row["action"] != "approve":
            raise RegistryError(f"entry {ref} is a revocation, not an approval")
        entry_id: int | None = int(ref)
        revoked = conn.execute(
            "SELECT entry_id FROM image_registry WHERE action = 'revoke' AND revokes = ?",
            (entry_id,),
        ).fetchone()
        if revoked is not None:
            raise RegistryError(f"entry {ref} was already revoked (entry {revoked[0]})")
    else:
        rows = conn.execute(
            "SELECT DISTINCT provider, image_id FROM image_registry WHERE action = 'approve' "
            "AND (image_id = ? OR image_uid = ?)",
            (ref, ref),
        ).fetchall()
        entry_id = None
        for r in rows:
            entry_id = _active_approval(conn, r["provider"], r["image_id"]) or entry_id
        if entry_id is None:
            raise RegistryError(f"no approval in force for {ref!r}")
    return next(e for e in entries(conn) if e.entry_id == entry_id)


def revoke(
    db: Store,
    ref: str,
    reason: str,
    signer: Signer,
    *,
    actor: str,
    role: str | None,
    now: str | None = None,
) -> Entry:
    """Revoke an approval (by entry id, image id or image uid) with a signed revocation entry."""
    why = _reason(reason)
    approval = find_approval(db, ref)
    return _append(
        db,
        signer,
        {
            "action": "revoke",
            "provider": approval.provider,
            "account": approval.account,
            "image_id": approval.image_id,
            "image_uid": approval.image_uid,
            "name": approval.name,
            "image_created_at": approval.image_created_at,
            "digest": approval.digest,
            "reason": why,
            "actor": actor,
            "signed_at": now or utcnow(),
            "revokes": approval.entry_id,
        },
        role,
    )

"""The Python half of the image-factory checks (registered in ``workbench.checks.logic``).

IMG-11 and IMG-12 verify Ed25519 signatures, which SQL cannot do. Their queries hand over, per registry entry,
the entry, the entry before it in the chain and what the audit log recorded for it, all as evidence (IMG-11's
row for an approval also lists the VMs launched from its image); the functions here run the same per-entry
verification as ``vmwb images verify`` (:func:`workbench.images.verify.check_entry`), once per entry, and keep
what fails. The trust root (``[images] trusted_keys``, ``trust_local_key``, ``key_name``) and the trusted
publishers (``[policy] trusted_publishers``) come from the ``config`` the scan engine hands over (the session's:
``vmwb`` passes its ``--config``, the TUI its own; None reads as an empty config). The finding's evidence keeps
the verdict, never the payload or signature.

IMG-14 works out an image's publisher from the instance's image reference (GCP ``<project>/<image>``, Azure
``publisher:offer:sku:version``), which is string parsing that reads better in Python than in SQL.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import orjson

from workbench.images import keys, verify
from workbench.images.registry import FIELDS, Entry

if TYPE_CHECKING:
    from workbench.config import Config


def _evidence(row: Any) -> dict[str, Any]:
    """The query's evidence: the engine may hand it over as JSON text or already parsed."""
    ev = row.evidence
    if isinstance(ev, str):
        try:
            ev = orjson.loads(ev)
        except orjson.JSONDecodeError:
            return {}
    return ev if isinstance(ev, dict) else {}


def _entry(data: Any) -> Entry | None:
    if isinstance(data, str):
        data = orjson.loads(data)
    if not isinstance(data, dict):
        return None
    values: dict[str, Any] = {f: data.get(f) for f in (*FIELDS, "payload", "signature")}
    return Entry(**values)


def _verdict(evidence: dict[str, Any], root: keys.TrustRoot) -> tuple[str, str, Entry | None]:
    entry = _entry(evidence.get("entry"))
    if entry is None:
        return verify.TAMPERED, "the registry entry could not be read", None
    prev = _entry(evidence.get("prev"))
    prev_ok = prev is None or verify.check_signed(prev, root)[0] == verify.OK
    audit = evidence.get("audit")
    if isinstance(audit, str):
        audit = orjson.loads(audit)
    record: tuple[str, str | None] | None = None
    if isinstance(audit, dict):
        record = (str(audit.get("action")), audit.get("payload_sha256"))
    status, message = verify.check_entry(
        entry, root, prev.payload if prev else None, prev_ok, record
    )
    return status, message, entry


class _MemoRoot(keys.TrustRoot):
    """A trust root that checks each (key, signature, data) once: an entry is also the next one's ``prev``."""

    def __init__(self, root: keys.TrustRoot) -> None:
        super().__init__(root.keys, root.sources)
        self._seen: dict[tuple[str, str, bytes], bool | None] = {}

    def verify(self, kid: str, signature_b64: str, data: bytes) -> bool | None:
        key = (kid, signature_b64, data)
        if key not in self._seen:
            self._seen[key] = super().verify(kid, signature_b64, data)
        return self._seen[key]


def instances_on_unverified_approval(
    rows: list[Any], params: dict[str, Any], db: Any = None, config: Config | None = None
) -> list[Any]:
    """IMG-11: the VMs whose image's approval in force does not verify.

    Each row is one approval (``registry_entry``) with its verification inputs; a failing approval yields one
    finding per VM launched from its image, read from ``db`` (the check's connection) only then. Signatures
    are verified against ``config``'s trust root."""
    root = _MemoRoot(keys.trust_root(config))
    failing = []
    for row in rows:
        ev = _evidence(row)
        status, message, entry = _verdict(ev, root)
        if status == verify.OK:
            continue
        image_id = ev.get("image_id")
        evidence = {
            "image_id": image_id,
            "status": status,
            "entry_id": entry.entry_id if entry else None,
        }
        vms = db.execute(
            "SELECT uid, id, name, account, region FROM instances "
            "WHERE provider = ? AND image_id = ? AND state NOT IN ('terminated', 'shutting-down')",
            (row.provider, image_id),
        ).fetchall()
        for uid, rid, name, account, region in vms:
            failing.append(
                dataclasses.replace(
                    row,
                    resource_uid=uid,
                    resource_kind="instance",
                    resource_id=rid,
                    resource_name=name or "",
                    account=account,
                    region=region,
                    tags=None,
                    reason=f"launched from {image_id}, whose approval {status}: {message}",
                    evidence=dict(evidence),
                )
            )
    return failing


def registry_entries_failing(
    rows: list[Any], params: dict[str, Any], config: Config | None = None
) -> list[Any]:
    """IMG-12: one finding per image whose registry entries fail verification (against ``config``'s trust
    root) or were deleted."""
    root = _MemoRoot(keys.trust_root(config))
    by_uid: dict[str, Any] = {}
    for row in rows:
        ev = _evidence(row)
        if ev.get("deleted"):
            status, message = "deleted", str(row.reason)
            entry_id = ev.get("entry_id")
        else:
            status, message, entry = _verdict(ev, root)
            if status == verify.OK:
                continue
            entry_id = entry.entry_id if entry else None
        problem = {"entry_id": entry_id, "status": status, "message": message}
        kept = by_uid.get(row.resource_uid)
        if kept is None:
            row.reason = message
            row.evidence = {"entries": [problem]}
            by_uid[row.resource_uid] = row
        else:
            kept.evidence["entries"].append(problem)
            kept.reason = f"{len(kept.evidence['entries'])} registry entries fail verification"
    return list(by_uid.values())


def publisher_of(provider: str, account: str, image_id: str) -> str | None:
    """The publisher of an instance's base image, or None when it is the account's own image."""
    ref = image_id.strip()
    if provider == "gcp":
        return ref.split("/", 1)[0] if "/" in ref else None
    if provider == "azure":
        low = ref.lower()
        if low.startswith("/subscriptions/"):
            sub = low.split("/")[2]
            return None if sub == account.lower() else f"subscription {sub}"
        if "communitygalleries" in low:
            return "community gallery"
        if "sharedgalleries" in low:
            return (
                "shared gallery " + ref.split("/")[2] if ref.count("/") >= 2 else "shared gallery"
            )
        return ref.split(":", 1)[0] if ":" in ref else None
    return None


def untrusted_publishers(
    rows: list[Any], params: dict[str, Any], config: Config | None = None
) -> list[Any]:
    """IMG-14: keep instances whose base image comes from a publisher not in ``trusted_publishers`` (the
    check's parameter, the platforms' official ones, plus ``config``'s ``[policy] trusted_publishers``, as in
    the images view)."""
    trusted = {str(p).lower() for p in params.get("trusted_publishers", [])}
    if config is not None:
        trusted.update(p.lower() for p in config.policy.trusted_publishers)
    failing = []
    for row in rows:
        ev = _evidence(row)
        image_id = str(ev.get("image_id") or "")
        publisher = publisher_of(row.provider, row.account, image_id)
        if publisher is None or publisher.lower() in trusted:
            continue
        row.reason = f"launched from {image_id}, published by {publisher}, not a trusted publisher"
        row.evidence = {"image_id": image_id, "publisher": publisher}
        failing.append(row)
    return failing

"""Evidence bundles: what an incident responder hands over, signed, and checked offline by whoever receives it.

``write_bundle`` gathers everything the cache knows about a window of time: the resources that changed, had
findings or were fixed in it (their current row, or ``null`` when they are gone, and their change history), the
findings and their events, the fix journal's entries with their before/after states, the audit entries, and the
audit chain's verdict and head. Each part is one JSON-lines member of a tar file; ``manifest.json`` lists every
member with its SHA-256 and size, and ``manifest.sig`` is an Ed25519 signature over the manifest's canonical
bytes with the workbench's signing key (the image registry's key, kept in the OS keyring).

``verify_bundle`` needs only the bundle and a trusted public key (``vmwb images export-key`` prints it): it
never extracts anything, refuses members that are not regular files, duplicated or unlisted names, and checks
every digest and the signature. What it proves: the bundle is exactly what the holder of that key wrote. What it
does not: that the cache it was written from was itself intact (the manifest carries the audit chain's own
verdict at export time for that).
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import canonical
from workbench.clock import parse
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.images.keys import Signer, TrustRoot

BUNDLE_FORMAT = "vmwb-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MEMBERS = ("resources", "findings", "finding_events", "journal", "audit")


class EvidenceError(WorkbenchError):
    """The bundle cannot be written, or is not a vmwb evidence bundle."""


@dataclass(slots=True)
class Verdict:
    """What ``verify_bundle`` found: ``problems`` empty means the bundle is intact and signed by a trusted key."""

    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(cur: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    return (dict(row) for row in cur)  # the cache's connections return sqlite3.Row


def _json_field(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        text = row.get(name)
        if isinstance(text, str) and text:
            try:
                row[name] = json.loads(text)
            except ValueError:
                pass  # kept as the text the cache holds
    return row


def gather(db: sqlite3.Connection, since: str, until: str) -> dict[str, list[dict[str, Any]]]:
    """Every record of the window [since, until] (both ends included), by member name. Times are ISO-8601 UTC strings."""
    from workbench.cache import browse

    window = (since, until)
    events = list(
        _rows(
            db.execute(
                "SELECT scan_id, key, change, at, detail FROM finding_events "
                "WHERE at >= ? AND at <= ? ORDER BY at, scan_id, key",
                window,
            )
        )
    )
    keys = {e["key"] for e in events}
    findings = [
        _json_field(f, "evidence")
        for f in _rows(
            db.execute(
                "SELECT * FROM findings WHERE (last_seen >= ? AND first_seen <= ?) "
                "OR key IN (SELECT value FROM json_each(?)) ORDER BY key",
                (since, until, json.dumps(sorted(keys))),
            )
        )
    ]
    journal = [
        _json_field(j, "api_call", "before", "after")
        for j in _rows(
            db.execute(
                "SELECT * FROM journal WHERE (created_at >= ? AND created_at <= ?) "
                "OR (updated_at >= ? AND updated_at <= ?) ORDER BY entry_id",
                window + window,
            )
        )
    ]
    audit_rows = [
        _json_field(a, "details")
        for a in _rows(
            db.execute("SELECT * FROM audit_log WHERE at >= ? AND at <= ? ORDER BY seq", window)
        )
    ]
    changes = list(
        _rows(
            db.execute(
                "SELECT run_id, uid, kind, change, at FROM resource_changes "
                "WHERE at >= ? AND at <= ? ORDER BY at, uid",
                window,
            )
        )
    )
    uids = (
        {c["uid"] for c in changes}
        | {f["resource_uid"] for f in findings}
        | {j["resource_uid"] for j in journal if j.get("resource_uid")}
    )
    resources = []
    for uid in sorted(uids):
        res = browse.resource(db, uid)
        history = list(
            _rows(
                db.execute(
                    "SELECT run_id, change, at FROM resource_changes WHERE uid = ? ORDER BY at",
                    (uid,),
                )
            )
        )
        resources.append(
            {
                "uid": uid,
                "kind": res.kind if res else browse.kind_of_uid(uid),
                "current": _json_field(dict(res.row), "tags", "raw") if res else None,
                "history": history,
            }
        )
    return {
        "resources": resources,
        "findings": findings,
        "finding_events": events,
        "journal": journal,
        "audit": audit_rows,
    }


def _jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(canonical.encode(r) + b"\n" for r in records)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def write_bundle(
    db: sqlite3.Connection,
    out: Path,
    *,
    since: str,
    until: str,
    now: str,
    actor: str,
    signer: Signer,
) -> dict[str, Any]:
    """Write the signed bundle to ``out`` (mode 0600, whole or not at all) and return its manifest."""
    from workbench import __version__, audit
    from workbench.images import keys
    from workbench.private_files import open_private_binary

    parts = gather(db, since, until)
    head = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    problems = audit.verify(db)
    blobs = {f"{name}.jsonl": _jsonl(parts[name]) for name in MEMBERS}
    manifest = {
        "format": BUNDLE_FORMAT,
        "created_at": now,
        "created_by": actor,
        "tool": f"vmwb {__version__}",
        "window": {"since": since, "until": until},
        "audit": {
            "head_seq": int(head[0]) if head else 0,
            "head_hash": str(head[1]) if head else None,
            "intact_at_export": not problems,
            "problems": problems,
        },
        "files": {
            name: {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "records": len(parts[name.removesuffix(".jsonl")]),
            }
            for name, data in blobs.items()
        },
        "key_id": signer.key_id,
        "public_key": keys.public_b64(signer.public),
    }
    manifest_bytes = canonical.encode(manifest)
    signature = signer.sign(manifest_bytes).encode("ascii")
    when = parse(now)
    mtime = when.timestamp() if when else 0.0
    try:
        with open_private_binary(out) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add(tar, MANIFEST, manifest_bytes, mtime)
            _add(tar, SIGNATURE, signature, mtime)
            for name, data in blobs.items():
                _add(tar, name, data, mtime)
    except OSError as exc:
        raise EvidenceError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return manifest


def _members(path: Path, verdict: Verdict) -> dict[str, bytes]:
    """Every regular member's bytes, read without extracting; anything else is a problem."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for info in tar:
                if not info.isreg():
                    verdict.problems.append(f"{info.name}: not a regular file (refused)")
                    continue
                if info.name in found:
                    verdict.problems.append(f"{info.name}: appears twice (refused)")
                    continue
                member = tar.extractfile(info)
                found[info.name] = member.read() if member else b""
    except (OSError, tarfile.TarError) as exc:
        raise EvidenceError(f"{path} is not a readable evidence bundle: {exc}") from exc
    return found


def verify_bundle(path: Path, trust: TrustRoot) -> Verdict:
    """Check every digest and the signature against the trusted keys in ``trust``."""
    verdict = Verdict()
    found = _members(path, verdict)
    if MANIFEST not in found or SIGNATURE not in found:
        raise EvidenceError(f"{path} is not a vmwb evidence bundle (no {MANIFEST} or {SIGNATURE})")
    try:
        manifest = json.loads(found[MANIFEST])
    except ValueError as exc:
        raise EvidenceError(f"{path}: {MANIFEST} is not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise EvidenceError(f"{path} is not a {BUNDLE_FORMAT} bundle")
    verdict.manifest = manifest
    if canonical.encode(manifest) != found[MANIFEST]:
        verdict.problems.append(f"{MANIFEST}: not in canonical form (edited)")
    signed = trust.verify(
        str(manifest.get("key_id")), found[SIGNATURE].decode("ascii", "replace"), found[MANIFEST]
    )
    if signed is None:
        verdict.problems.append(
            f"signed by {manifest.get('key_id')}, which is not a trusted key (pass --key)"
        )
    elif not signed:
        verdict.problems.append(f"{MANIFEST}: the signature does not match (edited or re-signed)")
    files = manifest.get("files") or {}
    for name, meta in sorted(files.items()):
        data = found.get(name)
        if data is None:
            verdict.problems.append(f"{name}: listed in the manifest but missing")
        elif hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            verdict.problems.append(f"{name}: its SHA-256 does not match the manifest (edited)")
        else:
            verdict.checked.append(name)
    for name in sorted(set(found) - set(files) - {MANIFEST, SIGNATURE}):
        verdict.problems.append(f"{name}: not listed in the manifest (added)")
    return verdict

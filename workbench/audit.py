"""The audit log: every plan, apply, undo and mute, append-only and hash-chained.

Each entry's hash is SHA-256 over the canonical JSON of its fields (``seq, at, actor, role, action, target,
details, result``) plus the previous entry's hash, so editing any entry breaks its own hash, and deleting one
breaks the sequence and the next entry's link. Deleting the *last* entries leaves a valid shorter chain, so the
head (seq and hash of the newest entry) is also written to a side file ``<cache>.audit-head``: a log shorter than
its head was truncated. Triggers (schema migration 2) refuse UPDATE and DELETE on the table, so only someone
who drops them can tamper, and :func:`verify` then finds it.

API: :func:`append` (through the cache, a :class:`~workbench.cache.backend.Store`; inside the caller's
transaction when one is open), :func:`anchor` (move the head after committing such a transaction), and the
readers (a connection or the cache): :func:`verify` -> list of problems (empty = intact), :func:`export` (JSON
lines or CSV), :func:`entries`, :func:`entry`, :func:`count`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from workbench import canonical
from workbench.cache.backend import Reader, Store
from workbench.clock import utcnow
from workbench.textsafe import csv_cell

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "target",
    "details",
    "result",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    role: str | None
    action: str
    target: str | None
    details: str | None  # canonical JSON, exactly as hashed
    result: str | None
    prev_hash: str
    hash: str


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    role: str | None,
    action: str,
    target: str | None,
    details: str | None,
    result: str | None,
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "target": target,
        "details": details,
        "result": result,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical.dumps(body).encode()).hexdigest()


def head_path(db: Reader) -> Path | None:
    """The side file holding the chain head, next to the cache file (None for an in-memory database)."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            p = Path(row[2])
            return p.with_name(p.name + ".audit-head")
    return None


def _write_head(db: Reader, seq: int, digest: str) -> None:
    path = head_path(db)
    if path is None:
        return
    current, _ = _read_head(db)
    if current is not None and current["seq"] > seq:
        return  # another process already anchored a later entry; never move the head back
    # Atomic replace, mode 0600: a torn head file would look like tampering.
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(canonical.dumps({"seq": seq, "hash": digest}) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_head(db: Reader) -> tuple[dict[str, Any] | None, str | None]:
    path = head_path(db)
    if path is None or not path.exists():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"seq": int(data["seq"]), "hash": str(data["hash"])}, None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"the audit head file {path} is unreadable ({exc})"


def append(
    db: Store,
    actor: str,
    role: str | None,
    action: str,
    target: str | None,
    details: Any = None,
    result: str | None = "ok",
    *,
    at: str | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain (atomically with reading the previous hash)."""
    details_text = None if details is None else canonical.dumps(details)
    when = at or utcnow()
    # Inside a caller's transaction the entry may still roll back: the head is moved only after a commit
    # this function owns (or by the caller with :func:`anchor`), never to an entry that might vanish.
    owned = not db.in_transaction
    with db.transaction() as conn:
        last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq = int(last[0]) + 1 if last else 1
        prev = str(last[1]) if last else GENESIS
        digest = entry_hash(seq, when, actor, role, action, target, details_text, result, prev)
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, role, action, target, details, result, "
            "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (seq, when, actor, role, action, target, details_text, result, prev, digest),
        )
    if owned:
        _write_head(db, seq, digest)
    return AuditEntry(seq, when, actor, role, action, target, details_text, result, prev, digest)


def anchor(db: Reader) -> None:
    """Record the committed newest entry as the head (after appending inside your own transaction)."""
    last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if last:
        _write_head(db, int(last[0]), str(last[1]))


def entries(db: Reader) -> Iterator[AuditEntry]:
    cur = db.execute(f"SELECT {', '.join(FIELDS)} FROM audit_log ORDER BY seq")
    for row in cur:
        yield AuditEntry(*tuple(row))


def entry(db: Reader, seq: int) -> AuditEntry | None:
    """One entry by its sequence number."""
    row = db.execute(f"SELECT {', '.join(FIELDS)} FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else AuditEntry(*tuple(row))


def count(db: Reader) -> int:
    return int(db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0])


def verify(db: Reader) -> list[str]:
    """Every problem found in the chain, one line each; an empty list means the log is intact."""
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    hashes: dict[int, str] = {}
    for e in entries(db):
        if e.seq != expected_seq:
            gone = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq}-{e.seq - 1}"
            problems.append(f"entry {gone} is missing (deleted)")
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq}: its link to the previous entry is broken")
        recomputed = entry_hash(
            e.seq, e.at, e.actor, e.role, e.action, e.target, e.details, e.result, e.prev_hash
        )
        if recomputed != e.hash:
            problems.append(f"entry {e.seq} was edited (its content does not match its hash)")
        hashes[e.seq] = e.hash
        expected_seq, prev = e.seq + 1, e.hash
    head, error = _read_head(db)
    if error:
        problems.append(error)
    elif head is not None:
        last = expected_seq - 1
        if head["seq"] > last:
            problems.append(
                f"entries {last + 1}-{head['seq']} are missing: the log ends at {last} "
                f"but its head was {head['seq']} (deleted)"
            )
        elif hashes.get(head["seq"]) != head["hash"]:
            problems.append(f"entry {head['seq']} does not match the recorded head (rewritten)")
    return problems


def export(db: Reader, out: IO[str], fmt: str = "jsonl") -> int:
    """Write every entry to ``out`` as JSON lines or CSV; returns the number written."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown audit export format {fmt!r} (jsonl or csv)")
    n = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FIELDS)
    for e in entries(db):
        if writer is not None:
            # Cells carry cloud strings: neutralise spreadsheet formulas and control characters.
            writer.writerow([csv_cell(getattr(e, f)) for f in FIELDS])
        else:
            row = asdict(e)
            row["details"] = json.loads(e.details) if e.details else None
            out.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
        n += 1
    return n

"""The audit log: every plan, apply (intent and result of each live call), undo and mute; append-only, keyed.

**The chain.** Each entry's ``hash`` is an HMAC-SHA256 over the canonical JSON of its fields (``seq, at, actor,
role, action, target, details, result, prev_hash``), keyed by a random key the cache never holds: it lives in
the OS keyring under ``vmwb/audit-chain`` (:func:`workbench.secrets.ensure_random_key`). On a machine with no
keyring backend, ``[audit] key_file`` in the config names a file holding the key instead (at least 32 bytes,
mode 0600, outside the cache's folder); with neither, every audited action (fixes, mutes, approvals) refuses
with one line naming the backends to install. Whoever can write the cache file but cannot read that key can
delete or reorder entries, but cannot write one that verifies.

**The head.** ``<cache>.audit-head`` is an append-only file (mode 0600, each line fsync'd): after every commit
that appends, one line ``{"seq", "hash", "at"}`` for the newest entry. Every line must match the entry of
its seq, so a log cut short or rewritten under an existing line is found. ``vmwb audit export-head`` prints a
checkpoint (that line plus the cache id and key id) for a team to keep elsewhere (a ticket, a wiki, another
host), and ``vmwb audit verify --head FILE`` checks the log against such checkpoints.

**What verify detects** (each class is tested in ``tests/test_audit_tamper.py``):

- an entry edited, with or without its hash recomputed (without the key no hash verifies); an unkeyed
  SHA-256 "re-chain" is reported as forged;
- an entry deleted, entries renumbered, swapped or reordered (seq and the previous hash are signed);
- a forged entry inserted anywhere;
- the last entries truncated, or every row deleted: the head file still names the newest seq;
- the head file deleted while the log has entries (reported as missing);
- the log and the head file both rolled back to an older copy, or every row and the head file deleted
  together: **only** against an exported checkpoint newer than the copy (``verify --head``).

**What it cannot detect**: anything done by someone who can read the key (the operator's own OS account can
read its keyring; keep checkpoints elsewhere against that); entries never written because the whole cache and
its head file were replaced by a fresh pair and no checkpoint was kept; the content of a legacy segment (below)
before it was sealed.

**Legacy logs.** Entries written by a vmwb before the keyed chain carry an unkeyed SHA-256. The migration
that introduced the key records how many there were (``meta.audit_legacy_end``); verify accepts an unkeyed
entry only up to that seq and says so in a note ("legacy segment"), and the first keyed entry's signed link
seals that segment as it was then. An unkeyed entry after it is reported as forged.

API: :func:`append` (through the cache, a :class:`~workbench.cache.backend.Store`; inside the caller's
transaction when one is open), :func:`anchor` (append the head line after committing such a transaction), and
the readers (a connection or the cache): :func:`verify` -> list of problems (empty = intact), :func:`check` ->
:class:`Report` (problems and notes), :func:`checkpoint`, :func:`export`, :func:`entries`, :func:`entry`,
:func:`count`; the key: :func:`use_key_file`, :func:`chain_key`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from workbench import canonical
from workbench.cache import meta
from workbench.cache.backend import Reader, Store
from workbench.clock import utcnow
from workbench.errors import CacheError, WorkbenchError
from workbench.textsafe import csv_cell

GENESIS = "0" * 64
KEY_NAME = "audit-chain"
CHECKPOINT_FORMAT = "vmwb-audit-checkpoint/1"
MIN_KEY_BYTES = 32
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


class AuditUnavailable(WorkbenchError):
    """The audit log cannot be written (no key, table gone, read-only cache): audited actions refuse."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    role: str | None
    action: str
    target: str | None
    details: str | None  # canonical JSON, exactly as signed
    result: str | None
    prev_hash: str
    hash: str


# ---------------------------------------------------------------------------------------------- the key
_key_file: Path | None = None


def use_key_file(path: str | os.PathLike[str] | None) -> None:
    """Take the chain key from this file instead of the keyring (``[audit] key_file``); None: the keyring."""
    global _key_file
    _key_file = Path(path).expanduser() if path else None


def _read_key_file(path: Path, db_dir: Path | None) -> bytes:
    try:
        st = path.stat()
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise AuditUnavailable(f"cannot read the audit key file {path}: {exc.strerror}") from None
    if st.st_mode & 0o077:
        raise AuditUnavailable(f"the audit key file {path} is readable by others: chmod 600 {path}")
    if db_dir is not None and path.resolve().parent == db_dir.resolve():
        raise AuditUnavailable(
            f"the audit key file {path} is in the cache's folder: keep it elsewhere, "
            "or whoever copies the cache copies the key"
        )
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error:
        key = raw
    if len(key) < MIN_KEY_BYTES:
        raise AuditUnavailable(
            f"the audit key file {path} holds {len(key)} bytes; it needs at least "
            f"{MIN_KEY_BYTES} (e.g. `head -c 32 /dev/urandom | base64 > {path}`)"
        )
    return key


def chain_key(db: Reader | None = None) -> bytes:
    """The HMAC key of the chain: ``[audit] key_file`` when set, otherwise the keyring (made on first use)."""
    from workbench import secrets

    if _key_file is not None:
        path = head_path(db) if db is not None else None
        return _read_key_file(_key_file, path.parent if path else None)
    try:
        return secrets.ensure_random_key(KEY_NAME)
    except secrets.SecretStoreError as exc:
        raise AuditUnavailable(
            f"the audit log needs its key: {exc}; or set [audit] key_file to a 0600 file "
            "outside the cache folder"
        ) from None


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key (tells "another key" from "tampered")."""
    return hmac.new(key, b"vmwb audit key id", hashlib.sha256).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- hashes
def _body(
    seq: int,
    at: str,
    actor: str,
    role: str | None,
    action: str,
    target: str | None,
    details: str | None,
    result: str | None,
    prev_hash: str,
) -> bytes:
    return canonical.encode(
        {
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
    )


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
    *,
    key: bytes,
) -> str:
    """HMAC-SHA256 of the entry's canonical JSON under the chain key."""
    body = _body(seq, at, actor, role, action, target, details, result, prev_hash)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def legacy_hash(
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
    """The unkeyed SHA-256 of logs written before the keyed chain (verified only, never written)."""
    body = _body(seq, at, actor, role, action, target, details, result, prev_hash)
    return hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------- writing
def head_path(db: Reader) -> Path | None:
    """The head file, next to the cache file (None for an in-memory database)."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            p = Path(row[2])
            return p.with_name(p.name + ".audit-head")
    return None


def _append_head_line(db: Reader, seq: int, digest: str) -> None:
    path = head_path(db)
    if path is None:
        return
    append_line(path, canonical.dumps({"seq": seq, "hash": digest, "at": utcnow()}))


def append_line(path: Path, line: str) -> None:
    """Append one line to a head or checkpoint file (created 0600), durably."""
    # O_APPEND: concurrent writers never interleave a short line; fsync: a crash never loses a written line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


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
    """Add one entry at the end of the chain (atomically with reading the previous hash).

    Raises :class:`AuditUnavailable` when it cannot be written (no key, no table, read-only): the caller's
    action must not go ahead without its record.
    """
    key = chain_key(db)
    details_text = None if details is None else canonical.dumps(details)
    when = at or utcnow()
    # Inside a caller's transaction the entry may still roll back: the head moves only after a commit this
    # function owns (or by the caller with :func:`anchor`), never to an entry that might vanish.
    owned = not db.in_transaction
    try:
        with db.transaction() as conn:
            last = conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq = int(last[0]) + 1 if last else 1
            prev = str(last[1]) if last else GENESIS
            digest = entry_hash(
                seq, when, actor, role, action, target, details_text, result, prev, key=key
            )
            conn.execute(
                "INSERT INTO audit_log (seq, at, actor, role, action, target, details, result, "
                "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (seq, when, actor, role, action, target, details_text, result, prev, digest),
            )
            meta.set_default(conn, "audit_key_id", key_id(key))
    except (sqlite3.Error, CacheError) as exc:
        raise AuditUnavailable(f"the audit log cannot be written: {exc}") from exc
    if owned:
        _append_head_line(db, seq, digest)
    return AuditEntry(seq, when, actor, role, action, target, details_text, result, prev, digest)


def anchor(db: Reader) -> None:
    """Append the committed newest entry to the head file (after appending inside your own transaction)."""
    last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if last:
        _append_head_line(db, int(last[0]), str(last[1]))


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


# ---------------------------------------------------------------------------------------------- checking
@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One head line or exported checkpoint: the log had entry ``seq`` with ``hash`` at ``at``."""

    seq: int
    hash: str
    at: str = ""
    cache_id: str = ""
    key_id: str = ""

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return cls(
            int(data["seq"]),
            str(data["hash"]),
            str(data.get("at", "")),
            str(data.get("cache_id", "")),
            str(data.get("key_id", "")),
        )


@dataclass(slots=True)
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems


def read_checkpoints(text: str, where: str) -> tuple[list[Checkpoint], list[str]]:
    """Every line of a head file or checkpoint file; problems for unreadable lines (a torn last line is a note)."""
    points: list[Checkpoint] = []
    problems: list[str] = []
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            points.append(Checkpoint.from_json(line))
        except (ValueError, KeyError, TypeError):
            torn = n == len(lines) and not text.endswith("\n")
            problems.append(
                f"{where} line {n} is incomplete (a crash while writing it)"
                if torn
                else f"{where} line {n} is not a checkpoint (edited?)"
            )
    return points, problems


def _ranges(seqs: list[int]) -> str:
    return f"{seqs[0]}" if len(seqs) == 1 else f"{seqs[0]}-{seqs[-1]}"


def _check_points(
    points: Iterable[Checkpoint], hashes: dict[int, str], last: int, where: str
) -> list[str]:
    problems: list[str] = []
    newest = max((p.seq for p in points), default=0)
    if newest > last:
        problems.append(
            f"entries {last + 1}-{newest} are missing: the log ends at {last} but {where} "
            f"recorded entry {newest} (deleted or rolled back)"
        )
    rewritten = sorted({p.seq for p in points if p.seq <= last and hashes.get(p.seq) != p.hash})
    if rewritten:
        shown = ", ".join(str(s) for s in rewritten[:5]) + (" …" if len(rewritten) > 5 else "")
        problems.append(f"entry {shown} does not match {where} (rewritten)")
    return problems


def check(db: Reader, checkpoints: Iterable[Checkpoint] = (), *, where: str = "") -> Report:
    """The whole log against its key, its head file and any exported ``checkpoints``."""
    conn = db
    key = chain_key(conn)
    report = Report()
    stored_key = meta.get(conn, "audit_key_id")
    if stored_key and stored_key != key_id(key):
        report.problems.append(
            f"the log was signed with another key (id {stored_key}; this machine's is {key_id(key)}): "
            "use the key it was written with ([audit] key_file or the same keyring)"
        )
        return report
    legacy_end = int(meta.get(conn, "audit_legacy_end") or 0)
    expected_seq, prev = 1, GENESIS
    hashes: dict[int, str] = {}
    legacy: list[int] = []
    for e in entries(conn):
        report.entries += 1
        fields = (e.seq, e.at, e.actor, e.role, e.action, e.target, e.details, e.result)
        if e.seq != expected_seq:  # rows come in seq order, so a gap is all there can be
            gone = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq}-{e.seq - 1}"
            report.problems.append(f"entry {gone} is missing (deleted)")
        if e.prev_hash != prev:
            report.problems.append(f"entry {e.seq}: its link to the previous entry is broken")
        if hmac.compare_digest(entry_hash(*fields, e.prev_hash, key=key), e.hash):
            pass
        elif legacy_hash(*fields, e.prev_hash) == e.hash:
            if e.seq <= legacy_end and len(legacy) == e.seq - 1:
                legacy.append(e.seq)
            else:
                report.problems.append(
                    f"entry {e.seq} is not signed with the audit key: forged (an unkeyed hash "
                    "anyone can compute)"
                )
        else:
            report.problems.append(
                f"entry {e.seq} was edited (its content does not match its signature)"
            )
        hashes[e.seq] = e.hash
        expected_seq, prev = e.seq + 1, e.hash
    last = expected_seq - 1
    if legacy:
        sealed = last > legacy[-1]
        report.notes.append(
            f"entries {_ranges(legacy)} are a legacy segment (unkeyed SHA-256, written before the log "
            "was keyed): "
            + (
                f"entry {legacy[-1] + 1}'s signed link seals them as they were then"
                if sealed
                else "nothing proves they were not rewritten; the next audited action seals them"
            )
        )
    path = head_path(conn)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except OSError as exc:
            report.problems.append(f"the head file {path} is unreadable ({exc.strerror})")
            text = ""
        if text is None:
            if report.entries > len(legacy):
                report.problems.append(
                    f"the head file {path} is missing (deleted?): a cut-short log cannot be told "
                    "from a whole one; check it against an exported checkpoint (verify --head)"
                )
        else:
            points, bad = read_checkpoints(text, "the head file")
            for line in bad:
                (report.notes if "incomplete" in line else report.problems).append(line)
            report.problems.extend(_check_points(points, hashes, last, "the head file"))
    given = list(checkpoints)
    if given:
        this_cache = meta.get(conn, "cache_id") or ""
        foreign = [p for p in given if p.cache_id and p.cache_id != this_cache]
        if foreign:
            report.problems.append(
                f"{where or 'the checkpoint'} is of another cache ({foreign[0].cache_id})"
            )
        mine = [p for p in given if not p.cache_id or p.cache_id == this_cache]
        report.problems.extend(_check_points(mine, hashes, last, where or "the checkpoint"))
    return report


def verify(db: Reader) -> list[str]:
    """Every problem found in the chain, one line each; an empty list means the log is intact."""
    return check(db).problems


def checkpoint(db: Reader) -> Checkpoint:
    """The newest entry as a checkpoint to keep outside this machine (``vmwb audit export-head``)."""
    conn = db
    key = chain_key(conn)
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, digest = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    return Checkpoint(seq, digest, utcnow(), meta.get(conn, "cache_id") or "", key_id(key))


def checkpoint_json(point: Checkpoint) -> str:
    return canonical.dumps({"format": CHECKPOINT_FORMAT, **asdict(point)})


# ---------------------------------------------------------------------------------------------- export
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

"""Every tampering class of issue 13.4 against the keyed audit chain, its head file and exported checkpoints.

The attacker here can write the cache file and the head file beside it (a copy, a backup, another local user
with access, a careless script) but cannot read the chain key in the keyring. Each test does what such an
attacker would, as plain SQL through SQLite, and asserts what ``vmwb audit verify`` says. On main before this
change (unkeyed SHA-256, head replaced whole) the re-chain, head-rewrite, delete-every-row-and-head and rollback
classes all passed verify.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from keyring.backends import fail

from workbench import audit
from workbench.cache.store import Cache
from workbench.cli import main


def _filled(path: Path, n: int = 5) -> Cache:
    cache = Cache.open(path)
    for i in range(n):
        audit.append(cache, "alice", "operator", "apply", f"plan-{i}", {"calls": i}, "ok")
    return cache


def _untrigger(cache: Cache) -> None:
    # The triggers stop casual edits; a determined editor drops them first. verify() must still see it.
    cache.db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    cache.db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def _row(cache: Cache, seq: int) -> audit.AuditEntry:
    return next(e for e in audit.entries(cache) if e.seq == seq)


def _rechain_unkeyed(cache: Cache, start: int) -> None:
    """Recompute every hash from ``start`` with the (public) unkeyed SHA-256, links and all."""
    prev = _row(cache, start - 1).hash if start > 1 else audit.GENESIS
    for e in [x for x in audit.entries(cache) if x.seq >= start]:
        digest = audit.legacy_hash(
            e.seq, e.at, e.actor, e.role, e.action, e.target, e.details, e.result, prev
        )
        cache.db.execute(
            "UPDATE audit_log SET prev_hash=?, hash=? WHERE seq=?", (prev, digest, e.seq)
        )
        prev = digest


def _head(cache: Cache) -> Path:
    path = audit.head_path(cache.db)
    assert path is not None
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    c = _filled(tmp_path / "cache.db")
    assert audit.verify(c) == []
    _untrigger(c)
    return c


def test_truncating_the_tail_is_detected(cache: Cache) -> None:
    cache.db.execute("DELETE FROM audit_log WHERE seq >= 4")
    assert audit.verify(cache) == [
        (
            "entries 4-5 are missing: the log ends at 3 but the head file recorded entry 5 "
            "(deleted or rolled back)"
        )
    ]


def test_editing_an_entry_is_detected(cache: Cache) -> None:
    cache.db.execute("UPDATE audit_log SET actor='mallory' WHERE seq=3")
    problems = audit.verify(cache)
    assert "entry 3 was edited (its content does not match its signature)" in problems


def test_editing_and_rechaining_is_detected_even_with_the_head_file_rewritten(
    cache: Cache,
) -> None:
    cache.db.execute("UPDATE audit_log SET result='denied' WHERE seq=3")
    _rechain_unkeyed(cache, 3)
    # The attacker also rewrites the head file to the forged hashes.
    lines = [
        audit.canonical.dumps({"seq": e.seq, "hash": e.hash, "at": e.at})
        for e in audit.entries(cache)
    ]
    _head(cache).write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = audit.verify(cache)
    assert [p for p in problems if "forged" in p] == [
        f"entry {n} is not signed with the audit key: forged (an unkeyed hash anyone can compute)"
        for n in (3, 4, 5)
    ]


def test_deleting_and_renumbering_is_detected(cache: Cache) -> None:
    cache.db.execute("DELETE FROM audit_log WHERE seq=2")
    for seq in (3, 4, 5):
        cache.db.execute("UPDATE audit_log SET seq=? WHERE seq=?", (seq - 1, seq))
    problems = audit.verify(cache)
    assert "entry 2: its link to the previous entry is broken" in problems
    assert "entry 2 was edited (its content does not match its signature)" in problems
    assert any("the head file recorded entry 5" in p for p in problems)


def test_swapping_two_entries_is_detected(cache: Cache) -> None:
    two, three = _row(cache, 2), _row(cache, 3)
    for seq, e in ((2, three), (3, two)):
        cache.db.execute(
            "UPDATE audit_log SET at=?, target=?, details=?, prev_hash=?, hash=? WHERE seq=?",
            (e.at, e.target, e.details, e.prev_hash, e.hash, seq),
        )
    problems = audit.verify(cache)
    assert "entry 2 was edited (its content does not match its signature)" in problems
    assert "entry 3 was edited (its content does not match its signature)" in problems


@pytest.mark.parametrize("where", ["end", "middle"])
def test_inserting_a_forged_entry_is_detected(cache: Cache, where: str) -> None:
    last = _row(cache, 5)
    if where == "middle":
        cache.db.execute("UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3")
        cache.db.execute("UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13")
        seq, prev = 3, _row(cache, 2).hash
    else:
        seq, prev = 6, last.hash
    fields = (seq, last.at, "mallory", "operator", "unmute", "mute:1", None, "ok")
    cache.db.execute(
        "INSERT INTO audit_log (seq, at, actor, role, action, target, details, result, prev_hash, "
        "hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*fields, prev, audit.legacy_hash(*fields, prev)),
    )
    problems = audit.verify(cache)
    assert (
        f"entry {seq} is not signed with the audit key: forged (an unkeyed hash anyone can compute)"
        in problems
    )


def test_deleting_every_row_is_detected(cache: Cache) -> None:
    cache.db.execute("DELETE FROM audit_log")
    assert audit.verify(cache) == [
        (
            "entries 1-5 are missing: the log ends at 0 but the head file recorded entry 5 "
            "(deleted or rolled back)"
        )
    ]


def test_deleting_the_head_file_is_detected(cache: Cache) -> None:
    _head(cache).unlink()
    [problem] = audit.verify(cache)
    assert "is missing (deleted?)" in problem


def test_deleting_every_row_and_the_head_file_is_detected_only_by_a_checkpoint(
    cache: Cache,
) -> None:
    point = audit.checkpoint(cache)
    cache.db.execute("DELETE FROM audit_log")
    _head(cache).unlink()
    assert audit.verify(cache) == []  # it looks like a new cache: documented as not detected
    report = audit.check(cache, [point], where="team.ckpt")
    assert report.problems == [
        (
            "entries 1-5 are missing: the log ends at 0 but team.ckpt recorded entry 5 "
            "(deleted or rolled back)"
        )
    ]


def test_rolling_back_log_and_head_together_is_detected_only_by_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cache.db"
    cache = _filled(db, 3)
    old_copy = cache.backup(tmp_path / "old.db")
    old_head = _head(cache).read_bytes()
    for i in range(2):
        audit.append(cache, "alice", "operator", "undo", f"journal:{i}", None, "ok")
    cache.close()
    ckpt = tmp_path / "team.ckpt"
    assert main(["--db", str(db), "audit", "export-head", "--output", str(ckpt)]) == 0
    assert ckpt.stat().st_mode & 0o777 == 0o600
    # Roll both back, through SQLite (the backup API), as a restore from an old backup would.
    src, dst = sqlite3.connect(old_copy), sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    Path(str(db) + ".audit-head").write_bytes(old_head)
    capsys.readouterr()
    assert main(["--db", str(db), "audit", "verify"]) == 0  # consistent with itself
    assert main(["--db", str(db), "audit", "verify", "--head", str(ckpt)]) == 1
    out = capsys.readouterr().out
    assert f"entries 4-5 are missing: the log ends at 3 but {ckpt} recorded entry 5" in out


def test_a_checkpoint_of_another_cache_is_refused(tmp_path: Path) -> None:
    one, two = _filled(tmp_path / "one.db", 2), _filled(tmp_path / "two.db", 2)
    problems = audit.check(two, [audit.checkpoint(one)], where="ckpt").problems
    assert problems[0].startswith("ckpt is of another cache")


def test_a_log_signed_with_another_key_says_so(cache: Cache, memory_keyring: object) -> None:
    memory_keyring.store.clear()  # type: ignore[attr-defined]  # a new machine, a new key
    [problem] = audit.verify(cache)
    assert problem.startswith("the log was signed with another key")


def test_a_legacy_unkeyed_log_is_reported_as_such_then_sealed(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    cache = Cache.open(db)
    _untrigger(cache)
    prev = audit.GENESIS
    for seq in (1, 2):  # what a vmwb before the keyed chain wrote
        fields = (seq, "2026-11-01T00:00:00Z", "ana", "operator", "mute", f"m:{seq}", None, "ok")
        digest = audit.legacy_hash(*fields, prev)
        cache.db.execute(
            "INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?)", (*fields, prev, digest)
        )
        prev = digest
    cache.db.execute("INSERT INTO meta (key, value) VALUES ('audit_legacy_end', '2')")
    report = audit.check(cache)
    assert report.problems == []
    assert report.notes == [
        (
            "entries 1-2 are a legacy segment (unkeyed SHA-256, written before the log was keyed): "
            "nothing proves they were not rewritten; the next audited action seals them"
        )
    ]
    audit.append(cache, "ana", "operator", "mute", "m:3")
    report = audit.check(cache)
    assert report.problems == [] and "entry 3's signed link seals them" in report.notes[0]
    cache.db.execute("UPDATE audit_log SET actor='mallory' WHERE seq=1")  # edit the sealed segment
    assert audit.check(cache).problems


def test_no_keyring_and_no_key_file_refuses_in_one_line(tmp_path: Path) -> None:
    import keyring

    cache = Cache.open(tmp_path / "c.db")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(audit.AuditUnavailable) as info:
            audit.append(cache, "ana", None, "mute", "m:1")
    finally:
        keyring.set_keyring(previous)
    text = str(info.value)
    assert "\n" not in text and "Secret Service" in text and "[audit] key_file" in text
    assert cache.db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 0


def test_a_key_file_replaces_the_keyring_when_private_and_elsewhere(tmp_path: Path) -> None:
    import keyring

    keys, data = tmp_path / "keys", tmp_path / "data"
    keys.mkdir()
    data.mkdir()
    key_file = keys / "audit.key"
    key_file.write_bytes(os.urandom(32).hex().encode())
    key_file.chmod(0o644)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    cache = Cache.open(data / "c.db")
    try:
        audit.use_key_file(key_file)
        with pytest.raises(audit.AuditUnavailable, match="chmod 600"):
            audit.append(cache, "ana", None, "mute", "m:1")
        key_file.chmod(0o600)
        audit.append(cache, "ana", None, "mute", "m:1")
        assert audit.verify(cache) == []
        inside = data / "audit.key"
        inside.write_bytes(key_file.read_bytes())
        inside.chmod(0o600)
        audit.use_key_file(inside)
        with pytest.raises(audit.AuditUnavailable, match="in the cache's folder"):
            audit.append(cache, "ana", None, "mute", "m:2")
    finally:
        audit.use_key_file(None)
        keyring.set_keyring(previous)

"""`vmwb evidence`: a real fix session exported as a signed bundle, verified with only the public key,
and every kind of tampering with the bundle refused."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fix_estate import add_finding, snapshot_id

from workbench.cache.store import Cache
from workbench.cli import main


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ec2: Any) -> tuple[str, str]:
    """A cache where a public snapshot was fixed (plan, apply, verify): findings, journal and audit."""
    config = tmp_path / "config.toml"
    config.write_text("[policy]\norg_accounts = []\n", encoding="utf-8")
    monkeypatch.setenv("VMWB_CONFIG", str(config))
    db, plan = str(tmp_path / "cache.db"), str(tmp_path / "plan.json")
    sid = snapshot_id(ec2)
    ec2.modify_snapshot_attribute(
        SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    with Cache.open(db) as cache:
        add_finding(cache, "SNP-01", "snapshot", sid)
    assert main(["--db", db, "fix", "plan", "SNP-01", "--output", plan]) == 0
    assert main(["--db", db, "fix", "apply", plan, "--yes"]) == 0
    return db, sid


def _public_key(tmp_path: Path) -> str:
    pem = tmp_path / "signing.pub.pem"
    assert main(["images", "export-key", "--out", str(pem)]) == 0
    return str(pem)


def _rewrite(src: Path, dst: Path, change: Any) -> None:
    """Copy the bundle member by member, letting ``change(name, data)`` edit, drop (None) or add."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        members = [(i.name, tin.extractfile(i).read()) for i in tin]  # type: ignore[union-attr]
        for name, data in change(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


@pytest.mark.usefixtures("moto")
def test_export_then_verify_with_only_the_public_key(
    session: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, sid = session
    bundle = tmp_path / "bundle.tar"
    assert (
        main(["--db", db, "evidence", "export", "--since", "2000-01-01", "--out", str(bundle)]) == 0
    )
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    pub = _public_key(tmp_path)
    capsys.readouterr()
    # Another machine: no cache, no config, only the bundle and the public key.
    assert (
        main(["--db", str(tmp_path / "none.db"), "evidence", "verify", str(bundle), "--key", pub])
        == 0
    )
    assert "bundle verified: 5 files" in capsys.readouterr().out

    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        journal = [json.loads(x) for x in tar.extractfile("journal.jsonl").read().splitlines()]  # type: ignore[union-attr]
        audit = [json.loads(x) for x in tar.extractfile("audit.jsonl").read().splitlines()]  # type: ignore[union-attr]
        resources = [json.loads(x) for x in tar.extractfile("resources.jsonl").read().splitlines()]  # type: ignore[union-attr]
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[:2] == ["manifest.json", "manifest.sig"]
    # The journal carries the before-state of the exact call, the audit its entries, both as data.
    assert journal and journal[0]["api_call"]["item"]["operation"] == "ModifySnapshotAttribute"
    assert journal[0]["before"]["public"] is True and journal[0]["after"]["public"] is False
    assert [a["action"] for a in audit][:2] == ["plan", "apply"]
    assert manifest["audit"]["intact_at_export"] is True
    assert manifest["audit"]["head_seq"] == audit[-1]["seq"]
    assert any(sid in r["uid"] for r in resources)


@pytest.mark.usefixtures("moto")
def test_window_excludes_what_is_outside(session: tuple[str, str], tmp_path: Path) -> None:
    db, _ = session
    bundle = tmp_path / "old.tar"
    args = ["--db", db, "evidence", "export", "--since", "2000-01-01", "--until", "2000-01-02"]
    assert main([*args, "--out", str(bundle)]) == 0
    with tarfile.open(bundle) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert {meta["records"] for meta in manifest["files"].values()} == {0}


def _edit_journal(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(n, d.replace(b"ModifySnapshotAttribute", b"DescribeSnapshots")) for n, d in members]


def _drop_audit(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(n, d) for n, d in members if n != "audit.jsonl"]


def _add_member(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*members, ("notes.txt", b"planted")]


def _duplicate(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*members, ("journal.jsonl", b"{}\n")]


def _resign_manifest(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Edit the journal and fix its digest in the manifest: the signature no longer matches."""
    import hashlib

    from workbench import canonical

    out = dict(_edit_journal(members))
    manifest = json.loads(out["manifest.json"])
    manifest["files"]["journal.jsonl"]["sha256"] = hashlib.sha256(out["journal.jsonl"]).hexdigest()
    out["manifest.json"] = canonical.encode(manifest)
    return list(out.items())


@pytest.mark.usefixtures("moto")
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_edit_journal, "journal.jsonl: its SHA-256 does not match"),
        (_drop_audit, "audit.jsonl: listed in the manifest but missing"),
        (_add_member, "notes.txt: not listed in the manifest"),
        (_duplicate, "journal.jsonl: appears twice"),
        (_resign_manifest, "the signature does not match"),
    ],
)
def test_tampering_is_refused(
    session: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Any,
    expected: str,
) -> None:
    db, _ = session
    bundle, forged = tmp_path / "bundle.tar", tmp_path / "forged.tar"
    assert (
        main(["--db", db, "evidence", "export", "--since", "2000-01-01", "--out", str(bundle)]) == 0
    )
    _rewrite(bundle, forged, change)
    pub = _public_key(tmp_path)
    capsys.readouterr()
    assert main(["evidence", "verify", str(forged), "--key", pub]) == 1
    assert expected in capsys.readouterr().out


@pytest.mark.usefixtures("moto")
def test_untrusted_key_and_foreign_file(
    session: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    memory_keyring: Any,
) -> None:
    db, _ = session
    bundle = tmp_path / "bundle.tar"
    assert (
        main(["--db", db, "evidence", "export", "--since", "2000-01-01", "--out", str(bundle)]) == 0
    )
    memory_keyring.store.clear()  # another machine, with its own key: the bundle's key is not trusted
    other = _public_key(tmp_path)
    capsys.readouterr()
    assert main(["evidence", "verify", str(bundle), "--key", other]) == 1
    assert "not a trusted key" in capsys.readouterr().out
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"<html>login</html>")
    assert main(["evidence", "verify", str(junk), "--key", other]) != 0
    err = capsys.readouterr().err
    assert "not a readable evidence bundle" in err and "Traceback" not in err
    assert main(["--db", db, "evidence", "export", "--since", "yesterday", "--out", str(junk)]) != 0
    assert "is not an ISO date" in capsys.readouterr().err

"""``vmwb secret``: a credential goes to the keyring from stdin and never appears in output."""

from __future__ import annotations

import io
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from workbench.cli import main


def test_set_check_delete_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cr3t-value\n"))
    db = str(tmp_path / "c.db")
    assert main(["--db", db, "secret", "set", "vsphere:vc.example"]) == 0
    assert keyring.get_password("vmwb", "vsphere:vc.example") == "s3cr3t-value"
    assert main(["--db", db, "secret", "check", "vsphere:vc.example"]) == 0
    assert main(["--db", db, "secret", "delete", "vsphere:vc.example"]) == 0
    assert main(["--db", db, "secret", "check", "vsphere:vc.example"]) == 1
    assert "s3cr3t" not in capsys.readouterr().out


def test_no_keyring_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
        assert main(["--db", str(tmp_path / "c.db"), "secret", "set", "gcp:key"]) == 2
    finally:
        keyring.set_keyring(previous)
    err = capsys.readouterr().err
    assert err.startswith("vmwb: error: no working keyring backend") and "Traceback" not in err

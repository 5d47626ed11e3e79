"""The demo on a machine with no keyring backend: its fixes are audited with its own throw-away keys.

Headless machines (CI, a VM over SSH) have keyring's fail backend; the audit chain needs a key, so without the
demo's key folder every demo fix would refuse. The user's keyring is never written by the demo.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from workbench.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["no keyring", "a user keyring"])
def headless(request, memory_keyring, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """No working keyring, as on a fresh headless machine, or the user's own (the memory keyring, which the
    demo must leave alone). The demo's AWS part wants these env values."""
    if request.param == "no keyring":
        keyring.set_keyring(fail.Keyring())
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/vmwb-test-aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/vmwb-test-aws-credentials")
    yield  # the autouse keyring fixture puts the process's key folder back


def test_demo_fixes_are_audited_without_a_keyring(
    headless: None, memory_keyring, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from workbench.cli.demo import _keys_folder
    from workbench.demo import build_demo
    from workbench.demo.parts import AWS

    db = tmp_path / "demo.db"
    keys = _keys_folder(db)
    with build_demo(db, parts=[AWS], keys=keys) as estate:
        assert estate.config.path is not None
        config = str(estate.config.path)
        assert f'key_folder = "{keys}"' in estate.config.path.read_text()
        assert oct(keys.stat().st_mode & 0o777) == "0o700"
        plan = str(tmp_path / "plan.json")
        argv = ["--db", str(db), "--config", config]
        assert main([*argv, "fix", "plan", "SNP-01", "--output", plan]) == 0
        assert main([*argv, "fix", "apply", plan, "--yes"]) == 0, capsys.readouterr().err
        assert "FIXED" in capsys.readouterr().out

        # A CLI process beside the demo, with no keyring either, checks the same chain with the demo's key.
        env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        child = subprocess.run(
            [sys.executable, "-m", "workbench", *argv, "audit", "verify"],
            check=False,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode == 0, child.stderr
        # and signs an evidence bundle with the demo's own signing key
        bundle = tmp_path / "evidence.tar"
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "workbench",
                *argv,
                "evidence",
                "export",
                "--since",
                "2000-01-01",
                "--out",
                str(bundle),
            ],
            check=False,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode == 0 and bundle.exists(), child.stderr
    with sqlite3.connect(db) as conn:
        results = [r for (r,) in conn.execute("SELECT result FROM audit_log ORDER BY seq")]
    assert "intent" in results and "applied" in results, results
    assert memory_keyring.store == {}  # the user's keyring was never touched
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in keys.iterdir()} == {
        "vmwb--audit-chain": "0o600",
        "vmwb--secret-fingerprint": "0o600",
        "vmwb--image-signing_default": "0o600",
    }

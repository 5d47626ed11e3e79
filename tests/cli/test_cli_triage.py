"""The CLI as a new user meets it: global options after the command, one check's detail, the app's view names,
``fix due`` saying nothing is due, tables that stay aligned, one line instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.cache.store import Cache
from workbench.cli import main
from workbench.export.tabular import render_table


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "cache.db"
    Cache.open(path).close()
    return str(path)


def test_global_options_after_the_command(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "vms", "--db", db]) == 0
    assert "INSTANCE_TYPE" in capsys.readouterr().out  # `inventory vms` is the app's :vm
    assert main(["fix", "due", "--db", db, "--read-only"]) == 0
    assert "nothing due" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["fix", "due", "--db", db, "--bogus"])
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_one_check_detail(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db, "checks", "snp-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SNP-01  EBS snapshot is public")
    assert "Remediation:" in out and "aws.snapshot.revoke_public" in out and "T1537" in out
    assert main(["--db", db, "checks", "NOPE-01"]) == 2
    assert "no check 'NOPE-01'" in capsys.readouterr().err


def test_tables_stay_aligned_on_long_values() -> None:
    text = render_table([["ID", "TITLE", "X"], ["a-very-long-identifier", "t", "1"]], [4, 5, 0])
    header, row = text.splitlines()
    assert header.index("TITLE") == row.index(" t ") + 1 and header.index("X") == row.index("1")


def test_an_unexpected_error_is_one_line(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.cli.fix as fix_cli

    def broken(*_: object) -> int:
        raise AttributeError("'NoneType' object has no attribute 'get_frozen_credentials'")

    monkeypatch.setattr(fix_cli, "cmd_due", broken)
    monkeypatch.delenv("VMWB_DEBUG", raising=False)
    assert main(["--db", db, "fix", "due"]) == 70
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "unexpected error: AttributeError" in err
        and "Traceback" not in err
    )


def test_no_cache_hint_names_the_kept_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.cli.demo import kept_path

    assert main(["--db", str(tmp_path / "none.db"), "inventory", "vms"]) == 2
    assert "vmwb demo --keep" in capsys.readouterr().err
    monkeypatch.setenv("VMWB_DB", str(tmp_path / "work" / "cache.db"))
    assert kept_path() == tmp_path / "work" / "demo.db"  # beside the default cache, never over it

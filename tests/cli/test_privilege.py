"""Roles and read-only can only be lowered: by ``--role``, by ``--read-only``, by another config file; never
raised. The audit log records the effective role."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.cli.context import CliContext, least_role
from workbench.errors import PermissionDenied
from workbench.fixes import lookup
from workbench.fixes.engine import FixEngine


@pytest.fixture
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default config file (the user's config folder), isolated per test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("VMWB_CONFIG", raising=False)
    path = tmp_path / "xdg" / "vmwb" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def _ctx(
    tmp_path: Path, config: Path | None = None, *, role: str | None = None, ro: bool = False
) -> CliContext:
    args = argparse.Namespace(
        db=str(tmp_path / "cache.db"),
        config=str(config) if config else None,
        read_only=ro,
        role=role,
    )
    return CliContext.from_args(args)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_least_role_orders_viewer_below_responder_below_operator() -> None:
    assert least_role("operator", "viewer", None) == "viewer"
    assert least_role("operator", "responder") == "responder"
    assert least_role(None, None) == "operator"


def test_the_role_flag_cannot_raise_the_configs_role(tmp_path: Path, user_config: Path) -> None:
    _write(user_config, '[general]\nrole = "viewer"\n')
    assert _ctx(tmp_path, role="operator").role == "viewer"
    assert _ctx(tmp_path, role="responder").role == "viewer"


def test_the_role_flag_lowers_the_configs_role(tmp_path: Path, user_config: Path) -> None:
    _write(user_config, '[general]\nrole = "operator"\n')
    assert _ctx(tmp_path, role="responder").role == "responder"
    assert _ctx(tmp_path).role == "operator"


def test_another_config_file_cannot_raise_the_default_configs_role(
    tmp_path: Path, user_config: Path
) -> None:
    _write(user_config, '[general]\nrole = "responder"\n')
    other = _write(tmp_path / "other.toml", '[general]\nrole = "operator"\n')
    assert _ctx(tmp_path, other).role == "responder"
    assert _ctx(tmp_path, other, role="operator").role == "responder"


def test_vmwb_config_env_cannot_raise_it_either(
    tmp_path: Path, user_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(user_config, '[general]\nrole = "viewer"\nread_only = true\n')
    other = _write(tmp_path / "other.toml", '[general]\nrole = "operator"\nread_only = false\n')
    monkeypatch.setenv("VMWB_CONFIG", str(other))
    ctx = _ctx(tmp_path)
    assert (ctx.role, ctx.read_only) == ("viewer", True)


def test_another_config_file_may_lower_the_role(tmp_path: Path, user_config: Path) -> None:
    _write(user_config, '[general]\nrole = "operator"\n')
    other = _write(tmp_path / "other.toml", '[general]\nrole = "viewer"\n')
    assert _ctx(tmp_path, other).role == "viewer"


def test_another_config_file_cannot_drop_read_only(tmp_path: Path, user_config: Path) -> None:
    _write(user_config, "[general]\nread_only = true\n")
    other = _write(tmp_path / "other.toml", "[general]\nread_only = false\n")
    assert _ctx(tmp_path, other).read_only is True


def test_any_read_only_wins(tmp_path: Path, user_config: Path) -> None:
    _write(user_config, "[general]\nread_only = false\n")
    other = _write(tmp_path / "other.toml", "[general]\nread_only = true\n")
    assert _ctx(tmp_path, other).read_only is True
    assert _ctx(tmp_path, ro=True).read_only is True
    assert _ctx(tmp_path).read_only is False


def test_a_broken_default_config_fails_closed(tmp_path: Path, user_config: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _write(user_config, "[general\nrole = viewer\n")
    other = _write(tmp_path / "other.toml", '[general]\nrole = "operator"\n')
    assert (
        main(["--db", str(tmp_path / "c.db"), "--config", str(other), "mute", "remove", "1"]) == 2
    )
    assert "not valid TOML" in capsys.readouterr().err


def test_the_cli_refuses_a_raised_role_end_to_end(
    tmp_path: Path, user_config: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    _write(user_config, '[general]\nrole = "viewer"\n')
    other = _write(tmp_path / "other.toml", '[general]\nrole = "operator"\n')
    argv = ["--db", str(tmp_path / "c.db"), "--config", str(other), "--role", "operator"]
    code = main([*argv, "mute", "add", "--reason", "x", "--expires", "30d", "--check", "SNP-01"])
    assert code == 2
    assert "the viewer role cannot add or remove mutes" in capsys.readouterr().err


def test_the_audit_records_the_effective_role(tmp_path: Path, user_config: Path) -> None:
    _write(user_config, '[general]\nrole = "viewer"\n')
    ctx = _ctx(tmp_path, role="operator")
    try:
        engine = FixEngine.from_cli(ctx)
        assert engine.role == "viewer"
        fix = lookup.all_fixes()[0]
        with pytest.raises(PermissionDenied, match="role viewer"):
            engine.plan(fix.id, [])
        last = (
            ctx.cache()
            .db.execute("SELECT role, result FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        assert tuple(last) == ("viewer", "denied: role viewer may not run fixes")
    finally:
        ctx.close()


def test_the_tui_gets_the_effective_role_and_read_only(tmp_path: Path, user_config: Path) -> None:
    from workbench.screens.app import create_app

    _write(user_config, '[general]\nrole = "responder"\nread_only = true\n')
    other = _write(tmp_path / "other.toml", '[general]\nrole = "operator"\n')
    ctx = _ctx(tmp_path, other, role="operator")
    app = create_app(ctx.db_path, ctx.config, read_only=ctx.read_only, role=ctx.role)
    assert app.services.role == "responder"
    assert app.services.read_only_forced is True
    assert app.set_read_only(False) is False  # the session toggle cannot lift it

"""Helpers shared by the check commands (scan, checks, diff, kpi, report, mute, compliance)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.context import CliContext


def config_params(ctx: CliContext) -> dict[str, dict[str, Any]]:
    """Per-check parameter overrides from the config file (``[checks.<ID>]``)."""
    from workbench.scan.loader import config_overrides

    return config_overrides(ctx.config)


def emit(text: str, output: str | None) -> None:
    """Write to ``output`` (mode 0600: findings describe the estate) or stdout."""
    if not output or output == "-":
        sys.stdout.write(text)
        return
    from workbench.private_files import write_private_text

    path = Path(output).expanduser()
    write_private_text(path, text)  # 0600 from the first byte, written whole
    print(f"wrote {path}", file=sys.stderr)

"""What the posture screens (dashboard, findings, checks, scans, fix wizard, journal) share.

Cache access follows the app's rule: the UI thread reads through read-only connections; anything that writes
(a scan, a mute, a fix) opens its own writer inside a thread worker and closes it there. The clock is the app's
``clock`` attribute when a test sets one, so screens that show ages or compute KPIs render the same every run.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import App

from workbench.cache.store import Cache
from workbench.clock import utcnow
from workbench.textsafe import safe

if TYPE_CHECKING:
    from workbench.config import Config

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}
SEVERITY_SHORT = {
    "critical": "crit",
    "high": "high",
    "medium": "med",
    "low": "low",
    "informational": "info",
}
# The fix safety classes (design: field.md section 5): the colour says how far back a change can go.
SAFETY_STYLE = {
    "reversible": "bold green",
    "additive": "bold yellow",
    "irreversible": "bold white on red",
}
FRAMEWORK_SHORT = {
    "cis_aws_foundations": "CIS AWS",
    "cis_aws_compute": "CIS AWS-C",
    "cis_gcp": "CIS GCP",
    "cis_azure": "CIS Azure",
    "nist_800_53": "NIST 800-53",
    "disa_stig": "DISA STIG",
    "mitre_attack": "ATT&CK",
}


def now_iso(app: App[Any]) -> str:
    clock: Callable[[], str] | None = getattr(app, "clock", None)
    return clock() if clock is not None else utcnow()


def operator(app: App[Any]) -> str:
    """Who is acting: the configured user, else the OS user (mutes and fixes record it)."""
    config = app.services.config  # type: ignore[attr-defined]
    return str(config.user or getpass.getuser())


@contextlib.contextmanager
def write_cache(app: App[Any]) -> Iterator[Cache]:
    """A writer for the current thread (a worker): scans, mutes and fixes. On a read-only cache (read-only
    media, no write permission) it refuses in one line before anything is written."""
    cache = Cache.open(app.services.cache_path, create=False)  # type: ignore[attr-defined]
    try:
        cache.refuse_read_only("this change")
        yield cache
    finally:
        cache.close()


def scan_params(app: App[Any]) -> dict[str, dict[str, Any]]:
    """Per-check parameter overrides from the config, as ``vmwb scan`` passes them."""
    from workbench.scan.loader import config_overrides

    return config_overrides(scan_config(app))


def scan_config(app: App[Any]) -> Config:
    """The session's config, for the checks whose Python logic reads it (the image checks' ``[images]``)."""
    return app.services.config  # type: ignore[attr-defined,no-any-return]


def refresh_screens(app: App[Any]) -> None:
    """After a scan, mute or fix: every open workbench screen re-reads what it shows."""
    from workbench.screens.base import WorkbenchScreen

    for screen in app.screen_stack:
        if isinstance(screen, WorkbenchScreen):
            screen.refresh_data()


def bar(count: float, total: float, width: int, style: str = "") -> Text:
    """A horizontal bar of ``width`` cells, filled in proportion (eighths for a smooth edge)."""
    if total <= 0 or width <= 0:
        return Text("·" * max(width, 0), style="dim")
    eighths = round(8 * width * min(max(count / total, 0.0), 1.0))
    if count > 0 and eighths == 0:
        eighths = 1  # something, however small, is never drawn as nothing
    full, part = divmod(eighths, 8)
    text = Text("█" * full, style=style)
    if part:
        text.append(" ▏▎▍▌▋▊▉"[part], style=style)
    text.append("░" * (width - full - (1 if part else 0)), style="dim")
    return text


def severity_cell(severity: str, width: int = 4) -> Text:
    label = SEVERITY_SHORT.get(severity, severity)
    return Text(f"{safe(label):<{width}.{width}}", style=SEVERITY_STYLE.get(severity, ""))


def safety_badge(safety: str) -> Text:
    return Text(f" {safe(safety).upper()} ", style=SAFETY_STYLE.get(safety, "bold"))


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"

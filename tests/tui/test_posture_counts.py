"""The CLI and the app read posture through one read model, so they give the same counts.

Over the scanned test estate: the counts ``vmwb report`` prints, the dashboard's severity panel and the findings
screen's groups are compared with each other and with a plain COUNT over ``findings`` (which also proves the
summary the cache keeps by trigger matches the rows it summarises), before and after a mute changes them.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from posture_estate import findings_count, posture_app
from rich.console import Console
from textual.widgets import OptionList
from tui_estate import NOW, settle, settled_pilot

from workbench.cache.posture import SEVERITIES
from workbench.cli import main
from workbench.screens.dashboard import DashboardScreen
from workbench.screens.findings import FindingsScreen


def cli_summary(path: Path, tmp_path: Path) -> dict[str, int]:
    """``vmwb report --format md``'s posture summary row: open, muted and open per severity."""
    out = tmp_path / "report.md"
    assert (
        main(["--db", str(path), "report", "--format", "md", "--now", NOW, "--output", str(out)])
        == 0
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    head = lines.index("| Open | Muted | " + " | ".join(SEVERITIES) + " |")
    cells = [int(c) for c in lines[head + 2].strip("|").split("|")]
    return dict(zip(["open", "muted", *SEVERITIES], cells, strict=True))


def sql_summary(path: Path) -> dict[str, int]:
    counts = {
        "open": findings_count(path, status="open"),
        "muted": findings_count(path, status="muted"),
    }
    for severity in SEVERITIES:
        counts[severity] = findings_count(path, status="open", severity=severity)
    return counts


def rendered(widget: object) -> str:
    console = Console(width=220, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)  # type: ignore[attr-defined]
    return console.export_text()


async def app_summary(path: Path) -> dict[str, int]:
    """The dashboard's severity panel (open per severity, "+N muted") and the findings screen's total."""
    counts = dict.fromkeys(["open", "muted", *SEVERITIES], 0)
    async with settled_pilot(posture_app(path), "", "") as (app, pilot):
        assert isinstance(app.screen, DashboardScreen)
        for line in rendered(app.screen.query_one("#dash-severity")).splitlines():
            m = re.match(r"\s*(\w+)\s.*?\s(\d+)\s*(?:\+(\d+) muted)?\s*$", line)
            if m and m[1] in SEVERITIES:
                counts[m[1]] = int(m[2])
                counts["muted"] += int(m[3] or 0)
        counts["open"] = sum(counts[s] for s in SEVERITIES)
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        total = screen.query_one("#fnd-groups", OptionList).get_option_at_index(0).prompt
        assert str(total).split()[-1] == str(counts["open"] + counts["muted"])
        assert screen.table.row_count == counts["open"] + counts["muted"]
    return counts


async def test_cli_and_app_give_the_same_counts(posture_db: Path, tmp_path: Path) -> None:
    truth = sql_summary(posture_db)
    assert (
        truth["open"] > 0 and truth["muted"] > 0
    )  # the estate has both, or the test proves little
    assert cli_summary(posture_db, tmp_path) == truth
    assert await app_summary(posture_db) == truth


async def test_counts_follow_a_mute(posture_db: Path, tmp_path: Path) -> None:
    from workbench.cache.store import Cache
    from workbench.scan.engine import run_scan
    from workbench.scan.mutes import add_mute

    before = sql_summary(posture_db)
    with Cache.open(posture_db, create=False) as cache:
        add_mute(
            cache,
            reason="accepted risk",
            author="alice",
            role="operator",
            expires_at="2026-02-14T12:00:00Z",
            check="SNP-01",
            now=NOW,
        )
        run_scan(cache, check_ids=["SNP-01"], now=NOW)
    after = sql_summary(posture_db)
    assert after["muted"] > before["muted"] and after["open"] < before["open"]
    assert cli_summary(posture_db, tmp_path) == after
    assert await app_summary(posture_db) == after

"""Pilot tests of ``:mutes``: the exceptions that need a decision, removal through the core's rule (a viewer is
refused and the refusal audited), and the findings screen's refusal audited the same way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from posture_estate import findings_count, posture_app
from rich.text import Text
from textual.widgets import DataTable
from tui_estate import settle, settled_pilot

from workbench.screens.findings import FindingsScreen
from workbench.screens.mutes import MutesScreen


def last_audit(path: Path) -> tuple[str, str, str]:
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT actor, action, result FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return tuple(row)  # type: ignore[return-value]


async def test_mutes_lists_what_needs_a_decision_and_removes(posture_db: Path) -> None:
    async with settled_pilot(posture_app(posture_db), "mutes") as (app, pilot):
        screen = app.screen
        assert isinstance(screen, MutesScreen)
        table = screen.query_one("#mut-table", DataTable)
        assert table.row_count == 1
        row = table.get_row_at(0)
        state = str(row[1].plain if isinstance(row[1], Text) else row[1])
        assert "no ticket" in state and "SNP-04" in str(row[6])
        muted = findings_count(posture_db, check_id="SNP-04", status="muted")
        assert muted >= 1
        await pilot.press("u")
        await settle(pilot)
        assert last_audit(posture_db)[1:] == ("unmute", "ok")
        assert findings_count(posture_db, check_id="SNP-04", status="muted") == 0
        assert table.row_count == 0  # nothing left that needs a decision
        await pilot.press("a")
        await settle(pilot)
        assert table.row_count == 0  # removed rules are not in force


async def test_viewer_is_refused_and_audited(posture_db: Path) -> None:
    async with settled_pilot(posture_app(posture_db, role="viewer"), "mutes") as (_app, pilot):
        await pilot.press("u")
        await settle(pilot)
        assert last_audit(posture_db)[1:] == (
            "unmute",
            "refused: the viewer role cannot add or remove mutes",
        )
        assert findings_count(posture_db, check_id="SNP-04", status="muted") >= 1


async def test_findings_refusal_is_audited(posture_db: Path) -> None:
    app = posture_app(posture_db, role="viewer")
    async with settled_pilot(app, "findings", "check=SNP-01") as (app, pilot):
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)
        assert last_audit(posture_db)[1:] == (
            "mute",
            "refused: the viewer role cannot add or remove mutes",
        )

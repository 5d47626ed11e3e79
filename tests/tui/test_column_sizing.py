"""Columns sized to their content and the terminal: at 200 columns nothing is cut while room is left, at 100
the findings list keeps its check ids whole and shortens long cloud ids in the middle (the end tells them apart)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from posture_estate import posture_app
from tui_estate import settled_pilot

from workbench.screens.findings import FindingsScreen

AZURE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prod/providers/"
    "Microsoft.Compute/snapshots/billing-db-nightly-7f3e"
)
CHECK = "PROWLER-EC2_INSTANCE_IMDSV2_ENABLED"  # an imported check: long, and never cut
ACCOUNT = "00000000-0000-0000-0000-00000000d3m0"


@pytest.fixture
def long_ids_db(posture_db: Path) -> Path:
    with sqlite3.connect(posture_db) as db:
        (finding_id,) = db.execute(
            "SELECT finding_id FROM findings WHERE check_id = 'SNP-01' AND status = 'open' LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE findings SET check_id = ?, resource_id = ?, account = ? WHERE finding_id = ?",
            (CHECK, AZURE_ID, ACCOUNT, finding_id),
        )
    return posture_db


def _lines(screen: FindingsScreen) -> list[str]:
    table = screen.table
    return ["".join(s.text for s in table.render_line(y)) for y in range(4)]


async def test_wide_terminal_shows_ids_and_accounts_whole(long_ids_db: Path) -> None:
    app = posture_app(long_ids_db)
    async with settled_pilot(app, "findings", f"check={CHECK}", size=(200, 30)) as (_, _pilot):
        screen = app.screen
        assert isinstance(screen, FindingsScreen) and screen.table.row_count == 1
        header, row = _lines(screen)[:2]
        assert "Account" in header and "Region" in header
        assert CHECK in row and ACCOUNT in row
        # The resource id is cut in the middle, never at its distinctive end.
        resource = next(cell for cell in row.split() if cell.startswith("/subscriptions/"))
        head, tail = resource.split("…")
        assert (
            AZURE_ID.startswith(head) and AZURE_ID.endswith(tail) and tail.endswith("nightly-7f3e")
        )


async def test_narrow_terminal_never_cuts_a_check_id(long_ids_db: Path) -> None:
    app = posture_app(long_ids_db)
    async with settled_pilot(app, "findings", f"check={CHECK}", size=(100, 30)) as (_, _pilot):
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        _header, row = _lines(screen)[:2]
        assert CHECK in row  # whole, although the other columns had to give up room
        resource = next((cell for cell in row.split() if "…" in cell), "")
        assert resource, row
        tail = resource.split("…")[1]
        assert len(tail) >= 4 and AZURE_ID.endswith(tail)
        assert all(cell_len <= 100 for cell_len in map(len, _lines(screen)))


async def test_short_check_ids_are_whole_at_100_columns(posture_db: Path) -> None:
    app = posture_app(posture_db)
    async with settled_pilot(app, "findings", size=(100, 30)) as (_, _pilot):
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        rows = _lines(screen)[1:]
        checks = [row.split()[1] for row in rows if row.strip()]
        assert checks and all("…" not in check and "-" in check for check in checks), rows
        assert any("snap-" in row for row in _lines(screen))

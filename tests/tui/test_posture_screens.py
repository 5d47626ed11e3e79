"""Pilot tests of the posture screens over the scanned test estate: dashboard, findings (group, filter, mute,
unmute, open), checks (run one), scans (diff), journal and audit (chain verified, undo refused read-only)."""

from __future__ import annotations

import io
import sqlite3
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from posture_estate import findings_count, posture_app
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from tui_estate import settle, settled_pilot

from workbench.screens.checks import ChecksScreen
from workbench.screens.dashboard import DashboardScreen
from workbench.screens.detail import DetailScreen
from workbench.screens.findings import FindingsScreen
from workbench.screens.journal import JournalScreen
from workbench.screens.mute_dialog import MuteDialog
from workbench.screens.scans import ScansScreen
from workbench.screens.undo_confirm import UndoConfirm


def posture_pilot(
    path: Path, view: str = "", args: str = "", **app_kwargs: Any
) -> AbstractAsyncContextManager[tuple[Any, Pilot[Any]]]:
    """``settled_pilot`` over ``posture_app(path, **app_kwargs)`` (its options: ``read_only``, ``role``)."""
    return settled_pilot(posture_app(path, **app_kwargs), view, args)


def rendered(widget: Any) -> str:
    """The plain text of what a Static shows (a Rich renderable printed wide, so nothing is cut)."""
    console = Console(width=220, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def table_text(table: Any, lines: int = 12) -> str:
    return "\n".join("".join(s.text for s in table.render_line(y)) for y in range(lines))


async def test_app_opens_on_the_dashboard(posture_db: Path) -> None:
    async with posture_pilot(posture_db) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        panel = {p.id: rendered(p) for p in screen.query(".dash-panel")}
        assert "critical" in panel["dash-severity"] and "+2 muted" not in panel["dash-severity"]
        assert "Snapshot and backup" in panel["dash-area"]
        assert "patch compliance" in panel["dash-kpi"]
        assert "public" in panel["dash-snapshots"] and "of 8 snapshots" in panel["dash-snapshots"]
        assert "stale" in panel["dash-sync"] and "AccessDenied" in panel["dash-sync"]
        assert "+1 new" in panel["dash-diff"] and "snap-0001" in panel["dash-diff"]
        assert "CIS AWS" in panel["dash-compliance"]
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)


async def test_findings_group_filter_and_open(posture_db: Path) -> None:
    async with posture_pilot(posture_db, "findings", "check=SNP-01") as (app, pilot):
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        assert screen.table.row_count == 2
        await pilot.press("g")  # by severity
        await settle(pilot)
        assert (
            screen.grouping == "severity" and screen.table.row_count == 75 + 1
        )  # open (HYB-01 included; issue 18's IAM-10, IMG-21 and SNP-13 add 21) + muted
        await pilot.press("g", "g")  # area, then framework
        await settle(pilot)
        assert screen.grouping == "framework"
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("slash", *"i-0002")
        await settle(pilot)
        # CFG-01, IAM-06, IAM-10, IMG-10, IMG-21, SPR-01, SPR-04 on i-0002
        assert screen.table.row_count == 7
        text = table_text(screen.table)
        assert "[@click=app" in text and "\x1b" not in text  # the hostile name is literal text
        await pilot.press("enter")  # keeps the filter, back to the table
        await pilot.press("enter")  # opens the resource
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.uid.endswith("i-0002")


async def test_mute_with_reason_and_expiry_then_unmute(posture_db: Path) -> None:
    async with posture_pilot(posture_db, "findings", "check=SNP-01") as (app, pilot):
        screen = app.screen
        await pilot.press("space", "space")  # both public snapshots
        assert len(screen.table.selected_keys) == 2
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MuteDialog)
        await pilot.press("enter", "enter", "enter", "enter")  # no reason: refused in the dialog
        assert isinstance(app.screen, MuteDialog)
        assert "needs a reason" in rendered(app.screen.query_one("#mute-error", Static))
        app.screen.query_one("#mute-reason", Input).value = "accepted risk, ticket SEC-42"
        app.screen.query_one("#mute-expires", Input).value = "14d"
        await pilot.click("#mute-ok")
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)
        assert findings_count(posture_db, check_id="SNP-01", status="muted") == 2
        with sqlite3.connect(posture_db) as db:
            mute = db.execute(
                "SELECT check_pattern, resource_pattern, author, expires_at, reason FROM mutes "
                "ORDER BY mute_id DESC LIMIT 1"
            ).fetchone()
            audited = db.execute(
                "SELECT actor, action FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        assert mute[0] == "SNP\\-01" and "snap\\-0000" in mute[1] and "snap\\-0001" in mute[1]
        assert mute[2:] == ("alice", "2026-01-29T12:00:00Z", "accepted risk, ticket SEC-42")
        assert audited == ("alice", "mute")
        # The table keeps showing them (status current = open and muted); unmute the one under the cursor.
        await pilot.press("home", "u")
        await settle(pilot)
        assert (
            findings_count(posture_db, check_id="SNP-01", status="open") == 2
        )  # one rule covered both


async def test_viewer_cannot_mute(posture_db: Path) -> None:
    async with posture_pilot(posture_db, "findings", "check=SNP-01", role="viewer") as (app, pilot):
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, FindingsScreen)


async def test_checks_run_one_check(posture_db: Path) -> None:
    async with posture_pilot(posture_db, "checks", "SNP-04") as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ChecksScreen)
        detail = rendered(screen.query_one("#chk-detail", Static))
        assert (
            "SNP-04" in detail
            and "Mappings" in detail
            and "Parameters" in detail
            or "Rationale" in detail
        )
        await pilot.press("x")
        await settle(pilot)
        status = rendered(screen.query_one("#chk-status", Static))
        assert "scan 3" in status and "1 checks" in status
        with sqlite3.connect(posture_db) as db:
            assert db.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 3


async def test_scans_diff_and_pinned_base(posture_db: Path) -> None:
    async with posture_pilot(posture_db, "scans") as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ScansScreen)
        assert "scan 1 → scan 2" in rendered(screen.query_one("#scn-pair", Static))
        new = screen.query_one("#scn-new", DataTable)
        assert new.row_count == 1 and "snap-0001" in str(new.get_row_at(0)[3])
        await pilot.press("down")  # scan 1: compared with nothing before it
        await settle(pilot)
        assert "scan 0 → scan 1" in rendered(screen.query_one("#scn-pair", Static))
        await pilot.press("1")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)


async def test_journal_and_audit(posture_db: Path) -> None:
    async with posture_pilot(posture_db, "journal", read_only=True) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, JournalScreen)
        call = rendered(screen.query_one("#jr-call", Static))
        assert "verified" in call and "ModifySnapshotAttribute" in call
        assert '"public": true' in rendered(screen.query_one("#jr-before", Static))
        assert '"public": false' in rendered(screen.query_one("#jr-after", Static))
        assert "audit chain intact" in rendered(screen.query_one("#au-verify", Static))
        await pilot.press("u")  # previewed first, like an apply
        await settle(pilot)
        assert isinstance(app.screen, UndoConfirm)
        preview = str(app.screen.query_one("#undo-preview Static", Static).render())
        assert "Undo journal #1" in preview and "OperationType='add'" in preview
        await pilot.press("escape")  # cancelled: nothing asked of the engine
        await settle(pilot)
        with sqlite3.connect(posture_db) as db:
            assert (
                db.execute("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0]
                != "undo"
            )
        await pilot.press("u", "y")  # read-only: the engine refuses, and audits the refusal
        await settle(pilot)
        with sqlite3.connect(posture_db) as db:
            last = db.execute(
                "SELECT action, result FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        assert last[0] == "undo" and last[1].startswith("denied: read-only")
        await pilot.press("2")
        await settle(pilot)
        assert "audit chain intact" in rendered(screen.query_one("#au-verify", Static))


async def test_audit_tampering_is_shown(posture_db: Path) -> None:
    with sqlite3.connect(posture_db) as db:
        db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_log'"
        ).fetchall():
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    async with posture_pilot(posture_db, "journal") as (app, _):
        text = rendered(app.screen.query_one("#au-verify", Static))
        assert "BROKEN" in text and "entry 2 was edited" in text


async def test_an_import_scan_is_diffed_against_its_own_source(posture_db: Path) -> None:
    """The Prowler import is scan 3: highlighting it shows what it brought, not "no scan 3 of vmwb"."""
    from workbench.cache.store import Cache
    from workbench.scan.imports import prowler
    from workbench.scan.imports.landing import land

    data = Path(__file__).resolve().parents[1] / "data" / "prowler"
    path = data / "prowler-5.46.0-aws-ec2.ocsf.json"
    with Cache.open(posture_db) as cache:
        land(cache, prowler.SOURCE, path, prowler.read(path), actor="t", role="operator")
    async with posture_pilot(posture_db, "scans") as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ScansScreen)
        assert "scan 0 → scan 3" in rendered(screen.query_one("#scn-pair", Static))
        assert screen.query_one("#scn-new", DataTable).row_count == 3
        await pilot.press("down")  # vmwb's scan 2 still compares with vmwb's scan 1
        await settle(pilot)
        assert "scan 1 → scan 2" in rendered(screen.query_one("#scn-pair", Static))

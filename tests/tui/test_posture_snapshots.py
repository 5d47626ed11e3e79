"""SVG snapshots of the posture screens over the scanned estate, fixed clock (baselines in __snapshots__/)."""

from __future__ import annotations

from pathlib import Path

from posture_estate import posture_app
from textual.pilot import Pilot
from textual.widgets import Input

from workbench.screens.fix_wizard import FixWizardScreen


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def view(name: str, args: str = "", then: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        if name:
            pilot.app.open_view(name, args)  # type: ignore[attr-defined]
        await settle(pilot)
        if then:
            await pilot.press(*then)
            await settle(pilot)

    return run_before


def test_dashboard(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(posture_app(posture_db), terminal_size=(120, 40), run_before=view(""))


def test_dashboard_80x24(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(posture_app(posture_db), terminal_size=(80, 24), run_before=view(""))


def test_findings(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        posture_app(posture_db),
        terminal_size=(120, 40),
        run_before=view("findings", then=("space", "space")),
    )


def test_findings_80x24(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        posture_app(posture_db), terminal_size=(80, 24), run_before=view("findings", "check=SNP-04")
    )


def test_mute_dialog(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        posture_app(posture_db),
        terminal_size=(120, 40),
        run_before=view("findings", "check=SNP-01", then=("m", *"accepted risk")),
    )


def test_checks(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        posture_app(posture_db), terminal_size=(120, 40), run_before=view("checks", "SNP-01")
    )


def test_scans(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(posture_app(posture_db), terminal_size=(120, 40), run_before=view("scans"))


def test_journal(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        posture_app(posture_db), terminal_size=(120, 40), run_before=view("journal")
    )


def test_audit(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        posture_app(posture_db), terminal_size=(120, 40), run_before=view("journal", then=("2",))
    )


def test_fix_wizard_read_only(snap_compare, posture_db: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(FixWizardScreen(args="SNP-01"))
        await settle(pilot)

    assert snap_compare(
        posture_app(posture_db, read_only=True), terminal_size=(120, 40), run_before=run_before
    )

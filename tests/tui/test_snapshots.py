"""SVG snapshots of each screen over the fixed estate (baselines in __snapshots__/; --snapshot-update)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from tui_estate import make_app

UID = "aws:111122223333:eu-west-1:instance:i-0000"


async def settle(pilot: Pilot) -> None:
    for widget in pilot.app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False  # a blinking cursor makes every screenshot differ
        if isinstance(widget, TextArea):
            # Textual's line cache keys a line by the blink phase only while blinking: a line drawn in
            # the off phase was reused once blinking stopped, so the focused editor showed no cursor
            # whenever the test ran past the first half-second blink (textual 8.2.8). Redraw it.
            widget._line_cache.clear()
            widget.refresh()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def open_view(name: str, then: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot) -> None:
        pilot.app.open_view(name)  # type: ignore[attr-defined]
        await pilot.pause()
        await settle(pilot)
        if then:
            await pilot.press(*then)
            await settle(pilot)

    return run_before


def test_inventory(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(cache_path), terminal_size=(120, 40), run_before=open_view("vm"))


def test_inventory_80x24(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(cache_path), terminal_size=(80, 24), run_before=open_view("vm"))


def test_inventory_filtered(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        make_app(cache_path),
        terminal_size=(120, 40),
        run_before=open_view("snap", ("slash", *"public=1")),
    )


def test_detail(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot) -> None:
        pilot.app.open_resource(UID)  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(make_app(cache_path), terminal_size=(120, 40), run_before=run_before)


def test_detail_80x24(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot) -> None:
        pilot.app.open_resource(UID)  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(make_app(cache_path), terminal_size=(80, 24), run_before=run_before)


def test_query(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        make_app(cache_path), terminal_size=(120, 40), run_before=open_view("query", ("ctrl+r",))
    )


def test_sync(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(cache_path), terminal_size=(120, 40), run_before=open_view("sync"))


def test_settings(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        make_app(cache_path), terminal_size=(120, 40), run_before=open_view("settings")
    )


def test_help(snap_compare, cache_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        make_app(cache_path),
        terminal_size=(120, 40),
        run_before=open_view("vm", ("question_mark",)),
    )

"""Pilot tests of the image-factory view: approve, revoke and verify with the audit log, lineage, hostile names,
read-only and viewer refusal. The cache is built through the real API; the keyring is the in-memory one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import Input, Static
from tui_estate import make_app, settle, settled_pilot

from workbench import audit, config, model
from workbench.cache.store import Cache
from workbench.config import Config
from workbench.model import TaskOutput
from workbench.screens.images import ImagesScreen, ReasonPrompt
from workbench.screens.widgets.virtual_table import VirtualTable

SIZE = (170, 40)
HOSTILE = "[@click=app.quit]x\x1b]0;pwned\x07"


def _build(path: Path) -> Path:
    with Cache.open(path) as cache:
        run = cache.start_run({})
        prod = model.ScopeRef("aws", "111122223333", "eu-west-1")
        out = TaskOutput()
        out.add(
            model.Image(
                id="ami-golden",
                name=HOSTILE,
                owner="111122223333",
                created_at="2026-01-01T00:00:00Z",
            )
        )
        out.add(model.Instance(id="i-1", name="web-1", state="running", image_id="ami-golden"))
        cache.replace_task(run, prod, "compute", out)
        dev = model.ScopeRef("aws", "444455556666", "eu-west-1")
        cache.replace_task(
            run,
            dev,
            "compute",
            TaskOutput(
                [model.Instance(id="i-2", name="dev-1", state="running", image_id="ami-golden")]
            ),
        )
        cache.refresh_search()
    return path


def _app(path: Path, *, read_only: bool = False, role: str = "operator"):  # type: ignore[no-untyped-def]
    from workbench.screens.app import create_app

    return create_app(path, Config(user="ana"), read_only=read_only, role=role)


def _text(table: VirtualTable, lines: int = 4) -> str:
    return "\n".join("".join(s.text for s in table.render_line(y)) for y in range(lines))


async def _open(app, pilot) -> ImagesScreen:  # type: ignore[no-untyped-def]
    await pilot.press("colon", *"images", "enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ImagesScreen)
    return app.screen


async def test_approve_verify_revoke_are_audited(tmp_path: Path) -> None:
    path = _build(tmp_path / "c.db")
    app = _app(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        table = screen.query_one(VirtualTable)
        assert table.row_count == 1
        text = _text(table)
        assert "unapproved" in text and "\x1b" not in text and "[@click=app.q" in text
        lineage = str(screen.query_one("#lineage", Static).render())
        assert "lineage: 2 VM(s)" in lineage and "444455556666" in lineage
        assert "\x1b" not in lineage and "␛]0;pwned␇" in lineage
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ReasonPrompt)
        app.screen.query_one(Input).value = "CIS L1 + Trivy clean"
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "approved" in _text(table) and "valid" in _text(table)
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one(Input).value = "CVE-2026-0001 in the base"
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "revoked" in _text(table)
    with Cache.open(path) as cache:
        actions = [(e.action, e.actor, e.result) for e in audit.entries(cache)]
        assert actions == [
            ("approve", "ana", "ok"),
            ("verify", "ana", "ok"),
            ("revoke", "ana", "ok"),
        ]
        assert audit.verify(cache) == []


async def test_tampered_entry_shows_and_verify_says_so(tmp_path: Path) -> None:
    path = _build(tmp_path / "c.db")
    app = _app(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one(Input).value = "ok"
        await pilot.press("enter")
        await pilot.pause()
        with Cache.open(path) as cache:
            cache.db.execute("UPDATE image_registry SET reason = 'approved by CISO'")
        await pilot.press("v")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "tampered" in _text(screen.query_one(VirtualTable))
        assert "tampered" in str(screen.query_one("#lineage", Static).render())
    with Cache.open(path) as cache:
        assert [e.result for e in audit.entries(cache) if e.action == "verify"] == ["problems"]


async def test_read_only_and_viewer_are_refused(tmp_path: Path) -> None:
    path = _build(tmp_path / "c.db")
    for kwargs in ({"read_only": True}, {"role": "viewer"}):
        app = _app(path, **kwargs)  # type: ignore[arg-type]
        async with app.run_test(size=SIZE) as pilot:
            await _open(app, pilot)
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, ImagesScreen)  # no reason prompt: refused up front
    with Cache.open(path) as cache:
        assert cache.db.execute("SELECT COUNT(*) FROM image_registry").fetchone()[0] == 0


async def test_checks_screen_scans_with_the_session_config(tmp_path: Path) -> None:
    """A check run from the TUI gets the app's config: ``[images] trusted_publishers`` there clears IMG-14."""
    path = tmp_path / "c.db"
    with Cache.open(path) as cache:
        scope = model.ScopeRef("gcp", "demo-proj", "europe-west1")
        vm = model.Instance(id="gce-1", state="running", image_id="shady-images/miner-1")
        cache.replace_task(cache.start_run({}), scope, "compute", TaskOutput([vm]))
    trusting = config.parse({"images": {"trusted_publishers": ["shady-images"]}})
    for cfg, expected in ((Config(), 1), (trusting, 0), (Config(), 1)):
        async with settled_pilot(make_app(path, cfg), "checks", "IMG-14") as (_, pilot):
            await pilot.press("x")
            await settle(pilot)
        with sqlite3.connect(path) as db:
            (found,) = db.execute(
                "SELECT COUNT(*) FROM findings WHERE check_id = 'IMG-14' AND status = 'open'"
            ).fetchone()
        assert found == expected

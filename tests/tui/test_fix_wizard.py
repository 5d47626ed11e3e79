"""The fix wizard end to end on the demo's AWS estate (moto): findings → wizard → plan → dry-run → apply → verify
→ undo, checked against the emulator itself, and the refusals (read-only, viewer, responder on irreversible)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, RichLog, Static
from tui_estate import make_app, settle, settled_pilot

from workbench.screens.findings import FindingsScreen
from workbench.screens.fix_wizard import FixWizardScreen
from workbench.screens.undo_confirm import UndoConfirm

FIX_ACCOUNT = "123456789012"  # the demo's fix identity lives here; other accounts need fix_role_arn


@pytest.fixture(scope="module")
def aws_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from workbench.demo import build_demo
    from workbench.demo.parts import AWS

    with pytest.MonkeyPatch.context() as mp:
        # The AWS part sets fake credentials in os.environ: keep them from leaking into other modules.
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            mp.setenv(key, "testing" if "REGION" not in key else "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/vmwb-test-aws-config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/vmwb-test-aws-credentials")
        estate = build_demo(tmp_path_factory.mktemp("demo") / "demo.db", parts=[AWS])
        try:
            yield estate
        finally:
            estate.close()


@pytest.fixture
def demo_db(aws_demo: Any, tmp_path: Path) -> Path:
    """A fresh copy of the demo's cache per test (fixes, undo and the audit write to it)."""
    db = tmp_path / "demo.db"
    shutil.copy2(aws_demo.db_path, db)
    return db


def demo_pilot(
    estate: Any, db: Path, view: str = "", args: str = "", **options: Any
) -> AbstractAsyncContextManager[tuple[Any, Pilot[Any]]]:
    """``settled_pilot`` over the app on ``db`` with the demo's config (``options``: ``read_only``, ``role``)."""
    return settled_pilot(make_app(db, estate.config, **options), view, args)


def public_snapshot(path: Path) -> tuple[int, str]:
    """The SNP-01 finding in the fix identity's account: (finding id, snapshot id)."""
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT finding_id, resource_id FROM findings WHERE check_id='SNP-01' AND status='open' "
            "AND account=? ORDER BY finding_id LIMIT 1",
            (FIX_ACCOUNT,),
        ).fetchone()
    assert row is not None, "the demo estate plants a public snapshot"
    return int(row[0]), str(row[1])


def is_public(estate: Any, snapshot_id: str) -> bool:
    import boto3

    ec2 = boto3.client(
        "ec2", endpoint_url=estate.config.provider("aws")["endpoint_url"], region_name="eu-west-1"
    )
    perms = ec2.describe_snapshot_attribute(
        SnapshotId=snapshot_id, Attribute="createVolumePermission"
    )["CreateVolumePermissions"]
    return any(p.get("Group") == "all" for p in perms)


def log_text(app: Any) -> str:
    log = app.screen.query_one("#fw-log", RichLog)
    return "\n".join("".join(seg.text for seg in line) for line in log.lines)


def visible(app: Any, button_id: str) -> bool:
    return bool(app.screen.query_one(f"#{button_id}", Button).display)


async def test_full_wizard_run_on_the_public_snapshot(aws_demo: Any, demo_db: Path) -> None:
    finding_id, snapshot_id = public_snapshot(demo_db)
    assert is_public(aws_demo, snapshot_id)
    async with demo_pilot(aws_demo, demo_db, "findings", "check=SNP-01") as (app, pilot):
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        keys = [row[0] for row in screen.table.source.page(0, 50)]
        screen.table.move_cursor(keys.index(finding_id))
        await pilot.press("space", "f")
        await settle(pilot)
        wizard = app.screen
        assert isinstance(wizard, FixWizardScreen)
        assert [c.fix.id for c in wizard.candidates] == ["aws.snapshot.revoke_public"]
        assert [t.resource_id for t in wizard.candidates[0].targets] == [snapshot_id]

        await pilot.press("p")
        await settle(pilot)
        preview = log_text(app)
        assert "ModifySnapshotAttribute" in preview and snapshot_id in preview
        assert "REVERSIBLE" in preview and "Permissions:" in preview
        assert not visible(app, "fw-apply")  # apply only after a dry-run

        await pilot.press("d")
        await settle(pilot)
        assert "would_succeed" in log_text(app) or "plan_only" in log_text(app)
        assert is_public(aws_demo, snapshot_id), "the dry-run changed nothing"
        assert visible(app, "fw-apply")

        await pilot.press("a")
        await pilot.pause()
        assert app.screen.query_one("#fw-confirm").display
        await pilot.press("enter")  # the Confirm button has focus for a reversible plan
        await settle(pilot)
        text = log_text(app)
        assert "applied" in text and "✓ fixed" in text
        assert not is_public(aws_demo, snapshot_id)
        with sqlite3.connect(demo_db) as db:
            assert db.execute("SELECT status FROM journal").fetchall() == [("verified",)]
        assert visible(app, "fw-undo")

        await pilot.press("u")  # an undo is previewed and confirmed like an apply
        await settle(pilot)
        assert isinstance(app.screen, UndoConfirm)
        preview = str(app.screen.query_one("#undo-preview Static", Static).render())
        assert "ModifySnapshotAttribute" in preview and "OperationType='add'" in preview
        assert not is_public(aws_demo, snapshot_id), "nothing ran before the confirmation"
        await pilot.press("escape")  # cancel: nothing happens
        await settle(pilot)
        assert not is_public(aws_demo, snapshot_id) and "undo: cancelled" in log_text(app)
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "undo: done" in log_text(app)
        assert is_public(aws_demo, snapshot_id), "undo restored the public permission"
        with sqlite3.connect(demo_db) as db:
            statuses = sorted(s for (s,) in db.execute("SELECT status FROM journal"))
            actions = [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY seq")]
        assert statuses == ["applied", "undone"]
        assert {"plan", "dry-run", "apply", "verify", "undo"} <= set(actions)


async def test_read_only_previews_but_refuses(aws_demo: Any, demo_db: Path) -> None:
    finding_id, snapshot_id = public_snapshot(demo_db)
    async with demo_pilot(aws_demo, demo_db, read_only=True) as (app, pilot):
        app.push_screen(FixWizardScreen(finding_ids=[finding_id]))
        await settle(pilot)
        banner = str(app.screen.query_one("#fw-refusal").render())
        assert "CANNOT APPLY" in banner and "read-only" in banner
        await pilot.press("p")
        await settle(pilot)
        assert "ModifySnapshotAttribute" in log_text(app)
        for button in ("fw-dry-run", "fw-apply", "fw-undo"):
            assert not visible(app, button)
        await pilot.press("d", "a")  # the keys do nothing either
        await settle(pilot)
        assert is_public(aws_demo, snapshot_id)
        assert app.screen.query_one("#fw-refusal").display


async def test_viewer_cannot_even_plan(aws_demo: Any, demo_db: Path) -> None:
    finding_id, _ = public_snapshot(demo_db)
    async with demo_pilot(aws_demo, demo_db, role="viewer") as (app, pilot):
        app.push_screen(FixWizardScreen(finding_ids=[finding_id]))
        await settle(pilot)
        assert "role viewer may not run fixes" in str(app.screen.query_one("#fw-refusal").render())
        assert not visible(app, "fw-plan") and not visible(app, "fw-apply")


async def test_responder_refused_irreversible(aws_demo: Any, demo_db: Path) -> None:
    # SPR-03, unattached volumes: delete is irreversible.
    async with demo_pilot(aws_demo, demo_db, "fix", "SPR-03", role="responder") as (app, pilot):
        wizard = app.screen
        assert isinstance(wizard, FixWizardScreen)
        assert wizard.candidates and wizard.candidates[0].fix.safety == "irreversible"
        banner = str(wizard.query_one("#fw-refusal").render())
        assert "responder may run reversible fixes only" in banner
        # The engine refuses even the plan here (planning is audited as the start of a change).
        assert not visible(app, "fw-plan") and not visible(app, "fw-apply")
        await pilot.press("p")
        await settle(pilot)
        assert wizard.step == "choose" and wizard.plan is None

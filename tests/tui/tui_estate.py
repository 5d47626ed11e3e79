"""A small fixed estate for the TUI tests, written through the real cache API, hostile names included; the app
as the CLI builds it, and a pilot that runs it settled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from workbench import model
from workbench.cache.store import Cache
from workbench.model import TaskOutput

NOW = "2026-01-15T12:00:00Z"
HOSTILE = [
    "[@click=app.quit]x",
    "A\x1b]0;pwned\x07B",
    "C\x1b[2JD",
    "evil\u202egnp.exe",
    "[link=file:///etc/passwd]x[/link]",
    "long-" + "n" * 4995,
]

PROD = model.ScopeRef("aws", "111122223333", "eu-west-1", label="prod eu-west-1")
DEV = model.ScopeRef("aws", "444455556666", "us-east-1", label="dev us-east-1")


def build_cache(path: Path) -> Path:
    """Two AWS scopes (one stale), instances with volumes, snapshots, an image, a firewall group, findings."""
    with Cache.open(path) as cache:
        run = cache.start_run({"providers": ["aws"]})
        out = TaskOutput(
            [
                model.Image(
                    id="ami-0001",
                    name="golden-linux",
                    state="available",
                    public=False,
                    owner="111122223333",
                    platform="linux",
                    created_at="2025-01-01T00:00:00Z",
                ),
                model.FirewallGroup(id="sg-0001", name="web", network_id="vpc-1"),
                model.FirewallRule(
                    id="sg-0001/r1",
                    group_id="sg-0001",
                    protocol="tcp",
                    port_from=22,
                    port_to=22,
                    source="0.0.0.0/0",
                    description="ssh from anywhere",
                ),
            ]
        )
        for i, name in enumerate(["web-1", "db-1", *HOSTILE]):
            iid = f"i-{i:04d}"
            out.add(
                model.Instance(
                    id=iid,
                    name=name,
                    state="running",
                    instance_type="t3.micro",
                    image_id="ami-0001",
                    private_ip=f"10.0.0.{i + 1}",
                    imds_tokens="optional",
                    tags={"env": "prod", "Name": name},
                    created_at="2025-06-01T00:00:00Z",
                    raw={"InstanceId": iid, "Tags": [{"Key": "Name", "Value": name}]},
                )
            )
            vid = f"vol-{i:04d}"
            out.add(
                model.Volume(
                    id=vid,
                    name=f"{name}-root",
                    state="in-use",
                    size_gb=8,
                    encrypted=i % 2 == 0,
                    attached_to=[iid],
                )
            )
            out.relate("instance", iid, "attached", "volume", vid)
            out.relate("instance", iid, "launched_from", "image", "ami-0001")
            out.relate("instance", iid, "protected_by", "firewall_group", "sg-0001")
            sid = f"snap-{i:04d}"
            out.add(
                model.Snapshot(
                    id=sid,
                    name=f"{name}-backup",
                    state="completed",
                    size_gb=8,
                    encrypted=False,
                    public=i == 0,
                    source_volume_id=vid,
                    created_at="2025-07-01T00:00:00Z",
                )
            )
            out.relate("snapshot", sid, "snapshot_of", "volume", vid)
        out.add(
            model.Grant(
                id="snap-0000/all",
                resource_kind="snapshot",
                resource_id="snap-0000",
                grantee_kind="public",
                grantee="all",
                permission="createVolumePermission",
            )
        )
        cache.replace_task(run, PROD, "compute", out, now=NOW)
        dev_box = model.Instance(
            id="i-dev1",
            name="dev-box",
            state="stopped",
            instance_type="t3.small",
            tags={"env": "dev"},
        )
        cache.replace_task(run, DEV, "compute", TaskOutput([dev_box]), now=NOW)
        cache.record_failure(
            run, DEV, "compute", "AccessDenied: not authorized to DescribeInstances"
        )
        cache.refresh_search()
        cache.finish_run(run, "partial", 40, 1)
        _findings(cache)
        # Fixed times everywhere the screens show them, so snapshots do not change run to run.
        with cache.transaction() as db:
            db.execute("UPDATE sync_runs SET started_at=?, finished_at=?", (NOW, NOW))
            db.execute("UPDATE scope_status SET last_attempt_at=?, last_success_at=?", (NOW, NOW))
            db.execute("UPDATE scope_runs SET started_at=?, finished_at=?", (NOW, NOW))
    return path


def _findings(cache: Cache) -> None:
    uid = model.make_uid("aws", "111122223333", "eu-west-1", "instance", "i-0000")
    with cache.transaction() as db:
        db.execute(
            "INSERT INTO findings (key, check_id, resource_uid, resource_kind, resource_id, resource_name, "
            "provider, account, region, severity, area, status, reason, evidence, first_seen, last_seen) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                f"AWS-IMDS-01|{uid}",
                "AWS-IMDS-01",
                uid,
                "instance",
                "i-0000",
                "web-1",
                "aws",
                "111122223333",
                "eu-west-1",
                "high",
                "B",
                "open",
                "IMDSv2 is optional",
                json.dumps({}),
                NOW,
                NOW,
            ),
        )


def make_app(
    path: Path, config: Any = None, *, read_only: bool = False, role: str = "operator"
) -> Any:
    """The app exactly as the CLI builds it, over ``path`` (``config``: a default Config unless given)."""
    from workbench.config import Config
    from workbench.screens.app import create_app

    return create_app(path, Config() if config is None else config, read_only=read_only, role=role)


async def settle(pilot: Pilot[Any]) -> None:
    """Let the screen mount and every worker (loads, counts, scans, fixes) finish."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@asynccontextmanager
async def settled_pilot(
    app: Any, view: str = "", args: str = "", size: tuple[int, int] = (120, 40)
) -> AsyncIterator[tuple[Any, Pilot[Any]]]:
    """Runs ``app`` at ``size`` and settles it; with a ``view`` named, opens it (``args`` as typed after its
    command) and settles again. Yields (app, pilot)."""
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if view:
            app.open_view(view, args)
            await settle(pilot)
        yield app, pilot

"""Answers that are not vCenter's answer, from real vcsim through pyVmomi: nothing the cache knew is lost.

The sync runs through the CLI (``vmwb sync``, then ``vmwb scan``) against vcsim behind the project's fault
proxy (flavor ``vsphere``: a rule matches the SOAP operation and the object type it reads). Each trial starts
from a clean sync and scan, then breaks the second answer: a connection reset mid-body, a body cut short,
an HTML login page, a SOAP fault, and properties the property collector could not read (vcsim's own
``missingSet``, asked for with a path it does not have). Every previously synced VM must survive with its row
and findings, the failure is shown on the task it hit, and the exit status is 1.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.cli import main
from workbench.emulators.fault_proxy import FaultProxy
from workbench.emulators.vcsim import VcsimServer, seed_demo
from workbench.providers.vsphere import collect, connection
from workbench.providers.vsphere.connection import SessionPool

pytestmark = [pytest.mark.vcsim, pytest.mark.xdist_group("vcsim")]
PASSWORD_ENV = "VMWB_TEST_VCSIM_PASSWORD"
VM_READ = r"action=RetrievePropertiesEx/VirtualMachine"


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimServer]:
    server = VcsimServer()
    if not server.available():
        pytest.skip(server.reason)
    with server:
        seed_demo(server.connect())
        yield server


@pytest.fixture
def bed(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, FaultProxy]]:
    with FaultProxy(f"http://{vcsim.host}:{vcsim.port}", "vsphere") as proxy:
        cfg = tmp_path / "vmwb.toml"
        cfg.write_text(
            f'[vsphere]\nhost = "127.0.0.1"\nport = {proxy.port}\nprotocol = "http"\n'
            f'user = "{vcsim.user}"\npassword_env = "{PASSWORD_ENV}"\nverify_tls = false\n'
        )
        pool = SessionPool()
        monkeypatch.setattr(
            connection, "_POOL", pool
        )  # a session of this proxy, for this test only
        monkeypatch.setenv(PASSWORD_ENV, vcsim.password)
        monkeypatch.setenv("VMWB_CONFIG", str(cfg))
        db = tmp_path / "cache.db"
        assert main(["--db", str(db), "sync"]) == 0
        assert main(["--db", str(db), "scan"]) == 0
        yield db, proxy
        pool.close()


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _known(db: Path) -> dict[str, Any]:
    def unmarked(extra: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(extra)
        found.pop("stale", None)  # the mark a kept row gets
        return found

    return {
        "vms": {
            r["id"]: (r["name"], unmarked(r["extra"])) for r in _rows(db, "SELECT * FROM instances")
        },
        "volumes": {r["id"] for r in _rows(db, "SELECT id FROM volumes")},
        "snapshots": {r["id"] for r in _rows(db, "SELECT id FROM snapshots")},
        "open": {
            (r["check_id"], r["resource_uid"])
            for r in _rows(db, "SELECT check_id, resource_uid FROM findings WHERE status = 'open'")
            if r["check_id"] != "HYB-01"  # the blind spot the failure itself opens
        },
    }


def _status(db: Path) -> dict[str, tuple[str, str | None]]:
    return {r["task"]: (r["status"], r["error"]) for r in _rows(db, "SELECT * FROM scope_status")}


def _survives(
    db: Path, tasks: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    before = _known(db)
    assert before["vms"] and before["snapshots"] and before["open"]
    capsys.readouterr()
    assert main(["--db", str(db), "sync"]) == 1  # the exit status says so
    out = capsys.readouterr().out
    assert "partial" in out or "failed" in out
    status = _status(db)
    for task in tasks:
        assert status[task][0] == "stale" and status[task][1], (task, status[task])
        # This run's table says failed (or stale, when the task landed with rows kept); scope_status stale.
        assert any(
            task in line and ("stale" in line or "failed" in line) for line in out.splitlines()
        ), out
    assert status["hosts"][0] == "ok"
    assert main(["--db", str(db), "scan"]) == 0
    after = _known(db)
    assert after == before  # no VM, disk or snapshot lost or changed, no finding resolved
    return status


@pytest.mark.parametrize(
    "fault, says",
    [
        ("reset", "not complete SOAP XML"),
        ("truncated", "not complete SOAP XML"),
        ("html", "not complete SOAP XML"),
        ("malformed", "not complete SOAP XML"),
        ("server_error", "SystemError: injected fault: server_error"),
    ],
)
def test_broken_vm_answer_keeps_every_vm(
    bed: tuple[Path, FaultProxy], fault: Any, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db, proxy = bed
    proxy.add(fault, VM_READ)
    status = _survives(db, ("vms", "snapshots"), capsys)
    assert says in (status["vms"][1] or ""), status["vms"]


def test_properties_not_read_keep_the_vm_as_known(
    bed: tuple[Path, FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, _proxy = bed
    # vcsim answers a path it does not have in each VM's missingSet (InvalidProperty), as vCenter does for a
    # property the account may not read: the VMs are read in part, so each is kept as the cache knew it.
    monkeypatch.setattr(collect, "_VM_PATHS", [*collect._VM_PATHS, "config.notAProperty"])
    status = _survives(db, ("vms",), capsys)
    assert "config.notAProperty (InvalidProperty)" in (status["vms"][1] or "")
    assert status["snapshots"][0] == "ok"
    kept = _rows(db, "SELECT extra FROM instances")
    assert all(json.loads(r["extra"])["stale"]["kept"] for r in kept)


def test_devices_not_read_fail_the_task_and_keep_the_disks(
    bed: tuple[Path, FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, _proxy = bed
    # A VM whose devices are unknown cannot name its disks (volumes of this task): the task fails whole.
    monkeypatch.setattr(collect, "_VM_DEVICES", "config.notAProperty")
    monkeypatch.setattr(collect, "_VM_PATHS", [*collect._VM_PATHS, "config.notAProperty"])
    status = _survives(db, ("vms",), capsys)
    assert "could not read config.notAProperty" in (status["vms"][1] or "")


def test_retrieve_refuses_missing_properties_unless_asked(vcsim: VcsimServer) -> None:
    from workbench.errors import BadAnswer

    vim, _ = connection.import_pyvmomi()
    si = vcsim.connect()
    root = si.RetrieveContent().rootFolder
    with pytest.raises(BadAnswer, match=r"could not read config\.notAProperty \(InvalidProperty\)"):
        list(connection.retrieve(si, root, vim.VirtualMachine, ["name", "config.notAProperty"]))
    missing: dict[str, str] = {}
    rows = list(
        connection.retrieve(si, root, vim.VirtualMachine, ["name", "config.notAProperty"], missing)
    )
    assert rows and set(missing) == {obj._moId for obj, _ in rows}

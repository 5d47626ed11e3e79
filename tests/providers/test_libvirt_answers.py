"""Answers that are not libvirt's answer, through the real test driver: nothing the cache knew is lost.

The estate is libvirt's own test driver (a file estate); the fault sits between the collector and the real
connection (:class:`FaultyPool`), as the HTTP fault proxy sits in front of the cloud emulators: every call
reaches the driver, and one call of one domain gives something else (XML that does not parse, XML without
the elements every domain has, a libvirt error). The sync goes through the CLI (``vmwb sync``, then
``vmwb scan``), so the exit status is the one an operator sees.
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workbench.cli import main
from workbench.emulators.libvirt_estate import write_demo_estate
from workbench.providers.libvirt import connection, domain_xml
from workbench.providers.libvirt.connection import ConnectionPool

libvirt = pytest.importorskip(
    "libvirt", reason="libvirt-python is not installed (the `libvirt` extra)"
)
pytestmark = pytest.mark.libvirt

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOST = "kvm-lab-01"
VICTIM = "web-02"  # a running VM with an exposed SPICE console and snapshots: findings to lose


def _garbage(xml: str) -> str:
    return xml[: len(xml) // 2]  # cut mid-element: does not parse


def _no_devices(xml: str) -> str:
    root = ET.fromstring(xml)
    root.remove(root.find("devices"))  # type: ignore[arg-type]
    return ET.tostring(root, encoding="unicode")


def _fails(xml: str) -> str:
    raise libvirt.libvirtError("internal error: injected: the daemon dropped this call")


class _Domain:
    """A real domain whose XMLDesc (and, with ``snapshots``, listAllSnapshots) answers ``fault``."""

    def __init__(self, dom: Any, fault: Callable[[str], str], snapshots: bool) -> None:
        self._dom, self._fault, self._snapshots = dom, fault, snapshots

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dom, name)

    def XMLDesc(self, flags: int = 0) -> str:
        return self._fault(self._dom.XMLDesc(flags))

    def listAllSnapshots(self, flags: int = 0) -> Any:
        found = self._dom.listAllSnapshots(flags)
        if self._snapshots:
            self._fault("")
        return found


class _Connection:
    def __init__(self, conn: Any, pool: FaultyPool) -> None:
        self._conn, self._pool = conn, pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def listAllDomains(self, flags: int = 0) -> list[Any]:
        fault = self._pool.fault
        return [
            _Domain(d, fault, self._pool.snapshots) if fault and d.name() == VICTIM else d
            for d in self._conn.listAllDomains(flags)
        ]


class FaultyPool(ConnectionPool):
    """The real pool; while ``fault`` is set, the victim domain's XML goes through it."""

    fault: Callable[[str], str] | None = None
    snapshots = False

    def get(self, uri: str, *, write: bool = False) -> Any:
        return _Connection(super().get(uri, write=write), self)


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FaultyPool]]:
    uri = write_demo_estate(tmp_path / f"{HOST}.xml", host=HOST, now=NOW)
    cfg = tmp_path / "vmwb.toml"
    cfg.write_text(f'[libvirt]\nhosts = [{{name = "{HOST}", uri = "{uri}"}}]\n')
    pool = FaultyPool()
    monkeypatch.setattr(connection, "_POOL", pool)  # what the CLI's provider uses
    monkeypatch.setenv("VMWB_CONFIG", str(cfg))
    db = tmp_path / "cache.db"
    assert main(["--db", str(db), "sync"]) == 0
    assert main(["--db", str(db), "scan"]) == 0
    yield db, pool
    pool.close()


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _unmarked(extra: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(extra)
    found.pop("stale", None)  # the mark a kept row gets; the rest must be as it was
    return found


def _snapshot(db: Path) -> dict[str, Any]:
    """What an operator would lose: every row's id and content, the open findings."""
    return {
        "instances": {
            r["name"]: (r["id"], _unmarked(r["extra"]), r["volume_ids"])
            for r in _rows(db, "SELECT * FROM instances")
        },
        "volumes": {
            r["id"]: (r["state"], r["attached_to"]) for r in _rows(db, "SELECT * FROM volumes")
        },
        "snapshots": {r["id"] for r in _rows(db, "SELECT id FROM snapshots")},
        "relations": {
            tuple(r) for r in _rows(db, "SELECT task, src_uid, kind, dst_uid FROM relations")
        },
        "open": {
            (r["check_id"], r["resource_uid"])
            for r in _rows(db, "SELECT check_id, resource_uid FROM findings WHERE status = 'open'")
        },
    }


def _status(db: Path) -> dict[str, tuple[str, str | None]]:
    return {r["task"]: (r["status"], r["error"]) for r in _rows(db, "SELECT * FROM scope_status")}


@pytest.mark.parametrize(
    "fault, says",
    [(_garbage, "does not parse"), (_no_devices, "has no <devices>"), (_fails, "injected")],
    ids=["xml-cut", "xml-without-devices", "call-fails"],
)
def test_one_domain_bad_answer_keeps_what_the_cache_knew(
    estate: tuple[Path, FaultyPool],
    fault: Callable[[str], str],
    says: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, pool = estate
    before = _snapshot(db)
    assert VICTIM in before["instances"] and any(
        uid.endswith(before["instances"][VICTIM][0]) for _, uid in before["open"]
    )
    pool.fault = fault
    capsys.readouterr()
    assert main(["--db", str(db), "sync"]) == 1  # the exit status says the answer was bad
    out = capsys.readouterr().out
    # Shown to the operator, on the tasks it hit (the table cuts long errors; scope_status has them whole).
    assert "partial" in out and any(
        "domains" in line and "stale" in line for line in out.splitlines()
    )
    status = _status(db)
    # One domain is an item failure: the task landed, the domain's row kept as the cache knew it.
    assert status["domains"][0] == "stale" and says in (status["domains"][1] or "")
    # Which volumes are in use needs every domain's disks: that task fails and keeps its rows.
    assert status["storage"][0] == "stale" and says in (status["storage"][1] or "")
    assert status["snapshots"][0] == "ok" and status["networks"][0] == "ok"
    assert main(["--db", str(db), "scan"]) == 0
    after = _snapshot(db)
    # No finding resolved; the one new finding is the blind spot on this host (HYB-01).
    assert after.pop("open") - before.pop("open") == {("HYB-01", f"libvirt:{HOST}:local")}
    for kind in ("instances", "volumes"):
        changed = {
            k for k in before[kind] | after[kind] if before[kind].get(k) != after[kind].get(k)
        }
        assert not changed, (kind, {k: (before[kind].get(k), after[kind].get(k)) for k in changed})
    assert after == before  # no row lost or changed, no finding resolved
    victim = _rows(db, f"SELECT extra FROM instances WHERE name = '{VICTIM}'")[0]
    assert json.loads(victim["extra"])["stale"]["kept"] is True


def test_one_domain_snapshots_unlistable_fails_the_task_and_keeps_them(
    estate: tuple[Path, FaultyPool],
) -> None:
    db, pool = estate
    before = _snapshot(db)
    assert any(sid.startswith(before["instances"][VICTIM][0]) for sid in before["snapshots"])
    pool.fault, pool.snapshots = _fails, True
    assert main(["--db", str(db), "sync"]) == 1
    status = _status(db)
    assert status["snapshots"][0] == "stale" and "could not be listed" in (
        status["snapshots"][1] or ""
    )
    assert main(["--db", str(db), "scan"]) == 0
    after = _snapshot(db)
    assert after["snapshots"] == before["snapshots"] and before["open"] <= after["open"]


def test_domain_xml_checks() -> None:
    uuid = "6695eb01-f6a4-8304-79aa-97f3502e193f"
    good = f"<domain><name>a</name><uuid>{uuid}</uuid><os/><devices/></domain>"
    assert domain_xml.parse_domain(good, uuid).findtext("name") == "a"
    from workbench.errors import BadAnswer

    for bad, says in [
        ("<html><body>Sign in</body></html>", "not a <domain>"),
        (good[:30], "does not parse"),
        (good.replace("<os/>", ""), "no <os>"),
        (good.replace(uuid, "00000000-0000-0000-0000-000000000000"), "another domain"),
    ]:
        with pytest.raises(BadAnswer, match=says):
            domain_xml.parse_domain(bad, uuid)

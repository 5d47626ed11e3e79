"""On-prem fixes end to end: plan → dry-run (changes nothing) → apply → verify → undo where reversible.

libvirt runs against the test driver through one pooled connection (its state is per connection); vSphere runs
against vcsim and is skipped, with the reason, where the simulator binary is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workbench.cache.store import Cache
from workbench.config import Config
from workbench.emulators.libvirt_estate import demo_estate, write_demo_estate
from workbench.emulators.vcsim import DEMO_LEGACY_DEVICES_VM, VcsimServer, seed_demo
from workbench.errors import PermissionDenied
from workbench.fixes import lookup
from workbench.fixes.base import FixError, NotUndoable, Target
from workbench.fixes.engine import FixEngine
from workbench.fixes.plan import Plan

NOW = datetime.now(UTC)  # the fixes compare snapshot ages with the real clock


def engine_for(tmp: Path, clients: dict[str, Any]) -> FixEngine:
    cache = Cache.open(tmp / "fix.db")
    return FixEngine(
        cache, Config(), role="operator", read_only=False, user="tester", clients=clients
    )


def cycle(
    engine: FixEngine, fix_id: str, tgt: Target, inputs: dict[str, Any] | None = None
) -> Plan:
    fix = lookup.get(fix_id)
    before = fix.read_live(engine.ctx, tgt)
    plan = engine.plan(fix_id, [tgt], inputs)
    assert plan.items and not fix.is_fixed(before, plan.inputs)
    plan = Plan.from_json(plan.to_json())
    assert {r.status for r in engine.dry_run(plan)} <= {"would_succeed", "plan_only"}
    assert fix.read_live(engine.ctx, tgt) == before, "dry-run changed the estate"
    if fix.safety == "irreversible":
        with pytest.raises(PermissionDenied):
            engine.apply(plan)  # no typed confirmation
    result = engine.apply(plan, confirm=plan.confirmation)
    assert result.status == "ok", result.items
    assert [v.fixed for v in result.verified] == [True]
    entries = engine.journal.for_plan(plan.plan_id)
    if fix.undoable:
        for entry in reversed(entries):
            assert engine.undo(entry.entry_id).status == "ok"
        assert fix.read_live(engine.ctx, tgt) == before, "undo did not restore the before-state"
    else:
        with pytest.raises(NotUndoable):
            engine.undo(entries[0].entry_id)
    return plan


# ---------------------------------------------------------------- libvirt


@pytest.fixture
def lv(tmp_path: Path) -> Iterator[tuple[FixEngine, Any, str]]:
    pytest.importorskip("libvirt", reason="libvirt-python is not installed (the `libvirt` extra)")
    from workbench.providers.libvirt.connection import (
        ConnectionPool,
        HostEntry,
        LibvirtClients,
        LibvirtSettings,
    )

    uri = write_demo_estate(tmp_path / "kvm-lab-01.xml", now=NOW)
    pool = ConnectionPool()
    clients = LibvirtClients(LibvirtSettings(hosts=(HostEntry("kvm-lab-01", uri),)), pool)
    engine = engine_for(tmp_path, {"libvirt": clients})
    yield engine, pool, uri
    pool.close()
    engine.cache.close()


def _lv_target(kind: str, rid: str, check: str) -> Target:
    return Target(
        check, f"libvirt:kvm-lab-01:local:{kind}:{rid}", kind, rid, "libvirt", "kvm-lab-01", "local"
    )


@pytest.mark.libvirt
def test_libvirt_delete_old_snapshot(lv: tuple[FixEngine, Any, str]) -> None:
    engine, pool, uri = lv
    estate = demo_estate(now=NOW)
    erp = estate.domain_uuid("legacy-erp")
    cycle(
        engine,
        "libvirt.snapshot.delete_old",
        _lv_target("snapshot", f"{erp}/golden-2019", "SNP-08"),
    )
    # The next read of this host (a sync) goes through the same connection and sees the deletion.
    names = [s.getName() for s in pool.get(uri).lookupByUUIDString(erp).listAllSnapshots()]
    assert sorted(names) == ["before-migration", "sp2"]
    # A snapshot younger than the retention is left alone.
    young = _lv_target("snapshot", f"{estate.domain_uuid('db-01')}/nightly", "SNP-08")
    assert engine.plan("libvirt.snapshot.delete_old", [young]).items == []


@pytest.mark.libvirt
def test_libvirt_console_to_loopback_on_a_stopped_domain(lv: tuple[FixEngine, Any, str]) -> None:
    engine, _pool, _uri = lv
    uuid = demo_estate(now=NOW).domain_uuid("dev-sandbox")
    cycle(engine, "libvirt.graphics.listen_localhost", _lv_target("instance", uuid, "ONP-08"))


@pytest.mark.libvirt
def test_libvirt_console_fix_on_a_running_domain_waits_for_restart(
    lv: tuple[FixEngine, Any, str],
) -> None:
    import libvirt

    engine, pool, uri = lv
    uuid = demo_estate(now=NOW).domain_uuid("win-ad-01")
    # win-ad-01 already listens on loopback: nothing to do.
    assert (
        engine.plan(
            "libvirt.graphics.listen_localhost", [_lv_target("instance", uuid, "ONP-08")]
        ).items
        == []
    )
    web02 = demo_estate(now=NOW).domain_uuid("web-02")
    plan = engine.plan(
        "libvirt.graphics.listen_localhost", [_lv_target("instance", web02, "ONP-08")]
    )
    engine.apply(plan)
    dom = pool.get(uri).lookupByUUIDString(web02)
    live = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
    saved = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    assert "0.0.0.0" in live and "0.0.0.0" not in saved  # the running guest was not touched
    with pytest.raises(FixError, match="not a loopback"):
        engine.plan(
            "libvirt.graphics.listen_localhost",
            [_lv_target("instance", web02, "ONP-08")],
            {"address": "10.0.0.5"},
        )


# ---------------------------------------------------------------- vSphere


@pytest.fixture(scope="module")
def vcsim() -> Iterator[tuple[VcsimServer, Any]]:
    server = VcsimServer()
    if not server.available():
        pytest.skip(server.reason)
    with server:
        si = server.connect()
        seed_demo(si)
        yield server, si


@pytest.fixture
def vs(vcsim: tuple[VcsimServer, Any], tmp_path: Path) -> Iterator[tuple[FixEngine, Any]]:
    from workbench.providers.vsphere.connection import ServerSettings, SessionPool, VsphereClients

    server, si = vcsim
    os.environ["VMWB_TEST_VCSIM_FIX_PW"] = server.password
    settings = ServerSettings(
        server.host, server.user, server.port, "http", "VMWB_TEST_VCSIM_FIX_PW", False
    )
    pool = SessionPool()
    engine = engine_for(tmp_path, {"vsphere": VsphereClients([settings], pool)})
    yield engine, si
    pool.close()
    engine.cache.close()
    os.environ.pop("VMWB_TEST_VCSIM_FIX_PW", None)


def _vm(si: Any, name: str) -> Any:
    from pyVmomi import vim

    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next(vm for vm in view.view if vm.name == name)
    finally:
        view.Destroy()


def _vs_target(kind: str, rid: str, check: str) -> Target:
    return Target(
        check, f"vsphere:127.0.0.1:DC0:{kind}:{rid}", kind, rid, "vsphere", "127.0.0.1", "DC0"
    )


@pytest.mark.vcsim
@pytest.mark.xdist_group("vcsim")
def test_vsphere_set_isolation(vs: tuple[FixEngine, Any]) -> None:
    engine, si = vs
    vm = _vm(si, "DC0_C0_RP0_VM1")  # seeded with copy/paste explicitly enabled
    cycle(engine, "vsphere.vm.set_isolation", _vs_target("instance", vm._moId, "ONP-01"))


@pytest.mark.vcsim
@pytest.mark.xdist_group("vcsim")
def test_vsphere_remove_floppy_and_serial(vs: tuple[FixEngine, Any]) -> None:
    from pyVim.task import WaitForTask

    engine, si = vs
    vm = _vm(si, DEMO_LEGACY_DEVICES_VM)
    target = _vs_target("instance", vm._moId, "ONP-02")
    if vm.runtime.powerState == "poweredOn":
        with pytest.raises(FixError, match="power it off"):
            engine.plan("vsphere.vm.remove_legacy_devices", [target])
        WaitForTask(vm.PowerOffVM_Task())
    try:
        cycle(engine, "vsphere.vm.remove_legacy_devices", target)
    finally:
        WaitForTask(vm.PowerOnVM_Task())


@pytest.mark.vcsim
@pytest.mark.xdist_group("vcsim")
def test_vsphere_delete_old_snapshot(vs: tuple[FixEngine, Any]) -> None:
    engine, si = vs
    vm = _vm(si, "DC0_C0_RP0_VM0")
    snap = vm.snapshot.rootSnapshotList[0].snapshot._moId  # "golden"
    target = _vs_target("snapshot", snap, "SNP-08")
    # vcsim stamps every snapshot "now": inside the default 72 h retention nothing is planned.
    assert engine.plan("vsphere.snapshot.delete_old", [target]).items == []
    cycle(engine, "vsphere.snapshot.delete_old", target, {"retention_hours": 0})

"""vcsim (govmomi 0.24) driven by the real pyVmomi client, after seed_demo()."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.emulators.vcsim import (
    DEMO_ANNOTATED_VM,
    DEMO_EXTRA_CONFIG,
    DEMO_HOST_OPTIONS,
    DEMO_LEGACY_DEVICES_VM,
    DEMO_SNAPSHOTS,
    HOSTILE_ANNOTATION,
    VcsimServer,
    seed_demo,
)

# One vcsim per module; keep the module on one xdist worker so it starts once.
pytestmark = [pytest.mark.vcsim, pytest.mark.xdist_group("vcsim")]

VPX_VMS = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimServer]:
    server = VcsimServer()
    if not server.available():
        pytest.skip(server.reason)
    with server:
        yield server


@pytest.fixture(scope="module")
def si(vcsim: VcsimServer) -> Iterator[Any]:
    from pyVim.connect import Disconnect

    si = vcsim.connect()
    seed_demo(si)
    yield si
    Disconnect(si)


def _inventory(si: Any, kind: str) -> dict[str, Any]:
    from pyVmomi import vim

    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [getattr(vim, kind)], True)
    try:
        return {obj.name: obj for obj in view.view}
    finally:
        view.Destroy()


def _retrieve(si: Any, kind: str, paths: list[str]) -> dict[str, dict[str, Any]]:
    """name -> {path: value} through the PropertyCollector, as a collector does it.

    Needed for properties that may be unset: pyVmomi's attribute access (``vm.snapshot``)
    goes through PropertyCollector.Fetch, which panics in vcsim 0.24 on an unset property.
    """
    from pyVmomi import vim, vmodl

    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [getattr(vim, kind)], True)
    traverse = vmodl.query.PropertyCollector.TraversalSpec(
        name="view", path="view", skip=False, type=vim.view.ContainerView
    )
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[
            vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traverse])
        ],
        propSet=[
            vmodl.query.PropertyCollector.PropertySpec(
                type=getattr(vim, kind), pathSet=["name", *paths]
            )
        ],
    )
    try:
        options = vmodl.query.PropertyCollector.RetrieveOptions()
        result = content.propertyCollector.RetrievePropertiesEx([spec], options)
        rows = {}
        for obj in result.objects:
            props = {p.name: p.val for p in obj.propSet}
            rows[props.pop("name")] = {path: props.get(path) for path in paths}
        return rows
    finally:
        view.Destroy()


@pytest.fixture(scope="module")
def vms(si: Any) -> dict[str, Any]:
    return _inventory(si, "VirtualMachine")


def test_connects_over_plain_http(vcsim: VcsimServer, si: Any) -> None:
    assert vcsim.url == f"http://127.0.0.1:{vcsim.port}/sdk"
    about = si.content.about
    assert about.fullName.startswith("VMware vCenter Server")
    assert about.apiType == "VirtualCenter"


def test_vm_listing(vms: dict[str, Any]) -> None:
    assert sorted(vms) == VPX_VMS
    assert {vm.runtime.powerState for vm in vms.values()} == {"poweredOn"}


def test_seeded_snapshot_trees(si: Any) -> None:
    def flatten(nodes: Any, parent: str | None = None) -> list[tuple[str, str | None, str]]:
        out = []
        for node in nodes:
            out.append((node.name, parent, node.description))
            out += flatten(node.childSnapshotList, node.name)
        return out

    rows = _retrieve(si, "VirtualMachine", ["snapshot"])
    assert sorted(rows) == VPX_VMS
    for name, row in rows.items():
        info = row["snapshot"]
        wanted = DEMO_SNAPSHOTS.get(name, [])
        if not wanted:
            assert info is None, name
            continue
        # seed_demo creates each VM's snapshots one after the other: a chain.
        parents = [None] + [snap for snap, _ in wanted[:-1]]
        expected = [(s, p, d) for (s, d), p in zip(wanted, parents, strict=True)]
        assert flatten(info.rootSnapshotList) == expected, name
        current = info.currentSnapshot
        assert current == _find_snapshot(info.rootSnapshotList, wanted[-1][0])
        assert info.rootSnapshotList[0].createTime is not None


def _find_snapshot(nodes: Any, name: str) -> Any:
    for node in nodes:
        if node.name == name:
            return node.snapshot
        found = _find_snapshot(node.childSnapshotList, name)
        if found is not None:
            return found
    return None


def test_seeded_extra_config(vms: dict[str, Any]) -> None:
    for name, vm in vms.items():
        extra = {opt.key: opt.value for opt in vm.config.extraConfig}
        isolation = {k: v for k, v in extra.items() if k.startswith("isolation.")}
        wanted = DEMO_EXTRA_CONFIG.get(name, {})
        assert isolation == {k: v for k, v in wanted.items() if k.startswith("isolation.")}, name
        assert all(extra[k] == v for k, v in wanted.items()), name
    assert "DC0_H0_VM1" not in DEMO_EXTRA_CONFIG  # one VM keeps no isolation keys at all


def test_seeded_legacy_devices_and_annotation(vms: dict[str, Any]) -> None:
    from pyVmomi import vim

    def kinds(vm: Any) -> set[str]:
        legacy = (vim.vm.device.VirtualFloppy, vim.vm.device.VirtualSerialPort)
        return {type(d).__name__ for d in vm.config.hardware.device if isinstance(d, legacy)}

    assert kinds(vms[DEMO_LEGACY_DEVICES_VM]) == {
        "vim.vm.device.VirtualFloppy",
        "vim.vm.device.VirtualSerialPort",
    }
    serial = next(
        d
        for d in vms[DEMO_LEGACY_DEVICES_VM].config.hardware.device
        if isinstance(d, vim.vm.device.VirtualSerialPort)
    )
    assert serial.backing.serviceURI == "telnet://:7001"
    assert all(not kinds(vm) for name, vm in vms.items() if name != DEMO_LEGACY_DEVICES_VM)
    assert vms[DEMO_ANNOTATED_VM].config.annotation == HOSTILE_ANNOTATION


def _seeded_value(key: str) -> object:
    return next(opts[key] for opts in DEMO_HOST_OPTIONS.values() if key in opts)


def test_seeded_host_options_and_fixed_host_posture(si: Any) -> None:
    hosts = _inventory(si, "HostSystem")
    assert sorted(hosts) == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0"]
    for name, host in hosts.items():
        options = host.configManager.advancedOption.QueryOptions("")
        seeded = DEMO_HOST_OPTIONS.get(name, {})
        got = {o.key: o.value for o in options if o.key in seeded}
        assert got == seeded, name
        # The keys seeded on other hosts keep vcsim's defaults here (set on one host only).
        others = {k for opts in DEMO_HOST_OPTIONS.values() for k in opts} - set(seeded)
        assert not any(o.key in others and o.value == _seeded_value(o.key) for o in options), name
        # vcsim 0.24 cannot change these: every host reports the same fixed posture.
        assert host.config.lockdownMode == "lockdownDisabled"
        ssh = next(s for s in host.config.service.service if s.key == "TSM-SSH")
        assert (ssh.running, ssh.policy) == (False, "off")


def test_stop_removes_its_datastore_folders() -> None:
    server = VcsimServer()
    if not server.available():
        pytest.skip(server.reason)
    with server:
        si = server.connect()
        datastores = _inventory(si, "Datastore")
        folders = [Path(ds.info.url) for ds in datastores.values()]
        assert folders and all(f.is_dir() for f in folders)
    assert not server.running
    assert not any(f.exists() for f in folders)


def test_unavailable_binary_has_a_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VMWB_VCSIM_BIN", str(tmp_path / "missing-vcsim"))
    server = VcsimServer()
    assert not server.available()
    assert "VMWB_VCSIM_BIN" in server.reason and "install-system-deps.sh" in server.reason

"""On-prem checks over fixture caches: each one fails on a bad record and passes on a good one.

Plus one end-to-end pass over the libvirt demo estate (real collector, real queries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from workbench import model as m
from workbench.cache.store import Cache
from workbench.model import TaskOutput
from workbench.scan.engine import evaluate
from workbench.scan.loader import get_check

NOW = "2026-11-26T12:00:00Z"


def _vm(provider: str, **kw: Any) -> m.Instance:
    base: dict[str, Any] = {
        "id": "vm-1",
        "name": "vm-1",
        "state": "running",
        "boot_mode": "uefi",
        "secure_boot": True,
        "vtpm": True,
    }
    base.update(kw)
    return m.Instance(**base)


HARDENED = {
    k: "TRUE"
    for k in (
        "isolation.tools.copy.disable",
        "isolation.tools.paste.disable",
        "isolation.tools.dnd.disable",
        "isolation.device.connectable.disable",
    )
}
GFX = {"type": "vnc", "listen": "0.0.0.0", "exposed": True, "has_password": True}


@dataclass
class Case:
    provider: str
    bad: m.Record
    good: m.Record
    params: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, list[Case]] = {
    "BOOT-06": [
        Case("libvirt", _vm("libvirt", boot_mode="legacy-bios", secure_boot=False), _vm("libvirt")),
        Case("vsphere", _vm("vsphere", vtpm=False), _vm("vsphere")),
    ],
    "ONP-01": [
        Case(
            "vsphere",
            _vm(
                "vsphere",
                extra={"hardening": {**HARDENED, "isolation.tools.paste.disable": "FALSE"}},
            ),
            _vm("vsphere", extra={"hardening": HARDENED}),
        ),
    ],
    "ONP-02": [
        Case(
            "libvirt",
            _vm(
                "libvirt",
                extra={"legacy_devices": [{"kind": "floppy", "label": "fda", "connected": True}]},
            ),
            _vm(
                "libvirt",
                extra={"legacy_devices": [{"kind": "cdrom", "label": "sda", "connected": False}]},
            ),
        ),
        Case(
            "vsphere",
            _vm(
                "vsphere",
                extra={"legacy_devices": [{"kind": "serial", "label": "s", "connected": True}]},
            ),
            _vm("vsphere", extra={"legacy_devices": []}),
        ),
    ],
    "ONP-03": [
        Case(
            "vsphere",
            m.Host(id="host-1", ssh_enabled=True, shell_enabled=False),
            m.Host(id="host-1", ssh_enabled=False, shell_enabled=False),
        ),
    ],
    "ONP-04": [
        Case(
            "libvirt",
            m.Volume(id="/img/a.qcow2", state="in-use", encrypted=False, encryption_type="none"),
            m.Volume(id="/img/a.qcow2", state="in-use", encrypted=True, encryption_type="luks"),
        ),
        Case(
            "vsphere",
            m.Volume(id="[ds] a.vmdk", state="in-use", encrypted=False),
            m.Volume(id="[ds] a.vmdk", state="in-use", encrypted=False, extra={"media": True}),
        ),
    ],
    "ONP-05": [
        Case(
            "vsphere",
            _vm("vsphere", extra={"tools_version_status": "guestToolsTooOld"}),
            _vm("vsphere", extra={"tools_version_status": "guestToolsCurrent"}),
        ),
    ],
    "ONP-07": [
        Case(
            "vsphere",
            m.Host(id="host-1", lockdown_mode="lockdownDisabled"),
            m.Host(id="host-1", lockdown_mode="lockdownNormal"),
        ),
    ],
    "ONP-09": [
        Case(
            "libvirt",
            _vm("libvirt", extra={"seclabels": [{"type": "none", "model": "none"}]}),
            _vm("libvirt", extra={"seclabels": [{"type": "dynamic", "model": "selinux"}]}),
        ),
    ],
    "ONP-10": [
        Case(
            "libvirt",
            _vm(
                "libvirt",
                extra={"interfaces": [{"type": "network", "source": "default", "filter": None}]},
            ),
            _vm(
                "libvirt",
                extra={
                    "interfaces": [
                        {"type": "network", "source": "default", "filter": "clean-traffic"}
                    ]
                },
            ),
        ),
    ],
    "ONP-08": [
        Case(
            "libvirt",
            _vm("libvirt", extra={"graphics": [GFX]}),
            _vm("libvirt", extra={"graphics": [{**GFX, "listen": "127.0.0.1", "exposed": False}]}),
        ),
        Case(
            "libvirt",
            _vm(
                "libvirt",
                extra={
                    "graphics": [
                        {**GFX, "listen": "127.0.0.1", "exposed": False, "has_password": False}
                    ]
                },
            ),
            _vm("libvirt", extra={"graphics": []}),
        ),
    ],
    "SNP-08": [
        Case(
            "libvirt",
            m.Snapshot(id="u/s", created_at="2026-11-22T12:00:00Z", source_instance_id="u"),
            m.Snapshot(id="u/s", created_at="2026-11-25T12:00:00Z", source_instance_id="u"),
        ),
        Case(
            "vsphere",
            m.Snapshot(id="snapshot-1", created_at="2026-11-23T11:00:00Z"),
            m.Snapshot(id="snapshot-1", created_at="2026-11-23T13:00:00Z"),
        ),
    ],
    "SPR-03": [
        Case(
            "libvirt",
            m.Volume(id="/img/orphan.qcow2", state="available"),
            m.Volume(id="/img/orphan.qcow2", state="in-use", attached_to=["u"]),
        ),
    ],
}


def _cache(tmp: Path, name: str, provider: str, record: m.Record) -> Cache:
    cache = Cache.open(tmp / f"{name}.db")
    run = cache.start_run({"fixture": True})
    scope = m.ScopeRef(provider, "kvm-lab-01" if provider == "libvirt" else "vc1", "local")
    cache.replace_task(run, scope, "fixture", TaskOutput(records=[record]), now=NOW)
    return cache


@pytest.mark.parametrize(
    ("check_id", "n"), [(cid, n) for cid, cases in sorted(CASES.items()) for n in range(len(cases))]
)
def test_check_fails_and_passes(check_id: str, n: int, tmp_path: Path) -> None:
    case, check = CASES[check_id][n], get_check(check_id)
    assert case.provider in check.providers
    bad = _cache(tmp_path, "bad", case.provider, case.bad)
    good = _cache(tmp_path, "good", case.provider, case.good)
    try:
        rows = evaluate(bad, check, params=case.params, now=NOW)
        assert [(r.resource_id, r.provider) for r in rows] == [(case.bad.id, case.provider)]
        assert rows[0].reason and rows[0].resource_kind == check.resource_kind
        assert evaluate(good, check, params=case.params, now=NOW) == []
    finally:
        bad.close()
        good.close()


def test_every_onprem_check_has_cases() -> None:
    from workbench.scan.loader import load_catalogue

    # Ours: the on-prem rows plus the provider-neutral checks extended to libvirt/vSphere.
    onprem = {c.id for c in load_catalogue() if c.id.startswith("ONP-") or c.id == "BOOT-06"}
    assert onprem | {"SNP-08", "SPR-03"} == set(CASES)


@pytest.mark.libvirt
def test_libvirt_demo_estate_findings(tmp_path: Path) -> None:
    pytest.importorskip("libvirt", reason="libvirt-python is not installed (the `libvirt` extra)")
    from datetime import UTC, datetime

    from workbench.emulators.libvirt_estate import demo_estate, write_demo_estate
    from workbench.providers.libvirt.connection import ConnectionPool
    from workbench.providers.libvirt.provider import LibvirtProvider
    from workbench.sync import SyncEngine

    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    uri = write_demo_estate(tmp_path / "kvm-lab-01.xml", now=now)
    pool = ConnectionPool()
    provider = LibvirtProvider.from_config(
        {"hosts": [{"name": "kvm-lab-01", "uri": uri}], "secure_xml": True}, pool=pool
    )
    with Cache.open(tmp_path / "c.db") as cache:
        assert SyncEngine(cache, [provider], max_workers=2).run().status == "ok"
        pool.close()

        def names(check_id: str) -> set[str]:
            return {r.resource_name for r in evaluate(cache, get_check(check_id), now=NOW)}

        estate = demo_estate(now=now)
        assert names("ONP-09") == {"legacy-erp"}  # the only domain that opts out of sVirt
        # Every domain with a NIC lacks an anti-spoofing filter on one, but web-01 (db-01's storage NIC has none).
        with_nics = {d.name for d in estate.domains if d.interfaces}
        assert names("ONP-10") == with_nics - {"web-01"} and "db-01" in with_nics
        assert names("ONP-08") >= {"web-02", "legacy-erp", "kiosk-03", "dev-sandbox"}
        assert "web-01" not in names("ONP-08")
        assert names("BOOT-06") >= {"legacy-erp", "build-runner", "web-02"}
        assert "db-01" not in names("BOOT-06")
        assert {"legacy-erp", "dev-sandbox"} <= names("ONP-02")
        orphans = {r.resource_id for r in evaluate(cache, get_check("SPR-03"), now=NOW)}
        assert orphans == set(demo_estate(now=now).orphaned_volumes())
        assert "nightly" not in names("SNP-08") and "golden-2019" in names("SNP-08")

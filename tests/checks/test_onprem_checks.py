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
    good_params: dict[str, Any] | None = None  # None: the good estate is judged with ``params`` too


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


def _host(provider: str = "vsphere", **extra: Any) -> m.Host:
    version = "VMware ESXi 8.0.3 build-24022510" if provider == "vsphere" else "libvirt 10.0.0"
    return m.Host(id="host-1", name="host-1", version=version, extra=extra)


def _options(**changed: Any) -> dict[str, Any]:
    """A host's judged advanced options: hardened values, then ``changed`` (None: absent, its default)."""
    hardened = {
        "UserVars.ESXiShellTimeOut": 900,
        "UserVars.ESXiShellInteractiveTimeOut": 900,
        "UserVars.DcuiTimeOut": 600,
        "Syslog.global.logHost": "ssl://syslog.example:1514",
        "Config.HostAgent.plugins.solo.enableMob": False,
        "Net.BlockGuestBPDU": 1,
        "Mem.ShareForceSalting": 2,
        "Security.AccountLockFailures": 5,
    }
    return {"options": hardened | {k.replace("__", "."): v for k, v in changed.items()}}


def _option_case(key: str, bad: Any, good: Any) -> Case:
    return Case("vsphere", _host(**_options(**{key: bad})), _host(**_options(**{key: good})))


def _port_groups(**policy: bool) -> dict[str, Any]:
    clean = {"allowPromiscuous": False, "macChanges": False, "forgedTransmits": False}
    return {
        "port_groups": [
            {"name": "Management Network", "vswitch": "vSwitch0", **clean},
            {"name": "VM Network", "vswitch": "vSwitch0", **(clean | policy)},
        ]
    }


def _pg_case(attr: str) -> Case:
    return Case("vsphere", _host(**_port_groups(**{attr: True})), _host(**_port_groups()))


CASES |= {
    "ONP-11": [_pg_case("allowPromiscuous")],
    "ONP-12": [_pg_case("forgedTransmits")],
    "ONP-13": [_pg_case("macChanges")],
    "ONP-14": [
        # Only a read configuration naming no server fails; an unread one (None) is unknown.
        Case("vsphere", _host(ntp_servers=[]), _host(ntp_servers=["ntp1.example"])),
        Case("vsphere", _host(ntp_servers=[]), _host(ntp_servers=None)),
    ],
    "ONP-15": [
        _option_case("Syslog.global.logHost", "", "udp://10.0.0.5:514"),
        _option_case(
            "Syslog.global.logHost", None, "udp://10.0.0.5:514"
        ),  # absent: ESXi's empty default
    ],
    "ONP-16": [
        _option_case("UserVars.ESXiShellInteractiveTimeOut", None, 600),  # absent: 0, never
        _option_case("UserVars.ESXiShellInteractiveTimeOut", 3600, 900),
    ],
    "ONP-17": [
        _option_case("UserVars.ESXiShellTimeOut", 0, 900),
        Case(
            "vsphere", _host(**_options(**{"UserVars.ESXiShellTimeOut": 1800})), _host(options=None)
        ),
    ],
    "ONP-18": [
        _option_case("UserVars.DcuiTimeOut", 0, None),  # absent: ESXi's 600 s default passes
        _option_case("UserVars.DcuiTimeOut", 3600, 300),
    ],
    "ONP-19": [_option_case("Config.HostAgent.plugins.solo.enableMob", True, None)],
    "ONP-20": [_option_case("Net.BlockGuestBPDU", 0, None)],
    "ONP-21": [_option_case("Mem.ShareForceSalting", 0, None)],
    "ONP-22": [
        _option_case("Security.AccountLockFailures", 0, 3),
        _option_case("Security.AccountLockFailures", 10, None),
    ],
    "ONP-23": [
        Case(
            "vsphere",
            m.Host(
                id="host-1", version="VMware ESXi 8.0.2 build-22380479", extra={"build": "22380479"}
            ),
            m.Host(
                id="host-1", version="VMware ESXi 8.0.3 build-24585383", extra={"build": "24585383"}
            ),
        ),
        Case(  # a line the table does not list is out of support, whatever its build
            "vsphere",
            m.Host(
                id="host-1", version="VMware ESXi 7.0.3 build-24585291", extra={"build": "24585291"}
            ),
            m.Host(
                id="host-1", version="VMware ESXi 7.0.3 build-24585291", extra={"build": "24585291"}
            ),
            good_params={"min_builds": ["7.0:24585291"]},  # the bad estate uses the default table
        ),
    ],
    "ONP-24": [
        Case(
            "vsphere",
            _vm("vsphere", extra={"migrate_encryption": "disabled"}),
            _vm("vsphere", extra={"migrate_encryption": "opportunistic"}),
        ),
        Case(
            "vsphere",
            _vm("vsphere", extra={"migrate_encryption": "disabled"}),
            _vm("vsphere", extra={"migrate_encryption": None}),  # unset: the default, opportunistic
        ),
    ],
    "ONP-25": [
        Case(
            "vsphere",
            _vm(
                "vsphere",
                extra={
                    "logging": {"logging": "FALSE", "log.keepOld": None, "log.rotateSize": None}
                },
            ),
            _vm(
                "vsphere",
                extra={"logging": {"logging": None, "log.keepOld": None, "log.rotateSize": None}},
            ),
        ),
        Case(
            "vsphere",
            _vm(
                "vsphere",
                extra={"logging": {"logging": None, "log.keepOld": "50", "log.rotateSize": "0"}},
            ),
            _vm(
                "vsphere",
                extra={
                    "logging": {"logging": "TRUE", "log.keepOld": "10", "log.rotateSize": "2048000"}
                },
            ),
        ),
    ],
    "ONP-26": [
        Case(
            "libvirt",
            _vm("libvirt", extra={"cpu": {"mode": "host-passthrough", "nested_feature": None}}),
            _vm("libvirt", extra={"cpu": {"mode": "host-model", "nested_feature": None}}),
        ),
        Case(
            "libvirt",
            _vm("libvirt", extra={"cpu": {"mode": "custom", "nested_feature": "vmx"}}),
            _vm("libvirt", extra={"cpu": {"mode": None, "nested_feature": None}}),
        ),
    ],
    "ONP-27": [
        Case(
            "libvirt",
            _host("libvirt", uri="qemu+tcp://kvm-lab-01/system"),
            _host("libvirt", uri="qemu+tls://kvm-lab-01/system"),
        ),
        Case(
            "libvirt",
            _host("libvirt", uri="qemu+tcp://kvm-lab-01/system"),
            _host("libvirt", uri="qemu+ssh://root@kvm-lab-01/system"),
        ),
    ],
    "ONP-28": [
        Case(
            "libvirt",
            _vm("libvirt", extra={"domain_type": "qemu"}),
            _vm("libvirt", extra={"domain_type": "kvm"}),
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
        good_params = case.params if case.good_params is None else case.good_params
        assert evaluate(good, check, params=good_params, now=NOW) == []
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
        # The CI runner is the one guest given the host CPU (nesting); every other one beside it is clean.
        assert names("ONP-26") == {"build-runner"}
        assert (
            names("ONP-28") == set()
        )  # no demo domain is of type qemu (the test driver's are type test)
        assert names("ONP-27") == set()  # the test driver's URI is no network transport

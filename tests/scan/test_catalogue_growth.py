"""Checks added or corrected for issue 18, on every platform each names: a failing and a passing fixture.

Fixtures are model records written through the real cache API (``scan_estate.Estate``), or records built by a
collector's own functions from API-shaped documents where the collector's mapping is what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from scan_estate import NOW, Estate

from workbench import model as m
from workbench.scan.engine import evaluate
from workbench.scan.loader import get_check

Build = Callable[[Estate, bool], None]
ACCOUNTS = {
    "aws": "111111111111",
    "gcp": "proj-a",
    "azure": "sub-1",
    "libvirt": "host-1",
    "vsphere": "vc-1",
}
REGIONS = {
    "aws": "eu-west-1",
    "gcp": "global",
    "azure": "global",
    "libvirt": "local",
    "vsphere": "dc-1",
}


@dataclass
class Case:
    provider: str
    build: Build
    resource_id: str
    fail_params: dict[str, Any] = field(default_factory=dict)
    pass_params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # a substring the failing row's reason must hold


def put(e: Estate, provider: str, *records: m.Record, task: str = "fixture") -> None:
    e.put(
        *records, provider=provider, account=ACCOUNTS[provider], region=REGIONS[provider], task=task
    )


def records(
    provider: str, bad: list[m.Record], good: list[m.Record], common: list[m.Record] = ()
) -> Build:  # type: ignore[assignment]
    def build(e: Estate, is_bad: bool) -> None:
        put(e, provider, *common, *(bad if is_bad else good))

    return build


def rule(provider: str, **fields: Any) -> m.FirewallRule:
    base = {"id": "r1", "group_id": "g-1", "source": "0.0.0.0/0", "direction": "ingress"}
    return m.FirewallRule(**(base | fields))


def group() -> m.FirewallGroup:
    return m.FirewallGroup(id="g-1", name="web")


def rules_case(
    provider: str, bad: dict[str, Any], good: dict[str, Any], reason: str | None = None
) -> Case:
    return Case(
        provider,
        records(provider, [rule(provider, **bad)], [rule(provider, **good)], [group()]),
        "g-1",
        reason=reason,
    )


CASES: dict[str, list[Case]] = {
    # NET-02: all ports is a port range, not "no ports": ICMP passes NET-02 (NET-06 reports it), Azure '*' on 22
    # is port 22 (NET-01's), while '*' on every port, tcp 0-65535 and '*' on 3306 fail.
    "NET-02": [
        rules_case(
            "gcp",
            {"protocol": "tcp", "port_from": 0, "port_to": 65535},
            {"protocol": "icmp"},
            "all ports",
        ),
        rules_case(
            "azure",
            {"protocol": "-1"},
            {"protocol": "-1", "port_from": 22, "port_to": 22},
            "all ports",
        ),
        rules_case(
            "azure",
            {"protocol": "-1", "port_from": 3306, "port_to": 3306},
            {"protocol": "-1", "port_from": 443, "port_to": 443},
            "port(s) 3306",
        ),
        rules_case(
            "aws",
            {"protocol": "-1"},
            {"protocol": "icmp", "port_from": -1, "port_to": -1},
            "all ports",
        ),
    ],
    "NET-06": [
        rules_case(
            "gcp",
            {"protocol": "icmp"},
            {"protocol": "icmp", "source": "10.0.0.0/8"},
            "icmp open to 0.0.0.0/0",
        ),
        rules_case(
            "aws",
            {"protocol": "icmp", "port_from": -1, "port_to": -1},
            {"protocol": "tcp", "port_from": 443, "port_to": 443},
        ),
        rules_case("azure", {"protocol": "icmp"}, {"protocol": "icmp", "action": "deny"}),
    ],
}


def vm(provider: str, **fields: Any) -> m.Instance:
    return m.Instance(**({"id": "vm-1", "name": "vm-1", "state": "running"} | fields))


def one_vm(
    provider: str, bad: dict[str, Any], good: dict[str, Any], reason: str | None = None
) -> Case:
    return Case(
        provider,
        records(provider, [vm(provider, **bad)], [vm(provider, **good)]),
        "vm-1",
        reason=reason,
    )


CASES |= {
    # ONP-01: an unset isolation key is its vSphere 8 default (TRUE): only an explicit FALSE fails.
    "ONP-01": [
        one_vm(
            "vsphere",
            {"extra": {"hardening": {"isolation.tools.dnd.disable": "FALSE"}}},
            {"extra": {"hardening": {}}},
            "isolation.tools.dnd.disable=FALSE",
        )
    ],
    # ONP-08: a VNC console with no listen address still says what is wrong.
    "ONP-08": [
        one_vm(
            "libvirt",
            {
                "extra": {
                    "graphics": [
                        {
                            "type": "vnc",
                            "listen": None,
                            "listen_type": "address",
                            "exposed": False,
                            "has_password": False,
                        }
                    ]
                }
            },
            {
                "extra": {
                    "graphics": [
                        {
                            "type": "vnc",
                            "listen": None,
                            "listen_type": "address",
                            "exposed": False,
                            "has_password": True,
                        }
                    ]
                }
            },
            "vnc with no listen address without password",
        ),
        one_vm(
            "vsphere",
            {
                "extra": {
                    "graphics": [
                        {"type": "vnc", "listen": "0.0.0.0", "exposed": True, "has_password": True}
                    ]
                }
            },
            {"extra": {"graphics": []}},
        ),
    ],
}

CASES |= {
    "CFG-04": [
        one_vm("azure", {"public_ip": "20.1.2.3"}, {"public_ip": None}, "public IP 20.1.2.3"),
        one_vm("aws", {"public_ip": "203.0.113.5"}, {"public_ip": None}),
        one_vm("gcp", {"public_ip": "34.1.2.3"}, {"public_ip": None}),
    ],
}


def api_setting(enabled: bool, api: str) -> m.Setting:
    return m.Setting(id="patch_api", name="Patch API", value={"api": api, "enabled": enabled})


CASES |= {
    "HYB-02": [
        Case(p, records(p, [api_setting(False, api)], [api_setting(True, api)]), "patch_api")
        for p, api in (("gcp", "osconfig.googleapis.com"), ("aws", "ssm"))
    ],
}


def one_rec(
    provider: str,
    kind: type[m.Record],
    rid: str,
    bad: dict[str, Any],
    good: dict[str, Any],
    **common: Any,
) -> Case:
    return Case(
        provider,
        records(provider, [kind(id=rid, **(common | bad))], [kind(id=rid, **(common | good))]),
        rid,
    )


def aws_raw(**fields: Any) -> dict[str, Any]:
    return {
        "raw": {"VirtualizationType": "hvm", "MetadataOptions": {"HttpPutResponseHopLimit": 1}}
        | fields
    }


def build_net08(provider: str) -> Build:
    def build(e: Estate, bad: bool) -> None:
        if provider == "gcp":
            put(e, provider, vm(provider, network_id="default" if bad else "prod-vpc"))
        else:
            nets = [m.Network(id="vpc-d", is_default=True), m.Network(id="vpc-p", is_default=False)]
            put(e, provider, *nets, vm(provider, network_id="vpc-d" if bad else "vpc-p"))

    return build


def build_spr11(provider: str, vol: str) -> Build:
    def build(e: Estate, bad: bool) -> None:
        snap = m.Snapshot(id="snap-1", source_volume_id=vol, created_at="2026-10-01T00:00:00Z")
        kept = [] if bad else [m.Volume(id=vol, state="in-use")]
        put(e, provider, snap, *kept)

    return build


def build_spr11_aws_image_backing(e: Estate, bad: bool) -> None:
    """A snapshot whose volume is gone but which backs an image is in use (not orphaned); a fresh one is left."""
    snaps = [
        m.Snapshot(id="snap-1", source_volume_id="vol-gone", created_at="2026-10-01T00:00:00Z"),
        m.Snapshot(id="snap-2", source_volume_id="vol-ffffffff", created_at="2026-10-01T00:00:00Z"),
        m.Snapshot(id="snap-3", source_volume_id="vol-gone", created_at="2026-11-25T00:00:00Z"),
    ]
    bdm = [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-1"}}]
    image = m.Image(id="ami-1", raw={"BlockDeviceMappings": [] if bad else bdm})
    put(e, "aws", *snaps, image)


def build_img21(provider: str) -> Build:
    def build(e: Estate, bad: bool) -> None:
        created = "2025-01-01T00:00:00Z" if bad else "2026-09-01T00:00:00Z"
        put(e, provider, vm(provider, image_id="img-1"), m.Image(id="img-1", created_at=created))

    return build


def az_vm(**props: Any) -> dict[str, Any]:
    return {"raw": {"properties": props}}


VHD = {
    "storageProfile": {"osDisk": {"vhd": {"uri": "https://st.blob.core.windows.net/vhds/os.vhd"}}}
}
MANAGED = {"storageProfile": {"osDisk": {"managedDisk": {"id": "/subscriptions/s/disks/d"}}}}
BOOT_ON = {"diagnosticsProfile": {"bootDiagnostics": {"enabled": True}}}

CASES |= {
    "SNP-13": [
        one_rec(
            "aws",
            m.Volume,
            "vol-1",
            {"encrypted": False},
            {"encrypted": True},
            state="in-use",
            attached_to=["i-1"],
        )
    ],
    "SNP-14": [
        one_rec(
            "gcp",
            m.Volume,
            "us-central1-a/d-1",
            {"encryption_type": "platform"},
            {"encryption_type": "cmk"},
        ),
        one_rec(
            "gcp",
            m.Volume,
            "us-central1-a/d-2",
            {"encryption_type": "platform"},
            {"encryption_type": "csek"},
        ),
    ],
    "SNP-15": [one_vm("azure", {"encryption_at_host": False}, {"encryption_at_host": True})],
    "SNP-16": [one_vm("azure", az_vm(**VHD), az_vm(**MANAGED), "unmanaged VHD")],
    "NET-07": [
        one_rec(
            "gcp",
            m.Network,
            "legacy-net",
            {"extra": {"mode": "legacy"}},
            {"extra": {"mode": "custom"}},
            cidr="10.240.0.0/16",
        )
    ],
    "NET-08": [Case("gcp", build_net08("gcp"), "vm-1"), Case("aws", build_net08("aws"), "vm-1")],
    "NET-09": [
        rules_case(
            "aws",
            {"protocol": "udp", "port_from": 53, "port_to": 53},
            {"protocol": "tcp", "port_from": 53, "port_to": 53},
            "UDP port(s) 53",
        ),
        rules_case(
            "gcp",
            {"protocol": "udp", "port_from": 0, "port_to": 65535},
            {"protocol": "udp", "port_from": 0, "port_to": 65535, "source": "10.0.0.0/8"},
            "UDP port(s) all",
        ),
        rules_case(
            "azure",
            {"protocol": "udp", "port_from": 161, "port_to": 161},
            {"protocol": "udp", "port_from": 161, "port_to": 161, "action": "deny"},
        ),
    ],
    "NET-10": [
        one_rec("aws", m.FirewallGroup, "sg-1", {"name": "launch-wizard-3"}, {"name": "web-prod"})
    ],
    "SPR-10": [
        one_rec(
            "azure",
            m.FirewallGroup,
            "nsg-1",
            {"extra": {"nic_ids": [], "subnet_ids": []}},
            {
                "extra": {
                    "nic_ids": [],
                    "subnet_ids": ["/subscriptions/s/virtualnetworks/v/subnets/a"],
                }
            },
        )
    ],
    "SPR-11": [
        Case("aws", build_spr11("aws", "vol-1"), "snap-1"),
        Case("gcp", build_spr11("gcp", "us-central1-a/d-1"), "snap-1"),
        Case(
            "azure",
            build_spr11(
                "azure", "/subscriptions/s/resourcegroups/r/providers/microsoft.compute/disks/d"
            ),
            "snap-1",
        ),
        Case("aws", build_spr11_aws_image_backing, "snap-1"),
    ],
    "IMG-21": [Case("aws", build_img21("aws"), "vm-1"), Case("gcp", build_img21("gcp"), "vm-1")],
    "IAM-10": [
        one_vm("aws", {"profile": None}, {"profile": "arn:aws:iam::1:instance-profile/app"})
    ],
    "BOOT-07": [one_vm("aws", aws_raw(VirtualizationType="paravirtual"), aws_raw())],
    "CFG-09": [
        one_vm(
            "aws",
            aws_raw(MetadataOptions={"HttpPutResponseHopLimit": 2}),
            aws_raw(),
            "hop limit is 2",
        )
    ],
    "LOG-04": [
        one_rec(
            "gcp",
            m.Subnet,
            "us-central1/app",
            {"flow_logs": False},
            {"flow_logs": True},
            cidr="10.0.0.0/24",
        ),
        one_rec(
            "azure",
            m.Subnet,
            "/subscriptions/s/virtualnetworks/v/subnets/a",
            {"flow_logs": False},
            {"flow_logs": None},
        ),
    ],
    "LOG-05": [one_vm("azure", az_vm(), az_vm(**BOOT_ON))],
}

PARAMS = [(cid, n) for cid, cases in sorted(CASES.items()) for n in range(len(cases))]


@pytest.mark.parametrize(
    ("check_id", "n"), PARAMS, ids=[f"{c}-{CASES[c][n].provider}-{n}" for c, n in PARAMS]
)
def test_check_fails_then_passes(
    check_id: str, n: int, make_estate: Callable[[str], Estate]
) -> None:
    case, check = CASES[check_id][n], get_check(check_id)
    assert case.provider in check.providers
    bad, good = make_estate("bad"), make_estate("good")
    case.build(bad, True)
    case.build(good, False)
    rows = evaluate(bad.cache, check, params=case.fail_params, now=NOW)
    assert [(r.provider, r.resource_id) for r in rows] == [(case.provider, case.resource_id)]
    assert rows[0].reason and rows[0].resource_kind == check.resource_kind
    if case.reason:
        assert case.reason in rows[0].reason, rows[0].reason
    assert evaluate(good.cache, check, params=case.pass_params, now=NOW) == []


def test_every_platform_a_new_check_names_has_a_case() -> None:
    for check_id, cases in CASES.items():
        assert set(get_check(check_id).providers) <= {c.provider for c in cases}, check_id


def gcp_vm(name: str, **fields: Any) -> dict[str, Any]:
    api = "https://www.googleapis.com/compute/v1/projects/proj-a"
    return {
        "name": name,
        "id": str(sum(map(ord, name))),
        "zone": f"{api}/zones/us-central1-a",
        "status": "RUNNING",
        "networkInterfaces": [{"network": f"{api}/global/networks/prod", "networkIP": "10.0.0.2"}],
    } | fields


def test_gcp_instances_without_self_link_keep_their_own_rows(
    make_estate: Callable[[str], Estate],
) -> None:
    from workbench.providers.gcp.collect_compute import instance_record

    e = make_estate("gcp")
    recs = [instance_record(gcp_vm(n), {}) for n in ("a", "b", "c")]
    assert [r.id for r in recs] == ["us-central1-a/a", "us-central1-a/b", "us-central1-a/c"]
    # The same id as when selfLink is there: a project answering both ways keeps one row per VM.
    link = "https://www.googleapis.com/compute/v1/projects/proj-a/zones/us-central1-a/instances/a"
    assert instance_record(gcp_vm("a", selfLink=link), {}).id == "us-central1-a/a"
    put(e, "gcp", *recs, task="instances")
    assert e.cache.db.execute("SELECT count(*) FROM instances").fetchone()[0] == 3


def test_cfg04_counts_an_external_ipv6_address_on_gcp(make_estate: Callable[[str], Estate]) -> None:
    from workbench.providers.gcp.collect_compute import instance_record

    nic = {
        "network": "n",
        "ipv6AccessConfigs": [{"type": "DIRECT_IPV6", "externalIpv6": "2600:1900:4000::1"}],
    }
    internal_v6 = {"network": "n", "ipv6Address": "fd20::2", "ipv6AccessConfigs": []}
    for name, nics, public in (("v6", [nic], True), ("internal", [internal_v6], False)):
        e = make_estate(name)
        put(e, "gcp", instance_record(gcp_vm(name, networkInterfaces=nics), {}), task="instances")
        rows = evaluate(e.cache, get_check("CFG-04"), now=NOW)
        assert [r.resource_id for r in rows] == ([f"us-central1-a/{name}"] if public else [])
        if public:
            assert "2600:1900:4000::1" in rows[0].reason


def test_cfg03_finds_secrets_in_gcp_startup_scripts_and_keeps_them_out_of_raw(
    make_estate: Callable[[str], Estate],
) -> None:
    from workbench.providers.gcp.collect_compute import instance_record

    leaky = "#!/bin/sh\nexport AWS_SECRET=1\nexport AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n"
    for name, script, fails in (("leaky", leaky, True), ("clean", "#!/bin/sh\necho hi\n", False)):
        item = gcp_vm(name, metadata={"items": [{"key": "startup-script", "value": script}]})
        rec = instance_record(item, {})
        assert "AKIA" not in repr(rec.raw) + repr(rec.extra)
        e = make_estate(name)
        put(e, "gcp", rec, task="instances")
        rows = evaluate(e.cache, get_check("CFG-03"), now=NOW)
        assert [r.resource_id for r in rows] == ([f"us-central1-a/{name}"] if fails else [])
        if fails:
            assert rows[0].reason == "metadata scripts hold 1 likely secret(s): aws_access_key_id"
            assert rows[0].evidence["matches"][0]["key"] == "startup-script"
        else:  # a clean script is kept as it was
            assert rec.raw["metadata"]["items"][0]["value"] == script

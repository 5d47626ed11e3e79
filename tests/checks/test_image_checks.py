"""Image-factory checks IMG-10..IMG-20: a failing and a passing fixture each, built through the real cache,
registry and importers (no hand-written rows), evaluated by the real scan engine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workbench import config, model
from workbench.cache.store import Cache
from workbench.cli import main
from workbench.images import keys, registry, results
from workbench.model import TaskOutput
from workbench.scan.engine import evaluate, run_scan
from workbench.scan.loader import get_check

NOW = "2026-03-01T12:00:00Z"
ACCOUNT = "111122223333"
DATA = Path(__file__).parent.parent / "images" / "data"


class Estate:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.run = cache.start_run({"fixture": True})
        self.n = 0

    def put(
        self,
        *records: model.Record,
        provider: str = "aws",
        account: str = ACCOUNT,
        region: str = "eu-west-1",
    ) -> None:
        self.n += 1  # one task per call: tasks replace only their own rows
        scope = model.ScopeRef(provider, account, region)
        self.cache.replace_task(self.run, scope, f"t{self.n}", TaskOutput(list(records)), now=NOW)

    def approve(self, image_id: str, signer: keys.Signer | None = None) -> registry.Entry:
        signer = signer or keys.ensure_signer()
        return registry.approve(
            self.cache, image_id, "golden", signer, actor="ana", role="operator", now=NOW
        )


def vm(iid: str, image_id: str, **kw: Any) -> model.Instance:
    return model.Instance(id=iid, state=kw.pop("state", "running"), image_id=image_id, **kw)


def img(iid: str, **kw: Any) -> model.Image:
    base: dict[str, Any] = {"owner": kw.pop("owner", ACCOUNT), "created_at": "2026-02-20T00:00:00Z"}
    return model.Image(id=iid, **(base | kw))


def with_golden(e: Estate, **image: Any) -> None:
    e.put(img("ami-1", **image), vm("i-1", "ami-1"))


def img10(e: Estate, bad: bool) -> None:
    with_golden(e)
    if not bad:
        e.approve("ami-1")


def img11(e: Estate, bad: bool) -> None:
    with_golden(e)
    e.approve("ami-1")
    if bad:  # someone widens the approval's reason in the database: the columns no longer match
        e.cache.db.execute("UPDATE image_registry SET reason = 'approved by CISO'")


def img12(e: Estate, bad: bool) -> None:
    e.put(img("ami-1"))
    if bad:
        e.approve("ami-1", keys.Signer(Ed25519PrivateKey.generate(), "mallory"))
    else:
        e.approve("ami-1")


def img13(e: Estate, bad: bool) -> None:
    e.put(img("ami-1", created_at="2025-06-01T00:00:00Z" if bad else "2026-02-01T00:00:00Z"))
    e.approve("ami-1")


def img14(e: Estate, bad: bool) -> None:
    image = "shady-images/miner-1" if bad else "debian-cloud/debian-12-bookworm-v20260201"
    e.put(vm("gce-1", image), provider="gcp", account="demo-proj", region="europe-west1")


def img15(e: Estate, bad: bool) -> None:
    e.put(img("/gallery/img-1", public=bad), provider="azure", account=ACCOUNT, region="westeurope")


def img16(e: Estate, bad: bool) -> None:
    e.put(img("golden-1", encrypted=not bad), provider="gcp", account=ACCOUNT, region="global")


def img17(e: Estate, bad: bool) -> None:
    with_golden(e)
    e.approve("ami-1")
    if bad:
        registry.revoke(
            e.cache,
            "ami-1",
            "CVE in base",
            keys.ensure_signer(),
            actor="bob",
            role="operator",
            now=NOW,
        )


def img18(e: Estate, bad: bool) -> None:
    with_golden(e)
    from image_report import trivy_json

    severity = "CRITICAL" if bad else "HIGH"
    results.import_trivy(e.cache, trivy_json("i-1", severity, "2026-02-20T00:00:00Z"))


def _all_pass(data: bytes) -> bytes:
    return data.replace(b"<result>fail</result>", b"<result>pass</result>").replace(
        b">33.333332</score>", b">100.000000</score>"
    )


def hardening(e: Estate, bad: bool) -> None:
    e.put(vm("i-1", "ami-1", name="web-1"))
    data = (DATA / "oscap-arf.xml").read_bytes()
    results.import_oscap(e.cache, data if bad else _all_pass(data), resource="web-1")


CASES: dict[str, tuple[Callable[[Estate, bool], None], str]] = {
    "IMG-10": (img10, "i-1"),
    "IMG-11": (img11, "i-1"),
    "IMG-12": (img12, "ami-1"),
    "IMG-13": (img13, "ami-1"),
    "IMG-14": (img14, "gce-1"),
    "IMG-15": (img15, "/gallery/img-1"),
    "IMG-16": (img16, "golden-1"),
    "IMG-17": (img17, "i-1"),
    "IMG-18": (img18, "i-1"),
    "IMG-19": (hardening, "i-1"),
    "IMG-20": (hardening, "i-1"),
}


@pytest.fixture
def make_estate(open_cache: Callable[[str], Cache]) -> Callable[[str], Estate]:
    return lambda name: Estate(open_cache(name))


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_fails_and_passes(check_id: str, make_estate: Callable[[str], Estate]) -> None:
    build, resource_id = CASES[check_id]
    check = get_check(check_id)
    bad, good = make_estate("bad"), make_estate("good")
    build(bad, True)
    build(good, False)
    rows = evaluate(bad.cache, check, now=NOW)
    assert [r.resource_id for r in rows] == [resource_id]
    assert rows[0].reason and rows[0].resource_kind == check.resource_kind
    assert evaluate(good.cache, check, now=NOW) == []


def test_img11_untrusted_key_and_message(make_estate: Callable[[str], Estate]) -> None:
    e = make_estate("e")
    with_golden(e)
    e.approve("ami-1", keys.Signer(Ed25519PrivateKey.generate(), "mallory"))
    (row,) = evaluate(e.cache, get_check("IMG-11"), now=NOW)
    assert "untrusted_key" in row.reason and "not a trusted key" in row.reason
    assert row.evidence["status"] == "untrusted_key"
    assert "payload" not in str(row.evidence)  # the verdict only, never the signed blob


def test_img11_pinned_trust_root(make_estate: Callable[[str], Estate]) -> None:
    """A team key pinned in the session config makes its approvals verify; the local key is left out."""
    e = make_estate("e")
    with_golden(e)
    team = keys.Signer(Ed25519PrivateKey.generate(), "team")
    e.approve("ami-1", team)
    pinned = {"trusted_keys": [keys.public_b64(team.public)], "trust_local_key": False}
    (row,) = evaluate(e.cache, get_check("IMG-11"), now=NOW)  # no config: only the local key counts
    assert row.evidence["status"] == "untrusted_key"
    cfg = config.parse({"images": pinned})
    assert evaluate(e.cache, get_check("IMG-11"), now=NOW, config=cfg) == []


def test_img12_deleted_entry(make_estate: Callable[[str], Estate]) -> None:
    e = make_estate("e")
    e.put(img("ami-1"))
    e.approve("ami-1")
    e.cache.db.execute("DELETE FROM image_registry")
    (row,) = evaluate(e.cache, get_check("IMG-12"), now=NOW)
    assert "deleted from the registry" in row.reason and row.resource_id == "ami-1"


def test_img13_gcp_image_in_use(make_estate: Callable[[str], Estate]) -> None:
    e = make_estate("e")
    e.put(
        img("debian-11", created_at="2025-01-01T00:00:00Z", deprecated_at="2025-09-01T00:00:00Z"),
        vm("gce-1", "debian-11"),
        provider="gcp",
        account="p",
        region="global",
    )
    (row,) = evaluate(e.cache, get_check("IMG-13"), now=NOW)
    assert row.reason.startswith("deprecated since 2025-09-01") and "1 VM(s) use it" in row.reason


@pytest.mark.parametrize(
    ("image_id", "failing"),
    [
        ("canonical:0001-com-ubuntu-server-jammy:22_04-lts:latest", False),
        ("evilcorp:appliance:1:latest", True),
        ("/CommunityGalleries/shady-1234/Images/x/Versions/1.0.0", True),
        (f"/subscriptions/{ACCOUNT}/resourceGroups/rg/providers/Microsoft.Compute/images/g", False),
    ],
)
def test_img14_azure_publishers(
    image_id: str, failing: bool, make_estate: Callable[[str], Estate]
) -> None:
    e = make_estate("e")
    e.put(vm("vm-1", image_id), provider="azure", account=ACCOUNT, region="westeurope")
    rows = evaluate(e.cache, get_check("IMG-14"), now=NOW)
    assert bool(rows) is failing


def test_img20_evidence_lists_stig_ids(make_estate: Callable[[str], Estate]) -> None:
    e = make_estate("e")
    hardening(e, True)
    (row,) = evaluate(e.cache, get_check("IMG-20"), now=NOW)
    evidence = json.loads(row.evidence) if isinstance(row.evidence, str) else row.evidence
    (rule,) = evidence["rules"]
    assert rule["stig"] == ["V-100002", "DEB-12-000200"] and rule["cce"] == ["CCE-80002-2"]


def test_img14_images_section_publishers(make_estate: Callable[[str], Estate]) -> None:
    """``[images] trusted_publishers`` is honoured by the check as well as by the images view."""
    e = make_estate("e")
    img14(e, True)
    (row,) = evaluate(e.cache, get_check("IMG-14"), now=NOW)
    assert row.evidence == {"image_id": "shady-images/miner-1", "publisher": "shady-images"}
    cfg = config.parse({"images": {"trusted_publishers": ["shady-images"]}})
    assert evaluate(e.cache, get_check("IMG-14"), now=NOW, config=cfg) == []
    # The config is the call's only: the next evaluation without it finds the VM again.
    assert [r.resource_id for r in evaluate(e.cache, get_check("IMG-14"), now=NOW)] == ["gce-1"]


TRUSTS_SHADY = {"images": {"trusted_publishers": ["shady-images"]}}


def open_img14(cache: Cache) -> int:
    return int(
        cache.db.execute(
            "SELECT COUNT(*) FROM findings WHERE check_id = 'IMG-14' AND status = 'open'"
        ).fetchone()[0]
    )


def test_scans_with_different_configs_do_not_leak(make_estate: Callable[[str], Estate]) -> None:
    """Each scan uses the config it is given, on the engine's worker threads too; nothing carries over."""
    e = make_estate("e")
    img14(e, True)
    team = keys.Signer(Ed25519PrivateKey.generate(), "team")
    with_golden(e)
    e.approve("ami-1", team)  # signed by a key only the pinned config trusts
    pinned = {"trusted_keys": [keys.public_b64(team.public)], "trust_local_key": False}
    trusting = config.parse({"images": {**pinned, **TRUSTS_SHADY["images"]}})
    checks = ["IMG-11", "IMG-14"]

    first = run_scan(e.cache, check_ids=checks, now=NOW, config=trusting)
    assert first.errors == {} and first.counts["open"] == 0
    second = run_scan(e.cache, check_ids=checks, now=NOW)  # the default: an empty config
    assert second.counts["open"] == 2 and open_img14(e.cache) == 1
    third = run_scan(e.cache, check_ids=checks, now=NOW, config=trusting)
    assert third.counts["open"] == 0 and third.counts["resolved"] == 2


def test_concurrent_evaluations_keep_their_own_config(make_estate: Callable[[str], Estate]) -> None:
    """Two threads evaluating IMG-14 at once, one trusting the publisher and one not, each see their own."""
    e = make_estate("e")
    img14(e, True)
    check = get_check("IMG-14")
    trusting = config.parse(TRUSTS_SHADY)
    seen: dict[str, set[int]] = {"trusting": set(), "default": set()}
    start = threading.Barrier(2)

    def scan(name: str, cfg: config.Config | None) -> None:
        db = e.cache.reader()
        try:
            start.wait()
            for _ in range(30):
                seen[name].add(len(evaluate(db, check, now=NOW, config=cfg)))
        finally:
            db.close()

    threads = [
        threading.Thread(target=scan, args=("trusting", trusting)),
        threading.Thread(target=scan, args=("default", None)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"trusting": {0}, "default": {1}}


def test_cli_scan_uses_its_config(
    make_estate: Callable[[str], Estate], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``vmwb scan`` hands its ``--config`` to the image checks: a trusted publisher there clears IMG-14."""
    e = make_estate("cli")
    img14(e, True)
    plain, trusting = tmp_path / "plain.toml", tmp_path / "trusting.toml"
    plain.write_text("")
    trusting.write_text('[images]\ntrusted_publishers = ["shady-images"]\n')

    def scan(cfg: Path) -> list[dict[str, Any]]:
        argv = [
            "--db",
            str(e.cache.path),
            "--config",
            str(cfg),
            "scan",
            "--check",
            "IMG-14",
            "--format",
            "json",
            "--now",
            NOW,
        ]
        assert main(argv) == 0
        return [r for r in json.loads(capsys.readouterr().out) if r["status"] == "open"]

    (finding,) = scan(plain)
    assert finding["resource_id"] == "gce-1"
    assert scan(trusting) == []
    assert [r["resource_id"] for r in scan(plain)] == ["gce-1"]

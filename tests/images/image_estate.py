"""A small image-factory estate written through the real cache API.

AWS account 111122223333 owns a golden AMI (approved in most tests), an old deprecated one, a public
unencrypted one; account 444455556666 runs instances launched from the shared golden AMI and from a
marketplace AMI of an unlisted publisher. GCP has one image and one instance, so checks run across platforms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench import model
from workbench.cache.store import Cache
from workbench.model import TaskOutput

NOW = "2026-03-01T12:00:00Z"
PROD = model.ScopeRef("aws", "111122223333", "eu-west-1")
DEV = model.ScopeRef("aws", "444455556666", "eu-west-1")
GCP = model.ScopeRef("gcp", "demo-proj", "global")
MARKETPLACE_OWNER = "679593333241"
GOLDEN = "ami-golden"
GOLDEN_UID = model.make_uid("aws", "111122223333", "eu-west-1", "image", GOLDEN)
DATA = Path(__file__).parent / "data"


def _img(iid: str, **kw: Any) -> model.Image:
    base: dict[str, Any] = {
        "state": "available",
        "public": False,
        "encrypted": True,
        "platform": "linux",
        "created_at": "2026-02-01T00:00:00Z",
    }
    base.update(kw)
    return model.Image(id=iid, **base)


def _vm(iid: str, image_id: str | None, state: str = "running", **kw: Any) -> model.Instance:
    return model.Instance(
        id=iid,
        name=kw.pop("name", iid),
        state=state,
        image_id=image_id,
        created_at="2026-02-10T00:00:00Z",
        **kw,
    )


def build(path: Path) -> Cache:
    cache = Cache.open(path)
    run = cache.start_run({"providers": ["aws", "gcp"]})
    prod = TaskOutput()
    prod.add(_img(GOLDEN, name="golden-linux", owner="111122223333", digest="sha256:abc"))
    prod.add(
        _img(
            "ami-old",
            name="golden-2024",
            owner="111122223333",
            created_at="2024-01-01T00:00:00Z",
            deprecated_at="2025-01-01T00:00:00Z",
        )
    )
    prod.add(_img("ami-public", name="leaky", owner="111122223333", public=True, encrypted=False))
    prod.add(_vm("i-prod1", GOLDEN, name="web-1", private_ip="10.0.0.5"))
    prod.add(_vm("i-prod2", "ami-old", name="legacy-1"))
    cache.replace_task(run, PROD, "compute", prod, now=NOW)
    dev = TaskOutput()
    # The golden AMI shared into the dev account: the same id, seen from a second account.
    dev.add(_img(GOLDEN, name="golden-linux", owner="111122223333", digest="sha256:abc"))
    dev.add(_img("ami-market", name="vendor-appliance", owner=MARKETPLACE_OWNER))
    dev.add(_vm("i-dev1", GOLDEN, name="dev-1"))
    dev.add(_vm("i-dev2", "ami-market", name="appliance-1"))
    dev.add(_vm("i-dev3", GOLDEN, state="terminated", name="gone-1"))
    cache.replace_task(run, DEV, "compute", dev, now=NOW)
    gcp = TaskOutput()
    gcp.add(_img("debian-12-bookworm-v20260201", name="debian-12", owner="debian-cloud"))
    gcp.add(_vm("gce-1", "debian-12-bookworm-v20260201", name="gce-web"))
    cache.replace_task(run, GCP, "compute", gcp, now=NOW)
    cache.refresh_search()
    cache.finish_run(run, "ok", 0, 0)
    return cache


def trivy_report(artifact: str, vulns: list[tuple[str, str, str]], created: str) -> bytes:
    """A Trivy v2 JSON report shaped like ``trivy vm --format json`` output."""
    return json.dumps(
        {
            "SchemaVersion": 2,
            "CreatedAt": created,
            "ArtifactName": artifact,
            "ArtifactType": "vm",
            "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}},
            "Results": [
                {
                    "Target": f"{artifact} (debian 12.5)",
                    "Class": "os-pkgs",
                    "Type": "debian",
                    "Vulnerabilities": [
                        {
                            "VulnerabilityID": vid,
                            "PkgName": pkg,
                            "InstalledVersion": "1.0",
                            "FixedVersion": "1.1",
                            "Severity": sev,
                            "Title": f"{pkg}: {vid}",
                        }
                        for vid, pkg, sev in vulns
                    ],
                }
            ],
        }
    ).encode()

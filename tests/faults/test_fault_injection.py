"""Faults injected by the fault proxy into real syncs of every platform (``vmwb sync`` through the CLI).

Each trial starts from a cache synced cleanly and scanned, puts one fault on the proxy (a class of
:data:`workbench.emulators.fault_proxy.PROXY_FAULTS` on one target: a list call, a per-resource call, a
settings call, one region, account, project or subscription), syncs, and scans again. It must lose no row,
resolve no finding, show the failure on the (scope, task) it hit, with the error, and exit non-zero; a
resource that vanished between list and detail (``not_found``) is skipped and the task stays ok. What each
trial checks is :func:`workbench.bench.faults.run_trial`; ``vmwb bench faults`` runs the same plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.bench.fault_beds import Bed, aws_bed, azure_bed, gcp_bed
from workbench.bench.faults import Trial, baseline, plan, run_trial
from workbench.emulators.fault_proxy import PROXY_FAULTS

AWS_TARGETS = [
    "instances list",
    "snapshots list",
    "snapshot permissions",
    "image permissions",
    "one settings call",
    "one region",
    "one account",
]
# One worker runs them all: each platform's bed and clean baseline is set up once, not once per worker.
pytestmark = pytest.mark.xdist_group("faults")

GCP_TARGETS = [
    "instances list",
    "snapshots list",
    "snapshot IAM policy",
    "firewalls list",
    "one project",
]
AZURE_TARGETS = ["VMs list", "snapshots list", "disks list", "one subscription"]


class Prepared:
    """A bed and its baseline cache, for one test module."""

    def __init__(self, bed: Bed, workdir: Path) -> None:
        self.bed, self.workdir = bed, workdir
        self.base = baseline(bed, workdir)

    def run(self, target_name: str) -> list[Trial]:
        pairs = [(t, k) for t, k in plan(self.bed) if t.name == target_name]
        assert pairs, f"no trial for {target_name!r}"
        return [run_trial(self.bed, self.base, self.workdir, t, k) for t, k in pairs]


def _check(trials: list[Trial]) -> None:
    failed = [(t.target, t.fault, t.note) for t in trials if not t.survived]
    assert not failed, failed
    assert sum(t.rows_lost for t in trials) == 0
    assert sum(t.false_resolved for t in trials) == 0


@contextlib.contextmanager
def _prepared(make: Any, tmp: Path) -> Iterator[Prepared]:
    with make() as bed:
        yield Prepared(bed, tmp)


@pytest.fixture(scope="module")
def aws(aws_estate, tmp_path_factory) -> Iterator[Prepared]:  # type: ignore[no-untyped-def]
    aws_estate.ensure_live()
    m = aws_estate.manifest
    with aws_bed(aws_estate.endpoint, m.regions, m.role_arn) as bed:
        yield Prepared(bed, tmp_path_factory.mktemp("aws-faults"))


@pytest.fixture(scope="module")
def gcp(tmp_path_factory) -> Iterator[Prepared]:  # type: ignore[no-untyped-def]
    with _prepared(gcp_bed, tmp_path_factory.mktemp("gcp-faults")) as prepared:
        yield prepared


@pytest.fixture(scope="module")
def azure(tmp_path_factory) -> Iterator[Prepared]:  # type: ignore[no-untyped-def]
    with _prepared(azure_bed, tmp_path_factory.mktemp("azure-faults")) as prepared:
        yield prepared


@pytest.mark.parametrize("target", AWS_TARGETS)
def test_aws_survives(aws: Prepared, target: str) -> None:
    _check(aws.run(target))


@pytest.mark.parametrize("target", GCP_TARGETS)
def test_gcp_survives(gcp: Prepared, target: str) -> None:
    _check(gcp.run(target))


@pytest.mark.parametrize("target", AZURE_TARGETS)
def test_azure_survives(azure: Prepared, target: str) -> None:
    _check(azure.run(target))


@pytest.mark.parametrize("make", [gcp_bed, azure_bed], ids=["gcp", "azure"])
def test_every_class_is_tried_on_every_platform(make: Any) -> None:
    with make() as bed:
        tried = {kind for _, kind in plan(bed)}
    # not_found needs a per-resource call, which Azure's collectors do not make.
    assert tried == set(PROXY_FAULTS) - ({"not_found"} if bed.platform == "azure" else set())
    assert {t.name for t in bed.targets} == set(
        GCP_TARGETS if bed.platform == "gcp" else AZURE_TARGETS
    )


def test_every_class_is_tried_on_aws(aws: Prepared) -> None:
    assert {kind for _, kind in plan(aws.bed)} == set(PROXY_FAULTS)
    assert {t.name for t in aws.bed.targets} == set(AWS_TARGETS)

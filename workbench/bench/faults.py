"""``vmwb bench faults``: every fault class against every platform it applies to, through a fault proxy, and
whether the cache survived it.

A trial starts from a copy (SQLite's backup API) of a cache synced cleanly through the proxy and scanned; then
one rule is put on the proxy, ``vmwb sync`` runs (the CLI, as an operator would), the rule is lifted and the
checks run again. A trial *survived* when no row was lost or emptied (every uid still there, its content as
before), no finding the first scan had open was resolved, every watched (scope, task) shows the failure (not
``ok``, with the error) and the exit status is non-zero. A ``not_found`` on one per-resource call stands for a
resource deleted between the list and its detail call: that resource (and its grants) goes, the task stays
``ok``, nothing else is lost.

Classes are data (:data:`LIST_FAULTS`, :data:`DETAIL_FAULTS` per target kind) and beds are platforms
(:mod:`workbench.bench.fault_beds`): adding a class or a platform adds rows to the table, nothing else.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.bench.fault_beds import (
    AWS_ENV,
    AWS_UNSET,
    HANG_SECONDS,
    Bed,
    Target,
    aws_bed,
    azure_bed,
    environment,
    gcp_bed,
)
from workbench.cache import schema
from workbench.emulators.fault_proxy import PROXY_FAULTS, ProxyFault
from workbench.errors import WorkbenchError

# Against a list call (or a whole scope): every way an answer can fail or not be the API's.
# (Not-found is a per-resource answer: a list has no one resource to lose.)
LIST_FAULTS: tuple[ProxyFault, ...] = tuple(f for f in PROXY_FAULTS if f != "not_found")
# Against a per-resource call (an attribute, an IAM policy, one setting): the ones a fan-out meets.
DETAIL_FAULTS: tuple[ProxyFault, ...] = ("throttle", "denied", "server_error", "html", "not_found")
SCOPE_FAULTS: tuple[ProxyFault, ...] = ("denied", "throttle")
# Every class runs against each platform's first list call; its other list calls get these (the SDK paths
# that differ per call: an error, a non-API page, a well-formed answer without the result).
OTHER_LIST_FAULTS: tuple[ProxyFault, ...] = ("server_error", "html", "empty")


@dataclass(slots=True)
class Trial:
    platform: str
    target: str
    fault: str
    exit_status: int = 0
    rows_lost: int = 0
    false_resolved: int = 0
    shown: bool = False  # every watched (scope, task) shows the failure with its error
    survived: bool = False
    seconds: float = 0.0
    statuses: dict[str, str] = field(default_factory=dict)  # "scope task" → "status: error"
    note: str = ""


def plan(bed: Bed) -> list[tuple[Target, ProxyFault]]:
    """The (target, fault) pairs tried on ``bed``: list faults on its list calls, fan-out faults on its
    per-resource calls, denial and throttling on whole scopes."""
    pairs: list[tuple[Target, ProxyFault]] = []
    for target in bed.targets:
        if target.faults is not None:
            kinds = target.faults
        elif target.detail:
            kinds = DETAIL_FAULTS
        elif target.name.startswith("one "):
            kinds = SCOPE_FAULTS
        else:
            kinds = LIST_FAULTS if target is bed.targets[0] else OTHER_LIST_FAULTS
        pairs.extend((target, kind) for kind in kinds)
    return pairs


def _copy(src: Path, dst: Path) -> None:
    """A consistent copy through SQLite itself (never a file copy of a database)."""
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _rows(db: Path) -> dict[str, str]:
    """uid → content hash (without a stale mark) of every resource row."""
    found: dict[str, str] = {}
    conn = sqlite3.connect(db)
    try:
        for table in schema.TABLES.values():
            for uid, digest in conn.execute(f"SELECT uid, hash FROM {table}"):
                found[uid] = (digest or "").rpartition(":")[2]
    finally:
        conn.close()
    return found


def _findings(db: Path, statuses: tuple[str, ...]) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT key, resource_uid FROM findings WHERE status IN ({marks})"
        return dict(conn.execute(sql, statuses).fetchall())
    finally:
        conn.close()


def _status(db: Path) -> dict[tuple[str, str], tuple[str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT scope_id, task, status, error FROM scope_status").fetchall()
    finally:
        conn.close()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def _sync(bed: Bed, db: Path, config: Path, tasks: tuple[str, ...]) -> int:
    """``vmwb sync`` as an operator runs it, in its own process: its exit status is part of the verdict."""
    import subprocess
    import sys

    config.write_text(bed.config_toml(tasks))
    argv = [sys.executable, "-m", "workbench", "--db", str(db), "--config", str(config)]
    with bed.environment():
        done = subprocess.run(
            [*argv, "sync", "--timeout", "30"],
            env=dict(os.environ),
            capture_output=True,
            check=False,
            timeout=600,
        )
    if done.returncode and os.environ.get("VMWB_DEBUG"):
        print(done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    return done.returncode


def _scan(db: Path) -> None:
    from workbench.cache.store import Cache
    from workbench.scan.engine import run_scan

    with Cache.open(db) as cache:
        run_scan(cache)


def baseline(bed: Bed, workdir: Path) -> Path:
    """A cache synced cleanly (every task the targets touch) through the proxy, then scanned."""
    db = workdir / f"{bed.platform}-baseline.db"
    tasks = tuple(dict.fromkeys(t for target in bed.targets for t in target.tasks))
    config = workdir / f"{bed.platform}-baseline.toml"
    code = _sync(bed, db, config, tasks)
    if code != 0:  # once more: on a loaded machine an unfaulted call may still time out
        code = _sync(bed, db, config, tasks)
    if code != 0:
        raise WorkbenchError(
            f"faults: the clean {bed.platform} sync before the trials failed (exit {code})"
        )
    _scan(db)
    return db


def _one_vanished(gone: set[str]) -> set[str]:
    """The uids a resource deleted between list and detail takes with it: itself and its grants (when
    exactly one resource went)."""
    resources = {u for u in gone if ":grant:" not in u}
    if len(resources) != 1:
        return set()
    (uid,) = resources
    provider, account, region, _kind, rid = uid.split(":", 4)
    grants = f"{provider}:{account}:{region}:grant:{rid}/"
    return {u for u in gone if u == uid or u.startswith(grants)}


_TRIALS = itertools.count()


def run_trial(bed: Bed, base: Path, workdir: Path, target: Target, kind: ProxyFault) -> Trial:
    started = time.monotonic()
    trial = Trial(bed.platform, target.name, kind)
    db = workdir / f"{bed.platform}-trial-{next(_TRIALS)}.db"
    _copy(base, db)
    before, open_before = _rows(db), _findings(db, ("open", "muted"))
    times = 1 if kind == "not_found" else None  # a storm: every matching call
    bed.proxy.add(kind, target.match, times=times, delay=HANG_SECONDS)
    try:
        trial.exit_status = _sync(bed, db, workdir / "trial.toml", target.tasks)
    finally:
        bed.proxy.clear()
    after = _rows(db)
    gone = {uid for uid in before if uid not in after}
    emptied = {uid for uid in before if uid in after and after[uid] != before[uid]}
    vanished = _one_vanished(gone) if kind == "not_found" else set()
    trial.rows_lost = len(gone - vanished) + len(emptied)
    _scan(db)
    resolved = _findings(db, ("resolved",))
    trial.false_resolved = sum(
        1 for key, uid in open_before.items() if key in resolved and uid not in vanished
    )
    status = _status(db)
    watched = [status.get(w, ("missing", None)) for w in target.watch]
    trial.statuses = {
        f"{s} {t}": f"{st}: {err or ''}"
        for (s, t), (st, err) in zip(target.watch, watched, strict=True)
    }
    if kind == "not_found":
        trial.shown = all(st == "ok" for st, _ in watched) and len(vanished) > 0
        expected_exit = trial.exit_status == 0
    else:
        trial.shown = all(st != "ok" and err for st, err in watched)
        expected_exit = trial.exit_status != 0
    trial.survived = (
        trial.rows_lost == 0 and trial.false_resolved == 0 and trial.shown and expected_exit
    )
    if not trial.survived:
        trial.note = (
            f"exit {trial.exit_status}; {trial.statuses}; lost {sorted(gone | emptied)[:3]}"
        )
    trial.seconds = round(time.monotonic() - started, 2)
    db.unlink()
    return trial


def run_bed(
    bed: Bed, workdir: Path, pairs: list[tuple[Target, ProxyFault]] | None = None
) -> Iterator[Trial]:
    base = baseline(bed, workdir)
    for target, kind in pairs if pairs is not None else plan(bed):
        yield run_trial(bed, base, workdir, target, kind)


@contextlib.contextmanager
def _aws() -> Iterator[Bed]:
    from workbench.emulators.aws import seed_estate, start_moto_server

    with contextlib.ExitStack() as stack:
        stack.enter_context(environment(AWS_ENV, AWS_UNSET))  # moto reads them too
        server = stack.enter_context(start_moto_server())
        manifest = seed_estate(server.endpoint)
        yield stack.enter_context(aws_bed(server.endpoint, manifest.regions, manifest.role_arn))


BEDS: dict[str, Callable[[], contextlib.AbstractContextManager[Bed]]] = {
    "aws": _aws,
    "gcp": gcp_bed,
    "azure": azure_bed,
}


def table(trials: list[Trial]) -> list[list[str]]:
    """Per platform and fault class: tried, survived, rows lost, false resolved."""
    groups: dict[tuple[str, str], list[Trial]] = {}
    for t in trials:
        groups.setdefault((t.platform, t.fault), []).append(t)
    rows = [["PLATFORM", "FAULT", "TRIED", "SURVIVED", "ROWS LOST", "FALSE RESOLVED"]]
    for (platform, fault), group in groups.items():
        rows.append(
            [
                platform,
                fault,
                str(len(group)),
                str(sum(t.survived for t in group)),
                str(sum(t.rows_lost for t in group)),
                str(sum(t.false_resolved for t in group)),
            ]
        )
    rows.append(
        [
            "all",
            "",
            str(len(trials)),
            str(sum(t.survived for t in trials)),
            str(sum(t.rows_lost for t in trials)),
            str(sum(t.false_resolved for t in trials)),
        ]
    )
    return rows


def bench_faults(size: int | None = None) -> dict[str, Any]:
    """Run every bed's plan; ``size`` limits the trials per platform (for a quick look)."""
    trials: list[Trial] = []
    started = time.monotonic(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="vmwb-faults-") as tmp:
        for make in BEDS.values():
            with make() as bed:
                pairs = plan(bed)[:size] if size else plan(bed)
                trials.extend(run_bed(bed, Path(tmp), pairs))
    failed = [asdict(t) for t in trials if not t.survived]
    return {
        "table": table(trials),
        "tried": len(trials),
        "survived": sum(t.survived for t in trials),
        "rows_lost": sum(t.rows_lost for t in trials),
        "false_resolved": sum(t.false_resolved for t in trials),
        "wall_seconds": round(time.monotonic() - started[0], 1),
        "cpu_seconds": round(time.process_time() - started[1], 1),
        "not_survived": failed,
    }

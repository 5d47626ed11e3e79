"""``build_demo``: a complete, realistic estate on local emulators, synced and scanned into a cache.

Every platform in :data:`workbench.demo.parts.PARTS` is started in this process, seeded, and written into a
config that points its provider at the emulator; then the real collectors sync it into the cache and the real
checks run over it. The emulators keep running until :meth:`DemoEstate.close`, so fixes planned in the demo
can be applied against them.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import importlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from workbench.config import Config
from workbench.demo.parts import PARTS, DemoPart, PartUnavailable

Progress = Callable[..., None]  # progress(step, done=None, total=None)


@dataclass(slots=True)
class DemoEstate:
    db_path: Path
    config: Config
    parts: list[str] = field(default_factory=list)  # the platforms that are up
    notes: list[str] = field(default_factory=list)  # the ones skipped, and why
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    sync_status: str = ""
    resources: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Stop every emulator (idempotent)."""
        while self._stops:
            with contextlib.suppress(Exception):  # stopping a dead server must not hide the others
                self._stops.pop()()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_demo(
    db_path: str | Path,
    *,
    progress: Progress | None = None,
    parts: Sequence[DemoPart] | None = None,
    scan: bool = True,
    keys: Path | None = None,
) -> DemoEstate:
    """Start, seed, configure, sync and scan; returns the running estate (close it when done).

    ``keys``: a folder for the demo's own throw-away keys (``[general] key_folder`` of the demo config, and
    this process's keyring), so the user's keyring is never written and a headless machine needs none;
    None leaves the process's keyring as it is."""
    from workbench.cache.store import Cache
    from workbench.providers.configured import from_config
    from workbench.sync import SyncEngine

    say: Progress = progress or _quiet
    chosen = list(PARTS if parts is None else parts)
    estate = DemoEstate(Path(db_path), Config())
    estate.db_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Everything below shares one GIL, so concurrency buys overlap, not parallel CPU: the SDK imports and
    # the emulators' own waits (vcsim is a separate process, libvirt and SQLite release the GIL) fill each
    # other's gaps instead of adding up one platform after the other.
    warm = [m for part in chosen for m in part.warm] + ["workbench.scan.engine"]
    warmer = threading.Thread(target=_import_all, args=(warm,), name="vmwb-demo-warm", daemon=True)
    warmer.start()
    lock = threading.Lock()

    def bring_up(part: DemoPart) -> dict[str, Any] | None:
        t0 = time.monotonic()
        say(f"starting {part.title}")
        try:
            handle = part.start()
        except PartUnavailable as exc:
            with lock:
                estate.notes.append(f"{part.title} skipped: {exc}")
            say(f"{part.title} skipped: {exc}")
            return None
        with lock:
            estate._stops.append(functools.partial(part.stop, handle))
        say(f"seeding {part.title}")
        section = part.config(handle, part.seed(handle))
        estate.timings[f"{part.name}: start+seed"] = time.monotonic() - t0
        return section

    sections: dict[str, dict[str, Any]] = {}
    try:
        # Leaving the pool waits for every part, so a failure never leaves one starting after close().
        with cf.ThreadPoolExecutor(len(chosen), thread_name_prefix="vmwb-demo") as pool:
            futures = {pool.submit(bring_up, part): part for part in chosen}
            for n, fut in enumerate(cf.as_completed(futures), 1):
                part = futures[fut]
                if (section := fut.result()) is not None:
                    sections[part.name] = section
                    say(f"{part.title} ready", n, len(chosen))
        estate.parts = [p.name for p in chosen if p.name in sections]  # in PARTS order, not arrival
        sections = {name: sections[name] for name in estate.parts}
        estate.timings["emulators up"] = time.monotonic() - started
        if not estate.parts:
            raise RuntimeError("no demo platform could be started: " + "; ".join(estate.notes))
        if keys is not None:
            from workbench import secrets

            secrets.use_folder(keys)
        estate.config = Config(
            role="operator", key_folder=str(keys) if keys else None, sections=sections
        )
        _write_config(estate)
        warmer.join()  # the collectors import the same modules: let them find them loaded, not half-loaded
        estate.timings["emulators up + imports"] = time.monotonic() - started

        t0 = time.monotonic()
        with Cache.open(estate.db_path, demo=True) as cache:

            def on_event(event: Any) -> None:
                if event.kind in ("discovered", "task_done", "task_failed"):
                    what = f"{event.label or event.scope_id} {event.task}".strip()
                    say(
                        f"sync {what}" if event.task else "sync: scopes found",
                        event.done,
                        event.total,
                    )

            engine = SyncEngine(cache, from_config(estate.config), on_event=on_event)
            result = engine.run({"demo": estate.parts})
            estate.sync_status, estate.resources = result.status, result.resources
            estate.timings["sync"] = time.monotonic() - t0
            if scan:
                _scan(cache, estate, say)
        estate.timings["total"] = time.monotonic() - started
        say(f"ready: {estate.resources} resources, sync {estate.sync_status}", 1, 1)
        return estate
    except BaseException:
        estate.close()
        raise


def _import_all(modules: list[str]) -> None:
    for name in modules:
        with contextlib.suppress(Exception):  # a missing extra is reported by its part, not here
            importlib.import_module(name)


def _quiet(step: str, done: int | None = None, total: int | None = None) -> None:
    pass


def _write_config(estate: DemoEstate) -> None:
    """The config next to the cache, so ``vmwb --db … --config …`` can reopen the demo later."""
    import tomli_w

    from workbench.private_files import write_private_text

    path = estate.db_path.with_suffix(".toml")
    general: dict[str, Any] = {"role": estate.config.role}
    if estate.config.key_folder:
        general["key_folder"] = estate.config.key_folder
    data = {"general": general, **estate.config.sections}
    write_private_text(path, tomli_w.dumps(data))
    estate.config.path = path


def _scan(cache: Any, estate: DemoEstate, say: Progress) -> None:
    try:
        from workbench.scan.engine import run_scan
    except ImportError:
        estate.notes.append("checks skipped: the scan engine is not installed")
        return
    t0 = time.monotonic()
    say("running the checks")
    result = run_scan(cache, config=estate.config)
    estate.findings = dict(result.counts)
    estate.timings["scan"] = time.monotonic() - t0

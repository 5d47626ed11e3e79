"""``build_demo``: a complete, realistic estate on local emulators, synced and scanned into a cache.

Every platform in :data:`workbench.demo.parts.PARTS` is started in this process, seeded, and written into a
config that points its provider at the emulator; then the real collectors sync it into the cache and the real
checks run over it. The emulators keep running until :meth:`DemoEstate.close`, so fixes planned in the demo
can be applied against them.
"""

from __future__ import annotations

import contextlib
import functools
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
) -> DemoEstate:
    """Start, seed, configure, sync and scan; returns the running estate (close it when done)."""
    from workbench.cache.store import Cache
    from workbench.providers.configured import from_config
    from workbench.sync import SyncEngine

    say: Progress = progress or _quiet
    chosen = list(PARTS if parts is None else parts)
    estate = DemoEstate(Path(db_path), Config())
    sections: dict[str, dict[str, Any]] = {}
    try:
        for i, part in enumerate(chosen):
            t0 = time.monotonic()
            say(f"starting {part.title}", i, len(chosen))
            try:
                handle = part.start()
            except PartUnavailable as exc:
                estate.notes.append(f"{part.title} skipped: {exc}")
                say(f"{part.title} skipped: {exc}")
                continue
            estate._stops.append(functools.partial(part.stop, handle))
            say(f"seeding {part.title}")
            planted = part.seed(handle)
            sections[part.name] = part.config(handle, planted)
            estate.parts.append(part.name)
            estate.timings[f"{part.name}: start+seed"] = time.monotonic() - t0
        if not estate.parts:
            raise RuntimeError("no demo platform could be started: " + "; ".join(estate.notes))
        estate.config = Config(role="operator", sections=sections)
        _write_config(estate)

        t0 = time.monotonic()
        with Cache.open(estate.db_path) as cache:

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
        say(f"ready: {estate.resources} resources, sync {estate.sync_status}", 1, 1)
        return estate
    except BaseException:
        estate.close()
        raise


def _quiet(step: str, done: int | None = None, total: int | None = None) -> None:
    pass


def _write_config(estate: DemoEstate) -> None:
    """The config next to the cache, so ``vmwb --db … --config …`` can reopen the demo later."""
    import tomli_w

    path = estate.db_path.with_suffix(".toml")
    data = {"general": {"role": estate.config.role}, **estate.config.sections}
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    estate.config.path = path


def _scan(cache: Any, estate: DemoEstate, say: Progress) -> None:
    try:
        from workbench.scan.engine import run_scan
    except ImportError:
        estate.notes.append("checks skipped: the scan engine is not installed")
        return
    t0 = time.monotonic()
    say("running the checks")
    result = run_scan(cache)
    estate.findings = dict(result.counts)
    estate.timings["scan"] = time.monotonic() - t0

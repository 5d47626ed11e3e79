"""Benchmarks by name, loaded lazily: ``vmwb bench NAME`` runs ``BENCHES[NAME]`` and prints its dict as JSON.

Add a bench by adding one entry ``name → "module:function"``. The function returns a JSON-able dict of
figures (a ``table`` entry, rows of cells with the header first, is printed as a table); it takes a size
keyword (``size``, or the first parameter, e.g. ``rows``) that ``--size`` sets.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError

BENCHES: dict[str, str] = {
    "ingest": "workbench.bench.ingest:bench_ingest",
    "concurrency": "workbench.bench.concurrency:bench_concurrency",
    "tui": "workbench.screens.bench_tui:bench_virtual_table",
    "checks": "workbench.bench.checks:bench_checks",
    "demo": "workbench.bench.demo:bench_demo",
    "faults": "workbench.bench.faults:bench_faults",
}


def load(name: str) -> Callable[..., dict[str, Any]]:
    target = BENCHES.get(name)
    if target is None:
        raise WorkbenchError(f"unknown bench {name!r} (known: {', '.join(sorted(BENCHES))})")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise WorkbenchError(f"bench {name!r} cannot be loaded: {exc}") from exc
    fn: Callable[..., dict[str, Any]] = getattr(module, attr)
    return fn


def run(name: str, size: int | None = None) -> dict[str, Any]:
    fn = load(name)
    if size is None:
        return fn()
    params = list(inspect.signature(fn).parameters)
    if not params:
        raise WorkbenchError(f"bench {name!r} takes no size")
    key = "size" if "size" in params else params[0]
    return fn(**{key: size})

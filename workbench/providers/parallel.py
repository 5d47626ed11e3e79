"""Per-resource calls in parallel for any collector: a bounded thread pool that honours the task's checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.providers.base import TaskContext


def bounded_map(
    fn: Callable[[Any], Any], inputs: list[Any], ctx: TaskContext, workers: int = 8
) -> list[Any]:
    """``fn`` over ``inputs`` with at most ``workers`` calls in flight, checkpointing between results.

    Per-resource calls (one attribute or IAM policy read per snapshot or image) are latency-bound; a few in
    flight hide that without tripping the API's request-rate limits (the retry policy backs off if it does).
    Results keep the order of ``inputs``; on the first error (or cancellation) the calls not started are
    cancelled and the error is raised.
    """
    import concurrent.futures as cf

    if not inputs:
        return []
    results: list[Any] = [None] * len(inputs)
    with cf.ThreadPoolExecutor(min(workers, len(inputs))) as pool:
        futures = {pool.submit(fn, item): n for n, item in enumerate(inputs)}
        try:
            for fut in cf.as_completed(futures):
                ctx.checkpoint()
                results[futures[fut]] = fut.result()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return results

"""Per-resource calls in parallel for any collector: a bounded thread pool that honours the task's checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.providers.base import TaskCancelled, TaskContext, describe_error


@dataclass(frozen=True, slots=True)
class ItemFailed:
    """One per-resource call that failed: ``gone`` when the resource vanished since it was listed (a 404)."""

    error: str
    gone: bool


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


def map_items(
    fn: Callable[[Any], Any],
    inputs: list[Any],
    ctx: TaskContext,
    gone: Callable[[BaseException], bool],
    workers: int = 8,
) -> list[Any]:
    """:func:`bounded_map`, but a call that fails gives an :class:`ItemFailed` in its place instead of failing
    them all: one throttled or refused detail call must not cost the task, and a resource deleted between the
    list and its detail call (``gone(exc)``) is simply not there any more. Cancellation still stops them all.
    """

    def one(item: Any) -> Any:
        try:
            return fn(item)
        except TaskCancelled:
            raise
        except Exception as exc:
            return ItemFailed(describe_error(exc), gone(exc))

    return bounded_map(one, inputs, ctx, workers)

"""The contract every platform implements: find scopes, list tasks, collect one task of one scope.

A provider is built from its config section (``Provider.from_config``) and must not import its SDK before it
is used: ``vmwb --help`` and a sync of another provider never pay for it.

The sync engine drives it in three steps:

1. ``discover()`` returns the scopes to sync (accounts × regions, projects, subscriptions, hosts). A scope that
   cannot even be reached (an assume-role that fails) is returned as a :class:`ScopeFailure` so the run shows it
   and goes on with the others.
2. ``tasks(scope)`` names the collector tasks of a scope (``instances``, ``volumes``, ``snapshots`` …). A task is
   the unit of concurrency and of atomic replacement in the cache.
3. ``collect(scope, task, out, ctx)`` fills ``out`` (a :class:`~workbench.model.TaskOutput`) with normalized
   records. It raises on failure; the engine records the error and keeps the cache's previous rows for that task.
   It should call ``ctx.checkpoint()`` between pages so a cancelled or timed-out run stops early.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from workbench.errors import ProviderError
from workbench.model import ScopeRef, Setting, TaskOutput


class TaskCancelled(Exception):
    """Raised by :meth:`TaskContext.checkpoint` when the run is cancelled or the task's deadline passed."""


@dataclass(frozen=True, slots=True)
class ScopeFailure:
    """A scope that could not be reached at discovery, with the reason shown to the operator."""

    scope: ScopeRef
    error: str


@dataclass(slots=True)
class TaskContext:
    """Per-task controls the engine hands to ``collect``."""

    cancel: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None  # time.monotonic() value
    timeout: float | None = None

    def checkpoint(self) -> None:
        if self.cancel.is_set():
            raise TaskCancelled("cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TaskCancelled(f"timed out after {self.timeout:g} s")


class Provider(abc.ABC):
    """One platform. Subclasses set ``name`` and implement the three steps."""

    name: ClassVar[str]
    #: Human name for the UI.
    title: ClassVar[str]
    #: The tasks this instance runs for every scope (chosen from config with :func:`select_tasks`).
    task_names: tuple[str, ...] | list[str] = ()

    @classmethod
    @abc.abstractmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> Provider:
        """Build from the provider's config section; ``overrides`` come from CLI flags."""

    @abc.abstractmethod
    def discover(self) -> list[ScopeRef | ScopeFailure]:
        """The scopes to sync."""

    def tasks(self, scope: ScopeRef) -> list[str]:
        """The collector tasks of one scope: ``task_names`` unless a provider varies them per scope."""
        return list(self.task_names)

    @abc.abstractmethod
    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        """Collect one task of one scope into ``out``; raise on failure."""


H = TypeVar("H")


def select_tasks(
    provider: str,
    wanted: Iterable[str] | None,
    known: Mapping[str, Any],
    default: Iterable[str] | None = None,
) -> tuple[str, ...]:
    """The configured task names (when none are: ``default``, else every known task), all in ``known``."""
    tasks = tuple(wanted or (known if default is None else default))
    unknown = [t for t in tasks if t not in known]
    if unknown:
        raise ProviderError(
            f"[{provider}] tasks: unknown task {unknown[0]!r} (known: {', '.join(known)})"
        )
    return tasks


def scope_handle(scope: ScopeRef, kind: type[H]) -> H:
    """The scope's handle, which must be the ``kind`` this provider's ``discover`` puts there."""
    if not isinstance(scope.handle, kind):
        raise ProviderError(f"scope {scope.scope_id} was not discovered by this provider")
    return scope.handle


def describe_error(exc: BaseException) -> str:
    """One line for the operator: the API's error code and message where there is one."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:  # botocore ClientError
        err = response["Error"]
        return f"{err.get('Code', type(exc).__name__)}: {err.get('Message', '')}".strip()
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def patch_api_state(api: str, enabled: bool, note: str = "") -> Setting:
    """The scope's patch service as a setting (``patch_api``): "not enabled" is a known state of the scope, shown as
    such (HYB-02: patch state unknown), never a task that fails on every sync."""
    return Setting(
        id="patch_api",
        name=f"Patch API ({api})",
        value={"api": api, "enabled": enabled},
        extra={"note": note} if note else {},
    )

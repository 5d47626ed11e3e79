"""Runs "Sync now" for the app: the sync engine in a thread worker, progress to every open screen.

The worker belongs to the App, not to a screen, so leaving the sync screen does not stop a sync. The engine's
events arrive on the worker thread; ``call_from_thread`` hands them to the UI thread, which posts a small
message to each screen on the stack (``Worker.StateChanged`` does not bubble, so it is no use here).
Cancelling sets the engine's cancel event: running tasks stop at their next checkpoint and keep their old rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from workbench.screens.messages import SyncFinished, SyncProgress
from workbench.sync import SyncEvent
from workbench.textsafe import safe

if TYPE_CHECKING:
    from workbench.screens.app import WorkbenchApp


@dataclass
class SyncLog:
    """What the sync screen shows: one line per settled task, newest last."""

    lines: list[tuple[str, str]] = field(default_factory=list)  # (status, text)
    last: SyncEvent | None = None


class SyncController:
    def __init__(self, app: WorkbenchApp) -> None:
        self.app = app
        self.cancel_event = threading.Event()
        self.running = False
        self.log = SyncLog()

    def start(self) -> bool:
        """Start a sync; False when one is already running."""
        if self.running:
            return False
        self.running = True
        self.cancel_event = threading.Event()
        self.log = SyncLog()
        self.app.run_worker(
            self._run, thread=True, exclusive=True, group="sync", name="sync", exit_on_error=False
        )
        return True

    def cancel(self) -> bool:
        if not self.running:
            return False
        self.cancel_event.set()
        return True

    # -- worker thread ---------------------------------------------------------------------
    def _run(self) -> None:
        from workbench.cache.store import Cache
        from workbench.errors import WorkbenchError
        from workbench.providers.configured import from_config
        from workbench.sync import SyncEngine

        services = self.app.services
        try:
            providers = from_config(services.config)
            with Cache.open(services.cache_path) as cache:
                cache.refuse_read_only("sync")
                engine = SyncEngine(
                    cache,
                    providers,
                    on_event=self._event,
                    cancel=self.cancel_event,
                    keep_raw_secrets=services.config.keep_raw_secrets,
                    history_retention_days=services.config.policy.history_retention_days,
                )
                result = engine.run()
        except (WorkbenchError, OSError) as exc:
            done = SyncFinished("failed", error=str(exc))
        except Exception as exc:  # the UI must survive a broken provider
            done = SyncFinished("failed", error=f"{type(exc).__name__}: {exc}")
        else:
            done = SyncFinished(result.status, result.resources, len(result.failed))
        self.app.call_from_thread(self._finish, done)

    def _event(self, event: SyncEvent) -> None:
        self.app.call_from_thread(self._progress, event)

    # -- UI thread ------------------------------------------------------------------------
    def _progress(self, event: SyncEvent) -> None:
        self.log.last = event
        if event.kind in ("task_done", "task_failed"):
            where = safe(event.label or event.scope_id)
            if event.kind == "task_done":
                self.log.lines.append(("ok", f"{where} {event.task}: {event.resources} resources"))
            else:
                self.log.lines.append(("failed", f"{where} {event.task}: {safe(event.error)}"))
        self._broadcast(lambda: SyncProgress(event))

    def _finish(self, done: SyncFinished) -> None:
        self.running = False
        if done.error:
            self.log.lines.append(("failed", safe(done.error)))
        severity = "information" if done.status == "ok" else "warning"
        text = (
            done.error
            or f"sync {done.status}: {done.resources} resources, {done.errors} failed tasks"
        )
        self.app.notify(safe(text), title="Sync", severity=severity, markup=False)
        self._broadcast(lambda: SyncFinished(done.status, done.resources, done.errors, done.error))

    def _broadcast(self, make: type[Message] | object) -> None:
        for screen in self.app.screen_stack:
            screen.post_message(make())  # type: ignore[operator]

"""Small messages the sync worker sends to every open screen (posted from the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from workbench.sync import SyncEvent


@dataclass
class SyncProgress(Message, bubble=False):
    """One step of a running sync."""

    event: SyncEvent

    def can_replace(self, message: Message) -> bool:
        # A flood of task_done events coalesces: only the newest count matters on screen.
        return (
            isinstance(message, SyncProgress)
            and message.event.kind == self.event.kind == "task_done"
        )


@dataclass
class SyncFinished(Message, bubble=False):
    """The sync ended: ``status`` is ok | partial | failed | cancelled; ``error`` when it could not start."""

    status: str
    resources: int = 0
    errors: int = 0
    error: str | None = None

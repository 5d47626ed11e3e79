"""What the engine reports back: per item, per verified target, per apply or undo."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ItemResult:
    """The outcome of one item. ``status``: applied | failed | skipped (apply, undo); would_succeed |
    would_fail | plan_only | dry_run_ignored (dry-run)."""

    index: int
    target_uid: str
    call: str
    status: str
    detail: str = ""
    journal_id: int | None = None


@dataclass(slots=True)
class VerifyResult:
    target_uid: str
    resource_id: str
    fixed: bool
    detail: str = ""


@dataclass(slots=True)
class ApplyResult:
    plan_id: str
    items: list[ItemResult] = field(default_factory=list)
    verified: list[VerifyResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        done = [i for i in self.items if i.status == "applied"]
        if len(done) == len(self.items):
            return "ok"
        return "partial" if done else "failed"

    @property
    def ok(self) -> bool:
        return self.status == "ok" and all(v.fixed for v in self.verified)

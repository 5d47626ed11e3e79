"""A plan: the exact calls a fix will make, per target, with the live state they were computed from.

A plan is what the operator approves, so it travels as a file (``vmwb fix plan --output plan.json`` then
``vmwb fix apply plan.json``). The file carries a SHA-256 checksum over its canonical JSON: an accidental or
careless edit is refused at load. The checksum is not a signature (anyone can recompute it), so the engine does
not trust the file: the cache that made the plan records its id and checksum (``fix_plans``), and apply refuses a
plan of another cache (``cache_id``), one whose content differs from what was recorded, one already applied,
and one whose calls differ from what the fix computes from live state now (``workbench.fixes.claims``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import canonical
from workbench.fixes.base import FixError, PlanItem, Target
from workbench.private_files import write_private_text

PLAN_FORMAT = "vmwb-plan/1"


class PlanFileError(FixError):
    """The plan file is not a vmwb plan, or it was edited after it was made."""


@dataclass(slots=True)
class PlanTarget:
    target: Target
    live_digest: str
    blast_radius: list[str] = field(default_factory=list)
    already_fixed: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "live_digest": self.live_digest,
            "blast_radius": list(self.blast_radius),
            "already_fixed": self.already_fixed,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanTarget:
        return cls(
            target=Target.from_dict(data["target"]),
            live_digest=str(data["live_digest"]),
            blast_radius=[str(x) for x in data.get("blast_radius", [])],
            already_fixed=bool(data.get("already_fixed")),
            note=str(data.get("note", "")),
        )


@dataclass(slots=True)
class Plan:
    plan_id: str
    fix_id: str
    title: str
    provider: str
    safety: str
    created_at: str
    created_by: str
    role: str
    inputs: dict[str, Any]
    permissions: list[str]
    notes: list[str]
    targets: list[PlanTarget]
    items: list[PlanItem]
    verb: str = "change"
    noun: str = "resources"
    #: The cache the plan was made on (``meta.cache_id``): it applies there and nowhere else, once.
    cache_id: str = ""
    checksum: str = ""

    # ------------------------------------------------------------------ derived
    @property
    def acting_targets(self) -> list[PlanTarget]:
        """Targets with at least one call (the others were already fixed or gone)."""
        uids = {item.target_uid for item in self.items}
        return [t for t in self.targets if t.target.resource_uid in uids]

    @property
    def confirmation(self) -> str:
        """What the operator types to confirm an irreversible plan: the count, or the one resource id."""
        acting = self.acting_targets
        if len(acting) == 1:
            return acting[0].target.resource_id
        return str(len(acting))

    def accepts_confirmation(self, typed: str | None) -> bool:
        typed = (typed or "").strip()
        acting = self.acting_targets
        return bool(typed) and (
            typed == str(len(acting))
            or (len(acting) == 1 and typed == acting[0].target.resource_id)
        )

    def confirmation_prompt(self) -> str:
        n = len(self.acting_targets)
        noun = self.noun if n != 1 else self.noun.rstrip("s")
        return f"type {self.confirmation} to {self.verb} {n} {noun}"

    def items_for(self, uid: str) -> list[PlanItem]:
        return [i for i in self.items if i.target_uid == uid]

    # ------------------------------------------------------------------ JSON
    def body(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "plan_id": self.plan_id,
            "fix_id": self.fix_id,
            "title": self.title,
            "provider": self.provider,
            "safety": self.safety,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "role": self.role,
            "inputs": self.inputs,
            "permissions": self.permissions,
            "notes": self.notes,
            "verb": self.verb,
            "noun": self.noun,
            "cache_id": self.cache_id,
            "targets": [t.to_dict() for t in self.targets],
            "items": [i.to_dict() for i in self.items],
        }

    def compute_checksum(self) -> str:
        return hashlib.sha256(canonical.dumps(self.body()).encode()).hexdigest()

    def seal(self) -> Plan:
        self.checksum = self.compute_checksum()
        return self

    def to_json(self) -> str:
        return (
            json.dumps(
                {**self.body(), "checksum": self.compute_checksum()},
                indent=2,
                sort_keys=True,
                default=str,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanFileError(f"not a vmwb plan (invalid JSON: {exc})") from exc
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanFileError(f"not a vmwb plan (format is not {PLAN_FORMAT})")
        try:
            plan = cls(
                plan_id=str(data["plan_id"]),
                fix_id=str(data["fix_id"]),
                title=str(data["title"]),
                provider=str(data["provider"]),
                safety=str(data["safety"]),
                created_at=str(data["created_at"]),
                created_by=str(data["created_by"]),
                role=str(data["role"]),
                inputs=dict(data["inputs"]),
                permissions=[str(p) for p in data["permissions"]],
                notes=[str(n) for n in data["notes"]],
                targets=[PlanTarget.from_dict(t) for t in data["targets"]],
                items=[PlanItem.from_dict(i) for i in data["items"]],
                verb=str(data.get("verb", "change")),
                noun=str(data.get("noun", "resources")),
                cache_id=str(data.get("cache_id", "")),
                checksum=str(data.get("checksum", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanFileError(f"not a vmwb plan (missing or bad field: {exc})") from exc
        if plan.checksum != plan.compute_checksum():
            raise PlanFileError(
                "the plan's checksum does not match its content: it was edited after it was made. "
                "Make a new plan with `vmwb fix plan`."
            )
        return plan

    def save(self, path: str | os.PathLike[str]) -> Path:
        p = Path(path).expanduser()
        write_private_text(p, self.to_json())  # 0600: a plan names resources and grants
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        p = Path(path).expanduser()
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise PlanFileError(f"cannot read the plan {p}: {exc.strerror}") from exc
        return cls.from_json(text)


def preview_lines(plan: Plan) -> list[str]:
    """The plan as plain text lines: class, permissions, then per target its blast radius and exact calls.

    Lines contain strings from the cloud (names, tags): render them as plain text (``textsafe.safe``), never as
    markup.
    """
    acting = plan.acting_targets
    lines = [
        f"Plan {plan.plan_id}: {plan.fix_id} - {plan.title}",
        (
            f"Class: {plan.safety}   Targets: {len(plan.targets)} ({len(acting)} to change)   "
            f"Calls: {len(plan.items)}"
        ),
        f"Made: {plan.created_at} by {plan.created_by} ({plan.role})",
        f"Permissions: {', '.join(plan.permissions) or '-'}",
    ]
    shown = {k: v for k, v in plan.inputs.items() if v is not None}
    if shown:
        lines.append("Inputs: " + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))
    for pt in plan.targets:
        lines.append("")
        lines.append(f"Target {pt.target.label}")
        if pt.target.check_id:
            lines.append(f"  Finding: {pt.target.check_id}")
        if pt.already_fixed:
            lines.append("  Already fixed: nothing to do")
        if pt.note:
            lines.append(f"  Note: {pt.note}")
        for radius in pt.blast_radius:
            lines.append(f"  Blast radius: {radius}")
        for item in plan.items_for(pt.target.resource_uid):
            needs = (
                f"  (after {', '.join(f'#{r + 1}' for r in item.requires)})"
                if item.requires
                else ""
            )
            lines.append(f"  #{item.index + 1} {item.description}{needs}")
            lines.append(f"     {item.call_text()}  [{item.account} {item.region}]")
            if item.wait:
                lines.append(f"     then wait until {item.wait}")
    if plan.notes:
        lines.append("")
        lines.extend(f"Note: {n}" for n in plan.notes)
    if plan.safety == "irreversible" and acting:
        lines.append("")
        lines.append(f"IRREVERSIBLE: {plan.confirmation_prompt()}")
    return lines

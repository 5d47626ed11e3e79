"""What an undo would do, before it does it: the exact calls that restore each journal entry's before-state.

An undo is a live change like an apply, so it gets the same preview and confirmation (the app's ``:journal`` and
fix wizard, ``vmwb fix undo``). This reads the journal and asks each fix for its undo calls (``Fix.undo``, which
builds calls and calls nothing); the engine still decides at undo time (role, read-only, resource changed since)
and audits that decision. An entry that cannot be undone says why here already.

Public API: :func:`preview_undo` -> list of :class:`UndoPreview`; :func:`preview_text` (plain lines).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from workbench.cache.store import Cache
from workbench.errors import WorkbenchError
from workbench.fixes import journal as jr
from workbench.fixes import lookup


@dataclass(slots=True)
class UndoPreview:
    entry_id: int
    fix_id: str
    safety: str
    target: str
    original_call: str
    calls: list[str] = field(default_factory=list)
    before: Any = None
    refusal: str | None = None

    @property
    def possible(self) -> bool:
        return self.refusal is None and bool(self.calls)


def preview_undo(db: Cache | sqlite3.Connection, entry_ids: list[int]) -> list[UndoPreview]:
    """One preview per journal entry, in the order given."""
    journal = jr.Journal(db)
    out: list[UndoPreview] = []
    for entry_id in entry_ids:
        entry = journal.get(entry_id)
        if entry is None:
            out.append(UndoPreview(entry_id, "?", "?", "?", "?", refusal="no such journal entry"))
            continue
        try:
            fix = lookup.get(entry.fix_id)
        except WorkbenchError as exc:
            out.append(
                UndoPreview(
                    entry_id, entry.fix_id, "?", "?", "?", refusal=str(exc) or "unknown fix"
                )
            )
            continue
        p = UndoPreview(
            entry_id,
            fix.id,
            fix.safety,
            entry.target.label,
            entry.item.call_text(),
            before=entry.before,
        )
        if not fix.undoable:
            p.refusal = f"{fix.id} is {fix.safety}: it cannot be undone"
        elif entry.undo_of is not None:
            p.refusal = "this entry is itself an undo; undo is not chained"
        elif entry.status == jr.UNDONE:
            p.refusal = "already undone"
        elif not entry.took_effect:
            p.refusal = f"{entry.status}: it changed nothing to undo"
        else:
            try:
                p.calls = [f"{i.call_text()}  [{i.account} {i.region}]" for i in fix.undo(entry)]
            except WorkbenchError as exc:
                p.refusal = str(exc)
            if not p.calls and p.refusal is None:
                p.refusal = "nothing to restore"
        out.append(p)
    return out


def preview_text(previews: list[UndoPreview]) -> list[str]:
    """The previews as plain lines (they hold cloud strings: render as text, never markup)."""
    lines: list[str] = []
    for p in previews:
        if lines:
            lines.append("")
        lines.append(f"Undo journal #{p.entry_id}: {p.fix_id} ({p.safety}) on {p.target}")
        lines.append(f"  It ran:   {p.original_call}")
        if p.refusal:
            lines.append(f"  Cannot undo: {p.refusal}")
            continue
        lines.append(
            "  Restores: " + json.dumps(p.before, sort_keys=True, default=str)[:300]
            if p.before is not None
            else "  Restores: the before-state in the journal"
        )
        for n, call in enumerate(p.calls, 1):
            lines.append(f"  #{n} {call}")
    lines.append("")
    lines.append(
        "The resource is read again first: if it changed since the fix, the undo is refused "
        "rather than clobbering that change."
    )
    return lines

"""The undo preview names what cannot be undone before anything is asked of the engine."""

from __future__ import annotations

from pathlib import Path

from workbench.cache.store import Cache
from workbench.fixes.undo_preview import preview_text, preview_undo


def test_unknown_entry_is_refused_in_the_preview(tmp_path: Path) -> None:
    with Cache.open(tmp_path / "c.db") as cache:
        (p,) = preview_undo(cache, [7])
        assert not p.possible and p.refusal == "no such journal entry"
        text = "\n".join(preview_text([p]))
        assert "Undo journal #7" in text and "Cannot undo: no such journal entry" in text

"""A compliance view per framework: controls covered by the catalogue, and which pass or fail now.

Public API: :func:`summary` ``(db, checks=None) -> list[dict]``, one entry per framework key (see
``workbench.scan.loader.FRAMEWORKS``) with ``covered, passing, failing, not_assessed`` counts and ``controls``
(each: ``id, checks, status, open, muted, proposed``). A control *fails* when one of its checks has an open
finding; it is *not assessed* when none of its checks has run in any scan yet; muted findings do not fail a
control but are counted. ``proposed`` is true when every mapping to the control is still marked proposed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from workbench.cache import posture
from workbench.cache.backend import Reader
from workbench.scan.loader import FRAMEWORKS, Check, load_catalogue


def assessed_checks(db: Reader) -> set[str]:
    found: set[str] = set()
    for (selection,) in db.execute("SELECT selection FROM scans WHERE source = 'vmwb'"):
        try:
            found.update(json.loads(selection or "{}").get("checks", []))
        except (ValueError, AttributeError):
            continue
    return found


def _control_key(control: str) -> list[Any]:
    # "2.10" after "2.9", "AC-3" before "AC-17": compare digit runs as numbers.
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", control)]


def summary(db: Reader, checks: list[Check] | None = None) -> list[dict[str, Any]]:
    checks = checks if checks is not None else load_catalogue()
    assessed = assessed_checks(db)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"open": 0, "muted": 0})
    for check_id, by_status in posture.check_counts(db, posture.CURRENT).items():
        counts[check_id].update(by_status)
    out = []
    for key, (title, _) in FRAMEWORKS.items():
        controls: dict[str, dict[str, Any]] = {}
        versions: set[str] = set()
        for check in checks:
            ref = check.frameworks.get(key)
            if ref is None:
                continue
            if ref.version:
                versions.add(ref.version)
            for cid in ref.ids:
                c = controls.setdefault(cid, {"id": cid, "checks": [], "proposed": True})
                c["checks"].append(check.id)
                c["proposed"] = c["proposed"] and ref.proposed
        if not controls:
            continue
        passing = failing = not_assessed = 0
        for c in controls.values():
            ran = [cid for cid in c["checks"] if cid in assessed]
            c["open"] = sum(counts[cid]["open"] for cid in c["checks"])
            c["muted"] = sum(counts[cid]["muted"] for cid in c["checks"])
            if not ran:
                c["status"] = "not_assessed"
                not_assessed += 1
            elif c["open"]:
                c["status"] = "failing"
                failing += 1
            else:
                c["status"] = "passing"
                passing += 1
        out.append(
            {
                "framework": key,
                "title": title,
                "versions": sorted(versions),
                "covered": len(controls),
                "passing": passing,
                "failing": failing,
                "not_assessed": not_assessed,
                "controls": sorted(controls.values(), key=lambda c: _control_key(c["id"])),
            }
        )
    return out

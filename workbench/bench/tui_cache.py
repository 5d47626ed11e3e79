"""A browsable cache for the TUI bench: the checks bench's 1M-resource estate, searchable and scanned.

:func:`workbench.bench.checks.build_cache` fills the tables by SQL but leaves the ``search`` column empty
(the ingest path writes it), so the FTS indexes would match nothing. Here the column is filled as
:func:`workbench.cache.rows.prepare` writes it (id, name, ``key=value`` per tag), the indexes are rebuilt
with the cache's own ``refresh_search``, and one scan writes findings so the dashboard has posture to read.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from workbench.bench import checks
from workbench.cache import schema
from workbench.cache.store import Cache

# Bump when the estate or the schema changes, so a cache left in the temp dir by an older layout is not
# reused (2: the posture summary and the KPIs stored with the scan).
VERSION = 2


def build_browse_cache(path: str | Path, size: int) -> dict[str, Any]:
    """Build the cache at ``path`` (atomically: a half-built file is never left under that name)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from workbench import config
    from workbench.images import keys
    from workbench.scan.engine import run_scan

    path = Path(path)
    tmp = path.with_name(path.name + ".building")
    for leftover in [tmp, *tmp.parent.glob(tmp.name + "[-.]*")]:
        leftover.unlink(missing_ok=True)
    t0 = time.perf_counter()
    signer = keys.Signer(Ed25519PrivateKey.generate(), "bench")
    counts = checks.build_cache(tmp, size, signer)
    kinds = [k for k, t in schema.TABLES.items() if counts.get(t)]
    with Cache.open(tmp) as cache:
        with cache.transaction():
            for kind in kinds:
                table = schema.TABLES[kind]
                cache.db.execute(
                    f"UPDATE {table} SET search = id || ' ' || coalesce(name, '') || coalesce("
                    f"(SELECT group_concat(' ' || key || '=' || value, '') FROM json_each({table}.tags)),"
                    " '')"
                )
        cache.refresh_search(kinds)
        # Trust the throwaway key only for this scan (IMG-11 verifies the approvals' signatures).
        pinned = {"trusted_keys": [keys.public_b64(signer.public)], "trust_local_key": False}
        result = run_scan(cache, now=checks.NOW, config=config.parse({"images": pinned}))
        cache.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Sidecars named after the file (the audit log's ``.audit-head`` anchor) move with it.
    for sidecar in tmp.parent.glob(tmp.name + ".*"):
        sidecar.replace(path.with_name(path.name + sidecar.name[len(tmp.name) :]))
    tmp.replace(path)
    return {
        "by_table": counts,
        "findings": result.counts.get("open", 0),
        "build_s": round(time.perf_counter() - t0, 1),
    }

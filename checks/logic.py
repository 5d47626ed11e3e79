"""Python escape hatches: what a check's SQL cannot say, registered by check id.

A check with ``logic = true`` in its ``check.toml`` still has a ``query.sql``; its rows (candidates) pass through
the function registered here, which keeps, drops or rewrites them. Keep this one module; each function is small
and pure (rows and parameters in, rows out, plus the session's config when it asks for it): no I/O, no cloud
calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.config import Config

Logic = Callable[..., list[Any]]  # (rows, params[, db=][, config=]) -> rows
LOGIC: dict[str, Logic] = {}
NEEDS_DB: set[str] = set()
NEEDS_CONFIG: set[str] = set()


def register(
    check_id: str, *, needs_db: bool = False, needs_config: bool = False
) -> Callable[[Logic], Logic]:
    """``needs_db``: the function also takes the check's read connection (``db=``), to fetch detail for the
    few rows it keeps rather than have the query carry it for every row. ``needs_config``: it also takes the
    scan's :class:`~workbench.config.Config` (``config=``), for settings outside ``[checks.<ID>]``."""

    def deco(fn: Logic) -> Logic:
        LOGIC[check_id] = fn
        if needs_db:
            NEEDS_DB.add(check_id)
        if needs_config:
            NEEDS_CONFIG.add(check_id)
        return fn

    return deco


def apply(
    check_id: str,
    rows: list[Any],
    params: dict[str, Any],
    db: Any = None,
    config: Config | None = None,
) -> list[Any]:
    """Run ``check_id``'s function; ``config`` is the scan's (None: an empty :class:`Config`)."""
    fn = LOGIC.get(check_id)
    if fn is None:
        raise LookupError(
            f"check {check_id} declares logic = true but has no function in checks/logic.py"
        )
    extra: dict[str, Any] = {}
    if check_id in NEEDS_DB:
        extra["db"] = db
    if check_id in NEEDS_CONFIG:
        if config is None:
            from workbench.config import Config

            config = Config()
        extra["config"] = config
    return fn(rows, params, **extra)


@register("CFG-03")
def secrets_in_user_data(rows: list[Any], params: dict[str, Any]) -> list[Any]:
    """Keep instances whose collector found likely secrets, less the operator's known placeholders.

    The collector scanned the user data (``workbench.secret_scan``) and stored only kind, line and fingerprint.
    """
    ignored = set(params.get("ignore_fingerprints", []))
    failing = []
    for row in rows:
        evidence = row.evidence_data() or {}
        hits = [h for h in evidence.get("matches") or [] if h.get("fingerprint") not in ignored]
        if hits:
            kinds = sorted({str(h.get("kind")) for h in hits})
            where = "metadata scripts hold" if row.provider == "gcp" else "user data holds"
            row.reason = f"{where} {len(hits)} likely secret(s): {', '.join(kinds)}"
            row.evidence = {"matches": hits}
            failing.append(row)
    return failing


# Image factory: Ed25519 signatures and publisher parsing live in workbench.images.check_logic (imported on
# use: cryptography is only needed when these checks run).
# The trust root and the trusted publishers come from the scan's config ([images]).
@register("IMG-11", needs_db=True, needs_config=True)
def image_approval_unverified(
    rows: list[Any], params: dict[str, Any], db: Any = None, config: Config | None = None
) -> list[Any]:
    from workbench.images import check_logic

    return check_logic.instances_on_unverified_approval(rows, params, db, config)


@register("IMG-12", needs_config=True)
def image_registry_entry_failing(
    rows: list[Any], params: dict[str, Any], config: Config | None = None
) -> list[Any]:
    from workbench.images import check_logic

    return check_logic.registry_entries_failing(rows, params, config)


@register("IMG-14", needs_config=True)
def image_untrusted_publisher(
    rows: list[Any], params: dict[str, Any], config: Config | None = None
) -> list[Any]:
    from workbench.images import check_logic

    return check_logic.untrusted_publishers(rows, params, config)

"""What the images view and ``vmwb images list`` show: each image's trust and validation state, and its
lineage (the instances launched from it, in every account).

The SQL half comes from the ``image_overview`` view; the signature state and publisher trust are added here,
because a signature cannot be checked in SQL and the trusted publishers live in the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.cache.backend import Reader
from workbench.images import verify
from workbench.images.keys import TrustRoot

if TYPE_CHECKING:
    from workbench.config import Config


def trusted_publishers(config: Config | None) -> set[str]:
    """Every publisher the checks trust, so the view and the findings agree: IMG-14's ``trusted_publishers``
    (GCP image projects, Azure publishers) and IMG-03's ``approved_owners`` (AWS accounts) as the scan resolves
    them (``[policy]``, then ``[checks.<ID>]``), plus ``[policy] trusted_publishers``. Case-insensitive."""
    from workbench.config import Config
    from workbench.scan.loader import CheckError, config_overrides, get_check

    config = config or Config()
    overrides = config_overrides(config)
    names: set[str] = set(config.policy.trusted_publishers)
    for check_id, param in (("IMG-14", "trusted_publishers"), ("IMG-03", "approved_owners")):
        try:
            values = get_check(check_id).resolve_params(overrides.get(check_id))
        except CheckError:
            continue
        names.update(str(v) for v in values.get(param, []))
    return {n.lower() for n in names}


def publisher_trusted(publisher: str | None, account: str, trusted: set[str]) -> bool:
    """An image built by the account itself, or by another account of the estate, needs no listing."""
    return publisher is None or publisher == account or publisher.lower() in trusted


def signature_states(db: Reader, root: TrustRoot) -> dict[int, verify.EntryStatus]:
    return verify.verify(db, root).by_id()


def signature_label(entry_id: int | None, states: dict[int, verify.EntryStatus]) -> str:
    if entry_id is None:
        return ""
    s = states.get(int(entry_id))
    if s is None:
        return "missing"
    # A revoked approval's own signature is fine: "valid" keeps the two columns independent.
    return "valid" if s.status in (verify.OK, verify.REVOKED) else s.status


def image_rows(db: Reader, root: TrustRoot, config: Config | None = None) -> list[dict[str, Any]]:
    states = signature_states(db, root)
    # Accounts the cache knows are the estate's own: a golden image shared between them is in-house.
    trusted = trusted_publishers(config) | {
        str(r[0]).lower() for r in db.execute("SELECT DISTINCT account FROM scope_status")
    }
    rows = db.execute(
        "SELECT * FROM image_overview ORDER BY provider, account, image_id"
    ).fetchall()
    out = []
    for r in rows:
        row = dict(r)
        row["signature"] = signature_label(row["approval_entry"], states)
        row["publisher_trusted"] = publisher_trusted(row["publisher"], row["account"], trusted)
        out.append(row)
    return out


def lineage(db: Reader, provider: str, image_id: str) -> list[dict[str, Any]]:
    """Instances launched from the image, across accounts and regions."""
    rows = db.execute(
        "SELECT uid, account, region, id, name, state, created_at FROM instances "
        "WHERE provider = ? AND image_id = ? ORDER BY account, region, id",
        (provider, image_id),
    ).fetchall()
    return [dict(r) for r in rows]

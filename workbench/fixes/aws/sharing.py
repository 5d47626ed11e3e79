"""What the AMI launch-permission and the snapshot create-volume-permission fixes share.

Both attributes are lists of grants (``{"Group": "all"}`` or ``{"UserId": ...}``) changed with the flat
``Modify…Attribute(OperationType="remove"|"add", <groups param>=[...], UserIds=[...])`` form. A fix is a kind
(:class:`SharingFix` subclass naming the operation, id parameter, attribute and groups parameter) combined with
what it revokes: :class:`RevokePublicSharing` (the ``all`` group) or :class:`RevokeForeignSharing` (accounts
outside the allowlist). Undo adds back exactly the grants the call removed, from the journal's before-state.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.fixes.aws.common import AwsFix
from workbench.fixes.base import REVERSIBLE, FixInput, PlanItem, Target
from workbench.fixes.journal import JournalEntry

EXPOSURE_NOTE = (
    "Exposure is never reversible: while it was shared, anyone allowed could have copied it. "
    "Open an incident to find out who did."
)


def grants_state(perms: list[dict[str, Any]]) -> dict[str, Any]:
    """The live state of an existing resource's grants: public or not, and the accounts granted."""
    return {
        "exists": True,
        "public": any(p.get("Group") == "all" for p in perms),
        "accounts": sorted({p["UserId"] for p in perms if p.get("UserId")}),
    }


class SharingFix(AwsFix):
    """A fix that removes grants of one sharing attribute; subclasses name the attribute and its call."""

    safety: ClassVar[str] = REVERSIBLE
    notes: ClassVar[tuple[str, ...]] = (EXPOSURE_NOTE,)
    #: ``ModifyImageAttribute`` / ``ModifySnapshotAttribute``.
    operation: ClassVar[str]
    #: The call's resource id parameter (``ImageId`` / ``SnapshotId``).
    id_param: ClassVar[str]
    #: ``launchPermission`` / ``createVolumePermission``.
    attribute: ClassVar[str]
    #: The flat form's group list parameter (``UserGroups`` / ``GroupNames``).
    groups_param: ClassVar[str]
    #: What the undo call says it does.
    restore_description: ClassVar[str]

    def remove(self, target: Target, description: str, **grants: list[str]) -> list[PlanItem]:
        params: dict[str, Any] = {
            self.id_param: target.resource_id,
            "Attribute": self.attribute,
            "OperationType": "remove",
            **grants,
        }
        return [self.call(target, self.operation, params, description)]

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        item, target, before = entry.item, entry.target, entry.before or {}
        if item.operation != self.operation or item.params.get("OperationType") != "remove":
            return []
        params: dict[str, Any] = {
            self.id_param: item.params[self.id_param],
            "Attribute": self.attribute,
            "OperationType": "add",
        }
        if "all" in item.params.get(self.groups_param, []) and before.get("public"):
            params[self.groups_param] = ["all"]
        restored = [a for a in item.params.get("UserIds", []) if a in before.get("accounts", [])]
        if restored:
            params["UserIds"] = restored
        if len(params) == 3:
            return []
        return [self.call(target, self.operation, params, self.restore_description)]


class RevokePublicSharing(SharingFix):
    """Remove the ``all`` group grant."""

    verb: ClassVar[str] = "make private"
    #: The plan item's description.
    public_description: ClassVar[str]

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        if not live.get("exists") or not live.get("public"):
            return []
        return self.remove(target, self.public_description, **{self.groups_param: ["all"]})

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        return not live.get("exists") or not live.get("public")


class RevokeForeignSharing(SharingFix):
    """Remove the grants of accounts outside the allowlist (the owning account always keeps access)."""

    inputs: ClassVar[tuple[FixInput, ...]] = (
        FixInput(
            "allowlist",
            "accounts that keep access (comma-separated ids)",
            kind="accounts",
            default=(),
            policy="org_accounts",  # what SNP-03 and IMG-07 allow, so verify and the next scan agree
        ),
    )
    verb: ClassVar[str] = "unshare"
    #: The plan item's description, formatted with ``count`` (the number of accounts removed).
    foreign_description: ClassVar[str]

    @staticmethod
    def foreign(target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
        allowed = set(inputs.get("allowlist") or ()) | {target.account}
        return [a for a in live.get("accounts", []) if a not in allowed]

    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        foreign = self.foreign(target, live, inputs) if live.get("exists") else []
        if not foreign:
            return []
        description = self.foreign_description.format(count=len(foreign))
        return self.remove(target, description, UserIds=foreign)

    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        # The owner is never in the grants, so only the allowlist matters here.
        allowed = set(inputs.get("allowlist") or ())
        return not live.get("exists") or all(a in allowed for a in live.get("accounts", []))

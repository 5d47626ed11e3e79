"""The seeded AWS estate's accounts, regions and hostile names, and the :class:`Manifest` of what was planted.

Apart from :mod:`workbench.emulators.aws_estate` so that tests and the demo can read a manifest (a moto child
process hands one over, pickled) without the seeding code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.model import make_uid

MAIN_ACCOUNT = "123456789012"  # moto's default account
SECOND_ACCOUNT = "222233334444"
SECOND_ROLE_ARN = f"arn:aws:iam::{SECOND_ACCOUNT}:role/SecurityAudit"
FOREIGN_ACCOUNT = "999988887777"
ALLOWLISTED_ACCOUNT = "444455556666"
REGIONS = ("eu-west-1", "us-east-1")
HOSTILE_NAME = "[@click=app.quit]pwn\x1b]0;pwned\x07\x1b[2J\u202ertl"
HOSTILE_NAME_XML = "[@click=app.quit]pwn\x9d0;pwned\x9c\x9b2J\u202ertl"


@dataclass(slots=True)
class Manifest:
    """What :func:`seed_estate` planted.

    ``uids[kind]``: every resource of that kind the cache should hold after a full sync (including moto's
    default VPC, subnets and security groups, instance root volumes and image backing snapshots).
    ``categories[name]``: uids of planted resources with one property; see :func:`seed_estate`.
    ``settings[(account, region)]``: the expected ``ebs_encryption_by_default``.
    """

    endpoint: str | None
    accounts: tuple[str, ...] = (MAIN_ACCOUNT, SECOND_ACCOUNT)
    regions: tuple[str, ...] = REGIONS
    role_arn: str = SECOND_ROLE_ARN
    uids: dict[str, set[str]] = field(default_factory=dict)
    categories: dict[str, set[str]] = field(default_factory=dict)
    settings: dict[tuple[str, str], bool] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # uid → Name tag as planted

    def add(self, account: str, region: str, kind: str, rid: str, *categories: str) -> str:
        uid = make_uid("aws", account, region, kind, rid)
        self.uids.setdefault(kind, set()).add(uid)
        for cat in categories:
            self.categories.setdefault(cat, set()).add(uid)
        return uid

    def category(self, name: str) -> set[str]:
        return set(self.categories.get(name, set()))

    def count(self, kind: str) -> int:
        return len(self.uids.get(kind, ()))

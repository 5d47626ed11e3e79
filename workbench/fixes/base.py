"""The provider-neutral contract of a fix: what it targets, the calls it plans, how it applies and undoes them.

A fix is stateless: an instance holds no clients and no estate. Everything that touches the estate goes through a
:class:`FixContext` (config, cache, per-provider client factories), so one registry instance serves every plan,
a UI and the tests alike. The engine (``workbench.fixes.engine``) drives the steps; a fix only knows its resource.

The split that makes a fix safe by construction:

- ``read_live(ctx, target)`` returns the *relevant* live state as plain JSON data (only what the plan depends on,
  no volatile ids or timestamps), so its digest changes exactly when the plan would change.
- ``plan(target, live, inputs)`` is pure: the same live state and inputs give the same calls. The engine re-runs
  it at apply time and refuses a plan file whose calls differ from what the fix computes now.
- ``apply_item`` executes one :class:`PlanItem` literally (service, operation, params): nothing is recomputed.
- ``undo(entry)`` derives the inverse calls from the journal's before-state, never from the cache.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from workbench import canonical, plugins
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.cache.store import Cache
    from workbench.config import Config
    from workbench.config_schema import PolicySection
    from workbench.fixes.journal import JournalEntry

REVERSIBLE = "reversible"
ADDITIVE = "additive"
IRREVERSIBLE = "irreversible"
SAFETY_CLASSES = (REVERSIBLE, ADDITIVE, IRREVERSIBLE)


class FixError(WorkbenchError):
    """A fix cannot be planned, applied or undone as asked."""


class StalePlan(FixError):
    """The live state changed since the plan (or the fix) was made."""


class NotUndoable(FixError):
    """The journal entry cannot be undone (irreversible step, already undone, never applied)."""


def digest(live: Any) -> str:
    """The fingerprint of a live state, used to refuse a plan made against another state."""
    return hashlib.sha256(canonical.dumps(live).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Target:
    """What a fix acts on: one finding's resource (or, without a finding, one resource of the cache)."""

    check_id: str
    resource_uid: str
    resource_kind: str
    resource_id: str
    provider: str
    account: str
    region: str
    resource_name: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})

    @property
    def label(self) -> str:
        name = f" ({self.resource_name})" if self.resource_name else ""
        return f"{self.resource_id}{name} [{self.provider} {self.account} {self.region}]"


@dataclass(frozen=True, slots=True)
class FixInput:
    """An operator-supplied parameter: a CIDR to narrow to, an allowlist, a tag value, a number of days.

    ``kind``: ``str`` | ``int`` | ``cidr`` | ``accounts`` (list of 12-digit ids) | ``choice`` | ``date``.
    ``policy`` names the ``[policy]`` key that supplies the default (the same value the checks this fix resolves
    read, so a fix's verify and the next scan agree); ``config_key`` names a ``[fixes]`` key that does.
    """

    name: str
    description: str
    kind: str = "str"
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    config_key: str | None = None
    policy: str | None = None


@dataclass(slots=True)
class PlanItem:
    """One exact API call. ``operation`` is the API's own name (``ModifySnapshotAttribute``).

    ``requires`` lists plan indexes that must have succeeded first (terminate only after its snapshots);
    ``wait`` names a waiter to run after the call (``snapshot_completed``) so a later step never races it.
    """

    target_uid: str
    service: str
    operation: str
    params: dict[str, Any]
    description: str
    region: str = ""
    account: str = ""
    requires: list[int] = field(default_factory=list)
    wait: str | None = None
    index: int = 0
    live_digest: str = ""

    def call_text(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.service}.{self.operation}({args})"

    def call_key(self) -> str:
        """What must match between an approved plan and a recomputed one."""
        return canonical.dumps(
            [
                self.target_uid,
                self.service,
                self.operation,
                self.params,
                self.region,
                self.account,
                self.requires,
                self.wait,
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanItem:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class DryRunOutcome:
    """``status``: would_succeed | would_fail | plan_only (the API has no DryRun) | dry_run_ignored."""

    status: str
    detail: str = ""


class FixContext:
    """What a fix may use: the config, the cache (for blast radius and target lookup), clients, today's date.

    ``clients`` maps a provider name to its client factory (the ``vmwb.fix_clients`` plugin group:
    ``workbench.fixes.aws.clients.AwsClients`` for AWS); tests and a UI inject their own (a botocore Stubber).
    Factories are built lazily from the config.
    """

    def __init__(
        self,
        config: Config,
        cache: Cache | None = None,
        clients: Mapping[str, Any] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.config = config
        self.cache = cache
        self._clients: dict[str, Any] = dict(clients or {})
        self.today = today or dt.datetime.now(dt.UTC).date()

    def clients(self, provider: str) -> Any:
        if provider not in self._clients:
            if provider not in plugins.names("fix_clients"):
                raise FixError(f"no fix clients for provider {provider!r}")
            builder = plugins.load("fix_clients", provider)
            self._clients[provider] = builder.from_config(self.config.provider(provider))
        return self._clients[provider]

    def fix_settings(self) -> dict[str, Any]:
        """The ``[fixes]`` config section (tag keys, grace days; who may keep access is in ``[policy]``)."""
        return self.config.provider("fixes")

    def policy_value(self, key: str) -> Any:
        """One ``[policy]`` value (None when the policy leaves it unset)."""
        return getattr(self.config.policy, key)


class Fix(abc.ABC):
    """One guided fix. Subclasses set the class attributes and implement the five steps."""

    id: ClassVar[str]
    title: ClassVar[str]
    provider: ClassVar[str]
    safety: ClassVar[str]
    resource_kind: ClassVar[str]
    #: The permissions the fix identity needs (plan and apply).
    permissions: ClassVar[tuple[str, ...]] = ()
    inputs: ClassVar[tuple[FixInput, ...]] = ()
    #: Shown with every plan (e.g. "exposure is never reversible").
    notes: ClassVar[tuple[str, ...]] = ()
    #: Other resource kinds whose findings this fix accepts (see :meth:`normalize_target`).
    also_targets: ClassVar[tuple[str, ...]] = ()
    #: For the typed confirmation of irreversible fixes: "type 3 to terminate 3 instances".
    verb: ClassVar[str] = "change"
    noun: ClassVar[str] = "resources"

    @property
    def check_ids(self) -> tuple[str, ...]:
        """The checks whose findings this fix resolves: those naming it in their ``check.toml`` (the link is
        declared there only, and validated against the fix registry when the catalogue loads)."""
        from workbench.scan.loader import checks_fixed_by

        return checks_fixed_by(self.id)

    @property
    def undoable(self) -> bool:
        return self.safety != IRREVERSIBLE

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "provider": self.provider,
            "safety": self.safety,
            "resource_kind": self.resource_kind,
            "checks": list(self.check_ids),
            "permissions": list(self.permissions),
            "inputs": [asdict(i) for i in self.inputs],
            "notes": list(self.notes),
        }

    def resolve_inputs(self, ctx: FixContext, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults from ``[policy]``, then ``[fixes]``, then the input's own; validated. Stored in the plan."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - {i.name for i in self.inputs})
        if unknown:
            raise FixError(f"{self.id}: unknown input {unknown[0]!r}")
        settings = ctx.fix_settings()
        out: dict[str, Any] = {}
        for spec in self.inputs:
            value = raw.get(spec.name)
            if value is None and spec.policy:
                value = ctx.policy_value(spec.policy)
            if value is None and spec.config_key:
                value = settings.get(spec.config_key)
            if value is None:
                value = spec.default
            if value is None:
                if spec.required:
                    raise FixError(
                        f"{self.id}: input {spec.name!r} is required ({spec.description})"
                    )
                out[spec.name] = None
                continue
            out[spec.name] = coerce_input(self.id, spec, value, ctx.config.policy)
        return out

    def normalize_target(self, target: Target) -> Target:
        """Map a finding's resource onto the resource this fix changes (a rule onto its group)."""
        return target

    @abc.abstractmethod
    def read_live(self, ctx: FixContext, target: Target) -> dict[str, Any]:
        """The relevant live state, re-read from the platform (never the cache)."""

    @abc.abstractmethod
    def plan(self, target: Target, live: dict[str, Any], inputs: dict[str, Any]) -> list[PlanItem]:
        """The calls that fix ``target`` given ``live``; empty when there is nothing to do. Pure."""

    @abc.abstractmethod
    def is_fixed(self, live: dict[str, Any], inputs: dict[str, Any]) -> bool:
        """The check's own condition, evaluated on live state: True when the finding would resolve."""

    @abc.abstractmethod
    def apply_item(self, ctx: FixContext, item: PlanItem) -> dict[str, Any]:
        """Execute one item exactly; return a short summary of the response. Raise on failure."""

    @abc.abstractmethod
    def dry_run_item(self, ctx: FixContext, item: PlanItem) -> DryRunOutcome:
        """Ask the platform whether the call would succeed, changing nothing."""

    def blast_radius(
        self, ctx: FixContext, target: Target, live: dict[str, Any], inputs: dict[str, Any]
    ) -> list[str]:
        """Related resources the change affects, one line each (best effort, never raises)."""
        return []

    def undo(self, entry: JournalEntry) -> list[PlanItem]:
        """The calls that restore ``entry.before`` for what ``entry`` changed."""
        raise NotUndoable(f"{self.id} is {self.safety}: it cannot be undone")


#: A narrowing CIDR is never wider than this, whatever ``[policy] narrow_min_prefix_v4`` / ``_v6`` say: a /1
#: is half the internet.
_NARROW_FLOOR = 2


def narrow_min_prefix(policy: PolicySection | None, version: int) -> int:
    """The shortest prefix a fix may narrow access to, for IPv4 or IPv6 (``[policy]``, defaults /16 and /48)."""
    if policy is None:
        from workbench.config_schema import PolicySection

        policy = PolicySection()
    value = policy.narrow_min_prefix_v4 if version == 4 else policy.narrow_min_prefix_v6
    return max(value, _NARROW_FLOOR)


def coerce_input(
    fix_id: str, spec: FixInput, value: Any, policy: PolicySection | None = None
) -> Any:
    """Validate one input value; raise FixError naming the fix and input. ``policy``: ``[policy]``."""
    import ipaddress
    import re

    where = f"{fix_id}: input {spec.name!r}"
    if spec.kind == "int":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise FixError(f"{where} must be a whole number, not {value!r}") from None
        if number < 0:
            raise FixError(f"{where} must not be negative")
        return number
    if spec.kind == "cidr":
        try:
            net = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise FixError(f"{where}: {value!r} is not a CIDR") from None
        if net.prefixlen == 0:
            raise FixError(f"{where}: {value!r} is the whole internet; give a narrower CIDR")
        least = narrow_min_prefix(policy, net.version)
        if net.prefixlen < least:
            raise FixError(
                f"{where}: {value!r} is wider than the policy allows (/{least} or narrower for "
                f"IPv{net.version}; [policy] narrow_min_prefix_v{net.version})"
            )
        return str(net)
    if spec.kind == "accounts":
        items = value.split(",") if isinstance(value, str) else list(value)
        ids = sorted({str(v).strip() for v in items if str(v).strip()})
        bad = [a for a in ids if not re.fullmatch(r"\d{12}", a)]
        if bad:
            raise FixError(f"{where}: {bad[0]!r} is not a 12-digit account id")
        return ids
    if spec.kind == "choice":
        if value not in spec.choices:
            raise FixError(f"{where} must be one of {', '.join(spec.choices)}, not {value!r}")
        return value
    if spec.kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise FixError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    text = str(value).strip()
    if not text:
        raise FixError(f"{where} must not be empty")
    return text

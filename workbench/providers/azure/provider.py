"""The Azure provider: one scope per subscription, region ``global``; one collector task per resource family.

Why ``(subscription, "global")`` and not per location: ARM lists are subscription-wide (one paged call returns
the VMs of every location), there is no regional endpoint to fan out to, and per-location scopes would multiply
the calls by the number of locations. Each record keeps its location in ``extra["location"]``.

Config (``[azure]``): ``subscriptions``, ``tenant_id`` + ``client_id`` (secret in the keyring), ``endpoint``,
``authority``, ``ca_bundle``, ``fake_credential`` (local fixture only), ``retry_total``, ``read_timeout``,
``connection_timeout``, ``tasks``. See :mod:`workbench.providers.azure.settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from workbench.model import ScopeRef, TaskOutput
from workbench.providers.azure import collect_network, collect_storage, collect_vms
from workbench.providers.azure.settings import AzureClients, AzureSettings
from workbench.providers.base import (
    Provider,
    ScopeFailure,
    TaskContext,
    describe_error,
    scope_handle,
    select_tasks,
)

Collector = Callable[[Any, str, TaskOutput, TaskContext], None]

TASKS: dict[str, Collector] = {
    "vms": collect_vms.collect_vms,
    "disks": collect_storage.collect_disks,
    "snapshots": collect_storage.collect_snapshots,
    "images": collect_storage.collect_images,
    "network": collect_network.collect_network,
}
SUBSCRIPTIONS_API = "2022-12-01"


class AzureProvider(Provider):
    name: ClassVar[str] = "azure"
    title: ClassVar[str] = "Microsoft Azure"

    def __init__(
        self,
        settings: AzureSettings,
        tasks: tuple[str, ...] = tuple(TASKS),
        clients: AzureClients | None = None,
    ) -> None:
        self.settings = settings
        self.task_names = tasks
        self.clients = clients or AzureClients(settings)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> AzureProvider:
        # `vmwb sync --region` narrows regional providers; an Azure scope is a whole subscription (see the
        # module docstring), so the flag does not apply here rather than being an unknown key.
        overrides = {k: v for k, v in overrides.items() if k != "regions"}
        settings = AzureSettings.from_section(section, **overrides)
        return cls(settings, select_tasks("azure", section.get("tasks"), TASKS))

    def discover(self) -> list[ScopeRef | ScopeFailure]:
        """The configured subscriptions (no call is made), or every subscription the identity can see."""
        if self.settings.subscriptions:
            return [self._scope(sub, sub) for sub in self.settings.subscriptions]
        try:
            found = self._list_subscriptions()
        except Exception as exc:
            failed = ScopeRef(self.name, "*", "global", label="subscriptions")
            return [ScopeFailure(failed, f"cannot list subscriptions: {describe_error(exc)}")]
        if not found:
            failed = ScopeRef(self.name, "*", "global", label="subscriptions")
            return [
                ScopeFailure(
                    failed,
                    "the identity sees no enabled subscription; "
                    "set [azure] subscriptions or grant Reader",
                )
            ]
        return [self._scope(sub, label) for sub, label in found]

    def _scope(self, subscription: str, label: str) -> ScopeRef:
        return ScopeRef(self.name, subscription.lower(), "global", label=label, handle=self.clients)

    def _list_subscriptions(self) -> list[tuple[str, str]]:
        from azure.core.rest import HttpRequest

        # Any ARM client can send the tenant-level call; the subscription id it was built with is unused.
        client = self.clients.compute("00000000-0000-0000-0000-000000000000")
        url = f"{self.settings.endpoint}/subscriptions?api-version={SUBSCRIPTIONS_API}"
        found: list[tuple[str, str]] = []
        while url:
            response = client.send_request(HttpRequest("GET", url))
            response.raise_for_status()
            body = response.json()
            for sub in body.get("value") or []:
                if str(sub.get("state", "Enabled")).lower() == "enabled":
                    found.append(
                        (sub["subscriptionId"], sub.get("displayName") or sub["subscriptionId"])
                    )
            url = body.get("nextLink")
        return found

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        handle = scope_handle(scope, AzureClients)
        ctx.checkpoint()
        TASKS[task](handle, scope.account, out, ctx)

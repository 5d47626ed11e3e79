"""The AWS provider: (account, region) scopes, one collector task per resource family.

Config (``[aws]``): ``profiles``, ``role_arns``, ``regions``, ``endpoint_url``, ``max_attempts``,
``connect_timeout``, ``read_timeout``, ``role_session_name``, ``external_id``, ``role_duration_seconds``,
``include_base``, ``tasks``.
CLI overrides: ``profiles``, ``regions``. ``AWS_ENDPOINT_URL`` is honoured by botocore itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from workbench.model import ScopeRef, TaskOutput
from workbench.providers.aws import collect_compute, collect_network, collect_patch
from workbench.providers.aws.sessions import AwsHandle, AwsSettings, discover_scopes
from workbench.providers.base import Provider, ScopeFailure, TaskContext, scope_handle, select_tasks

Collector = Callable[[Any, TaskOutput, TaskContext], None]

# task → (service, collector). Order is the order the engine schedules them in.
TASKS: dict[str, tuple[str, Collector]] = {
    "instances": ("ec2", collect_compute.collect_instances),
    "volumes": ("ec2", collect_compute.collect_volumes),
    "snapshots": ("ec2", collect_compute.collect_snapshots),
    "images": ("ec2", collect_compute.collect_images),
    "network": ("ec2", collect_network.collect_network),
    "settings": ("ec2", collect_network.collect_settings),
    "patch": ("ssm", collect_patch.collect_patch),
}

# Region settings are five cheap calls, some to APIs that endpoints may lack: no retries, so a missing one
# costs one round trip (a throttled one is recorded as unknown with its error, like a missing one).
SETTINGS_MAX_ATTEMPTS = 1


class AwsProvider(Provider):
    name: ClassVar[str] = "aws"
    title: ClassVar[str] = "Amazon Web Services"

    def __init__(self, settings: AwsSettings, tasks: tuple[str, ...] = tuple(TASKS)) -> None:
        self.settings = settings
        self.task_names = tasks

    @classmethod
    def from_config(cls, section: Mapping[str, Any], **overrides: Any) -> AwsProvider:
        settings = AwsSettings.from_section(section, **overrides)
        return cls(settings, select_tasks("aws", section.get("tasks"), TASKS))

    def discover(self) -> list[ScopeRef | ScopeFailure]:
        return discover_scopes(self.settings)

    def collect(self, scope: ScopeRef, task: str, out: TaskOutput, ctx: TaskContext) -> None:
        handle = scope_handle(scope, AwsHandle)
        service, collector = TASKS[task]
        attempts = SETTINGS_MAX_ATTEMPTS if task == "settings" else None
        ctx.checkpoint()
        collector(handle.client(service, max_attempts=attempts), out, ctx)

"""One botocore client class per (service, API version) for the sessions vmwb creates.

botocore builds a new client class for every client: a method per operation (EC2 has ~600), ~25 ms of CPU
under the GIL each time. A sync makes a client per service per (account, region), so 48 scopes built ~150
classes, a third of the sync's CPU (``vmwb bench concurrency``). The class depends only on the service model
and on the ``creating-client-class`` handlers, which are the same for every session vmwb makes (boto3's
defaults; vmwb's own hooks are request events), so those sessions share one class. Any other session in the
process (a test's, a library's) is left to botocore as it is.

This wraps ``ClientCreator._create_client_class``, a private method: if botocore renames it, nothing is
shared and everything still works, only slower.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from botocore.client import ClientCreator

_MARK = "_vmwb_shares_client_classes"
_CLASSES: dict[tuple[str, str], type] = {}
_LOCK = threading.Lock()


def share_client_classes(session: Any) -> None:
    """Let the clients of ``session`` (a botocore Session) share their classes with vmwb's other sessions."""
    setattr(session.get_component("event_emitter"), _MARK, True)
    _install()


def _install() -> None:
    original = getattr(ClientCreator, "_create_client_class", None)
    if original is None or getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def create_client_class(self: Any, service_name: str, service_model: Any) -> type:
        if not getattr(getattr(self, "_event_emitter", None), _MARK, False):
            return original(self, service_name, service_model)  # type: ignore[no-any-return]
        key = (service_name, str(service_model.api_version))
        with _LOCK:
            cls = _CLASSES.get(key)
            if cls is None:
                cls = _CLASSES[key] = original(self, service_name, service_model)
        return cls

    setattr(create_client_class, _MARK, True)
    with _LOCK:
        if not getattr(ClientCreator._create_client_class, _MARK, False):
            ClientCreator._create_client_class = create_client_class  # type: ignore[method-assign]

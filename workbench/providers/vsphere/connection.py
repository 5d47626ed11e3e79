"""vCenter / ESXi sessions: the config, the password (keyring or a named env var), one session per server.

The password is never in the config: it comes from the keyring (service ``vmwb``, name ``vsphere:<host>``, via
:mod:`workbench.secrets`), or, for the demo and tests, from the environment variable the config *names* with
``password_env``. Sessions are pooled per server so the four collector tasks and the fixes log in once.

Properties are read with ``PropertyCollector.RetrievePropertiesEx`` over a ContainerView, never with pyVmomi's
attribute access: one round trip per page instead of one per property, and it is also the only way vcsim 0.24
answers for unset properties (its ``Fetch`` panics on ``vm.snapshot`` of a VM without snapshots).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.errors import BadAnswer, ProviderError

PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str
    user: str
    port: int = 443
    protocol: str = "https"
    password_env: str | None = None
    verify_tls: bool = True

    @property
    def key(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def secret_name(self) -> str:
        return f"vsphere:{self.host}"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> ServerSettings:
        host, user = data.get("host"), data.get("user")
        if not isinstance(host, str) or not host or not isinstance(user, str) or not user:
            raise ProviderError(f"{where} needs host and user strings")
        if "password" in data:
            raise ProviderError(
                f"{where}: never put a password in the config; store it in the keyring as "
                f"vsphere:{host} (service vmwb) or name an environment variable with password_env"
            )
        protocol = str(data.get("protocol", "https"))
        if protocol not in ("https", "http"):
            raise ProviderError(f"{where}: protocol must be https or http")
        port = data.get("port", 443 if protocol == "https" else 80)
        if not isinstance(port, int):
            raise ProviderError(f"{where}: port must be a number")
        env = data.get("password_env")
        verify = data.get("verify_tls", True)
        if not isinstance(verify, bool):
            raise ProviderError(f"{where}: verify_tls must be true or false")
        return cls(host, user, port, protocol, str(env) if env else None, verify)


def servers_from_section(section: Mapping[str, Any]) -> list[ServerSettings]:
    """``[vsphere]`` with ``host``/``user``/… for one server, or ``servers = [{…}, …]`` for several."""
    servers = [
        ServerSettings.from_mapping(item, f"[vsphere] servers[{i}]")
        for i, item in enumerate(section.get("servers") or [])
    ]
    if section.get("host"):
        servers.insert(0, ServerSettings.from_mapping(section, "[vsphere]"))
    if not servers:
        raise ProviderError("[vsphere] needs host and user (or servers = [{host, user}, …])")
    return servers


def password_for(server: ServerSettings) -> str:
    if server.password_env:
        value = os.environ.get(server.password_env)
        if not value:
            raise ProviderError(
                f"[vsphere] {server.host}: environment variable {server.password_env} is not set"
            )
        return value
    from workbench import secrets

    try:
        value = secrets.get_secret(server.secret_name)
    except secrets.SecretStoreError as exc:
        raise ProviderError(f"[vsphere] {server.host}: {exc}") from exc
    if not value:
        raise ProviderError(
            f"[vsphere] no password for {server.user}@{server.host}: store it in the keyring "
            f"(service vmwb, name {server.secret_name})"
        )
    return value


def import_pyvmomi() -> tuple[Any, Any]:
    try:
        from pyVmomi import vim, vmodl
    except ImportError as exc:  # a core dependency, but an old venv may lack it
        raise ProviderError("pyVmomi is not installed: run `uv sync`") from exc
    return vim, vmodl


class SessionPool:
    """One logged-in ServiceInstance per server; a lock per server serialises calls on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[Any, threading.Lock]] = {}

    def get(self, server: ServerSettings) -> tuple[Any, threading.Lock]:
        with self._lock:
            cached = self._sessions.get(server.key)
            if cached is not None and _alive(cached[0]):
                return cached
            si = _connect(server)
            entry = (si, threading.Lock())
            self._sessions[server.key] = entry
            return entry

    def close(self) -> None:
        from pyVim.connect import Disconnect

        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for si, _lock in sessions:
            try:
                Disconnect(si)
            except Exception as exc:  # the server went away: the session is gone anyway
                del exc


def _alive(si: Any) -> bool:
    try:
        return si.content.sessionManager.currentSession is not None
    except Exception:
        return False


def _connect(server: ServerSettings) -> Any:
    from pyVim.connect import SmartConnect

    password = password_for(server)
    try:
        return SmartConnect(
            protocol=server.protocol,
            host=server.host,
            port=server.port,
            user=server.user,
            pwd=password,
            disableSslCertValidation=not server.verify_tls,
        )
    except Exception as exc:
        # pyVmomi faults carry the reason in .msg; never echo the password.
        reason = (
            getattr(exc, "msg", None) or str(exc).splitlines()[0]
            if str(exc)
            else type(exc).__name__
        )
        raise ProviderError(
            f"cannot log in to {server.host}:{server.port} as {server.user}: {reason}"
        ) from exc


_POOL = SessionPool()


def shared_pool() -> SessionPool:
    return _POOL


def retrieve(
    si: Any,
    root: Any,
    kind: Any,
    paths: list[str],
    missing: dict[str, str] | None = None,
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(managed object, {path: value}) for every ``kind`` object under ``root``, page by page.

    A property the collector could not read for an object (its ``missingSet``: no permission on that VM, a
    fault reading it) is not a property that is unset: with ``missing``, each such object's moId is mapped
    to what could not be read, for the caller to treat that object as a failed item; without it the answer
    is refused (:class:`BadAnswer`), so no caller reads a property it was not given as absent.
    """
    vim, vmodl = import_pyvmomi()
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(root, [kind], True)
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[
            pc.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[
                    pc.TraversalSpec(
                        name="view", path="view", skip=False, type=vim.view.ContainerView
                    )
                ],
            )
        ],
        propSet=[pc.PropertySpec(type=kind, pathSet=paths)],
    )
    collector = content.propertyCollector
    what = f"RetrievePropertiesEx of {kind.__name__.rsplit('.', 1)[-1]}"
    try:
        result = _answer(
            what, collector.RetrievePropertiesEx, [spec], pc.RetrieveOptions(maxObjects=PAGE_SIZE)
        )
        while result is not None:
            for obj in result.objects:
                if obj.missingSet:
                    why = missing_text(obj.missingSet)
                    if missing is None:
                        raise BadAnswer(f"{obj.obj._moId}: {why}")
                    missing[obj.obj._moId] = why
                yield obj.obj, {p.name: p.val for p in obj.propSet}
            if not result.token:
                break
            result = _answer(what, collector.ContinueRetrievePropertiesEx, result.token)
    finally:
        with contextlib.suppress(
            Exception
        ):  # after a dropped connection the view goes with the session
            view.Destroy()


def _answer(what: str, call: Any, *args: Any) -> Any:
    """One property collector call; an answer that is not SOAP XML (an HTML page, a body cut short or reset
    mid-transfer) is a :class:`BadAnswer`, a vSphere fault one line with its type and message."""
    from xml.parsers.expat import ExpatError

    _, vmodl = import_pyvmomi()
    try:
        return call(*args)
    except ExpatError as exc:
        raise BadAnswer(
            f"{what}: the answer is not complete SOAP XML ({exc}), so it is not vCenter's answer"
        ) from exc
    except vmodl.MethodFault as exc:
        name = type(exc).__name__.rsplit(".", 1)[-1]
        text = getattr(exc, "msg", None) or getattr(exc, "reason", None) or ""
        raise ProviderError(f"{what}: {name}: {text}".rstrip(": ")) from exc


def missing_text(missing_set: Any) -> str:
    """One line for the properties the collector could not read: each path with its fault's type."""
    parts = []
    for item in missing_set:
        fault = type(item.fault).__name__.rsplit(".", 1)[-1] if item.fault is not None else "fault"
        parts.append(f"{item.path} ({fault})")
    return "could not read " + ", ".join(parts)


class VsphereClients:
    """What a fix uses: the scope's account (the server's host name) → its session and lock."""

    def __init__(self, servers: list[ServerSettings], pool: SessionPool | None = None) -> None:
        self.servers = {s.host: s for s in servers}
        self.pool = pool or shared_pool()

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> VsphereClients:
        return cls(servers_from_section(section))

    def session(self, account: str) -> tuple[Any, threading.Lock]:
        server = self.servers.get(account)
        if server is None:
            raise ProviderError(f"no vSphere server {account!r} in [vsphere]")
        return self.pool.get(server)

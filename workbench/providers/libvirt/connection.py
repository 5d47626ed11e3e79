"""libvirt connections: the lazy import with its install hint, the config, and one connection per URI.

Why a pool keyed by URI: libvirt's test driver (what the tests and ``vmwb demo`` use) keeps a file estate's
state *per connection*, so a snapshot deleted through one connection is invisible to another one opened from
the same file. A fix must therefore change and then verify on the very connection the next sync reads from.
With real hosts the pool is also simply cheaper: ``qemu+ssh://`` opens an SSH session per connection.

Read-only first: collection opens ``openReadOnly`` (needs no write access to libvirtd's socket). Only two things
ask for read-write: fixes, and ``secure_xml = true`` (graphics passwords are in ``XMLDesc`` only with
``VIR_DOMAIN_XML_SECURE``, which libvirt refuses on a read-only connection). Once a URI has a read-write
connection, every later read of that URI uses it, so reads always see the fixes made in this process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench.errors import ProviderError

INSTALL_COMMAND = "apt-get install libvirt-dev pkg-config && uv sync --extra libvirt"
MISSING_HINT = (
    "libvirt support is not installed: libvirt-python is the optional `libvirt` extra and compiles against "
    f"Debian's libvirt-dev. Enable it with: {INSTALL_COMMAND}"
)
DEFAULT_URI = "qemu:///system"

_quiet_lock = threading.Lock()
_quieted = False


def import_libvirt() -> Any:
    """The ``libvirt`` module, or a :class:`ProviderError` with the exact command that enables it."""
    global _quieted
    try:
        import libvirt
    except ImportError as exc:
        raise ProviderError(MISSING_HINT) from exc
    with _quiet_lock:
        if not _quieted:
            # libvirt prints every error to stderr by default (over the TUI); we report them ourselves.
            libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
            _quieted = True
    return libvirt


def available() -> tuple[bool, str]:
    """Whether libvirt-python can be imported, and the hint when it cannot (for the demo screen)."""
    try:
        import_libvirt()
    except ProviderError as exc:
        return False, str(exc)
    return True, ""


@dataclass(frozen=True, slots=True)
class HostEntry:
    name: str
    uri: str


@dataclass(frozen=True, slots=True)
class LibvirtSettings:
    """``[libvirt]``: ``hosts = [{name, uri}]`` and/or ``uris = [...]`` (named by the host's getHostname()).

    ``secure_xml = true`` opens read-write to see whether consoles have a password; without it
    ``has_password`` is recorded as unknown (null).
    """

    hosts: tuple[HostEntry, ...] = ()
    uris: tuple[str, ...] = ()
    secure_xml: bool = False
    tasks: tuple[str, ...] = ()

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> LibvirtSettings:
        hosts = []
        for i, item in enumerate(section.get("hosts") or []):
            if not isinstance(item, Mapping) or not all(
                isinstance(item.get(k), str) and item.get(k) for k in ("name", "uri")
            ):
                raise ProviderError(
                    f"[libvirt] hosts[{i}] must be a table with name and uri strings"
                )
            hosts.append(HostEntry(str(item["name"]), str(item["uri"])))
        uris = section.get("uris") or []
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise ProviderError("[libvirt] uris must be a list of strings")
        secure = section.get("secure_xml", False)
        if not isinstance(secure, bool):
            raise ProviderError("[libvirt] secure_xml must be true or false")
        if not hosts and not uris:
            uris = [DEFAULT_URI]
        return cls(tuple(hosts), tuple(uris), secure, tuple(section.get("tasks") or ()))


class ConnectionPool:
    """One connection per URI for the whole process (see the module docstring for why)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: dict[str, tuple[Any, bool]] = {}  # uri -> (connection, read-write)
        self._retired: list[
            Any
        ] = []  # replaced read-only connections: a collector may still use one

    def get(self, uri: str, *, write: bool = False) -> Any:
        libvirt = import_libvirt()
        with self._lock:
            cached = self._conns.get(uri)
            if cached is not None and _alive(cached[0]) and (cached[1] or not write):
                return cached[0]
            try:
                conn = libvirt.open(uri) if write else libvirt.openReadOnly(uri)
            except libvirt.libvirtError as exc:
                mode = "read-write" if write else "read-only"
                raise ProviderError(f"cannot open {uri} ({mode}): {exc}") from exc
            if cached is not None:
                self._retired.append(cached[0])
            self._conns[uri] = (conn, write)
            return conn

    def is_read_write(self, uri: str) -> bool:
        with self._lock:
            cached = self._conns.get(uri)
            return bool(cached and cached[1])

    def close(self, uri: str | None = None) -> None:
        """Close one URI's connection (or all); the next :meth:`get` reopens, from the file again for test://."""
        with self._lock:
            uris = [uri] if uri is not None else list(self._conns)
            victims = [self._conns.pop(u)[0] for u in uris if u in self._conns]
            if uri is None:
                victims += self._retired
                self._retired = []
        for conn in victims:
            # Already closed or the host went away: nothing left to release.
            with contextlib.suppress(Exception):
                conn.close()


def _alive(conn: Any) -> bool:
    try:
        return bool(conn.isAlive())
    except Exception:
        return False


_POOL = ConnectionPool()


def shared_pool() -> ConnectionPool:
    """The process-wide pool: the provider and the fixes share it."""
    return _POOL


class LibvirtClients:
    """What a fix uses for libvirt: host name (the scope's account) → a read-write connection of the pool."""

    def __init__(self, settings: LibvirtSettings, pool: ConnectionPool | None = None) -> None:
        self.settings = settings
        self.pool = pool or shared_pool()
        self._names: dict[str, str] = {h.name: h.uri for h in settings.hosts}

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> LibvirtClients:
        return cls(LibvirtSettings.from_section(section))

    def uri_for(self, host: str) -> str:
        if host in self._names:
            return self._names[host]
        for uri in self.settings.uris:  # unnamed URIs are named by the host itself
            if uri not in self._names.values():
                name = str(self.pool.get(uri).getHostname())
                self._names[name] = uri
                if name == host:
                    return uri
        raise ProviderError(f"no libvirt host named {host!r} in [libvirt] hosts or uris")

    def connection(self, host: str, *, write: bool = True) -> Any:
        return self.pool.get(self.uri_for(host), write=write)

"""The demo's on-prem platforms: two KVM hosts on libvirt's test driver and a vCenter on vcsim.

Each joins the demo only where it can run: libvirt needs the optional ``libvirt`` extra, vSphere needs the
vcsim binary; otherwise ``start`` raises :class:`PartUnavailable` with the exact step that enables it, which
the demo screen shows. ``workbench.demo.parts`` wraps these functions in its ``DemoPart`` entries (this
module imports nothing from it, so there is no import cycle).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# The demo vCenter's password travels by environment variable, named in the config (never the value).
VCSIM_PASSWORD_ENV = "VMWB_DEMO_VCSIM_PASSWORD"


def libvirt_start() -> Any:
    from workbench.demo.parts import PartUnavailable
    from workbench.providers.libvirt.connection import available

    ok, hint = available()
    if not ok:
        raise PartUnavailable(hint)
    return Path(tempfile.mkdtemp(prefix="vmwb-demo-libvirt-"))


def libvirt_seed(folder: Path) -> list[dict[str, str]]:
    from workbench.emulators.libvirt_estate import DEMO_HOSTS, write_demo_estate

    return [{"name": h, "uri": write_demo_estate(folder / f"{h}.xml", host=h)} for h in DEMO_HOSTS]


def libvirt_config(folder: Path, hosts: list[dict[str, str]]) -> dict[str, Any]:
    # Read-write on the test driver so console passwords are visible; fixes share the same pooled
    # connections (the test driver keeps state per connection).
    return {"hosts": hosts, "secure_xml": True}


def libvirt_stop(folder: Path) -> None:
    from workbench.providers.libvirt.connection import shared_pool

    shared_pool().close()
    shutil.rmtree(folder, ignore_errors=True)


def vsphere_start() -> Any:
    from workbench.demo.parts import PartUnavailable
    from workbench.emulators.vcsim import VcsimServer

    server = VcsimServer()
    if not server.available():
        raise PartUnavailable(server.reason)
    server.start()
    os.environ[VCSIM_PASSWORD_ENV] = server.password  # vcsim's fixed demo login, not a real secret
    return server


def vsphere_seed(server: Any) -> Any:
    from pyVim.connect import Disconnect

    from workbench.emulators.vcsim import seed_demo

    si = server.connect()
    try:
        seed_demo(si)
    finally:
        Disconnect(si)
    return None


def vsphere_config(server: Any, _planted: Any) -> dict[str, Any]:
    return {
        "host": server.host,
        "port": server.port,
        "protocol": "http",
        "user": server.user,
        "password_env": VCSIM_PASSWORD_ENV,
        "verify_tls": False,
    }


def vsphere_stop(server: Any) -> None:
    from workbench.providers.vsphere.connection import shared_pool

    shared_pool().close()
    server.stop()
    os.environ.pop(VCSIM_PASSWORD_ENV, None)

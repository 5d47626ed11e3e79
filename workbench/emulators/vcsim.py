"""vCenter simulator (govmomi vcsim 0.24) as a subprocess, for tests and ``vmwb demo``.

The binary is our own ``vcsim_main.go`` built by ``.ci/install-system-deps.sh`` from Debian's
govmomi sources; it serves the VPX model (vCenter 6.5 API: 1 datacenter, 1 standalone host,
a 3-host cluster, 4 VMs ``DC0_H0_VM0/1``, ``DC0_C0_RP0_VM0/1``) over plain HTTP on 127.0.0.1.

    with VcsimServer() as vc:
        si = vc.connect()          # pyVmomi ServiceInstance
        seed_demo(si)

What vcsim 0.24 does and does not do (checked with pyvmomi 9.1.1):

* works: CreateSnapshot_Task (tree, currentSnapshot; createTime is always "now"),
  ReconfigVM_Task with extraConfig, ``firmware="efi"``, adding VirtualFloppy /
  VirtualSerialPort (URI backing) / VirtualUSBXHCIController; host advanced options
  (``OptionManager.UpdateOptions``, per host); ``host.config.service`` and firewall rulesets
  are readable.
* ignored: ``bootOptions.efiSecureBootEnabled`` (accepted, not stored); VirtualTPM is stored
  as a bare ``VirtualDevice`` (the 6.5 type table has no TPM).
* missing: HostServiceSystem (StartService/UpdateServicePolicy -> ManagedObjectNotFound),
  HostAccessManager and EnterLockdownMode (``config.lockdownMode`` is always
  ``lockdownDisabled``); the host service list is the same fixed one on every host.
* pyVmomi 9 reads a managed object attribute (``vm.snapshot``) with PropertyCollector.Fetch;
  vcsim 0.24's Fetch panics on a property that is unset (``vm.snapshot`` of a VM without
  snapshots) and drops the connection (``RemoteDisconnected``). Read possibly-unset
  properties with ``RetrievePropertiesEx`` (what collectors should do anyway).
* vcsim logs a harmless ``FileAlreadyExists ... .vmsn`` on a VM's second snapshot.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Self

ENV_BIN = "VMWB_VCSIM_BIN"
INSTALL_HINT = "run .ci/install-system-deps.sh as root to build it"


def default_binary_path() -> Path:
    return Path.home() / ".cache" / "vmwb" / "vcsim"


def find_binary() -> tuple[Path | None, str]:
    """The vcsim binary to run, or None and the reason it is not usable."""
    configured = os.environ.get(ENV_BIN)
    candidate = Path(configured) if configured else default_binary_path()
    origin = f"${ENV_BIN}={configured}" if configured else f"the cache path {candidate}"
    if not candidate.is_file():
        return None, f"vcsim binary not found at {origin}; {INSTALL_HINT}"
    if not os.access(candidate, os.X_OK):
        return None, f"vcsim binary at {origin} is not executable; {INSTALL_HINT}"
    return candidate, ""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class VcsimError(RuntimeError):
    pass


class VcsimServer:
    """One vcsim process on a free loopback port. Nothing runs until :meth:`start`."""

    host = "127.0.0.1"
    user = "user"  # simulator.DefaultLogin; vcsim accepts any user/password pair by default
    password = "pass"

    def __init__(self, binary: str | Path | None = None, startup_timeout: float = 20.0) -> None:
        self.binary: Path | None
        if binary is None:
            self.binary, self.reason = find_binary()
        elif Path(binary).is_file():
            self.binary, self.reason = Path(binary), ""
        else:
            self.binary, self.reason = None, f"vcsim binary not found at {binary}"
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None

    def available(self) -> bool:
        """True if there is a binary to run; otherwise :attr:`reason` says why not."""
        return self.binary is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise VcsimError("vcsim is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/sdk"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        if self.binary is None:
            raise VcsimError(self.reason)
        if self.running:
            return self
        # The free port can be taken between our probe and vcsim's bind; try a few.
        last_error = ""
        for _ in range(3):
            try:
                self._spawn(self.binary, _free_port(self.host))
                return self
            except VcsimError as exc:
                last_error = str(exc)
                self.stop()
        raise VcsimError(last_error)

    def _spawn(self, binary: Path, port: int) -> None:
        # stderr goes to a file, not a pipe: vcsim logs every fault and an unread pipe
        # would eventually block it. We keep the file to explain start-up failures.
        self._log = tempfile.TemporaryFile(prefix="vmwb-vcsim-")  # noqa: SIM115 closed in stop()
        self._proc = subprocess.Popen(
            [str(binary), "-l", f"{self.host}:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        line = self._read_url_line(self._proc)
        if not line.startswith("http"):
            raise VcsimError(f"vcsim did not start on port {port}: {self._stderr_tail()}")
        self._port = port
        self._wait_until_answering()

    def _read_url_line(self, proc: subprocess.Popen[bytes]) -> str:
        """vcsim prints its URL once it listens; wait for that line (or exit/timeout)."""
        assert proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buf and time.monotonic() < deadline:
                if sel.select(timeout=0.1):
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:  # EOF: the process exited
                        break
                    buf += chunk
        return buf.decode(errors="replace").strip()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            time.sleep(0.05)
        raise VcsimError(f"vcsim is not answering on {self.url}")

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-2000:].decode(errors="replace").strip() or "(no output)"

    def stop(self) -> None:
        """SIGINT, so vcsim runs Model.Remove() and deletes its /tmp/govcsim-* folders."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        self._port = None

    def connect(self) -> Any:
        """A pyVmomi ServiceInstance logged in to this vcsim (disconnect it yourself)."""
        from pyVim.connect import SmartConnect  # lazy: pyVmomi is a large import

        return SmartConnect(
            protocol="http",
            host=self.host,
            port=self.port,
            user=self.user,
            pwd=self.password,
            disableSslCertValidation=True,
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------- demo seeding

# CIS / vSphere hardening guide VM settings (as advanced "extraConfig" keys).
HARDENED_EXTRA_CONFIG = {
    "isolation.tools.copy.disable": "TRUE",
    "isolation.tools.paste.disable": "TRUE",
    "isolation.tools.diskShrink.disable": "TRUE",
    "isolation.tools.diskWiper.disable": "TRUE",
    "isolation.device.connectable.disable": "TRUE",
    "RemoteDisplay.maxConnections": "1",
    "tools.setInfo.sizeLimit": "1048576",
    "log.keepOld": "10",
}
# Explicitly weakened: someone enabled copy/paste for convenience.
WEAKENED_EXTRA_CONFIG = {
    "isolation.tools.copy.disable": "FALSE",
    "isolation.tools.paste.disable": "FALSE",
    "log.rotateSize": "0",  # and its log never rotates
}
HOSTILE_ANNOTATION = "[@click=app.quit]x [bold red]PWNED[/] \u009b31mred\u009b0m"

# What seed_demo() does, per VM of the VPX model; the tests assert against this.
DEMO_SNAPSHOTS = {
    "DC0_H0_VM0": [("pre-patch", "before monthly patching"), ("post-patch", "")],
    "DC0_C0_RP0_VM0": [("golden", "template state")],
}
DEMO_EXTRA_CONFIG = {
    "DC0_H0_VM0": HARDENED_EXTRA_CONFIG,
    "DC0_C0_RP0_VM0": HARDENED_EXTRA_CONFIG,
    "DC0_C0_RP0_VM1": WEAKENED_EXTRA_CONFIG,
    # DC0_H0_VM1: left at vcsim's defaults (no isolation keys at all).
}
DEMO_LEGACY_DEVICES_VM = "DC0_H0_VM1"  # gets a floppy and a network serial port
DEMO_ANNOTATED_VM = "DC0_C0_RP0_VM1"
DEMO_HOST_OPTIONS: dict[
    str, dict[str, object]
] = {  # the standalone host is hardened; cluster hosts keep defaults, but for one change each
    "DC0_H0": {
        "UserVars.ESXiShellTimeOut": 900,
        "UserVars.ESXiShellInteractiveTimeOut": 900,
        "Syslog.global.logHost": "udp://10.0.0.5:514",
    },
    "DC0_C0_H1": {"Config.HostAgent.plugins.solo.enableMob": True},  # left on after debugging
    "DC0_C0_H2": {"Net.BlockGuestBPDU": 0},
}


def _wait(task: Any) -> None:
    from pyVim.task import WaitForTask

    WaitForTask(task)


def _by_name(si: Any, vim_type: Any) -> dict[str, Any]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim_type], True)
    try:
        return {obj.name: obj for obj in view.view}
    finally:
        view.Destroy()


def seed_demo(si: Any) -> None:
    """Make vcsim's VPX inventory look like a lived-in estate (see the DEMO_* tables).

    Run once per vcsim process: snapshots would be created twice on a second call.
    """
    from pyVmomi import vim

    vms = _by_name(si, vim.VirtualMachine)
    for vm_name, snapshots in DEMO_SNAPSHOTS.items():
        for snap_name, description in snapshots:
            _wait(vms[vm_name].CreateSnapshot_Task(snap_name, description, False, False))

    for vm_name, settings in DEMO_EXTRA_CONFIG.items():
        extra = [vim.option.OptionValue(key=k, value=v) for k, v in settings.items()]
        _wait(vms[vm_name].ReconfigVM_Task(vim.vm.ConfigSpec(extraConfig=extra)))

    legacy = vms[DEMO_LEGACY_DEVICES_VM]
    sio = next(
        d
        for d in legacy.config.hardware.device
        if isinstance(d, vim.vm.device.VirtualSIOController)
    )
    connected = vim.vm.device.VirtualDevice.ConnectInfo(
        startConnected=True, connected=True, allowGuestControl=True
    )
    floppy = vim.vm.device.VirtualFloppy(
        key=-1,
        controllerKey=sio.key,
        unitNumber=0,
        connectable=connected,
        backing=vim.vm.device.VirtualFloppy.RemoteDeviceBackingInfo(deviceName="/dev/fd0"),
    )
    serial = vim.vm.device.VirtualSerialPort(
        key=-2,
        controllerKey=sio.key,
        unitNumber=1,
        yieldOnPoll=True,
        connectable=connected,
        # A network serial port: a telnet listener on the ESXi host, a classic finding.
        backing=vim.vm.device.VirtualSerialPort.URIBackingInfo(
            direction="server", serviceURI="telnet://:7001"
        ),
    )
    changes = [vim.vm.device.VirtualDeviceSpec(operation="add", device=d) for d in (floppy, serial)]
    _wait(legacy.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=changes)))

    annotated = vms[DEMO_ANNOTATED_VM]
    _wait(annotated.ReconfigVM_Task(vim.vm.ConfigSpec(annotation=HOSTILE_ANNOTATION)))

    hosts = _by_name(si, vim.HostSystem)
    for host_name, options in DEMO_HOST_OPTIONS.items():
        changed = [vim.option.OptionValue(key=k, value=v) for k, v in options.items()]
        hosts[host_name].configManager.advancedOption.UpdateOptions(changedValue=changed)

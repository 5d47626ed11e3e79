"""A local AWS (moto) and a seeded two-account, multi-region estate for tests and ``vmwb demo``.

``start_moto_server()`` runs moto's ThreadedMotoServer on 127.0.0.1 (a free port) and returns a
:class:`MotoServer` with its ``endpoint``. ``seed_estate(endpoint)`` plants a small, deterministic estate and
returns a :class:`Manifest` naming every planted resource by cache uid (``model.make_uid``) and by category
(``"public_snapshots"``, ``"imdsv1_instances"`` …) so tests can assert exactly.

What moto cannot do, and what the estate does instead:
- Launch times, snapshot start times and image creation times are always "now": old resources cannot be
  planted (age checks need their own fixtures). Stopping an instance does set a real
  ``StateTransitionReason`` "User initiated (… GMT)".
- EC2 speaks XML, and XML 1.0 cannot carry ESC or BEL, so the EC2 Name tag uses :data:`HOSTILE_NAME_XML`
  (markup, 8-bit C1 CSI/OSC controls, an RTL override). The exact :data:`HOSTILE_NAME` (with ESC/BEL) is the
  SSM ComputerName of one managed instance, so it reaches the cache as a patch state's name (SSM is JSON).
- SSM DescribeInstanceInformation / DescribeInstancePatchStates / ListAssociations are not implemented by
  moto 5.2; :func:`install_ssm_fake` adds them to moto's SSM responder, serving what :func:`seed_estate`
  registered.
- Image deprecation, TPM support, EBS default KMS key, snapshot/image block public access and IMDS defaults
  are not implemented; the collector records those settings as unknown with the error.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any, Self

from workbench.emulators.aws_estate import seed_estate
from workbench.emulators.aws_manifest import Manifest

# The estate's accounts and names live in aws_manifest; this module is the server and its SSM fake.
__all__ = [
    "Manifest",
    "MotoServer",
    "install_ssm_fake",
    "register_ssm",
    "seed_estate",
    "start_moto_server",
]

_SSM_DATA: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
_SSM_LOCK = threading.Lock()


@dataclass(slots=True)
class MotoServer:
    server: Any  # a ThreadedMotoServer, or the subprocess.Popen of a separate server
    endpoint: str
    manifest: Manifest | None = None  # what a separate server seeded itself with (``seed=True``)

    def stop(self) -> None:
        if isinstance(self.server, subprocess.Popen):
            for pipe in (self.server.stdin, self.server.stdout):
                if pipe:
                    pipe.close()
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        else:
            self.server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_moto_server(
    *, reset: bool = True, separate_process: bool = False, seed: bool = False
) -> MotoServer:
    """Start moto on 127.0.0.1 and a free port, quietly, with no default AMIs (see testing.md §5).

    moto's backends are global to the process: every server (and ``mock_aws``) in one process shares them.
    ``reset`` empties them so a new estate can be seeded; it also wipes what another server holds.

    ``separate_process`` runs it in a child process instead (stopped by :meth:`MotoServer.stop`): moto's
    request handling then does not compete with the caller for the GIL, as a real endpoint would not.
    Its SSM fake serves no registered data (``register_ssm`` fills this process's), unless ``seed``: then
    the child plants :func:`seed_estate` itself (its SSM data included) before it answers, and the
    returned server carries the :class:`Manifest`. Seeding there costs the caller no CPU at all.
    """
    if separate_process:
        return _start_subprocess(seed=seed)
    if seed:
        raise ValueError(
            "seed=True needs separate_process=True (seed_estate(endpoint) seeds this one)"
        )
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"  # read when a region backend is first built
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # verbose=False does not silence it
    from moto.server import ThreadedMotoServer

    install_ssm_fake()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    if reset:
        request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        with _SSM_LOCK:
            _SSM_DATA.clear()
    return MotoServer(server, endpoint)


_SERVE = """
import base64, pickle, sys
from workbench.emulators.aws import seed_estate, start_moto_server
server = start_moto_server(reset=False)
manifest = seed_estate(server.endpoint) if sys.argv[1] == "seed" else None
print(server.endpoint, base64.b64encode(pickle.dumps(manifest)).decode(), flush=True)
sys.stdin.read()  # until the parent closes the pipe (or exits)
server.stop()
"""


def _start_subprocess(*, seed: bool, timeout: float = 120.0) -> MotoServer:
    """moto in a child that prints its endpoint (and what it seeded), then serves until stdin closes or it
    is terminated. What the child says on stderr comes back in the error if it does not start."""
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "seed" if seed else "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            text=True,
        )
        found: list[str] = []
        reader = threading.Thread(
            target=lambda: found.append(proc.stdout.readline() if proc.stdout else "")
        )
        reader.start()
        reader.join(timeout)  # bounded: a child that hangs on import must not hang the caller
        endpoint, _, planted = (found[0].strip() if found else "").partition(" ")
        if not endpoint.startswith("http://"):
            if found:  # its stdout closed: it is exiting; give it a moment to say with what
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            exited = proc.poll()
            proc.kill()
            proc.wait(timeout=10)
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip().splitlines()[-5:]
            how = (
                f"exited with {exited}"
                if exited is not None
                else f"gave no endpoint in {timeout:g} s"
            )
            detail = ("; it said: " + " | ".join(said)) if said else ""
            raise RuntimeError(f"the moto server process {how}{detail}")
    # Our own child's pickle, over its stdout pipe: nothing else can write there.
    manifest = pickle.loads(base64.b64decode(planted)) if planted else None
    return MotoServer(proc, endpoint, manifest)


def install_ssm_fake() -> None:
    """Teach moto's SSM responder the two patch calls it lacks (idempotent)."""
    from moto.core.responses import ActionResult
    from moto.ssm.responses import SimpleSystemManagerResponse as Ssm

    if getattr(Ssm, "_vmwb_fake", False):
        return

    def _data(resp: Any) -> dict[str, list[dict[str, Any]]]:
        with _SSM_LOCK:
            return _SSM_DATA.get((resp.current_account, resp.region), {})

    def describe_instance_information(self: Any) -> Any:
        # "tag:<key>" filters match the tags registered with each instance (as SSM resolves them).
        tag_filters = [
            (f["Key"][4:], set(f.get("Values") or ()))
            for f in self._get_param("Filters") or ()
            if f["Key"].startswith("tag:")
        ]
        found = [
            {k: v for k, v in info.items() if k != "_tags"}
            for info in _data(self).get("info", [])
            if all(info.get("_tags", {}).get(key) in values for key, values in tag_filters)
        ]
        return ActionResult({"InstanceInformationList": found})

    def list_associations(self: Any) -> Any:
        # Unfiltered: the collector lists every association and keeps the Patch Manager ones itself.
        return ActionResult({"Associations": list(_data(self).get("associations", []))})

    def describe_instance_patch_states(self: Any) -> Any:
        wanted = set(self._get_param("InstanceIds") or [])
        states = [s for s in _data(self).get("states", []) if s["InstanceId"] in wanted]
        return ActionResult({"InstancePatchStates": states})

    Ssm.describe_instance_information = describe_instance_information  # type: ignore[attr-defined]
    Ssm.describe_instance_patch_states = describe_instance_patch_states  # type: ignore[attr-defined]
    Ssm.list_associations = list_associations  # type: ignore[attr-defined]
    Ssm._vmwb_fake = True  # type: ignore[attr-defined]


def register_ssm(
    account: str,
    region: str,
    info: list[dict[str, Any]],
    states: list[dict[str, Any]],
    associations: list[dict[str, Any]] | None = None,
) -> None:
    """What the SSM fake serves for one (account, region): instance information (an entry's ``_tags``
    answer ``tag:`` filters and are not returned), patch states and State Manager associations."""
    with _SSM_LOCK:
        _SSM_DATA[(account, region)] = {
            "info": info,
            "states": states,
            "associations": associations or [],
        }

"""The core stays headless and cheap to import: no Textual, no cloud SDK at start-up."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import workbench

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "google.cloud", "azure", "boto3", "libvirt", "pyVmomi")


def _core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
        # The mapped folders are the UI and data, not the core.
        if info.name.split(".")[1] in {"screens", "checks", "assets"}:
            continue
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_core_never_imports_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {_core_modules()!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        if 'textual' in str(exc): raise\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_no_core_source_imports_textual() -> None:
    offenders = []
    for path in (ROOT / "workbench").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import textual", "from textual")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_help_imports_no_sdk_and_no_textual() -> None:
    code = (
        "import sys\n"
        "from workbench.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {HEAVY!r}\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules if m.startswith(heavy)})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)


def test_modules_import_without_side_effects() -> None:
    # Importing a core module must not open files, sockets or threads; a cheap proxy: no new threads. In a
    # fresh interpreter: in the test process, threads left by earlier tests come and go on their own.
    code = (
        "import importlib, threading\n"
        "before = threading.active_count()\n"
        f"for name in {_core_modules()!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        pass  # an optional extra (libvirt) that is not installed\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

"""The wheel carries every module and data file of the mapped folders, under the one import name."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> its place inside the wheel.
MAPPED = {
    "workbench": "workbench",
    "screens": "workbench/screens",
    "checks": "workbench/checks",
    "assets": "workbench/assets",
}
SHIPPED_SUFFIXES = {".py", ".toml", ".sql", ".tcss", ".json", ".xml"}


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (tests/run.sh installs it)")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)], check=True, capture_output=True
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _tracked_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", *MAPPED], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return listing.stdout.split()


@pytest.mark.slow
def test_every_module_and_data_file_is_in_the_wheel(wheel_names: set[str]) -> None:
    missing = []
    for rel in _tracked_files():
        path = Path(rel)
        if path.suffix not in SHIPPED_SUFFIXES or "__snapshots__" in path.parts:
            continue
        top, *rest = path.parts
        inside = "/".join([MAPPED[top], *rest])
        if inside not in wheel_names:
            missing.append(rel)
    assert missing == [], f"not in the wheel: {missing}"


@pytest.mark.slow
def test_wheel_adds_one_import_name(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names if not name.endswith(".dist-info/")}
    tops = {t for t in tops if not t.endswith(".dist-info")}
    assert tops == {"workbench"}

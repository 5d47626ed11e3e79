"""The one registry (workbench.plugins): every built-in entry loads and is what its group holds; a plugin
package adds names but cannot replace a built-in; nothing is imported until asked for."""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench.cli
from workbench import plugins
from workbench.fixes.base import Fix
from workbench.providers.base import Provider

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh() -> Iterator[None]:
    plugins.clear()
    yield
    plugins.clear()


def test_every_group_has_its_builtins() -> None:
    assert plugins.names("providers") == ["aws", "azure", "gcp", "libvirt", "vsphere"]
    assert plugins.names("fix_clients") == plugins.names("providers")
    assert {"ingest", "concurrency", "tui", "checks", "demo"} <= set(plugins.names("benches"))
    assert {"dash", "vm", "findings", "fix", "settings"} <= set(plugins.names("views"))


def test_providers_and_fixes_load_as_their_base_class() -> None:
    for name in plugins.names("providers"):
        if name == "libvirt":
            pytest.importorskip("libvirt")
        assert plugins.load_class("providers", name, Provider).name == name
    for fix_id in plugins.names("fixes"):
        assert plugins.load_class("fixes", fix_id, Fix).id == fix_id


def test_every_fix_class_is_registered() -> None:
    """A Fix subclass left out of the entry points would be a fix no check or command can reach."""
    import workbench.fixes

    for info in pkgutil.walk_packages(workbench.fixes.__path__, "workbench.fixes."):
        if "libvirt" in info.name:
            pytest.importorskip("libvirt")
        __import__(info.name)
    registered = {plugins.load("fixes", n) for n in plugins.names("fixes")}
    defined: set[type] = set()
    todo = list(Fix.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        concrete = not inspect.isabstract(cls) and "id" in vars(cls)  # a shared base sets no id
        if concrete and cls.__module__.startswith("workbench.fixes."):
            defined.add(cls)
    assert defined - registered == set()


def test_every_cli_module_with_register_is_a_command() -> None:
    modules = set()
    for info in pkgutil.iter_modules(workbench.cli.__path__):
        source = (ROOT / "workbench" / "cli" / f"{info.name}.py").read_text(encoding="utf-8")
        if "\ndef register(" in source:
            modules.add(info.name)
    assert set(plugins.names("commands")) == modules
    for name in modules:
        assert plugins.target("commands", name) == f"workbench.cli.{name}:register"


def test_fix_clients_build_from_config() -> None:
    for name in plugins.names("fix_clients"):
        if name == "libvirt":
            pytest.importorskip("libvirt")
        assert callable(plugins.load("fix_clients", name).from_config)


def test_unknown_names_and_wrong_kinds_are_one_clear_error() -> None:
    with pytest.raises(plugins.PluginError, match=r"unknown provider 'oracle' \(known: aws, azure"):
        plugins.load("providers", "oracle")
    with pytest.raises(plugins.PluginError, match="is not a Provider"):
        plugins.load_class("benches", "ingest", Provider)
    with pytest.raises(ValueError, match="no plugin group"):
        plugins.names("themes")


def test_a_plugin_package_adds_names_but_cannot_replace_a_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    """A real installed-distribution layout on sys.path, as pip leaves a third-party plugin."""
    dist = tmp_path / "vmwb_extra-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vmwb-extra\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[vmwb.providers]\naws = vmwb_extra:Evil\noracle = vmwb_extra:OracleProvider\n"
    )
    (tmp_path / "vmwb_extra.py").write_text(
        "from workbench.providers.base import Provider\n"
        "class Evil: pass\n"
        "class OracleProvider(Provider):\n    name = 'oracle'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "oracle" in plugins.names("providers")
    assert plugins.target("providers", "aws") == "workbench.providers.aws.provider:AwsProvider"
    assert plugins.load("providers", "oracle").__name__ == "OracleProvider"
    monkeypatch.delitem(sys.modules, "vmwb_extra")


def test_a_plugin_that_does_not_import_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    dist = tmp_path / "vmwb_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vmwb-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vmwb.benches]\nbroken = vmwb_nowhere:bench\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(plugins.PluginError, match="bench 'broken' cannot be loaded"):
        plugins.load("benches", "broken")


def test_listing_imports_nothing() -> None:
    code = (
        "import sys\n"
        "from workbench import plugins\n"
        "before = set(sys.modules)\n"
        "for g in plugins.GROUPS:\n"
        "    plugins.names(g)\n"
        "    [plugins.target(g, n) for n in plugins.names(g)]\n"
        "new = sorted(m for m in set(sys.modules) - before if m.startswith('workbench'))\n"
        "assert not new, new\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

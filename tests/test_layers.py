"""The layer contract sees the whole house, and nothing reaches a face by a string it cannot see.

import-linter (tests/lint_imports.py, run by tests/run.sh) checks the import statements; these tests make sure
its graph holds the mapped folders (a graph without them would keep every contract), and cover what no import
statement shows: a module named in a string, and the entry points that load a plugin by name.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from workbench import plugins

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import lint_imports

FACES = ("workbench.screens", "workbench.cli", "workbench.__main__")
A_FACE = re.compile(r"\bworkbench\.(screens|cli|__main__)\b")


def test_the_graph_holds_the_mapped_folders_and_their_imports() -> None:
    graph = lint_imports.build()
    assert {
        "workbench.screens.app",
        "workbench.checks.logic",
        "workbench.cache.store",
    } <= graph.modules
    assert "workbench.screens.views" in graph.find_modules_directly_imported_by(
        "workbench.screens.app"
    )
    # a function-level import counts
    assert "workbench.screens.app" in graph.find_modules_directly_imported_by("workbench.cli.ui")
    assert "workbench.images.check_logic" in graph.find_modules_directly_imported_by(
        "workbench.checks.logic"
    )


def _contracts_hold(graph: grimp.ImportGraph) -> bool:
    from importlinter.application import use_cases
    from importlinter.application.app_config import settings
    from importlinter.configuration import configure

    class Fixed(lint_imports.MappedFoldersGraphBuilder):
        def build(self, root_package_names, cache_dir, **options):  # type: ignore[no-untyped-def]
            return graph

    configure()
    settings.configure(GRAPH_BUILDER=Fixed())
    return use_cases.lint_imports(
        config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True
    )


def test_the_contracts_hold_and_break_on_a_face_import() -> None:
    """The contracts themselves, on the real graph, then with one forbidden import added: it must break."""
    graph = lint_imports.build(external=True)
    assert _contracts_hold(graph)
    graph.add_import(
        importer="workbench.cache.store",
        imported="workbench.screens.app",
        line_number=1,
        line_contents="from workbench.screens.app import create_app",
    )
    assert not _contracts_hold(graph)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_core_module_names_a_face_in_a_string() -> None:
    offenders = []
    for name, path in lint_imports.modules().items():
        if name.startswith(FACES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _strings(tree):
            if A_FACE.search(text):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert offenders == []


# Which layer loads each plugin group, and so where its entries may live.
HOMES = {
    "providers": ("workbench.providers.",),
    # read by the config loader: each provider's light schema module
    "settings": ("workbench.providers.",),
    "fix_clients": ("workbench.fixes.", "workbench.providers."),
    "fixes": ("workbench.fixes.",),
    "views": ("workbench.screens.",),
    "commands": ("workbench.cli.",),
    # loaded by `vmwb bench` (a face): the TUI bench drives the app
    "benches": ("workbench.bench.", "workbench.screens."),
}


def test_entry_points_live_in_the_layer_that_loads_them() -> None:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        tables = tomllib.load(fh)["project"]["entry-points"]
    assert set(HOMES) == set(plugins.GROUPS)
    for group, homes in HOMES.items():
        entries = tables[f"vmwb.{group}"]
        assert entries, group
        for name, target in entries.items():
            assert target.startswith(homes), (group, name, target)


@pytest.mark.parametrize("folder", ["workbench", "checks"])
def test_no_core_source_loads_a_module_by_a_computed_name(folder: str) -> None:
    """import_module(variable) would hide an arrow from the contract: only the plugin loader may."""
    allowed = {"workbench/plugins.py", "workbench/demo/build.py"}  # demo warms SDK modules it names
    offenders = []
    for path in (ROOT / folder).rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        if rel in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bimport_module\(|__import__\(", text):
            offenders.append(rel)
    assert offenders == []

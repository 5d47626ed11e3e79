"""``lint-imports`` over the one import name ``workbench``, whose sub-packages live in four folders.

Grimp finds a package's modules by walking its folder, so it would never see ``workbench.screens`` (``screens/``)
or ``workbench.checks`` (``checks/``), which the install maps into the name (pyproject's ``package-dir``). This
builds the same graph from the sources themselves, every import statement counted (inside functions and under
``TYPE_CHECKING`` too), and runs import-linter's own command with it: the contracts are in pyproject.toml.
Run: ``uv run --no-sync python tests/lint_imports.py`` (tests/run.sh does, after mypy).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import grimp
from importlinter import cli, configuration
from importlinter.adapters.building import GraphBuilder
from importlinter.application.app_config import settings

ROOT = Path(__file__).resolve().parents[1]


def package_dirs() -> dict[str, Path]:
    """Import name → folder, from pyproject's ``package-dir`` (the one source of the mapping)."""
    with (ROOT / "pyproject.toml").open("rb") as fh:
        mapping: dict[str, str] = tomllib.load(fh)["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in mapping.items()}


def modules() -> dict[str, Path]:
    """Every module name → its file; a folder mapped to a sub-package wins over the walk of its parent."""
    found: dict[str, Path] = {}
    for package, folder in sorted(package_dirs().items(), key=lambda kv: kv[0].count(".")):
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
                continue
            found[".".join([package, *parts])] = path
    return found


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module ``name`` names (``a.b.func`` → ``a.b``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(
    module: str, path: Path, known: set[str], external: bool = False
) -> list[tuple[str, int, str]]:
    """What ``module`` imports: known modules, and with ``external`` other packages by top-level name."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    out: list[tuple[str, int, str]] = []
    for node in ast.walk(ast.parse(source, str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            imported = _resolve(target, known)
            if imported is None and external and not getattr(node, "level", 0):
                top = target.partition(".")[0]
                imported = None if top == "workbench" else top
            if imported is not None and imported != module:
                out.append((imported, node.lineno, lines[node.lineno - 1].strip()))
    return out


def build(external: bool = False) -> grimp.ImportGraph:
    found = modules()
    known = set(found)  # and the external packages as they are met
    graph = grimp.ImportGraph()
    for name in found:
        graph.add_module(name)
    for name, path in found.items():
        for imported, line_number, line in imports(name, path, known, external):
            if imported not in known:
                known.add(imported)
                graph.add_module(imported, is_squashed=True)
            graph.add_import(
                importer=name, imported=imported, line_number=line_number, line_contents=line
            )
    return graph


class MappedFoldersGraphBuilder(GraphBuilder):
    def build(  # type: ignore[override]
        self, root_package_names: list[str], cache_dir: str | None, **options: bool | None
    ) -> grimp.ImportGraph:
        if root_package_names != ["workbench"]:
            raise ValueError(f"root_packages must be ['workbench'], not {root_package_names}")
        return build(external=bool(options.get("include_external_packages")))


def main() -> int:
    configuration.configure()
    settings.configure(GRAPH_BUILDER=MappedFoldersGraphBuilder())
    return cli.lint_imports(no_cache=True)


if __name__ == "__main__":
    sys.exit(main())

"""The modules of clvkit.models import each other without a circle.

A circle (``_base -> uncertainty -> intervals -> bgnbd -> _base`` was one) makes the lowest
module depend on its consumers: every change to a consumer can break the base, and the
import order decides what works. The test reads every module's imports from its source
(module level and inside functions alike, since a deferred import is still a dependency;
only ``if TYPE_CHECKING:`` blocks, which never run, are left out) and fails on any cycle
that passes through clvkit.models.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import clvkit

PACKAGE_DIR = Path(clvkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, modules: set[str]) -> set[str]:
    """clvkit modules that ``path`` imports (resolved relative imports; no TYPE_CHECKING)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from . import x` imports the submodule x (the package itself is
                # initialised before any of its modules anyway); else the module `base`
                subs = {f"{base}.{a.name}" for a in child.names} & modules
                found.update(subs or {base})
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the clvkit modules it imports, for every module of the package."""
    paths = sorted(PACKAGE_DIR.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_cycle_finder_finds_a_planted_cycle():
    # the check can fail: a -> b -> c -> a is found, d (imported by a) is not in it
    graph = {"a": {"b", "d"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_deferred_imports_and_skips_type_checking(tmp_path):
    src = tmp_path / "clvkit" / "models"
    src.mkdir(parents=True)
    (src / "m.py").write_text(
        "from typing import TYPE_CHECKING\nfrom ._base import X\n"
        "if TYPE_CHECKING:\n    from .uncertainty import Y\n"
        "def f():\n    from .intervals import Z\n", encoding="utf-8")
    global PACKAGE_DIR
    saved, PACKAGE_DIR = PACKAGE_DIR, tmp_path / "clvkit"
    try:
        seen = _imports(src / "m.py", {"clvkit.models._base", "clvkit.models.uncertainty",
                                       "clvkit.models.intervals"})
    finally:
        PACKAGE_DIR = saved
    assert seen == {"clvkit.models._base", "clvkit.models.intervals"}


def test_no_import_circle_passes_through_the_models():
    graph = import_graph()
    assert "clvkit.models._base" in graph and graph["clvkit.models.bgnbd"]  # it read them
    bad = [c for c in cycles(graph) if any(m.startswith("clvkit.models") for m in c)]
    assert bad == [], f"import circles through clvkit.models: {bad}"


def test_the_base_imports_none_of_its_consumers():
    # FittedModel's module stands on the ground floor and the services it uses
    # (uncertainty, intervals); it never imports a model, the CLV code or the predictions
    graph = import_graph()
    below = graph["clvkit.models._base"]
    allowed = {"clvkit.models._core", "clvkit.models.uncertainty", "clvkit.models.intervals",
               "clvkit.models.protocol"}
    assert {m for m in below if m.startswith("clvkit.models")} <= allowed, below


_FIRST_IMPORT = """
import importlib, sys
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "clvkit" or m.startswith("clvkit.")]:
        del sys.modules[loaded]  # as fresh as a new interpreter for clvkit's own modules
    try:
        importlib.import_module(name)
    except Exception as err:
        print(f"{name}: {type(err).__name__}: {err}")
"""


@pytest.mark.slow
def test_every_model_module_imports_first():
    # a circle hidden behind an import order shows when a module is imported first
    modules = sorted(m for m in import_graph() if m.startswith("clvkit.models."))
    done = subprocess.run([sys.executable, "-c", _FIRST_IMPORT, *modules],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr[-2000:]


def test_the_package_imports():
    assert importlib.import_module("clvkit.models").FittedModel

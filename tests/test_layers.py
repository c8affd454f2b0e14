"""The package's layers (paperlib/__init__.py; docs/decisions/layout.md): no import circle between
modules, and no module imports a layer above its own. Imports inside functions count too; only
optional dependencies outside the package may be imported late."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "paperlib"

# Lower rank first; a module may import modules of its own rank or below.
LAYERS = {"infra": 0, "method": 1, "search": 2, "attacks": 3, "defences": 4, "network": 4,
          "studies": 5, "app": 6}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``path`` imports, wherever the import stands (TYPE_CHECKING aside)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks are not run
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skip.update(id(n) for n in ast.walk(node))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source
                       for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    return {name: imports_of(path, name, known) for name, path in files.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in graph.items():
        for dst in targets:
            ls, ld = layer(src), layer(dst)
            if ls is not None and ld is not None and ld > ls:
                bad.append(f"{src} imports {dst}, a layer above it")
    return sorted(bad)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted.

    A package's ``__init__`` importing its own modules is not a circle unless one of them imports
    the package back."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_top_level_module_belongs_to_a_layer():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert loose == []
    assert folders == sorted(LAYERS)


def test_no_module_imports_a_layer_above_it():
    assert upward_imports(import_graph()) == []


def test_no_import_circle():
    assert circles(import_graph()) == []


def test_the_checks_catch_a_planted_circle_and_an_upward_import(tmp_path):
    root = tmp_path / "paperlib"
    for sub in ("method", "search"):
        (root / sub).mkdir(parents=True)
        (root / sub / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "method" / "a.py").write_text("from . import b\n")
    (root / "method" / "b.py").write_text("def f():\n    from .a import g\n")
    (root / "method" / "c.py").write_text("from ..search import s\n")
    (root / "search" / "s.py").write_text("from ..method import a\n")
    graph = import_graph(root)
    assert circles(graph) == [["paperlib.method.a", "paperlib.method.b"]]
    assert upward_imports(graph) == ["paperlib.method.c imports paperlib.search.s, a layer above it"]


@pytest.mark.parametrize("old,new", [("strategies", "paperlib.method.strategies"),
                                     ("tables", "paperlib.studies.tables")])
def test_a_moved_module_names_its_new_home(old, new):
    with pytest.raises(ImportError, match=new.replace(".", r"\.")):
        __import__(f"paperlib.{old}")


def test_the_papers_public_names_still_import():
    import paperlib.energy
    from paperlib import energy, models, privacy, quant, search  # noqa: F401

    assert paperlib.energy is energy
    assert models.build("vgg11") is not None


def late_imports(root: Path = PACKAGE) -> list[str]:
    """Every import of a package module made inside a function: the layers forbid none of them
    (that is what ``import_graph`` checks), but a late import hides a module's dependencies from
    its reader, so only optional third-party dependencies (Ray) may be imported late."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                own = (isinstance(node, ast.ImportFrom)
                       and (node.level > 0 or (node.module or "").startswith("paperlib")))
                if own:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return out


def test_no_package_module_is_imported_inside_a_function():
    assert late_imports() == []


def test_late_imports_are_found(tmp_path):
    root = tmp_path / "paperlib"
    root.mkdir()
    (root / "a.py").write_text("import ray\n\ndef f():\n    import ray\n    from . import b\n")
    assert late_imports(root) == ["paperlib/a.py:5"]

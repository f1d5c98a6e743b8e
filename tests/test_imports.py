"""No import circle at run time, counting package ``__init__`` modules; no work at import.

The graph is read from the source (``ast``): an edge for every import a module runs while it
is imported — at module level, in classes, under ``if``/``try``; not in functions, not under
``if TYPE_CHECKING`` — to each of our modules it runs or reads:

* ``import a.b.c`` and ``from a.b.c import x`` run ``a``, ``a.b`` and ``a.b.c`` (each package's
  ``__init__`` first), and ``a.b.c.x`` when that is a module;
* but a module's own packages have already started when its first line runs: from inside
  ``a``, ``from a.b import x`` depends on ``a.b`` only — whereas ``from a import b`` (or
  ``import a``) reads the package's own namespace, which may still be half built (the
  package's ``__init__`` importing the module is the circle).

``python tests/test_imports.py`` prints the circles.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The packages whose modules the graph holds.
PACKAGES = ("actors", "archibot", "archibot_devtools", "erp", "pool", "store")


def our_modules() -> dict[str, Path]:
    """Every module of PACKAGES: dotted name → file (a package is its ``__init__.py``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module runs (not those in functions)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _import_time_statements(node.body)
            found += _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _import_time_statements(block)
        elif isinstance(node, ast.With | ast.For | ast.While | ast.ClassDef):
            found += _import_time_statements(node.body)
    return found


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of ours its import runs first (see the module docstring)."""
    modules = our_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        named: set[str] = set()
        for node in _import_time_statements(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    targets.update(_with_parents(alias.name))
                    named.add(alias.name)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.update(_with_parents(base))
            named.add(base)  # the namespace ``from base import …`` reads
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    targets.add(f"{base}.{alias.name}")
        own_packages = set(_with_parents(name)[:-1]) | ({name} if is_package else set())
        graph[name] = {t for t in targets if t in modules and t != name
                       and (t not in own_packages or t in named)}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_module_of_ours_is_in_an_import_circle() -> None:
    # Given the import graph of every module of actors/, archibot/, erp/, pool/ and store/
    graph = import_graph()
    assert "actors.services" in graph["actors.broker"] and "store.rows" in graph["store.claims"]
    # Then no module is reached again from what it imports
    assert circles(graph) == []


def test_the_graph_sees_a_circle_through_a_package_init() -> None:
    # Given a package whose __init__ imports a module that reads the package's namespace
    graph = {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg"}}
    # Then that is a circle (the check is not blind to __init__ modules)
    assert circles(graph) == [["pkg", "pkg.a", "pkg.b"]]
    # and the edges are read that way from the source
    graph = import_graph()
    assert "actors" not in graph["actors.requeue"]  # from actors.errors import …
    assert "archibot" in graph["archibot.operations"]  # from archibot import payloads, results


def test_every_module_imports_in_a_fresh_interpreter_and_builds_no_broker() -> None:
    # When a fresh interpreter imports every module, in order, once with the package roots
    # first and once after periodiq (which loads dramatiq.cli): only the entry builds
    code = (
        "import importlib, sys, dramatiq.broker\n"
        "if sys.argv[1] == 'after-periodiq':\n"
        "    import periodiq\n"
        f"for name in {sorted(our_modules())!r}:\n"
        "    importlib.import_module(name)\n"
        "assert dramatiq.broker.global_broker is None, 'a module built a broker at import'\n"
    )
    for order in ("roots-first", "after-periodiq"):
        done = subprocess.run([sys.executable, "-c", code, order], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)
        # Then each imports, and none built a broker
        assert done.returncode == 0, done.stderr[-3000:]


def test_the_entry_builds_the_broker_with_every_actor() -> None:
    # When the package is loaded as `dramatiq actors` and `periodiq actors` load it
    code = (
        "import dramatiq.cli\n"
        "module, broker = dramatiq.cli.import_broker('actors')\n"
        "assert broker is module.broker and module.process.services is None\n"
        "print(' '.join(sorted(broker.actors)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    # Then every registered type has its actor, next to the periodic ones (names periodiq keeps)
    from archibot.operations import OPERATION_TYPES

    names = set(done.stdout.split())
    assert {t.actor_name for t in OPERATION_TYPES.values()} <= names
    assert {"schedule_order_and_customer_syncs", "schedule_products_sync", "resend_stuck"} <= names


if __name__ == "__main__":
    graph = import_graph()
    found = circles(graph)
    for circle in found:
        members = set(circle)
        closing = sorted(f"{m} -> {t}" for m in circle for t in graph[m] if t in members and m.startswith(t + "."))
        print(f"circle of {len(circle)}: {', '.join(circle)}")
        print(f"  closed by reading a package's namespace from inside it: {'; '.join(closing) or 'none'}")
    print(f"{len(found)} import circle(s) among {len(graph)} modules")

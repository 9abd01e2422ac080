"""The import graph of the ``ees_theory`` package, read with ``ast`` (nothing is imported).

Run ``python tests/import_graph.py`` to print the modules, the import cycles and every arrow that
runs back up the layering; ``tests/test_layering.py`` fails on either. Lazy imports inside
functions count: a cycle that only closes at call time is still a cycle in the design.

The layers, lowest first (a module may import from its own layer or a lower one):

0. ``spec``: what the world relies on (domains, tables, claim statements, formats);
1. ``core``: each formula and decision rule once, against an arithmetic context; ``tolerances``,
   the error analysis of those formulas in float arithmetic;
2. ``reference`` and ``kernels`` (``torch`` is the public alias of ``kernels``): the drivers;
3. ``families`` (with its short public names ``distributions`` and ``strategies``) and
   ``errormodel`` (what a careful float port can compute for one row);
4. ``judging``: is one answer of a port right (the method registry and the judges);
5. ``running``: how a port is run over cases (cases, ports, workers, the runner, the cluster);
6. ``harness`` (the public facade of port checking), ``engines``, ``ledger``, ``hf``, ``cli``,
   ``report`` (the book's tables and figures): the uses, with the short public names ``claims``
   and ``conformance``;
7. the package root (``ees_theory``, ``ees_theory.__main__``).

Within layer 2 the certified reference and the float kernels must not import each other, and
nothing under ``kernels`` may import ``mpmath``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "ees_theory"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

LAYERS = {
    "spec": 0,
    "core": 1,
    "tolerances": 1,
    "reference": 2,
    "kernels": 2,
    "torch": 2,
    # the uses: edge families (the running part generates cases from them), then the three parts
    # of port checking, each above the one before: what a careful float port can compute,
    # whether one answer is right, how a port is run over cases
    "families": 3,
    "errormodel": 3,
    "judging": 4,
    "running": 5,
    # the public facade of port checking, engines, and the rest of the uses
    "ledger": 6,
    "harness": 6,
    "engines": 6,
    "hf": 6,
    "cli": 6,
    "report": 6,
    # the short public names of families and ledger/harness modules (thin re-exports)
    "distributions": 3,
    "strategies": 3,
    "claims": 6,
    "conformance": 6,
    # example ports for trying the harness and for the documentation (imports only numpy)
    "examples": 6,
}
TOP = 7
#: Pairs of top-level parts that may not import each other although they share a layer.
SIBLINGS_APART = {("reference", "kernels"), ("kernels", "reference"), ("torch", "reference"), ("reference", "torch")}


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def read_graph(root: Path = ROOT) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(edges, externals)``: for each module the package modules and the outside top-level
    packages it imports (anywhere in the file)."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    edges: dict[str, set[str]] = {m: set() for m in files}
    externals: dict[str, set[str]] = {m: set() for m in files}

    def add(src: str, target: str) -> None:
        if not target.startswith(PACKAGE):
            externals[src].add(target.split(".")[0])
            return
        # the longest prefix that is a module of the package
        parts = target.split(".")
        while parts and ".".join(parts) not in files:
            parts.pop()
        if parts and ".".join(parts) != src:
            edges[src].add(".".join(parts))

    for mod, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(mod, alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.module == "__future__":
                    continue
                if node.level:
                    base = _resolve(mod, is_package, node.level, node.module)
                else:
                    base = node.module or ""
                for alias in node.names:
                    # ``from . import spec`` names a module; ``from .x import name`` names a symbol
                    candidate = f"{base}.{alias.name}"
                    add(mod, candidate if candidate in files else base)
            elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
                # importlib.import_module(".x", __package__) with a literal name is an import too
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    name = arg.value
                    if name.startswith("."):
                        level = len(name) - len(name.lstrip("."))
                        name = _resolve(mod, is_package, level, name.lstrip(".") or None)
                    add(mod, name)
    return edges, externals


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "import_module") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


def layer_of(module: str) -> tuple[int, str]:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return TOP, ""
    return LAYERS.get(parts[1], TOP), parts[1]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def upward_arrows(edges: dict[str, set[str]], externals: dict[str, set[str]]) -> list[str]:
    """Every import that runs from a lower layer to a higher one (or between sibling drivers),
    and every import of mpmath under the kernels."""
    bad = []
    for src in sorted(edges):
        ls, ps = layer_of(src)
        for dst in sorted(edges[src]):
            ld, pd = layer_of(dst)
            if ld > ls or (ps, pd) in SIBLINGS_APART:
                bad.append(f"{src} -> {dst}")
        if ps in ("kernels", "torch") and "mpmath" in externals[src]:
            bad.append(f"{src} -> mpmath")
    return bad


def main() -> int:
    edges, externals = read_graph()
    n_edges = sum(len(v) for v in edges.values())
    print(f"{len(edges)} modules, {n_edges} imports inside the package")
    comps = cycles(edges)
    print(f"import cycles: {len(comps)}")
    for comp in comps:
        print("  " + " <-> ".join(comp))
    up = upward_arrows(edges, externals)
    print(f"arrows that run back up: {len(up)}")
    for line in up:
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

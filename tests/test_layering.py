"""The package's layering: no import cycle, no arrow that runs back up (see ``tests/import_graph.py``)."""

from __future__ import annotations

import import_graph as ig


def test_no_import_cycle():
    edges, _ = ig.read_graph()
    assert ig.cycles(edges) == []


def test_no_import_runs_back_up():
    edges, externals = ig.read_graph()
    assert ig.upward_arrows(edges, externals) == []


def test_every_module_has_a_layer():
    edges, _ = ig.read_graph()
    unplaced = [m for m in edges if ig.layer_of(m)[0] == ig.TOP and m not in ("ees_theory", "ees_theory.__main__")]
    assert unplaced == []


def test_the_checker_sees_what_it_must(tmp_path):
    # a made-up package with a cycle, a lazy upward import, a literal import_module and mpmath in
    # the kernels: every one of them must be reported
    pkg = tmp_path / "ees_theory"
    for sub in ("spec", "core", "kernels", "ledger"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "spec" / "a.py").write_text("def f():\n    from ..core import b\n")
    (pkg / "core" / "b.py").write_text("from ..spec import a\n")
    (pkg / "kernels" / "k.py").write_text("import mpmath\n")
    (pkg / "ledger" / "registry.py").write_text("import importlib\nimportlib.import_module('.group', __package__)\n")
    (pkg / "ledger" / "group.py").write_text("from .registry import x\n")
    edges, externals = ig.read_graph(pkg)
    assert ig.cycles(edges) == [
        ["ees_theory.core.b", "ees_theory.spec.a"],
        ["ees_theory.ledger.group", "ees_theory.ledger.registry"],
    ]
    assert ig.upward_arrows(edges, externals) == ["ees_theory.kernels.k -> mpmath", "ees_theory.spec.a -> ees_theory.core.b"]


def test_graph_reads_relative_imports_like_python():
    assert ig._resolve("ees_theory.harness.ports", False, 1, "codec") == "ees_theory.harness.codec"
    assert ig._resolve("ees_theory.harness", True, 1, "codec") == "ees_theory.harness.codec"
    assert ig._resolve("ees_theory.harness.ports", False, 2, None) == "ees_theory"

"""The README's "Layout" is the package's tree: every subpackage and public module is named, with
the layer ``tests/import_graph.py`` assigns it, and every path it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import import_graph as ig

ROOT = Path(__file__).resolve().parent.parent


def _layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout") :]
    return section.split("```")[1]


def _package_entries() -> set[str]:
    pkg = ROOT / "ees_theory"
    subpackages = {p.name + "/" for p in pkg.iterdir() if p.is_dir() and not p.name.startswith("__")}
    modules = {p.name for p in pkg.glob("*.py") if not p.name.startswith("__")}
    return subpackages | modules


def test_every_part_of_the_package_is_named():
    block = _layout_block()
    named = set(re.findall(r"[a-z_]+(?:/|\.py)", block))
    missing = sorted(_package_entries() - named)
    assert missing == [], f"README Layout does not name {missing}"


def test_every_named_part_exists():
    block = _layout_block()
    pkg = ROOT / "ees_theory"
    named = set(re.findall(r"(?<![\w/])([a-z_]+(?:/|\.py))", block))
    top = {"ees_theory/", "proofs/", "notebooks/", "book/", "tests/", "benchmarks/"}
    ghosts = [n for n in named - top if not (pkg / n.rstrip("/")).exists() and not (pkg / "core" / n.rstrip("/")).exists()]
    assert ghosts == []
    assert all((ROOT / t).exists() for t in top)


def test_layers_in_the_layout_match_the_import_checker():
    # lines of the form "  name/   N  text": the number is the layer the import checker enforces
    for line in _layout_block().splitlines():
        m = re.match(r"\s+([a-z_]+)(?:/|\.py)\s+(\d)\s", line)
        if m:
            assert ig.LAYERS[m.group(1)] == int(m.group(2)), line

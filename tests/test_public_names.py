"""Every ``ees_theory`` name that the README, the book or a docstring shows imports the way Python
users write it: ``import ees_theory.a.b``, ``from ees_theory.a import b``, and a dotted name
``ees_theory.a.b.c`` whose modules are real modules (not only attributes of their package) and whose
last part exists.

The names are collected from the texts by pattern, so a name added to a page is checked without
touching this file.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["README.md", "book/*.md", "book/api/*.md", "book/theory/*.md", "notebooks/*.md", "proofs/*.md",
         "ees_theory/harness/PROTOCOL.md"]
# optional dependencies: a name that needs one that is not installed here is skipped, not failed
OPTIONAL = {"torch", "transformers", "llama_cpp", "matplotlib", "vllm", "flashinfer", "selenium", "dask", "distributed"}

_IDENT = r"[A-Za-z_]\w*"
_DOTTED = rf"ees_theory(?:\.{_IDENT})*"
# ``import ees_theory.a.b``, ``import ees_theory.a as x`` (one module per statement, as written in the texts)
IMPORT = re.compile(rf"^\s*(?:>>>\s*)?import ({_DOTTED})(?: as {_IDENT})?\s*$", re.M)
# ``from ees_theory.a import b, c as d`` or ``from ees_theory.a import (b,\n c)``
FROM = re.compile(rf"\bfrom ({_DOTTED}) import (\((?:[^)]*)\)|\*|{_IDENT}(?: as {_IDENT})?(?:,\s*{_IDENT}(?: as {_IDENT})?)*)")
# a dotted name in prose or code: not part of a path (``ees_theory/harness``) or of a longer word
NAME = re.compile(rf"(?<![\w./-])(ees_theory(?:\.{_IDENT})+)(?!\.?[\w/-])")


def docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    return [d for d in (ast.get_docstring(n, clean=False) for n in nodes) if d]


def texts() -> dict[str, str]:
    out = {}
    for pattern in TEXTS:
        for p in sorted(ROOT.glob(pattern)):
            out[str(p.relative_to(ROOT))] = p.read_text(encoding="utf-8")
    for p in sorted((ROOT / "ees_theory").rglob("*.py")):
        ds = docstrings(p)
        if ds:
            out[str(p.relative_to(ROOT))] = "\n".join(ds)
    return out


def shown() -> tuple[dict[str, str], dict[str, str]]:
    """``(statements, names)``: each import statement and each dotted name, with one place it is shown."""
    statements: dict[str, str] = {}
    names: dict[str, str] = {}
    for where, text in texts().items():
        for m in IMPORT.finditer(text):
            statements.setdefault(f"import {m.group(1)}", where)
        for m in FROM.finditer(text):
            what = " ".join(m.group(2).strip("()").replace(",", ", ").split()).rstrip(",")
            statements.setdefault(f"from {m.group(1)} import {what}", where)
        for m in NAME.finditer(text):
            names.setdefault(m.group(1), where)
    return statements, names


def engine_labels() -> set[str]:
    """Engine names of the matrix (``ees_theory.kernels.cuda``: the kernels on a GPU) that read like
    dotted names but name an engine row, not a Python object."""
    from ees_theory.engines.table import rows

    return {r.engine for r in rows()}


STATEMENTS, NAMES = shown()
for _label in engine_labels():
    if not any((ROOT / _label.replace(".", "/")).with_suffix(x).exists() for x in (".py", "")):
        NAMES.pop(_label, None)


def _skip_if_optional(e: ImportError) -> None:
    missing = (e.name or "").split(".")[0]
    if missing in OPTIONAL:
        pytest.skip(f"needs the optional dependency {missing}")


def resolve(dotted: str) -> object:
    """The object a dotted name shows, importing each module part as ``import`` does.

    Raises ``AssertionError`` naming the part that only exists as a package attribute (``import``
    of it fails) or that does not exist at all.
    """
    parts = dotted.split(".")
    obj: object = importlib.import_module(parts[0])
    path = parts[0]
    for part in parts[1:]:
        path = f"{path}.{part}"
        if isinstance(obj, ModuleType):
            try:
                obj = importlib.import_module(path)
                continue
            except ModuleNotFoundError as e:
                if e.name != path:
                    raise
        assert hasattr(obj, part), f"{path} does not exist"
        obj = getattr(obj, part)
        assert not isinstance(obj, ModuleType), f"`import {path}` fails: {path} is a module only as an attribute of its package"
    return obj


def test_the_texts_show_names():
    # the collector itself works: the README's own examples are among what it found
    assert "import ees_theory" in STATEMENTS
    assert "ees_theory.strategies" in NAMES and "ees_theory.distributions" in NAMES
    assert any(s.startswith("from ees_theory.report import") for s in STATEMENTS)


@pytest.mark.parametrize("statement", sorted(STATEMENTS), ids=lambda s: s[:80])
def test_import_statement_runs(statement):
    try:
        exec(statement, {})  # noqa: S102 - the statement is one the docs show, run as a user would
    except ImportError as e:
        _skip_if_optional(e)
        raise AssertionError(f"{statement!r} (shown in {STATEMENTS[statement]}) fails: {e}") from e


@pytest.mark.parametrize("name", sorted(NAMES))
def test_dotted_name_resolves(name):
    try:
        resolve(name)
    except ImportError as e:
        _skip_if_optional(e)
        raise
    except AssertionError as e:
        raise AssertionError(f"{name} (shown in {NAMES[name]}): {e}") from e


def test_resolve_catches_a_package_attribute_that_is_no_module(tmp_path, monkeypatch):
    # a package whose submodule exists only through a lazy __getattr__, the way a missing module hides
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import importlib\n"
                                     "def __getattr__(name):\n"
                                     "    if name == 'short':\n"
                                     "        return importlib.import_module('.real', __name__)\n"
                                     "    raise AttributeError(name)\n")
    (pkg / "real.py").write_text("value = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve("lazypkg.real.value") == 1
    with pytest.raises(AssertionError, match="module only as an attribute"):
        resolve("lazypkg.short.value")
    with pytest.raises(AssertionError, match="does not exist"):
        resolve("lazypkg.real.nothing")

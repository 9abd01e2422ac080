"""Every public function and class of the API pages says what its parameters are.

The API pages (``book/api/*.md``) are generated from the docstrings; a callable with parameters
needs a numpydoc ``Parameters`` section there, or the page shows its signature and nothing about
what the arguments mean. The names checked are the ``__all__`` lists of the public packages and every
function and class an API page renders: the members of each ``automodule`` entry (its ``__all__``,
else its own public names) and each ``autofunction`` / ``autoclass`` entry.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Modules whose ``__all__`` is the public contract (``ees_theory.ledger.claims`` holds the ledger's).
PUBLIC = ("ees_theory", "ees_theory.reference", "ees_theory.harness", "ees_theory.ledger.claims")
#: The API pages; every automodule, autofunction and autoclass entry of theirs is checked.
PAGES = tuple(sorted(p.name for p in (ROOT / "book" / "api").glob("*.md")))
#: Names exempt from the check, each with its reason. Empty: every public callable documents its parameters.
ALLOW: dict[str, str] = {}

_SECTION = re.compile(r"^Parameters\n-{3,}$", re.M)


def parameters(obj) -> list[str]:
    """The parameters a caller passes (``self`` and ``cls`` left out); none for a class that keeps
    the constructor of ``object`` or of an exception, nor for an enumeration (its members are its
    values, never built from arguments)."""
    if inspect.isclass(obj) and (issubclass(obj, enum.Enum)
                                 or obj.__init__ in (object.__init__, BaseException.__init__) and obj.__new__ is object.__new__):
        return []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p for p in sig.parameters if p not in ("self", "cls")]


def lacks_parameters_section(obj) -> bool:
    return bool(parameters(obj)) and not _SECTION.search(inspect.getdoc(obj) or "")


def _page_members() -> dict[str, object]:
    """The functions and classes the API pages render."""
    found = {}
    for page in PAGES:
        text = (ROOT / "book" / "api" / page).read_text(encoding="utf-8")
        for m in re.finditer(r"^\.\. auto(?:function|class):: (\S+)$", text, re.M):
            module, _, attr = m.group(1).rpartition(".")
            found[m.group(1)] = getattr(importlib.import_module(module), attr)
        for m in re.finditer(r"^\.\. automodule:: (\S+)\n((?:   :.*\n)*)", text, re.M):
            name, opts = m.group(1), m.group(2)
            if ":no-members:" in opts:
                continue
            mod = importlib.import_module(name)
            listed = re.search(r":members: (.+)", opts)
            names = [n.strip() for n in listed.group(1).split(",")] if listed else []
            if hasattr(mod, "__all__"):  # autodoc renders a module's __all__, listed or not
                names += list(mod.__all__)
            elif not listed:  # else its default: the public names defined in the module itself
                names = [n for n, o in vars(mod).items() if not n.startswith("_") and getattr(o, "__module__", None) == name]
            for n in names:
                found[f"{name}.{n}"] = getattr(mod, n)
    return found


def public_callables() -> dict[str, object]:
    found = {}
    for name in PUBLIC:
        mod = importlib.import_module(name)
        for n in mod.__all__:
            found[f"{name}.{n}"] = getattr(mod, n)
    found.update(_page_members())
    return {k: o for k, o in found.items() if inspect.isfunction(o) or inspect.isclass(o)}


def test_the_check_flags_a_missing_section():
    def bare(x):
        """Double ``x``."""

    def documented(x):
        """Double ``x``.

        Parameters
        ----------
        x
            A number.
        """

    def no_args():
        """Nothing to describe."""

    class Record:
        """A record."""

        def __init__(self, a):
            self.a = a

    class Marker:
        """No constructor arguments."""

    assert lacks_parameters_section(bare)
    assert not lacks_parameters_section(documented)
    assert not lacks_parameters_section(no_args)
    assert lacks_parameters_section(Record)
    assert not lacks_parameters_section(Marker)
    assert not lacks_parameters_section(enum.Enum("Colour", "RED GREEN"))
    assert not lacks_parameters_section(ValueError.__class__("Err", (ValueError,), {"__doc__": "x"}))


def test_the_walk_sees_the_public_names():
    names = public_callables()
    for expected in ("ees_theory.reference.ees", "ees_theory.harness.check", "ees_theory.ledger.claims.run_ledger",
                     "ees_theory.ledger.minimality.search_pair", "ees_theory.errormodel.bands.edt_band",
                     "ees_theory.core.truncation.top_k.width", "ees_theory.core.certify.enclose",
                     "ees_theory.torch.ees_mask", "ees_theory.kernels.ees.EESCurve",
                     "ees_theory.families.distributions.Family", "ees_theory.spec.inputs.as_logits",
                     "ees_theory.tolerances.ees_gap_bound"):
        assert expected in names


def test_allowlist_names_exist():
    assert set(ALLOW) <= set(public_callables())


@pytest.mark.parametrize("name", sorted(public_callables()))
def test_public_callable_documents_its_parameters(name):
    if name in ALLOW:
        pytest.skip(ALLOW[name])
    obj = public_callables()[name]
    assert not lacks_parameters_section(obj), (
        f"{name}{inspect.signature(obj)}: the docstring has no numpydoc 'Parameters' section")

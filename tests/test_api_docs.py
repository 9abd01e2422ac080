"""Every public module has its API page, and everything a page renders says what its parameters are.

The API pages (``book/api/*.md``) are generated from the docstrings. Each public module has one page
of its own, written with the book's ``api-module`` directive (``book/_ext/ees_book.py``): a table of
the module's public names, then the module with those names as members. Which names those are is
decided in ``book/_ext/api_names.py``, read here too, so the check and the page cannot disagree.
The modules of a package in ``GENERATED`` (the truncation samplers, one module each) are rendered
on their package's page (``:submodules:``), so a new one needs no page of its own; which modules
there are is read from the package's folder here, not from that rule.

A callable with parameters needs a numpydoc ``Parameters`` section, or its page shows its signature
and nothing about what the arguments mean; one that is also annotated to return a value needs a
``Returns`` section. Checked: every function and class the pages render
(``api-module``, ``automodule``, ``autofunction`` and ``autoclass`` entries, and the ``__all__`` of
the public packages), and every public method of every such class.
"""

from __future__ import annotations

import doctest
import enum
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "book" / "api"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import api_names  # noqa: E402  (the book's own rule of which names a page shows)

#: Packages whose page renders each of their modules too (the directive's ``:submodules:`` option).
GENERATED = ("ees_theory.core.truncation",)


def modules_in_folder(package: str) -> list[str]:
    """The public modules of ``package`` as its folder holds them (every ``*.py`` without a ``_``)."""
    folder = ROOT.joinpath(*package.split("."))
    return sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if not p.stem.startswith("_"))


#: Modules whose ``__all__`` is the public contract (``ees_theory.ledger.claims`` holds the ledger's).
PUBLIC = ("ees_theory", "ees_theory.reference", "ees_theory.harness", "ees_theory.ledger.claims")
#: The public modules: the package, the ones its docstring and the README name, and their layers
#: that the API reference shows. Each has its own page, ``book/api/<page_name(module)>.md``, but
#: the modules of a ``GENERATED`` package, which their package's page renders.
MODULES = (
    "ees_theory",
    "ees_theory.reference",
    *(f"ees_theory.reference.{m}" for m in ("ees", "edt", "dynatemp", "entropy", "rows", "truncation")),
    "ees_theory.torch",
    "ees_theory.hf",
    "ees_theory.examples",
    "ees_theory.core",
    *(f"ees_theory.core.{m}" for m in ("certify", "ctx", "entropy", "ees", "temperatures", "quadratic", "records")),
    "ees_theory.core.truncation",
    *modules_in_folder("ees_theory.core.truncation"),
    "ees_theory.spec",
    *(f"ees_theory.spec.{m}" for m in ("inputs", "methods", "claims", "formats")),
    "ees_theory.tolerances",
    "ees_theory.families.distributions",
    "ees_theory.families.strategies",
    "ees_theory.ledger.claims",
    *(f"ees_theory.ledger.{m}" for m in ("registry", "search", "ees_claims", "temperature_claims", "truncation_claims",
                                         "minimality", "certificate_check")),
    "ees_theory.harness",
    "ees_theory.errormodel.bands",
    "ees_theory.running.draws",
    "ees_theory.engines",
)
#: Pages named after a module's short public name (``ees_theory.conformance`` is the harness).
PAGE_NAMES = {"ees_theory.torch": "torch", "ees_theory.harness": "conformance", "ees_theory.ledger.claims": "claims",
              "ees_theory.families.distributions": "distributions", "ees_theory.families.strategies": "strategies"}
#: API pages that are prose, not a module's page.
PROSE_PAGES = {"index", "protocol"}


#: Names exempt from the parameter check, each with its reason. Every entry must still lack its
#: section (``test_allowlist_entries_are_still_needed``): document one and the entry goes.
ALLOW: dict[str, str] = {}
#: The package whose sampler modules share one driver protocol, and the drivers: every sampler's
#: ``certify`` and ``kernel`` take the same arguments, described once, in the package docstring.
DRIVER_PACKAGE, DRIVERS = "ees_theory.core.truncation", ("certify", "kernel")

_SECTION = re.compile(r"^Parameters\n-{3,}$", re.M)
_RETURNS = re.compile(r"^(Returns|Yields)\n-{3,}$", re.M)
_API_MODULE = re.compile(r"^\.\. api-module:: (\S+)\n((?:   :\S+:.*\n)*)", re.M)


def page_name(module: str) -> str:
    """``book/api/<page_name>.md``: the dotted path below ``ees_theory`` with ``-`` for dots."""
    return PAGE_NAMES.get(module) or ("ees_theory" if module == "ees_theory" else module.removeprefix("ees_theory.").replace(".", "-"))


def page_modules(text: str) -> list[tuple[str, bool]]:
    """``(module, is_package_page)`` for each module a page renders, in order: each ``api-module``
    directive's, then, with ``:submodules:``, each submodule it renders (``api_names.submodules``)."""
    found = []
    for m in _API_MODULE.finditer(text):
        found.append((m.group(1), ":package:" in m.group(2)))
        if ":submodules:" in m.group(2):
            found += [(sub, False) for sub in api_names.submodules(m.group(1))]
    return found


def page_of(module: str) -> str:
    """The name of the page that renders ``module``: its own, or its ``GENERATED`` package's."""
    package = module.rpartition(".")[0]
    return page_name(package if package in GENERATED else module)


def unrendered(modules, api: Path = API) -> list[str]:
    """The modules that their page (:func:`page_of`) does not render as its first module, or, for a
    module of a ``GENERATED`` package, among the modules it renders (:func:`page_modules`)."""
    missing = []
    for module in modules:
        page = api / f"{page_of(module)}.md"
        found = [m for m, _ in page_modules(page.read_text(encoding="utf-8"))] if page.exists() else []
        own = page.stem == page_name(module)
        if not found or (found[0] != module if own else module not in found):
            missing.append(module)
    return missing


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


def lacks_returns_section(obj) -> bool:
    """A function or method that takes arguments and is annotated to return a value, with no
    numpydoc ``Returns`` (or ``Yields``) section."""
    if inspect.isclass(obj) or not parameters(obj):
        return False
    returned = inspect.signature(obj).return_annotation
    return returned not in (None, "None", inspect.Signature.empty) and not _RETURNS.search(inspect.getdoc(obj) or "")


def is_driver(name: str) -> bool:
    """A sampler module's ``certify`` or ``kernel`` (``DRIVER_PACKAGE.<sampler>.<driver>``)."""
    module, _, attr = name.rpartition(".")
    return attr in DRIVERS and module.rpartition(".")[0] == DRIVER_PACKAGE


def lacks_description(name: str, obj) -> bool:
    """No ``Parameters`` section, or, for a driver, its signature missing from the package docstring
    that describes the drivers' arguments."""
    if is_driver(name) and not _SECTION.search(inspect.getdoc(obj) or ""):
        written = f"{name.rpartition('.')[2]}({', '.join(parameters(obj))})"
        return written not in " ".join((inspect.getdoc(importlib.import_module(DRIVER_PACKAGE)) or "").split())
    return lacks_parameters_section(obj)


def public_methods(cls) -> dict[str, object]:
    """The methods a class page renders: public functions, static and class methods the class itself
    defines (autodoc leaves inherited members out), looked up through the class so that a
    classmethod is bound and an override without a docstring shows its parent's."""
    return {n: getattr(cls, n) for n, v in vars(cls).items()
            if not n.startswith("_") and (isinstance(v, (staticmethod, classmethod)) or inspect.isfunction(v))}


def rendered(api: Path = API) -> dict[str, object]:
    """The functions and classes the API pages in ``api`` render, by full name."""
    found = {}
    for page in sorted(api.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for module, package in page_modules(text):
            if not package:
                mod = importlib.import_module(module)
                found.update({f"{module}.{n}": getattr(mod, n) for n in api_names.public_names(module)})
        for m in re.finditer(r"^\.\. auto(?:function|class):: (\S+)$", text, re.M):
            module, _, attr = m.group(1).rpartition(".")
            found[m.group(1)] = getattr(importlib.import_module(module), attr)
        for m in re.finditer(r"^\.\. automodule:: (\S+)\n((?:   :.*\n)*)", text, re.M):
            name, opts = m.group(1), m.group(2)
            if ":no-members:" in opts:
                continue
            listed = re.search(r":members: (.+)", opts)
            names = [n.strip() for n in listed.group(1).split(",")] if listed else api_names.public_names(name)
            mod = importlib.import_module(name)
            found.update({f"{name}.{n}": getattr(mod, n) for n in names})
    return {k: o for k, o in found.items() if inspect.isfunction(o) or inspect.isclass(o)}


def public_callables(api: Path = API) -> dict[str, object]:
    """Every rendered function and class, the public packages' ``__all__`` and every public method of
    those classes, by full name."""
    found = {}
    if api == API:
        for name in PUBLIC:
            mod = importlib.import_module(name)
            found.update({f"{name}.{n}": getattr(mod, n) for n in mod.__all__})
    found.update(rendered(api))
    found = {k: o for k, o in found.items() if inspect.isfunction(o) or inspect.isclass(o)}
    for name, cls in list(found.items()):
        if inspect.isclass(cls) and not issubclass(cls, enum.Enum):
            found.update({f"{name}.{n}": m for n, m in public_methods(cls).items()})
    return found


def undocumented(api: Path = API) -> list[str]:
    """The rendered callables whose parameters go undescribed, ``ALLOW`` left out."""
    return sorted(n for n, o in public_callables(api).items() if n not in ALLOW and lacks_description(n, o))


# ---- the check itself can fail --------------------------------------------------------------------

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


def test_the_check_flags_a_missing_returns_section():
    def described(x) -> int:
        """Double ``x``.

        Parameters
        ----------
        x : int
            A number.
        """

    def answered(x) -> int:
        """Double ``x``.

        Parameters
        ----------
        x : int
            A number.

        Returns
        -------
        int
            ``2 x``.
        """

    def silent(x) -> None:
        """Record ``x``.

        Parameters
        ----------
        x : int
            A number.
        """

    assert lacks_returns_section(described)
    assert not lacks_returns_section(answered)
    assert not lacks_returns_section(silent)


def test_the_walk_flags_an_undocumented_method_on_a_page(tmp_path, monkeypatch):
    # a module of its own on a page of its own: the walk must reach its class's methods
    (tmp_path / "api_demo_module.py").write_text(textwrap.dedent('''
        """A module made for this check."""

        __all__ = ["Widget"]


        class Widget:
            """No constructor arguments."""

            def scale(self, factor):
                """Scale by ``factor``."""

            @classmethod
            def build(cls, size):
                """A widget of ``size``.

                Parameters
                ----------
                size : int
                    Its size.
                """

            def reset(self):
                """Nothing to describe."""
        '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    pages = tmp_path / "api"
    pages.mkdir()
    (pages / "demo.md").write_text("# demo\n\n```{eval-rst}\n.. api-module:: api_demo_module\n```\n")
    assert sorted(public_callables(pages)) == ["api_demo_module.Widget", "api_demo_module.Widget.build",
                                               "api_demo_module.Widget.reset", "api_demo_module.Widget.scale"]
    assert undocumented(pages) == ["api_demo_module.Widget.scale"]


def test_a_driver_is_described_by_its_package():
    def certify(row, ctx, tau, pol, prm, rule, policy):
        """The kept prefix; the arguments are those of every driver."""

    def kernel(r, prm, unknown):
        """The kept positions."""

    assert not lacks_description(f"{DRIVER_PACKAGE}.top_k.certify", certify)
    assert lacks_description(f"{DRIVER_PACKAGE}.top_k.kernel", kernel)  # not the signature the package describes
    assert lacks_description("ees_theory.somewhere.certify", certify)  # the rule holds for the sampler modules only


def test_the_walk_sees_the_public_names():
    names = public_callables()
    for expected in ("ees_theory.reference.ees", "ees_theory.harness.check", "ees_theory.ledger.claims.run_ledger",
                     "ees_theory.ledger.minimality.search_pair", "ees_theory.errormodel.bands.edt_band",
                     "ees_theory.core.truncation.top_k.width", "ees_theory.core.certify.enclose",
                     "ees_theory.torch.ees_mask", "ees_theory.torch.EESCurve",
                     "ees_theory.families.distributions.Family", "ees_theory.spec.inputs.as_logits",
                     "ees_theory.tolerances.ees_gap_bound",
                     # methods, bound through their class
                     "ees_theory.harness.Case.with_logits", "ees_theory.ledger.registry.GapRow.from_json"):
        assert expected in names


# ---- one page per public module -------------------------------------------------------------------

def test_every_public_module_has_its_page():
    assert unrendered(MODULES) == [], "modules no API page renders (book/api/<page>.md, one api-module directive)"
    for module in MODULES:
        page = API / f"{page_of(module)}.md"
        directives = _API_MODULE.findall(page.read_text(encoding="utf-8"))
        assert len(directives) == 1, f"{page.name} must have one api-module directive, not {len(directives)}"
    assert len(modules_in_folder("ees_theory.core.truncation")) >= 14


def test_a_module_missing_from_the_pages_is_found(tmp_path, monkeypatch):
    pkg = tmp_path / "api_demo_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A package made for this check."""\n')
    for name in ("alpha", "beta", "_private"):
        (pkg / f"{name}.py").write_text(f'"""Module {name}."""\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], "GENERATED", ("api_demo_pkg",))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    modules = ["api_demo_pkg", *modules_in_folder("api_demo_pkg")]
    assert modules == ["api_demo_pkg", "api_demo_pkg.alpha", "api_demo_pkg.beta"]
    pages = tmp_path / "api"
    pages.mkdir()
    page = pages / "api_demo_pkg.md"
    page.write_text("```{eval-rst}\n.. api-module:: api_demo_pkg\n   :package:\n```\n")
    assert unrendered(modules, pages) == ["api_demo_pkg.alpha", "api_demo_pkg.beta"]  # no :submodules:
    page.write_text("```{eval-rst}\n.. api-module:: api_demo_pkg\n   :package:\n   :submodules:\n```\n")
    assert unrendered(modules, pages) == []
    (pkg / "gamma.py").write_text('"""Module gamma, added."""\n')  # a new module: on the page, no page of its own
    assert unrendered([*modules, "api_demo_pkg.gamma"], pages) == []
    assert unrendered(["api_demo_pkg.delta"], pages) == ["api_demo_pkg.delta"]  # not in the folder: not rendered


def test_every_api_page_belongs_to_a_public_module():
    pages = {p.stem for p in API.glob("*.md")}
    assert pages - PROSE_PAGES == {page_of(m) for m in MODULES}


def test_the_table_of_contents_lists_every_api_page():
    listed = set(re.findall(r"file: api/(\S+)", (ROOT / "book" / "_toc.yml").read_text(encoding="utf-8")))
    assert listed == {p.stem for p in API.glob("*.md")}


def test_the_page_rules_examples_hold():
    # book/_ext is outside the suite's doctest paths: its examples run here
    failed, attempted = doctest.testmod(api_names, optionflags=doctest.ELLIPSIS)
    assert attempted and not failed


def _package_pages() -> list[str]:
    pages = {m: API / f"{page_name(m)}.md" for m in MODULES if page_of(m) == page_name(m)}
    return [m for m, p in pages.items() if p.exists() and any(pkg for _, pkg in page_modules(p.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("module", _package_pages())
def test_a_package_table_links_to_rendered_names(module):
    # a package page renders nothing itself; each row of its table must be shown on a public module's page
    text = (API / f"{page_name(module)}.md").read_text(encoding="utf-8")
    written = re.findall(r"^   (ees_theory\S*)$", text, re.M)  # a table given on the page itself
    entries = written or api_names.summary_targets(module)
    assert entries
    for entry in entries:
        owner = entry if entry in MODULES else entry.rpartition(".")[0]
        assert owner in MODULES, f"{module}: the table links {entry}, which no API page renders"
        if owner != entry:
            assert entry.rpartition(".")[2] in api_names.public_names(owner), f"{owner}'s page does not render {entry}"


# ---- every rendered callable describes its parameters --------------------------------------------

def test_allowlist_entries_are_still_needed():
    names = public_callables()
    assert set(ALLOW) <= set(names), f"not rendered (drop from ALLOW): {sorted(set(ALLOW) - set(names))}"
    stale = sorted(n for n in ALLOW if not lacks_parameters_section(names[n]))
    assert not stale, f"documented now (drop from ALLOW): {stale}"


@pytest.mark.parametrize("name", sorted(public_callables()))
def test_public_callable_documents_its_parameters(name):
    if name in ALLOW:
        pytest.skip(ALLOW[name])
    obj = public_callables()[name]
    if is_driver(name):
        assert not lacks_description(name, obj), (
            f"{name}{inspect.signature(obj)}: neither its docstring nor {DRIVER_PACKAGE}'s describes its parameters")
        return
    assert not lacks_parameters_section(obj), (
        f"{name}{inspect.signature(obj)}: the docstring has no numpydoc 'Parameters' section")
    assert not lacks_returns_section(obj), f"{name}{inspect.signature(obj)}: the docstring has no numpydoc 'Returns' section"

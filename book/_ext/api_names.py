"""Which names the API page of a module shows, decided in one place.

The book's ``api-module`` directive (:mod:`ees_book`) renders a module's page from these rules and
``tests/test_api_docs.py`` checks the same names, so the page and its check never disagree. Plain
Python (no Sphinx), so the test suite can import it.

* A module's **public names** are its ``__all__`` when it has one, else the functions and classes
  defined in it and its data; never a submodule, never a name starting with ``_``, and a data name
  only where this module documents it with a ``#:`` comment (autodoc shows no other data).
* A **package page** renders no member itself: its table links each public name to the page of the
  module that defines it (``summary_targets``), or, for a package without ``__all__``, lists its
  public submodules.
* A package page with ``:submodules:`` also renders each of its public submodules (``submodules``,
  found in the package's folder), one after the other: a module added there needs no page of its own.

>>> public_names("ees_theory.reference.edt")
['edt_temperature']
>>> summary_targets("ees_theory.core")[:2]
['ees_theory.core.certify', 'ees_theory.core.ctx']
>>> rendered_at("ees_theory.reference", "ees")
'ees_theory.reference.ees.ees'
>>> submodules("ees_theory.core.truncation")[:2]
['ees_theory.core.truncation.epsilon', 'ees_theory.core.truncation.eta']
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import sys
from types import ModuleType

# ``#: text`` on the lines right above ``NAME = ...`` or ``NAME: type = ...``: autodoc's doc comment
_DOC_COMMENT = re.compile(r"^#:.*\n(?:#:.*\n)*([A-Za-z]\w*)\s*[:=]", re.M)


def _module(name: str) -> ModuleType:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a module name must be a non-empty str, got {name!r}")
    return importlib.import_module(name)


def documented_data(name: str) -> set[str]:
    """The module-level names of module ``name`` that carry a ``#:`` doc comment.

    Parameters
    ----------
    name : str
        A dotted module name, importable.

    Returns
    -------
    set of str
        The documented names, in no order.

    >>> sorted(documented_data("ees_theory.families.distributions"))[:1]
    ['FAMILY_NAMES']
    """
    try:
        source = inspect.getsource(_module(name))
    except (OSError, TypeError):  # a module without source text has no comments to read
        return set()
    return set(_DOC_COMMENT.findall(source))


def public_names(name: str) -> list[str]:
    """The public names of module ``name``, in the order the page shows them.

    Parameters
    ----------
    name : str
        A dotted module name, importable.

    Returns
    -------
    list of str
        ``__all__`` (its order) when the module has one, else the functions and classes defined in
        the module and its data (source order); submodules, ``_`` names and data without a ``#:``
        comment in this module left out.
    """
    mod = _module(name)
    data = documented_data(name)
    if hasattr(mod, "__all__"):
        names = list(mod.__all__)
    else:
        names = [n for n, o in vars(mod).items() if n in data or _is_code(o) and o.__module__ == name]
    # autodoc shows a data name only where it is documented in this very module's source
    return [n for n in names if not n.startswith("_") and not isinstance(getattr(mod, n), ModuleType)
            and (_is_code(getattr(mod, n)) or n in data)]


def _is_code(obj) -> bool:
    return inspect.isfunction(obj) or inspect.isclass(obj)


def rendered_at(package: str, name: str) -> str:
    """The full name under which the pages render ``package.name``, a name ``package`` re-exports.

    The module that defines the object when that module lists it among its public names, else the
    module nearest to ``package`` (in dotted names) that lists the very same object.

    Parameters
    ----------
    package : str
        The re-exporting module (a package page), importable.
    name : str
        One of its public names.

    Returns
    -------
    str
        ``module.name`` of the rendering module.

    Raises
    ------
    ValueError
        If no other loaded module of the package lists the object among its public names.
    """
    mod = _module(package)
    obj = getattr(mod, name)
    home = getattr(obj, "__module__", None)
    if isinstance(home, str) and home != package and home in sys.modules and name in public_names(home):
        return f"{home}.{name}"
    root = package.split(".")[0]

    def shared_prefix(other: str) -> int:  # how many leading dotted parts ``other`` shares with the package
        return len(os.path.commonprefix([other.split("."), package.split(".")]))

    candidates = [m for m in sorted(sys.modules) if m.startswith(root + ".") and m != package
                  and getattr(sys.modules[m], "__all__", None) is not getattr(mod, "__all__", None)
                  and getattr(sys.modules[m], name, None) is obj and name in public_names(m)]
    if not candidates:
        raise ValueError(f"{package}.{name}: no other module of {root} lists it, so no page renders it")
    return f"{max(candidates, key=shared_prefix)}.{name}"


def submodules(package: str) -> list[str]:
    """The public submodules of ``package`` (no ``_`` name), as its folder holds them, in name order.

    Parameters
    ----------
    package : str
        A dotted package name, importable.

    Returns
    -------
    list of str
        Full dotted names of its submodules.

    Raises
    ------
    ValueError
        ``package`` is a module, not a package.
    """
    mod = _module(package)
    if not hasattr(mod, "__path__"):
        raise ValueError(f"{package} is a module, not a package: it has no submodules")
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(mod.__path__) if not m.name.startswith("_"))


def summary_targets(package: str) -> list[str]:
    """The entries of a package page's table: where each public name is rendered, or, for a package
    without public names, its public submodules.

    Parameters
    ----------
    package : str
        A dotted module name, importable.

    Returns
    -------
    list of str
        Full dotted names, one per table row.
    """
    mod = _module(package)
    names = public_names(package)
    if names:
        return [rendered_at(package, n) for n in names]
    if not hasattr(mod, "__path__"):
        raise ValueError(f"{package} has no public names and no submodules: its page would be empty")
    return submodules(package)

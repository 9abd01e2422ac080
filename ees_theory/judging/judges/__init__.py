"""The table of judges: one entry per truncation sampler of :data:`ees_theory.core.truncation.registry.SAMPLERS`,
looked up by name.

An entry (a :class:`~.base.SamplerJudge`) holds everything the harness does differently for its
sampler: the edges of its parameter band (:meth:`~.base.SamplerJudge.band`) or its own admissible
counts, which tokens it may keep, the misreadings it can diagnose and, for mirostat, the check of
the returned state. The judgement itself (:class:`ees_theory.judging.truncation.Truncation`) is
the same for every sampler.

A sampler's module declares its judge (``Judge``, a plain class, or one per sampler in the
module's ``JUDGES``; see :mod:`ees_theory.core.truncation`): :func:`assemble` builds the working
judge on :class:`~.base.SamplerJudge` (or :class:`~.base.MassJudge`, ``base = "mass"``), and
:func:`discover_judges` does so for every registered sampler, so a new sampler adds no file here.
(A judge class written in a module of this package, a ``SamplerJudge`` subclass that names its
sampler, is taken too.)

>>> sorted(JUDGES) == sorted(SAMPLERS)
True
>>> {name: (j.threshold, sorted(j.misreadings)) for name, j in JUDGES.items() if name in ("min-p", "top-a")}
{'min-p': (True, ['min-keep-ignored', 'non-strict', 'temperature-ignored']), 'top-a': (True, ['linear-threshold', 'min-keep-ignored', 'non-strict', 'temperature-ignored'])}
>>> get_judge("min-p").explain("non-strict", get_judge("min-p").truncate([0.0, 0.0], {"temperature": 1.0, "min_p": 1.0}, "paper"), {0})[:24]
"'>' used instead of '>='"
>>> get_judge("top-z")
Traceback (most recent call last):
...
ValueError: no judge for sampler 'top-z'; expected one of epsilon, eta, min-p, ...
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Mapping

from ...core.records import replace_generated
from ...core.truncation.registry import SAMPLERS, rules
from .base import MassJudge, RowStats, SamplerJudge, port_params

__all__ = ["JUDGES", "get_judge", "discover_judges", "declared_judges", "assemble", "BASES", "SamplerJudge", "RowStats", "port_params",
           "MISREADINGS_BEGIN", "MISREADINGS_END", "misreading_table", "with_misreading_table"]

#: what a declaration's ``base`` names: the judge it is assembled on (``"sampler"`` by default)
BASES: Mapping[str, type] = {"sampler": SamplerJudge, "mass": MassJudge}


def _table(*judges: SamplerJudge) -> dict[str, SamplerJudge]:
    table: dict[str, SamplerJudge] = {}
    for j in judges:
        if j.name in table:
            raise ValueError(f"two judges for sampler {j.name!r}")
        table[j.name] = j
    return table


def assemble(name: str, declaration: type) -> SamplerJudge:
    """The judge of sampler ``name`` from its module's declaration: a class named after the sampler
    (``top-k``: ``TopK``) whose methods and attributes are the declaration's over those of the base
    the declaration names (:data:`BASES`).

    Parameters
    ----------
    name : str
        The sampler's name.
    declaration : type
        A plain class (no judge base of its own) stating what differs for the sampler.

    Returns
    -------
    SamplerJudge
        The judge, an instance of the assembled class.

    Raises
    ------
    TypeError
        ``declaration`` is not a class, or is a judge already.
    ValueError
        Its ``base`` is not a key of :data:`BASES`.

    Examples
    --------
    >>> class Judge:
    ...     threshold = True
    ...     misreadings = {"far-off": "the threshold is far off"}
    >>> j = assemble("top-q", Judge)
    >>> type(j).__name__, j.name, j.threshold, sorted(j.misreadings)
    ('TopQ', 'top-q', True, ['far-off', 'min-keep-ignored', 'temperature-ignored'])
    >>> assemble("top-q", type("Judge", (), {"base": "quadratic"}))
    Traceback (most recent call last):
    ...
    ValueError: top-q's judge names base 'quadratic'; expected one of sampler, mass
    """
    if not isinstance(declaration, type) or issubclass(declaration, SamplerJudge):
        raise TypeError(f"{name}'s judge must be declared as a plain class, got {declaration!r}")
    base = getattr(declaration, "base", "sampler")
    if base not in BASES:
        raise ValueError(f"{name}'s judge names base {base!r}; expected one of {', '.join(BASES)}")
    cls_name = "".join(part.capitalize() for part in name.split("-"))
    cls = type(cls_name, (declaration, BASES[base]), {"name": name, "declaration": declaration, "__module__": __name__,
                                                      "__qualname__": cls_name, "__doc__": declaration.__doc__})
    return cls()


def declared_judges() -> dict[str, type]:
    """``{sampler: declaration}`` for every registered sampler whose module declares its judge: the
    module's ``JUDGES[name]``, else its ``Judge``.

    Returns
    -------
    dict
        The declarations, in the order of the records.

    Examples
    --------
    >>> {name: d.__module__.rsplit(".", 1)[1] + "." + d.__name__ for name, d in declared_judges().items() if "less" in name}
    {'p-less': 'p_less.Judge', 'p-less-norm': 'p_less.NormJudge'}
    """
    found = {}
    for name, r in rules().items():
        declaration = getattr(r.module, "JUDGES", {}).get(name) or getattr(r.module, "Judge", None)
        if declaration is not None:
            found[name] = declaration
    return found


def discover_judges(package: str = __name__, skip: frozenset[str] = frozenset({"base"}),
                    declarations: Mapping[str, type] | None = None) -> dict[str, SamplerJudge]:
    """Every judge: those the samplers' modules declare (``declarations``, by default
    :func:`declared_judges`), assembled (:func:`assemble`), and one for each class of the modules
    of ``package`` (but ``skip``) that names its sampler: a :class:`~.base.SamplerJudge` subclass
    defined there with a ``name`` of its own (a shared base such as mirostat's has none). In the
    order of the records (:data:`~ees_theory.core.truncation.registry.SAMPLERS`; a name without a
    record last), whatever the file names.

    Parameters
    ----------
    package : str
        The package whose modules may define judge classes (default this one).
    skip : frozenset of str
        Its modules that define none (default ``{"base"}``).
    declarations : mapping, optional
        ``{sampler: declaration}`` to assemble (default :func:`declared_judges`).

    Returns
    -------
    dict
        ``{sampler: judge}``.

    Raises
    ------
    ValueError
        Two judges for one sampler.

    Examples
    --------
    >>> [type(j).__name__ for j in discover_judges().values()][:4]
    ['TopK', 'TopP', 'MinP', 'Typical']
    """
    found = [assemble(name, d) for name, d in (declared_judges() if declarations is None else declarations).items()]
    for info in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda i: i.name):
        if info.name in skip:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        found += [cls() for cls in vars(module).values()
                  if isinstance(cls, type) and issubclass(cls, SamplerJudge) and cls.__module__ == module.__name__ and cls.__dict__.get("name")]
    order = {name: i for i, name in enumerate(SAMPLERS)}
    return _table(*sorted(found, key=lambda j: (order.get(j.name, len(order)), j.name)))


#: sampler name -> its judge, in the specification's order
JUDGES: dict[str, SamplerJudge] = discover_judges()


def get_judge(name: str) -> SamplerJudge:
    """The judge of sampler ``name``."""
    try:
        return JUDGES[name]
    except KeyError:
        raise ValueError(f"no judge for sampler {name!r}; expected one of {', '.join(sorted(JUDGES))}") from None


# ---- the protocol's table of misreadings (ees_theory/harness/PROTOCOL.md) ------------------------
MISREADINGS_BEGIN = "<!-- misreadings table: generated from the judges' declarations by misreading_table(); edit the declarations -->"
MISREADINGS_END = "<!-- end of the misreadings table -->"


def misreading_table() -> str:
    """The protocol's table of the truncation samplers' misreadings, from the judges themselves:
    one row per fault class, with the samplers whose judge can name it (in the registry's order),
    between the marker lines. The explanations (formulas in plain text) stay in the judges'
    ``misreadings`` and in every failure message that names the fault.

    Returns
    -------
    str
        Markdown: ``MISREADINGS_BEGIN``, the table, ``MISREADINGS_END``.

    Examples
    --------
    >>> rows = misreading_table().splitlines()
    >>> rows[0] == MISREADINGS_BEGIN and rows[-1] == MISREADINGS_END
    True
    >>> next(r for r in rows if r.startswith("| `linear-threshold`"))
    '| `linear-threshold` | top-a |'
    """
    rows: dict[str, list[str]] = {}
    for name, judge in JUDGES.items():
        for fault in judge.misreadings:
            rows.setdefault(fault, []).append(name)
    lines = [MISREADINGS_BEGIN, "| fault | samplers whose judge names it |", "|---|---|"]
    for fault, names in sorted(rows.items()):
        lines.append(f"| `{fault}` | {'every sampler' if len(names) == len(JUDGES) else ', '.join(names)} |")
    return "\n".join(lines + [MISREADINGS_END])


def with_misreading_table(text: str) -> str:
    r"""``text`` (the protocol) with its generated misreadings table replaced by :func:`misreading_table`.

    Parameters
    ----------
    text : str
        Text holding the marker lines ``MISREADINGS_BEGIN`` and ``MISREADINGS_END``, in that order.

    Returns
    -------
    str
        ``text`` with everything from the first marker to the second replaced.

    Raises
    ------
    ValueError
        A marker line missing, or the two out of order.

    Examples
    --------
    >>> with_misreading_table("no table")
    Traceback (most recent call last):
    ...
    ValueError: the text has no generated misreadings table (its marker lines are missing)
    """
    return replace_generated(text, MISREADINGS_BEGIN, MISREADINGS_END, misreading_table(), "misreadings table")

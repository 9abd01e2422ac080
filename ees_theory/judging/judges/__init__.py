"""The table of judges: one entry per truncation sampler of :data:`ees_theory.core.truncation.registry.SAMPLERS`,
looked up by name.

An entry (a :class:`~.base.SamplerJudge`) holds everything the harness does differently for its
sampler: the edges of its parameter band (:meth:`~.base.SamplerJudge.band`) or its own admissible
counts, which tokens it may keep, the misreadings it can diagnose and, for mirostat, the check of
the returned state. The judgement itself (:class:`ees_theory.judging.truncation.Truncation`) is
the same for every sampler. A new sampler is one more judge class in its own module of this
package: :func:`discover_judges` finds every class that names its sampler, and no list here changes.

>>> sorted(JUDGES) == sorted(SAMPLERS)
True
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

from ...core.truncation.registry import SAMPLERS
from .base import RowStats, SamplerJudge, port_params

__all__ = ["JUDGES", "get_judge", "discover_judges", "SamplerJudge", "RowStats", "port_params"]


def _table(*judges: SamplerJudge) -> dict[str, SamplerJudge]:
    table: dict[str, SamplerJudge] = {}
    for j in judges:
        if j.name in table:
            raise ValueError(f"two judges for sampler {j.name!r}")
        table[j.name] = j
    return table


def discover_judges(package: str = __name__, skip: frozenset[str] = frozenset({"base"})) -> dict[str, SamplerJudge]:
    """One judge for each class of the modules of ``package`` (but ``skip``) that names its sampler:
    a :class:`~.base.SamplerJudge` subclass defined there with a ``name`` of its own (a shared base
    such as mirostat's has none). In the order of the records
    (:data:`~ees_theory.core.truncation.registry.SAMPLERS`; a name without a record last), whatever the file names.

    >>> [type(j).__name__ for j in discover_judges().values()][:4]
    ['TopK', 'TopP', 'MinP', 'Typical']
    """
    found = []
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

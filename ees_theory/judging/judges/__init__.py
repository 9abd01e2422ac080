"""The table of judges: one entry per truncation sampler of :data:`ees_theory.spec.methods.SAMPLERS`,
looked up by name.

An entry (a :class:`~.base.SamplerJudge`) holds everything the harness does differently for its
sampler: the edges of its parameter band (:meth:`~.base.SamplerJudge.band`) or its own admissible
counts, which tokens it may keep, the misreadings it can diagnose and, for mirostat, the check of
the returned state. The judgement itself (:class:`ees_theory.judging.truncation.Truncation`) is
the same for every sampler. A new sampler is one more entry here, in its own module.

>>> sorted(JUDGES) == sorted(SAMPLERS)
True
>>> get_judge("min-p").explain("non-strict", get_judge("min-p").truncate([0.0, 0.0], {"temperature": 1.0, "min_p": 1.0}, "paper"), {0})[:24]
"'>' used instead of '>='"
>>> get_judge("top-z")
Traceback (most recent call last):
...
ValueError: no judge for sampler 'top-z'; expected one of epsilon, eta, min-p, mirostat-v1, mirostat-v2, p-less, p-less-norm, tfs, top-a, top-k, top-n-sigma, top-p, typical, xtc
"""

from __future__ import annotations

from ...spec.methods import SAMPLERS
from .base import RowStats, SamplerJudge, port_params
from .epsilon import Epsilon, Eta
from .min_p import MinP
from .mirostat import MirostatV1, MirostatV2
from .p_less import PLess, PLessNorm
from .top_k import TopK
from .top_n_sigma import TopNSigma
from .top_p import TopP
from .typical import Typical
from .tfs import Tfs
from .top_a import TopA
from .xtc import Xtc

__all__ = ["JUDGES", "get_judge", "SamplerJudge", "RowStats", "port_params"]


def _table(*judges: SamplerJudge) -> dict[str, SamplerJudge]:
    table: dict[str, SamplerJudge] = {}
    for j in judges:
        if j.name in table:
            raise ValueError(f"two judges for sampler {j.name!r}")
        table[j.name] = j
    return table


#: sampler name -> its judge, in the specification's order
JUDGES: dict[str, SamplerJudge] = _table(
    TopK(), TopP(), MinP(), Typical(), Epsilon(), Eta(), PLess(), PLessNorm(), TopNSigma(), MirostatV1(), MirostatV2(), Xtc(), TopA(), Tfs()
)


def get_judge(name: str) -> SamplerJudge:
    """The judge of sampler ``name``."""
    try:
        return JUDGES[name]
    except KeyError:
        raise ValueError(f"no judge for sampler {name!r}; expected one of {', '.join(sorted(JUDGES))}") from None

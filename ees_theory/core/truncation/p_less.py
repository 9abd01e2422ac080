"""p-less sampling (arXiv 2509.23234): keep ``p_i >= threshold``.

* ``p-less``: ``threshold = sum p^2``;
* ``p-less-norm``: ``threshold = (V sum p^2 - 1) / (V - 1)``, ``V`` the row length with masked
  entries included (``V = 1``: the plain ``sum p^2``).

>>> threshold(0.5, 2, norm=False), threshold(0.5, 2, norm=True)   # two equal tokens
(0.5, 0.0)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from ...spec.methods import MethodSpec
from .faults import NON_STRICT, THRESHOLD_STRICTNESS
from .policy import Policy


POLICIES = {"paper": Policy(min_keep="none")}

__all__ = ["threshold", "threshold_scale", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"p-less": {"norm": False}, "p-less-norm": {"norm": True}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 70

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "p-less": MethodSpec("p-less", {}, ("paper",), "p_i >= sum p^2"),
    "p-less-norm": MethodSpec("p-less-norm", {}, ("paper",), "p_i >= (V sum p^2 - 1)/(V - 1)"),
}


def threshold(s2: Any, V: int, norm: bool) -> Any:
    """The threshold from ``s2 = sum p^2`` (any number type, or a tensor).

    Parameters
    ----------
    s2 : number, interval or tensor
        ``sum p^2`` over the row.
    V : int
        The row length, masked entries included, ``>= 1``.
    norm : bool
        ``True`` for p-less-norm, ``False`` for p-less.

    Returns
    -------
    number, interval or tensor
        ``(V s2 - 1) / (V - 1)`` for p-less-norm with ``V > 1``, else ``s2``.
    """
    return (V * s2 - 1) / (V - 1) if norm and V > 1 else s2


def threshold_scale(V: int, norm: bool) -> float:
    """``d threshold / d s2`` (1, or ``V / (V - 1)`` for p-less-norm): how an error in ``sum p^2``
    reaches the threshold.

    Parameters
    ----------
    V : int
        The row length, masked entries included, ``>= 1``.
    norm : bool
        ``True`` for p-less-norm, ``False`` for p-less.

    Returns
    -------
    float
        ``V / (V - 1)`` for p-less-norm with ``V > 1``, else 1.
    """
    return V / (V - 1) if norm and V > 1 else 1.0


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    n, V = row.n, row.size
    norm = rule.variant["norm"]
    if n == 1:
        return 1, []
    p = ctx.est_p
    s2 = float(np.sum(p * p))
    thr = threshold(s2, V, norm)

    def gap(i, prec):
        S, S2 = ctx.S(prec), ctx.S2(prec)
        return ctx.e(i, prec) / S - threshold(S2 / (S * S), V, norm)

    def form(i):
        if not norm:  # e_i S - sum e^2
            return [(Fraction(1), (i, j)) for j in range(n)] + [(Fraction(-1), (j, j)) for j in range(n)]
        # (V-1) e_i S - V sum e^2 + S^2
        out = [(Fraction(V - 1), (i, j)) for j in range(n)] + [(Fraction(-V), (j, j)) for j in range(n)]
        return out + [(Fraction(1), (j, l)) for j in range(n) for l in range(n)]

    def decide(i):
        return ctx.decide("p_i - threshold", i, lambda prec: gap(i, prec), lambda: form(i))

    k, checks = ctx.prefix_cut(p - thr, pol.strict, decide)
    return max(k, 1), checks


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    s2 = r.total(r.sp * r.sp)
    thr = threshold(s2, r.V, rule.variant["norm"])
    return r.floor(pol.holds(r.sp, thr), 1)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What p-less's judge states (``ees_theory.judging.judges`` assembles it): ``p_i >= sum p^2``;
    no parameter, so the admissible counts are the flips of its deciding comparisons.

    >>> Judge.rational, Judge.norm, sorted(Judge.misreadings)
    (True, False, ['non-strict'])
    """

    rational = True
    threshold = True
    misreadings = NON_STRICT
    strictness = THRESHOLD_STRICTNESS
    #: the threshold is the normalised one (p-less-norm)
    norm = False

    def admissible(self, st, row, params, ref, b, options):
        """Every count whose kept tokens have ``p_i - threshold >= -bound`` and whose dropped ones
        ``<= bound`` (exact gaps from the 30-digit probabilities), on exact-tie blocks."""
        if st.dyadic() or st.n <= 1:
            return {ref.k}, []
        if not math.isfinite(b["prob"]):
            return None, []
        with mpmath.workdps(30):
            p = self.softmax(row, st.tau)
            p = [p[int(i)] for i in st.order]
            s2 = mpmath.fsum(x * x for x in p)
            V = st.size
            thr = threshold(s2, V, self.norm)
            gaps = np.array([float(x - thr) for x in p])
        scale = float(s2) * threshold_scale(V, self.norm)
        bound = (3 * b["prob"] + b["sum"] + 4 * self.unit_roundoff(st, options)) * 1.01 * scale + b["underflow"]
        counts = {ref.k}
        for c in st.blocks():
            c = int(c)
            if np.all(gaps[:c] >= -bound) and np.all(gaps[c:] <= bound):
                counts.add(max(c, 1))
        return counts, []


class NormJudge(Judge):
    """What p-less-norm's judge states: p-less's, on the normalised threshold ``(V sum p^2 - 1) / (V - 1)``.

    >>> NormJudge.norm, sorted(NormJudge.misreadings)
    (True, ['non-strict', 'v-finite-only'])
    """

    norm = True
    misreadings = {**Judge.misreadings, "v-finite-only": "V counts only the finite entries; p-less-norm's V is the row length, masked entries included"}

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if st.n < st.size:
            finite = np.asarray(row, dtype=np.float64)[np.isfinite(row)]
            alt = self.truncate_as("p-less-norm", finite, st.tau)
            ids = np.flatnonzero(np.isfinite(row))
            if {int(ids[i]) for i in alt.kept} == kept:
                return ["v-finite-only"]
        return []


#: the judge declaration of each of its samplers (read in place of a single ``Judge``)
JUDGES = {"p-less": Judge, "p-less-norm": NormJudge}

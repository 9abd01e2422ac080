"""p-less sampling (arXiv 2509.23234): keep ``p_i >= threshold``.

* ``p-less``: ``threshold = sum p^2``;
* ``p-less-norm``: ``threshold = (V sum p^2 - 1) / (V - 1)``, ``V`` the row length with masked
  entries included (``V = 1``: the plain ``sum p^2``).

>>> threshold(0.5, 2, norm=False), threshold(0.5, 2, norm=True)   # two equal tokens
(0.5, 0.0)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...spec.methods import MethodSpec
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

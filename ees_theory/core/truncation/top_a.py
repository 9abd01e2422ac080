"""Top-a sampling (BlinkDL; text-generation-webui, KoboldCpp): keep ``p_i >= a * p_max^2``.

The threshold is quadratic in ``p_max``: a peaked row is cut hard, a flat one hardly at all.
With ``e_i = p_i / p_max`` and ``S = sum e`` the test is ``e_i S >= a`` (both sides times
``S / p_max``), a form the certified reference decides exactly.

>>> threshold(0.5, 0.5)
0.125
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, unit
from .faults import NON_STRICT, THRESHOLD_STRICTNESS
from .policy import Policy


POLICIES = {"paper": Policy(noop=lambda prm: prm["a"] <= 0, noop_text="a <= 0", off={"a": 0.0})}

__all__ = ["threshold", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-a": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 110

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "top-a": MethodSpec(
        "top-a",
        {"a": Param(REQUIRED, unit("a", False, False), (0.05, 0.1, 0.2, 0.5, 1.0), plain=0.2, help="factor of p_max^2"), **MIN_KEEP_PARAM},
        ("paper",),
        "p_i >= a * p_max^2",
    ),
}


def threshold(a: Any, p_max: Any) -> Any:
    """``a * p_max^2`` (any number type, intervals, tensors).

    Parameters
    ----------
    a : number
        top-a's ``a``, ``>= 0``.
    p_max : number, interval, array or tensor
        The largest probability of the row.

    Returns
    -------
    number, interval, array or tensor
        ``a * p_max**2``.
    """
    return a * p_max * p_max


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    a = prm["a"]
    if pol.noop(prm):
        return row.n, []
    af = Fraction(a)
    est = ctx.est_p - threshold(a, ctx.est_p[0])

    def decide(i):  # p_i - a p_max^2, times S^2 (e_0 = 1): e_i S - a
        return ctx.decide(
            "p_i - a p_max^2",
            i,
            lambda prec: ctx.p(i, prec) - threshold(ctx.iv.mpf(a), ctx.p(0, prec)),
            lambda: [(Fraction(1), (i, j)) for j in range(ctx.n)] + [(-af, (0, 0))],
        )

    k, checks = ctx.prefix_cut(est, pol.strict, decide)
    return ctx.floor(k, prm["min_tokens_to_keep"], ties=pol.min_keep == "floor-ties"), checks


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    keep = r.all() if noop else pol.holds(r.sp, threshold(prm["a"], r.sp[..., :1]))
    return r.at_least(keep, pol)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What top-a's judge states (``ees_theory.judging.judges`` assembles it): ``p_i >= a * p_max^2``;
    the band is ``a`` times the relative error of ``p_i / p_max^2``.

    >>> Judge.rational, Judge.threshold, sorted(Judge.misreadings)
    (True, True, ['linear-threshold', 'non-strict'])
    """

    rational = True
    threshold = True
    misreadings = {**NON_STRICT, "linear-threshold": "threshold a * p_max (min-p's) used instead of a * p_max^2"}
    strictness = THRESHOLD_STRICTNESS

    def band(self, st, row, params, ref, b, options):
        a = params["a"]
        if a <= 0:
            return []
        r = b["prob"]
        if r >= 0.25:
            return None
        u = self.unit_roundoff(st, options)
        x = st.values / st.tau
        p_max = 1.0 / float(np.sum(np.exp(x - x[0])))
        # p_i / p_max^2 is off by at most a factor ((1 + r) / (1 - r))^3 (and a rounding of the product)
        f = ((1 + r) / (1 - r)) ** 3 * (1 + 4 * u)
        under = b["underflow"] / (p_max * p_max)  # an underflowed p_i moves by the absolute floor
        return [{"a": max(a / f - under, 0.0)}, {"a": min(a * f + under, 1.0)}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        m = int(params.get("min_tokens_to_keep", 1))
        lin = self.truncate_as("min-p", row, st.tau, "paper", min_p=params["a"], min_tokens_to_keep=m)
        return ["linear-threshold"] if set(int(i) for i in lin.kept) == kept != set(int(i) for i in ref.kept) else []

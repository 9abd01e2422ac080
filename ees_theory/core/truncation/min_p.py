"""Min-p: keep ``p_i >= min_p * p_max``, i.e. ``e_i = p_i / p_max >= min_p``.

The comparison has three equal forms (:func:`sides`): on the ratio ``e_i``, on the probabilities
(``p_i`` against ``min_p * p_max``) and in the log domain (``ln e_i = z_i/tau - z_max/tau``
against ``ln min_p``, the form the reference and the kernels decide by default). ``min_p <= 0``
keeps every candidate under every policy; the policies differ only in the domain
(its record, ``RECORDS``).

>>> from ees_theory.core.ctx import FLOAT
>>> pol = POLICIES["paper"]
>>> pol.holds(*sides(0.3, 0.3)), bool(pol.holds(*log_sides(-1.0, 0.3, FLOAT))), pol.holds(*prob_sides(0.1, 0.5, 0.3))
(True, True, False)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, real, unit
from ..ctx import Context
from .faults import NON_STRICT, THRESHOLD_STRICTNESS
from .policy import Policy


__all__ = ["sides", "gap", "log_sides", "prob_sides", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"min-p": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 30

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "min-p": MethodSpec(
        "min-p",
        {
            "min_p": Param(REQUIRED, {"paper": unit("min_p", False, False), "transformers": unit("min_p", False, False), "llama.cpp": real("min_p")},
                           (0.01, 0.05, 0.1, 0.2, 0.5), help="fraction of p_max"),
            **MIN_KEEP_PARAM,
        },
        ("paper", "transformers", "llama.cpp"),
        "p_i >= min_p * p_max",
    ),
}

_P = Policy(noop=lambda prm: prm["min_p"] <= 0, noop_text="min_p <= 0", off={"min_p": 0.0})
POLICIES = {"paper": _P, "transformers": _P, "llama.cpp": _P}


def sides(e: Any, min_p: Any) -> tuple[Any, Any]:
    """``e_i = p_i / p_max`` against ``min_p``.

    Parameters
    ----------
    e : number, interval, array or tensor
        The relative weight ``e_i = p_i / p_max``.
    min_p : number
        The fraction of the largest probability, in ``[0, 1]``.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (e_i, min_p)``.
    """
    return e, min_p


def gap(e: Any, min_p: Any) -> Any:
    """``e_i - min_p``: kept when it is >= 0.

    Parameters
    ----------
    e : number, interval, array or tensor
        The relative weight ``e_i = p_i / p_max``, in ``[0, 1]``.
    min_p : number
        The fraction of the largest probability a token must reach, in ``[0, 1]``.

    Returns
    -------
    number, interval, array or tensor
        ``e_i - min_p``.
    """
    lhs, rhs = sides(e, min_p)
    return lhs - rhs


def log_sides(log_e: Any, min_p: Any, ctx: Context) -> tuple[Any, Any]:
    """``ln e_i`` (``ln p_i - ln p_max``, or the scaled logits' difference) against ``ln min_p``.

    Parameters
    ----------
    log_e : number, interval, array or tensor
        ``ln e_i = ln p_i - ln p_max``, ``<= 0``.
    min_p : number
        The fraction of the largest probability, in ``(0, 1]``.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    tuple
        ``(lhs, rhs) = (ln e_i, ln min_p)``.
    """
    return log_e, ctx.log(min_p)


def prob_sides(p: Any, p_max: Any, min_p: Any) -> tuple[Any, Any]:
    """``p_i`` against ``min_p * p_max``.

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    p_max : number, interval, array or tensor
        The largest probability of the row.
    min_p : number
        The fraction of the largest probability, in ``[0, 1]``.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (p_i, min_p * p_max)``.
    """
    return p, min_p * p_max


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    mp = prm["min_p"]
    m = prm["min_tokens_to_keep"]
    if pol.noop(prm):
        return row.n, []
    mf = Fraction(mp)
    est = gap(ctx.est_e, mp)

    def decide(i):  # e_i = p_i / p_max  vs  min_p
        return ctx.decide("p_i/p_max - min_p", i, lambda prec: gap(ctx.e(i, prec), ctx.iv.mpf(mp)), lambda: [(Fraction(1), (i,)), (-mf, (0,))])

    k, checks = ctx.prefix_cut(est, pol.strict, decide)
    return ctx.floor(k, m, ties=pol.min_keep == "floor-ties"), checks


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    mp = prm["min_p"]
    if noop:
        keep = r.all()
    elif r.numerics.threshold == "probs":
        keep = pol.holds(*prob_sides(r.sp, r.sp[..., :1], mp))
    elif r.numerics.threshold == "log_probs":
        lsp = r.log_softmax(r.sx)
        keep = pol.holds(*log_sides(lsp - lsp[..., :1], mp, r.T))
    else:
        keep = pol.holds(*log_sides(r.sx - r.sx[..., :1], mp, r.T))
    return r.at_least(keep, pol)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What min-p's judge states (``ees_theory.judging.judges`` assembles it): ``p_i >= min_p * p_max``;
    the band is ``min_p e^(+-d)`` with ``d`` the logit bound.

    >>> Judge.threshold, sorted(Judge.misreadings)
    (True, ['non-strict'])
    """

    rational = True
    threshold = True
    misreadings = NON_STRICT
    strictness = THRESHOLD_STRICTNESS

    def band(self, st, row, params, ref, b, options):
        u = self.unit_roundoff(st, options)
        mp = params["min_p"]
        if mp <= 0:
            return []
        d = max(b["logit"] + 4 * u * abs(math.log(mp)) + u, 2 * b["prob"])
        if d > 700:  # the band spans every threshold a float can hold: no claim on this row
            return None
        lo, hi = mp * math.exp(-d), mp * math.exp(d)
        if mp <= 1.0:
            hi = min(hi, 1.0)
        return [{"min_p": lo}, {"min_p": hi}]

"""Eta sampling (Hewitt et al. 2022): keep ``p_i > eta`` (``>=`` under transformers) with

    ``eta = min(epsilon, sqrt(epsilon) exp(-H))``,  ``H`` the entropy in nats.

The comparison with the second term is ``ln p_i + H - ln(epsilon)/2`` against 0 in the log domain
(:func:`log_margin`): the certified reference decides it there.

>>> from ees_theory.core.ctx import FLOAT
>>> float(threshold(0.25, 0.0, FLOAT)), round(float(threshold(0.25, 1.0, FLOAT)), 6)
(0.25, 0.18394)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...spec.methods import MIN_KEEP_PARAM, MethodSpec
from ..ctx import Context
from ..ctx import FLOAT, IV
from ..entropy import entropy_of_probs
from .epsilon import EPSILON_PARAM, certify_above, keep_above, sides
from .epsilon import Judge as EpsilonJudge
from .epsilon import POLICIES as _EPSILON_POLICIES
from .faults import LN2, NON_STRICT


#: eta's comparison is epsilon's against another threshold, under the same policies
POLICIES = _EPSILON_POLICIES

__all__ = ["threshold", "log_margin", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"eta": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 60

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "eta": MethodSpec("eta", {"epsilon": EPSILON_PARAM, **MIN_KEEP_PARAM}, ("paper", "transformers"), "p_i > min(epsilon, sqrt(epsilon) exp(-H))"),
}
#: the arithmetic choices of a careful port (``kernels._numerics``) that its kernel reads beyond the
#: probabilities and their order (see ``registry.numerics_read``)
NUMERICS_READ = frozenset({"param", "log-p"})


def threshold(epsilon: Any, H: Any, ctx: Context) -> Any:
    """``min(epsilon, sqrt(epsilon) exp(-H))`` (numbers, or an array ``H`` in an array context).

    Parameters
    ----------
    epsilon : number
        eta's ``epsilon``, ``> 0``.
    H : number or array
        The entropy of the row in nats (an array only in an array context).
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    number or array
        ``min(epsilon, sqrt(epsilon) exp(-H))``.
    """
    second = ctx.sqrt(ctx.num(epsilon)) * ctx.exp(-H)
    if ctx.where is not None and not isinstance(H, (int, float)):
        return ctx.where(second < epsilon, second, epsilon)
    return min(ctx.num(epsilon), second)


def log_margin(log_p: Any, H: Any, epsilon: Any, ctx: Context) -> Any:
    """``ln p_i + H - ln(epsilon) / 2``: positive exactly when ``p_i > sqrt(epsilon) exp(-H)``.

    Parameters
    ----------
    log_p : number, interval, array or tensor
        ``ln p_i``.
    H : number, interval, array or tensor
        The entropy of the row in nats.
    epsilon : number
        eta's ``epsilon``, ``> 0``.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    number, interval, array or tensor
        ``ln p_i + H - ln(epsilon) / 2``.
    """
    return log_p + H - ctx.log(ctx.num(epsilon)) / 2


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    eps = prm["epsilon"]
    strict = pol.strict
    k1, checks = certify_above(ctx, eps, strict)
    # ln p_i + H - ln(sqrt(eps)) = A/S - a_i - ln(eps)/2  (no exact form: intervals only)
    p = ctx.est_p
    H = float(entropy_of_probs(p, FLOAT))
    with np.errstate(divide="ignore", invalid="ignore"):
        est = log_margin(np.log(p), H, eps, FLOAT)

    def decide(i):
        # ln p_i = -a_i - ln S and H = ln S + A/S: both shifted by ln S, which cancels
        return ctx.decide(
            "ln p_i + H - ln(eps)/2",
            i,
            lambda prec: log_margin(-ctx.a(i, prec), ctx.A(prec) / ctx.S(prec), eps, IV),
        )

    k2, checks2 = ctx.prefix_cut(est, strict, decide)
    return ctx.floor(max(k1, k2), prm["min_tokens_to_keep"], ties=pol.min_keep == "floor-ties"), checks + checks2


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    lp = r.log_probs()
    H = r.entropy(lp)
    if r.numerics.threshold == "log_probs":  # ln p_i against min(ln eps, ln(eps)/2 - H), in the compute dtype
        ln_eps = r.t.full_like(H, math.log(prm["epsilon"]))
        return r.at_least(pol.holds(*sides(lp, r.t.minimum(ln_eps, ln_eps / 2 - H))), pol)
    # at the parameter's precision the threshold is float64 arithmetic on the computed entropy
    return keep_above(r, pol, threshold(prm["epsilon"], r.against_param(H), r.T))


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge(EpsilonJudge):
    """What eta sampling's judge states (``ees_theory.judging.judges`` assembles it): epsilon's
    (``p_i > min(epsilon, sqrt(epsilon) e^-H)``), with the entropy's error in the band.

    >>> Judge.rational, Judge.needs_entropy, sorted(Judge.misreadings)
    (False, True, ['entropy-in-bits', 'non-strict'])
    """

    rational = False
    needs_entropy = True
    misreadings = {**NON_STRICT, "entropy-in-bits": "the entropy in sqrt(epsilon) exp(-H) taken in bits (log2); eta's H is in nats"}

    def relative_error(self, b: dict, u: float) -> float:
        return b["prob"] + (b["entropy"] + 6 * u)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        # the threshold with H / ln 2 for H: more tokens kept wherever the entropy term decides
        if st.n < 2:
            return []
        probs = self.softmax(row, st.tau)
        p = np.array([float(probs[int(i)]) for i in st.order])
        thr = float(threshold(params["epsilon"], float(self.entropy(row, st.tau)) / LN2, FLOAT))
        m = min(max(int(params.get("min_tokens_to_keep", 1)), 1), st.n)
        for count in {int(np.count_nonzero(p > thr)), int(np.count_nonzero(p >= thr))}:
            if kept == {int(i) for i in st.order[: max(count, m)]} != {int(i) for i in ref.kept}:
                return ["entropy-in-bits"]
        return []

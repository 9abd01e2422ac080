"""Epsilon sampling (Hewitt et al. 2022): keep ``p_i > epsilon``.

Policies: ``paper`` keeps ``p_i > epsilon`` (strict) with the ``min_tokens_to_keep`` floor;
``transformers`` keeps ``p_i >= epsilon`` and, at the floor, every token tied with the
``min_tokens_to_keep``-th largest. Eta sampling (:mod:`.eta`) is the same comparison against its
own threshold, under the same policies.

>>> POLICIES["paper"].holds(*sides(0.5, 0.5)), POLICIES["transformers"].holds(*sides(0.5, 0.5))
(False, True)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, unit
from .faults import NON_STRICT, SMALLEST_SUBNORMAL, THRESHOLD_STRICTNESS
from .policy import Policy


__all__ = ["sides", "gap", "certify_above", "certify", "keep_above", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS", "EPSILON_PARAM"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"epsilon": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 50

#: the probability floor, a parameter of epsilon and of eta
EPSILON_PARAM = Param(REQUIRED, unit("epsilon", True, True), (1e-4, 3e-4, 1e-3, 0.01, 0.05), help="probability floor")

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {"epsilon": MethodSpec("epsilon", {"epsilon": EPSILON_PARAM, **MIN_KEEP_PARAM}, ("paper", "transformers"), "p_i > epsilon")}
#: the arithmetic choices of a careful port (``kernels._numerics``) that its kernel reads beyond the
#: probabilities and their order (see ``registry.numerics_read``)
NUMERICS_READ = frozenset({"param"})

POLICIES = {
    "paper": Policy(strict=True),
    "transformers": Policy(min_keep="floor-ties"),
}


def sides(p: Any, threshold: Any) -> tuple[Any, Any]:
    """``p_i`` against the threshold (``epsilon``, or eta's).

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    threshold : number, interval, array or tensor
        ``epsilon`` (epsilon sampling) or eta's threshold.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (p, threshold)``.
    """
    return p, threshold


def gap(p: Any, threshold: Any) -> Any:
    """``p_i - threshold`` (what the reference certifies).

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    threshold : number, interval, array or tensor
        ``epsilon`` (epsilon sampling) or eta's threshold.

    Returns
    -------
    number, interval, array or tensor
        ``p - threshold``; the token is kept when the policy's comparison holds.
    """
    lhs, rhs = sides(p, threshold)
    return lhs - rhs


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify_above(ctx, eps, strict):
    """How many of the sorted tokens pass ``p_i > eps`` (``>=`` unless ``strict``), and the checks
    that decide it: epsilon's cut, and the first of eta's two.

    Parameters
    ----------
    ctx : ExactContext
        The exact context of the row (``ees_theory.reference.trunc_exact``).
    eps : float
        The threshold, epsilon.
    strict : bool
        ``p_i > eps`` (True) or ``p_i >= eps``.

    Returns
    -------
    tuple
        ``(count, checks)``: the length of the passing prefix of the sorted order and the
        decisive checks.
    """
    ef = Fraction(eps)
    n = ctx.n

    def decide(i):
        return ctx.decide(
            "p_i - epsilon",
            i,
            lambda prec: gap(ctx.p(i, prec), ctx.iv.mpf(eps)),
            lambda: [(Fraction(1), (i,))] + [(-ef, (j,)) for j in range(n)],
        )

    return ctx.prefix_cut(gap(ctx.est_p, eps), strict, decide)


def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    k, checks = certify_above(ctx, prm["epsilon"], pol.strict)
    return ctx.floor(k, prm["min_tokens_to_keep"], ties=pol.min_keep == "floor-ties"), checks


def keep_above(r, pol, thr):
    """The sorted positions whose probability passes a threshold, with the policy's
    ``min_tokens_to_keep`` floor: epsilon's kernel, and eta's with its own threshold.

    Parameters
    ----------
    r : kernels row
        The prepared batch (``ees_theory.kernels.truncation``).
    pol : Policy
        The policy record (strict or not, the floor).
    thr : tensor
        The threshold of each row (a column).

    Returns
    -------
    tensor
        bool, the kept sorted positions.
    """
    return r.at_least(pol.holds(*sides(r.against_param(r.sp), thr)), pol)


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    if r.numerics.threshold == "log_probs":  # ln p_i against ln(epsilon), both in the compute dtype
        lp = r.log_probs()
        return r.at_least(pol.holds(*sides(lp, r.t.full_like(lp[..., :1], math.log(prm["epsilon"])))), pol)
    return keep_above(r, pol, r.t.full_like(r.against_param(r.sp[..., :1]), prm["epsilon"]))


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What epsilon sampling's judge states (``ees_theory.judging.judges`` assembles it): ``p_i > epsilon``;
    the band is ``epsilon (1 +- r)^2`` with ``r`` the probabilities' relative error (eta's judge,
    :class:`ees_theory.core.truncation.eta.Judge`, adds the entropy's).

    >>> Judge.rational, Judge.threshold, sorted(Judge.misreadings)
    (True, True, ['non-strict'])
    """

    rational = True
    threshold = True
    misreadings = NON_STRICT
    strictness = THRESHOLD_STRICTNESS

    def relative_error(self, b: dict, u: float) -> float:
        """Relative error of the compared quantities."""
        return b["prob"]

    def band(self, st, row, params, ref, b, options):
        eps = params["epsilon"]
        r = self.relative_error(b, self.unit_roundoff(st, options))
        if r >= 0.5:
            return None
        tiny = b["underflow"]
        lo = max(eps * (1 - r) ** 2 - tiny, SMALLEST_SUBNORMAL)
        hi = min(eps * (1 + r) ** 2 + tiny, 1.0 - 2.0**-53)
        return [{"epsilon": lo}, {"epsilon": hi}]

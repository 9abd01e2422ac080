"""Top-p (nucleus): keep the smallest sorted prefix whose mass reaches ``p``.

Token ``i`` (sorted) is kept when the mass before it is below ``p``: ``p > P_before(i)``
(:func:`sides`; the crossing token is kept). All three engines agree on the cut in exact
arithmetic; they differ in the domain (its record, ``RECORDS``). ``p >= 1`` keeps every
candidate; ``p <= 0`` keeps only the ``min_tokens_to_keep`` floor. The same comparison from the
bottom of the order is ``P_from_bottom(i) > 1 - p`` (:func:`sides_from_bottom`), the mass from the
least probable token up to and with token ``i``.

>>> POLICIES["paper"].holds(*sides(0.9, 0.88)), POLICIES["paper"].holds(*sides(0.9, 0.97))
(True, False)
>>> POLICIES["paper"].holds(*sides_from_bottom(0.9, 0.12))
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, real, unit
from .faults import NON_STRICT, SMALLEST_SUBNORMAL
from .policy import Policy


__all__ = ["sides", "gap", "sides_from_bottom", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-p": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 20

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "top-p": MethodSpec(
        "top-p",
        {
            "p": Param(REQUIRED, {"paper": unit("p", True, False), "transformers": unit("p", False, False), "llama.cpp": real("p")},
                       (0.1, 0.5, 0.8, 0.9, 0.95, 1.0), help="mass to reach"),
            **MIN_KEEP_PARAM,
        },
        ("paper", "transformers", "llama.cpp"),
        "smallest sorted prefix with mass >= p",
    ),
}
#: the arithmetic choices of a careful port (``kernels._numerics``) that its kernel reads beyond the
#: probabilities and their order (see ``registry.numerics_read``)
NUMERICS_READ = frozenset({"param", "running-sum", "mass-before"})

_P = Policy(strict=True, noop=lambda prm: prm["p"] >= 1, noop_text="p >= 1", off={"p": 1.0})
POLICIES = {"paper": _P, "transformers": _P, "llama.cpp": _P}


def sides(p: Any, mass_before: Any) -> tuple[Any, Any]:
    """The comparison ``p`` against the mass before the token: kept when ``p > mass_before``.

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    mass_before : number, interval, array or tensor
        The probability of the tokens before it in decreasing order.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (p, mass_before)``.
    """
    return p, mass_before


def gap(p: Any, mass_before: Any) -> Any:
    """``p - P_before``: the token is kept when it is > 0 (what the reference certifies).

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    mass_before : number, interval, array or tensor
        The probability of the tokens before it in decreasing order.

    Returns
    -------
    number, interval, array or tensor
        ``p - mass_before``.
    """
    lhs, rhs = sides(p, mass_before)
    return lhs - rhs


def sides_from_bottom(p: Any, mass_from_bottom: Any) -> tuple[Any, Any]:
    """The same comparison on ``P_from_bottom = 1 - P_before``: kept when it is > ``1 - p``.

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    mass_from_bottom : number, interval, array or tensor
        The probability of the token and every one after it, ``1 - P_before``.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (mass_from_bottom, 1 - p)``.
    """
    return mass_from_bottom, 1 - p


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    p = prm["p"]
    n = row.n
    m = prm["min_tokens_to_keep"]
    if pol.noop(prm):  # P_i < 1 <= p for every i < n: all kept (llama.cpp: a no-op)
        return n, []
    if p <= 0.0:  # no mass above a token is < p
        return ctx.floor(0, m, ties=pol.min_keep == "floor-ties"), []
    pf = Fraction(p)
    est = gap(p, np.concatenate([[0.0], np.cumsum(ctx.est_p)[:-1]]))

    def decide(i):  # token i is kept iff the mass before it, P_i, is < p
        return ctx.decide(
            "p - P_before",
            i,
            lambda prec: gap(ctx.iv.mpf(p), ctx.prefix(i, prec) / ctx.S(prec)),
            lambda: [(pf, (j,)) for j in range(n)] + [(Fraction(-1), (j,)) for j in range(i)],
        )

    k, checks = ctx.prefix_cut(est, pol.strict, decide)
    return ctx.floor(k, m, ties=pol.min_keep == "floor-ties"), checks


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    p = prm["p"]
    bottom = r.numerics.mass == "bottom"
    # p >= 1 keeps every token, but only a port that says so: one summing from the bottom drops
    # underflowed tokens even at p = 1, and so does one comparing its running mass with p at p's
    # own precision (numpy, C in double) without a shortcut, once that mass has rounded to 1
    if noop and not bottom and r.numerics.param != "exact":
        keep = r.all()
    elif bottom:
        keep = pol.holds(*sides_from_bottom(p, r.against_param(r.cumsum(r.sp.flip(-1)).flip(-1))))
    else:
        keep = pol.holds(*sides(p, r.against_param(r.mass_before())))
    return r.at_least(keep, pol)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What top-p's judge states (``ees_theory.judging.judges`` assembles it on the mass judge,
    ``base = "mass"``): the smallest sorted prefix whose mass reaches ``p``; the band is ``p +- cum``.

    >>> Judge.base, Judge.rational, sorted(Judge.misreadings)
    ('mass', True, ['crossing-excluded', 'non-strict', 'tie-block-kept'])
    """

    #: assembled on the mass judge (a cut where a cumulative mass reaches ``mass_param``)
    base = "mass"
    mass_param = "p"
    rational = True
    misreadings = {
        **NON_STRICT,
        "crossing-excluded": "the crossing token (whose mass reaches p) is dropped; top-p keeps it",
        "tie-block-kept": ("every token tied with the crossing token is kept: a search for a probability pivot that keeps each "
                           "token at or above it (no sort) keeps a tie block at the crossing whole, where the policy keeps the "
                           "smallest prefix and breaks the tie, so the kept mass can be far above p"),
    }
    strictness = (
        "the prefix grows until its mass exceeds p ('> p') instead of reaching it ('>= p'): the token whose preceding mass "
        "equals p exactly was kept",
        "the token whose preceding mass equals p exactly was dropped by a comparison of the other strictness",
    )

    def flipped_count(self, st, ref, check):
        # the check "p - P_before" at position i is 0: the mass before token i is exactly p, so
        # the policy drops token i and a port comparing '<=' keeps it
        return check.index + 1 if 0 <= check.index < st.n and int(st.order[check.index]) not in ref.kept else None

    def domain(self, policy):
        return None if policy == "llama.cpp" else (0.0 if policy == "transformers" else SMALLEST_SUBNORMAL, 1.0)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        ref_set = set(int(i) for i in ref.kept)
        if len(kept) == ref.k - 1 and kept < ref_set:
            return ["crossing-excluded"]
        if len(kept) > ref.k and 0 < ref.k <= st.n:
            tied = {int(i) for i in st.order[st.values == st.values[ref.k - 1]]}  # the crossing token's exact-tie block
            if len(tied) > 1 and kept == ref_set | tied:
                return ["tie-block-kept"]
        return []

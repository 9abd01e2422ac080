"""Locally typical sampling (Meister et al. 2022).

Tokens are ordered by the score ``|-ln p_i - H|`` ascending (:func:`score`; ties keep the
canonical order) and the shortest prefix of that order whose mass reaches ``mass`` is kept: the
prefix grows while the mass so far has not reached ``mass`` (:func:`not_reached_sides`), and the
crossing token is kept. Policies:

* ``paper``: not reached while ``C_r < mass``;
* ``transformers``: the same cut, plus every later token whose score ties the boundary token's;
* ``llama.cpp``: not reached while ``C_r <= mass`` (the cut needs a mass strictly above
  ``mass``); ``mass >= 1`` is a no-op.

>>> score(-1.0, 1.0), score(-0.5, 1.0)
(0.0, 0.5)
>>> POLICIES["paper"].holds(*not_reached_sides(0.5, 0.5)), POLICIES["llama.cpp"].holds(*not_reached_sides(0.5, 0.5))
(False, True)
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cmp_to_key
from typing import Any

import mpmath
import numpy as np

from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, real, unit
from ..certify import Decision, float_bounds, iv_bounds, iv_precision, precisions
from ..ctx import FLOAT
from ..entropy import entropy_of_probs
from .faults import MASKED_AS_ZERO, NON_STRICT, SMALLEST_SUBNORMAL
from .policy import Policy


__all__ = ["score", "not_reached_sides", "certify", "kernel_count", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"typical": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 40

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "typical": MethodSpec(
        "typical",
        {
            "mass": Param(REQUIRED, {"paper": unit("mass", True, False), "transformers": unit("mass", True, True), "llama.cpp": real("mass")},
                          (0.2, 0.5, 0.9, 0.95), help="mass to reach in score order"),
            **MIN_KEEP_PARAM,
        },
        ("paper", "transformers", "llama.cpp"),
        "shortest prefix by |-ln p - H| with mass >= mass",
        ranking="typical-score",
    ),
}
#: the arithmetic choices of a careful port (``kernels._numerics``) that its kernel reads beyond the
#: probabilities and their order (see ``registry.numerics_read``)
NUMERICS_READ = frozenset({"param", "running-sum", "mass-before", "log-p"})

POLICIES = {
    "paper": Policy(strict=True),
    "transformers": Policy(strict=True, ties=True),
    "llama.cpp": Policy(noop=lambda prm: prm["mass"] >= 1, noop_text="mass >= 1", off={"mass": 1.0}),
}


def score(log_p: Any, H: Any) -> Any:
    """``|-ln p_i - H|`` (numbers, intervals, tensors).

    Parameters
    ----------
    log_p : number, interval, array or tensor
        ``ln p_i``.
    H : number, interval, array or tensor
        The entropy of the row in nats.

    Returns
    -------
    number, interval, array or tensor
        ``|-ln p_i - H|``.
    """
    return abs(-log_p - H)


def not_reached_sides(mass: Any, mass_so_far: Any) -> tuple[Any, Any]:
    """``mass`` against the mass ``C_r`` of the first ``r`` tokens in score order: the prefix has
    not reached ``mass`` while ``mass > C_r`` (``>=`` under a non-strict policy).

    Parameters
    ----------
    mass : number
        typical's ``mass``, in ``[0, 1]``.
    mass_so_far : number, interval, array or tensor
        ``C_r``, the mass of the first ``r`` tokens in score order.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (mass, C_r)``.
    """
    return mass, mass_so_far


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept sorted positions on one row, the checks that decide them and the score order (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    iv = ctx.iv
    mass = prm["mass"]
    m = prm["min_tokens_to_keep"]
    n = row.n
    if pol.noop(prm):
        return tuple(range(n)), [], {}
    if n == 1:
        return (0,), [], {}
    xs = ctx.exponents
    p = ctx.est_p
    H = float(entropy_of_probs(p, FLOAT))
    checks: list = []
    prec0 = precisions(ctx.max_prec)[0]
    with iv_precision(prec0):
        h = ctx.A(prec0) / ctx.S(prec0)  # H - ln S: the shifted score is |a_i - h|
        enc = []
        for i in range(n):
            enc.append(float_bounds(*iv_bounds(score(-ctx.a(i, prec0), h))))
    cmp_cache: dict = {}

    def compare(i: int, j: int):
        """Certified sign of score_j - score_i."""
        key = (i, j)
        if key in cmp_cache:
            return cmp_cache[key]
        if row.values[i] == row.values[j]:
            c = ctx.known("score_j - score_i", j, 0, 0.0, 0.0, "structure")
        else:

            def gap(prec):
                hh = ctx.A(prec) / ctx.S(prec)
                return score(-ctx.a(j, prec), hh) - score(-ctx.a(i, prec), hh)

            def form():  # the mirror tie a_i + a_j = 2h, i.e. sum_l e_l (a_i + a_j - 2 a_l) = 0
                ai, aj = -xs[i], -xs[j]
                return [(ai + aj + 2 * xs[l], (l,)) for l in range(n)]

            # a zero of the mirror form means h = (a_i + a_j)/2: the two scores tie exactly
            c = ctx.decide("score_j - score_i", j, gap, form if xs is not None else None)
        cmp_cache[key] = c
        return c

    def cmp(i: int, j: int) -> int:
        lo_i, hi_i = enc[i]
        lo_j, hi_j = enc[j]
        if hi_i < lo_j:
            return -1
        if hi_j < lo_i:
            return 1
        c = compare(i, j)
        if not c.certified:
            checks.append(c)
            s = 1 if 0.5 * (c.lo + c.hi) > 0 else -1
        else:
            s = 1 if c.positive is Decision.TRUE else (-1 if c.negative is Decision.TRUE else 0)
        if s == 0:
            return -1 if i < j else 1  # exact tie: canonical order (probability desc, id asc)
        return -s

    order = sorted(range(n), key=cmp_to_key(cmp))
    mf = Fraction(mass)

    def decide(r):  # gap of the prefix of r+1 tokens in score order: C_{r+1} - mass
        idx = order[: r + 1]
        return ctx.decide(
            "C_r - mass",
            r + 1,
            lambda prec: sum((ctx.e(j, prec) for j in idx), iv.mpf(0)) / ctx.S(prec) - iv.mpf(mass),
            lambda: [(Fraction(1), (j,)) for j in idx] + [(-mf, (j,)) for j in range(n)],
        )

    # "not reached yet" (C_r < mass, or C_r <= mass for llama.cpp) holds on a prefix of r = 1..n;
    # the kept count is the first r where it fails: the crossing token is kept.
    def not_reached(i):
        c = decide(i)
        return c.negated("mass - C_r")

    r, cut_checks = ctx.prefix_cut(np.subtract(*not_reached_sides(mass, np.cumsum(p[order]))), pol.strict, not_reached)
    keep_count = min(r + 1, n)  # the crossing token is kept
    if pol.ties and keep_count < n:  # every later token whose score ties the boundary one's
        boundary = order[keep_count - 1]
        extra = 0
        for j in order[keep_count:]:
            c = compare(boundary, j)
            if c.zero is Decision.TRUE:
                extra += 1
                checks.append(c)
            else:
                checks.append(c)
                break
        keep_count += extra
    keep_count = max(keep_count, min(m, n))
    kept_positions = order[:keep_count]
    return tuple(sorted(kept_positions)), checks + cut_checks, {"order": tuple(row.order[i] for i in order)}


def kernel_count(r, p_in_order, mass, pol, n):
    """Typical's cut along an order of the candidates: the prefixes whose mass has not reached
    ``mass``, and the one that reaches it.

    Parameters
    ----------
    r : kernels row
        The prepared batch (``ees_theory.kernels.truncation``): its running sums.
    p_in_order : tensor
        The candidates' probabilities in the order.
    mass : float
        Typical's ``mass``.
    pol : Policy
        The policy record (``< mass`` or ``<= mass`` not reached).
    n : tensor
        The candidate count of each row (a column).

    Returns
    -------
    tensor
        The kept count of each row (a column).
    """
    # the mass before each token: the running sum up to the token before (the kernel's own form)
    # or the running sum less the token's probability (``cumsum - p``), which in half precision
    # rounds differently (a bfloat16 running sum over 2048 tokens of 2**-11 moves in steps of 4)
    before = r.mass_before(p_in_order, kernel_form="top-shifted")
    not_reached = pol.holds(*not_reached_sides(mass, r.against_param(before)))
    count = not_reached.sum(dim=-1, keepdim=True)
    # the first token is the one that reaches the mass when nothing before it is below it (mass <= 0)
    return r.t.minimum(r.t.maximum(count, r.t.ones_like(count)), n)


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    if noop:
        return r.all()
    t = r.t
    slp = r.log_probs()
    H = r.entropy(slp)
    sc = t.where(r.cand, score(slp, H), t.full_like(r.sx, math.inf))
    sscore, order = t.sort(sc, dim=-1, stable=True)  # ties keep the canonical order
    count = kernel_count(r, t.gather(r.sp, -1, order), prm["mass"], pol, r.n)
    keep_o = r.pos < count
    if pol.ties:  # every later token whose score ties the boundary token's
        keep_o = keep_o | (sscore <= t.gather(sscore, -1, count - 1))
    keep_o = keep_o | (r.pos < min(max(r.m, 1), r.V))
    return t.zeros_like(keep_o).scatter(-1, order, keep_o)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What typical sampling's judge states (``ees_theory.judging.judges`` assembles it on the mass
    judge, ``base = "mass"``): the shortest prefix of the order by ``|-ln p_i - H|`` whose mass
    reaches ``mass``; the band is ``mass +- cum``, and near-ties in the score (within the error of
    ``ln p`` and ``H``) may swap.

    >>> Judge.tie_order, Judge.needs_entropy, sorted(Judge.misreadings)
    (False, True, ['masked-as-zero', 'nan-entropy', 'non-strict'])
    """

    #: assembled on the mass judge (a cut where a cumulative mass reaches ``mass_param``)
    base = "mass"
    mass_param = "mass"
    rational = True
    needs_entropy = True
    tie_order = False  # ties in the typicality score have no token-id order to follow
    misreadings = {
        **NON_STRICT, **MASKED_AS_ZERO,
        "nan-entropy": ("a token has probability 0 in float32 (masked, or underflowed), and the entropy sums -p ln p over every "
                        "token without a p > 0 guard: 0 * ln 0 is NaN, so H and every score |-ln p - H| are NaN, the sort by "
                        "score compares nothing and leaves the tokens in whatever order it ends with, and the cut keeps a prefix "
                        "of that order (llama.cpp's typical sampler does this)"),
    }
    strictness = (
        "the prefix grows until its mass exceeds mass ('>') instead of reaching it ('>='): the prefix whose mass equals "
        "mass exactly was extended by one token",
        "the prefix stops once its mass reaches mass ('>='); this policy (llama.cpp's) needs it to exceed mass ('>')",
    )

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if self.masked_as_zero(row, params, kept, options) or self._entropy_of_filled(st, row, params, kept, options):
            return ["masked-as-zero"]
        return ["nan-entropy"] if self._nan_entropy(st, row, params, kept, options) else []

    @staticmethod
    def _nan_entropy(st, row, params, kept, options) -> bool:
        """A port whose entropy is NaN (see ``misreadings``): the row has a token of probability 0
        in float32, and the kept set is a cut of *some* order by the policy's comparison -- its
        mass passes ``mass`` and, without one of its tokens (the last one the cut took), does not
        (a best-effort diagnosis: the order a sort by NaN keys leaves is the sort's own)."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if not kept or not finite.any():
            return False
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            x = z.astype(np.float32) / np.float32(st.tau)
            zero32 = np.exp(x - x[finite].max()) == 0  # masked, or underflowed in float32
            if not zero32.any():
                return False
            p = np.exp(z / st.tau - np.max(z[finite] / st.tau))
        p = p / p.sum()
        ids = np.fromiter(kept, dtype=np.int64)
        mass, total = float(params["mass"]), float(p[ids].sum())
        reached = (lambda m: m > mass) if options.policy == "llama.cpp" else (lambda m: m >= mass)
        return reached(total) and not reached(total - float(p[ids].max()))

    def _entropy_of_filled(self, st, row, params, kept, options) -> bool:
        """Kept set of a port whose entropy ``H`` is that of the row with its masked entries as
        logits of 0, the probabilities its own (30 digits: a best-effort diagnosis)."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if finite.all() or finite.sum() < 2:
            return False
        with mpmath.workdps(30):
            p = self.softmax(row, st.tau)
            H = self.entropy(np.where(finite, z, 0.0), st.tau)
            score = {int(i): abs(-mpmath.log(p[int(i)]) - H) for i in st.order}
            order = sorted(score, key=lambda i: score[i])  # stable: ties stay in canonical order
            mass, total, k = mpmath.mpf(params["mass"]), mpmath.mpf(0), 0
            for i in order:
                total += p[i]
                k += 1
                if (total > mass) if options.policy == "llama.cpp" else (total >= mass):
                    break
        k = max(k, min(int(params["min_tokens_to_keep"]), len(order)))
        return kept == set(order[:k])

    def kept_order(self, st, ref):
        return np.asarray(ref.extras.get("order", ref.kept), dtype=np.int64)

    def flipped_count(self, st, ref, check):
        # the cut check "C_r - mass" is 0 for the prefix of check.index tokens: a non-strict
        # policy stops there, a strict one goes on; the other strictness does the opposite
        if not check.what.endswith("C_r") and not check.what.startswith("C_r"):
            return None
        r = check.index
        return r + 1 if ref.k == r else r

    def domain(self, policy):
        return None if policy == "llama.cpp" else (SMALLEST_SUBNORMAL, 1.0 if policy == "paper" else 1.0 - 2.0**-53)

    def scores(self, st, row) -> dict[int, float]:
        """Every candidate's typicality score ``|-ln p_i - H|`` (30 digits, then float)."""
        with mpmath.workdps(30):
            p = self.softmax(row, st.tau)
            H = self.entropy(row, st.tau)
            return {int(i): float(abs(-mpmath.log(p[int(i)]) - H)) for i in st.order}

    def score_tolerance(self, st, b: dict) -> float:
        """How far two scores may be computed out of order."""
        return 0.0 if st.dyadic() else 2 * (b["logp"] + b["entropy"])

    def reach(self, st, row, refs, b, options, hi):
        """transformers keeps every token whose score ties the boundary's: near-ties count too."""
        if options.policy != "transformers":
            return hi
        if st.dyadic() or not math.isfinite(b["logp"]):
            return max(hi, max(r.k for r in refs))
        score = self.scores(st, row)
        tol = 2 * (b["logp"] + b["entropy"])
        worst = max(max(score[int(i)] for i in r.kept) for r in refs)
        return max(hi, sum(1 for v in score.values() if v <= worst + tol))

    def members(self, st, row, ref, b, kept, dtype, options) -> str | None:
        """Typical keeps a prefix of the order by |-ln p_i - H|: near-ties in that score may swap."""
        if not math.isfinite(b["logp"]) or not math.isfinite(b["entropy"]):
            return None
        score = self.scores(st, row)
        tol = self.score_tolerance(st, b)
        worst_kept = max(score[i] for i in kept)
        dropped = [score[i] for i in score if i not in kept]
        if not dropped or min(dropped) >= worst_kept - tol:
            return None
        return f"kept set is not a prefix of the typicality order |-ln p - H| (expected {list(ref.extras.get('order', ref.kept))[:8]} first)"

    def may_keep(self, st, row, ref, b, kmax, dtype, options):
        order = np.asarray(ref.extras.get("order", ref.kept), dtype=np.int64)
        scores = self.scores(st, row)
        sc = np.array([scores[int(i)] for i in order])
        return order, np.asarray(row, dtype=np.float64)[order], sc <= sc[kmax - 1] + self.score_tolerance(st, b)

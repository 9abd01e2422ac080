"""The comparison family of truncation samplers, certified, with the engines' boundary policies.

``truncate(method, logits, temperature=1.0, policy="paper", **params)`` returns the kept token ids
(canonical order: probability descending, ties by id ascending) of one row, every boundary
comparison certified (see ``ees_theory.reference.trunc_exact``) or reported undecided. ``p = softmax(z / tau)``
as everywhere in the toolkit: the truncation sees the tempered distribution. (llama.cpp's default
chain applies temperature *after* its truncation samplers; to reproduce it pass ``temperature=1``.)

Methods (:data:`METHODS`), with what each policy means. ``paper`` is the default; ``transformers``
and ``llama.cpp`` reproduce those engines' conventions in exact arithmetic. The rules and the policy
records this module reads (strict or not, the no-op condition, tie extension, what
``min_tokens_to_keep`` does) are each sampler's module in :mod:`ees_theory.core.truncation`; the
drivers here certify the comparisons those rules name, dispatched through its registry.

* ``top-k`` (``k``): paper: the ``k`` most probable tokens, ties at the k-th value broken by the
  canonical order (exactly ``min(k, n)`` kept). transformers: ``k = max(k, min_tokens_to_keep)``,
  every token tied with the k-th value is kept (may keep more than ``k``). llama.cpp: ``k <= 0``
  is a no-op; exactly ``min(k, n)`` kept (llama.cpp's unstable partial sort picks any of a tie; the
  reference picks the canonical ones).
* ``top-p`` (``p``): keep the smallest sorted prefix whose mass reaches ``p`` (``P_k >= p``; the
  crossing token is kept). All three engines agree on this in exact arithmetic; they differ in the
  domain (paper ``0 < p <= 1``; transformers ``0 <= p <= 1``, ``p = 0`` keeps
  ``min_tokens_to_keep``; llama.cpp any ``p``, ``p >= 1`` a no-op).
* ``min-p`` (``min_p``): keep ``p_i >= min_p * p_max`` (decided in the log domain). llama.cpp:
  ``min_p <= 0`` is a no-op.
* ``typical`` (``mass``, Meister et al. 2022): order tokens by ``|-ln p_i - H|`` ascending (ties:
  canonical order), keep the shortest prefix of that order with mass ``>= mass``. transformers: the
  same cut, plus every later token whose score ties the boundary token's. llama.cpp: the cut is
  the first prefix with mass ``> mass`` (strict); ``mass >= 1`` is a no-op.
* ``epsilon`` (``epsilon``, Hewitt et al. 2022): paper keeps ``p_i > epsilon`` (strict);
  transformers keeps ``p_i >= epsilon`` and every token tied with the
  ``min_tokens_to_keep``-th largest.
* ``eta`` (``epsilon``): threshold ``eta = min(epsilon, sqrt(epsilon) exp(-H))``, ``H`` in nats;
  paper keeps ``p_i > eta``, transformers ``p_i >= eta`` (plus the ties as for ``epsilon``).
* ``p-less`` / ``p-less-norm`` (arXiv 2509.23234): keep ``p_i >= sum p^2``, resp.
  ``p_i >= (V sum p^2 - 1)/(V - 1)`` with ``V`` the row length (masked entries included).
* ``top-n-sigma`` (``n``, arXiv 2411.07641): keep ``l_i >= max l - n sigma`` over the scaled
  logits of the candidates; paper and llama.cpp use the population ``sigma`` (divide by ``N``),
  ``sample-std`` the unbiased one (``torch.std``'s default, divide by ``N - 1``); llama.cpp:
  ``n <= 0`` is a no-op.
* ``mirostat-v1`` (``tau``, ``eta``, ``mu``, ``u``, ``m=100``, ``n_vocab``; Basu et al. 2020) and
  ``mirostat-v2`` (``tau``, ``eta``, ``mu``, ``u``): stateful. The result carries the chosen
  ``token`` (inverse CDF of the renormalised kept set at the uniform draw ``u``: the first kept
  token whose cumulative mass exceeds ``u``) and the updated ``mu = mu - eta (surprise - tau)``,
  surprise in bits. paper: surprise under the untruncated distribution, v1 rounds the Zipf
  estimate ``k`` to nearest (half up); llama.cpp: surprise under the renormalised kept set, v1
  truncates ``k`` to an integer.

* ``xtc`` (``threshold``, ``probability``, ``u``), ``top-a`` (``a``) and ``tfs`` (``z``), the
  samplers of the wider field (specification §7; rules in :mod:`ees_theory.core.truncation`):
  XTC keeps a *suffix* of the canonical order (its gate opens for ``u < probability``, llama.cpp:
  ``u <= probability``; every token reaching the threshold but the last is dropped); top-a keeps
  ``p_i >= a p_max^2``; tail-free sampling cuts where the normalised cumulative
  ``|second difference|`` passes ``z``, the paper keeping one token more than llama.cpp.

Every method takes ``min_tokens_to_keep`` where an engine has it (default 1; the kept set is
never empty).

>>> truncate("top-p", [2.0, 1.0, 0.0, -1.0], p=0.9).kept
(0, 1, 2)
>>> truncate("min-p", [2.0, 1.0, 0.0], min_p=0.3).kept      # e**-1 = 0.37 >= 0.3 > e**-2
(0, 1)
>>> truncate("top-k", [1.0, 3.0, 3.0, 0.0], k=1, policy="transformers").kept   # both tied kept
(1, 2)
>>> truncate("xtc", [2.0, 1.0, 0.0, -1.0], threshold=0.1, probability=1.0, u=0.5).kept  # p = .64, .24 reach 0.1
(1, 2, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cmp_to_key
from typing import Any, Callable, Optional

import mpmath
import numpy as np
from mpmath import iv

from .. import spec
from ..spec.methods import DEFAULT_POLICY, POLICIES, MethodSpec, check_params
from ..spec.methods import SAMPLERS as METHODS
from ..core.ctx import FLOAT, IV
from ..core.truncation import eta as eta_sampling
from ..core.truncation import epsilon, min_p, mirostat, p_less, tfs, top_a, top_k, top_n_sigma, top_p, typical, xtc
from ..core.truncation.registry import rule as truncation_rule
from ..core.entropy import entropy_of_probs
from ..core.certify import DEFAULT_MAX_PREC, Decision, enclose, float_bounds, fraction_to_float, iv_bounds, iv_exp, iv_precision, precisions
from .rows import ExactRow, as_row
from .trunc_exact import Check, ExactContext

__all__ = ["truncate", "TruncationResult", "MethodSpec", "METHODS", "POLICIES", "check_params", "Check"]

# ---- the result ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TruncationResult:
    """The certified kept set of one truncation sampler on one row.

    ``kept`` are the kept ids in canonical order (probability descending, ties by id ascending),
    ``k = len(kept)``, ``n`` the number of candidates. ``certified`` is True when every decisive
    comparison (``decisions``) was certified; ``undecided`` lists those that were not (then
    ``kept`` follows their midpoints). Mirostat results also carry ``token`` (the chosen id) and
    ``mu`` (the updated state, correct to 30 digits) with ``surprise`` (bits); ``extras`` holds
    method-specific values (``s_hat``, ``k_hat`` of mirostat v1, the typical order, ...).

    Parameters
    ----------
    method : str
        The sampler's name (a key of ``METHODS``).
    policy : str
        The engine convention applied (one of ``POLICIES``).
    params : dict
        The sampler's parameters, defaults filled in (:func:`check_params`).
    temperature : float
        The temperature applied before truncation.
    kept : tuple of int
        The kept token ids, canonical order.
    certified : bool
        Whether every decisive comparison was certified.
    n : int
        The number of candidates.
    decisions : tuple of Check
        The decisive comparisons.
    token : int or None
        Mirostat: the chosen token id; ``None`` for the other samplers.
    mu : mpmath.mpf or None
        Mirostat: the updated state ``mu``.
    surprise : mpmath.mpf or None
        Mirostat: the chosen token's surprise, in bits.
    extras : dict
        Method-specific values.
    """

    method: str
    policy: str
    params: dict
    temperature: float
    kept: tuple[int, ...]
    certified: bool
    n: int
    decisions: tuple[Check, ...] = field(repr=False)
    token: Optional[int] = None
    mu: Optional[mpmath.mpf] = None
    surprise: Optional[mpmath.mpf] = None
    extras: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        """Number of kept tokens."""
        return len(self.kept)

    @property
    def undecided(self) -> tuple[Check, ...]:
        """Decisive comparisons that could not be certified within the precision limit."""
        return tuple(c for c in self.decisions if not c.certified)

    @property
    def margin(self) -> float:
        """Smallest certified ``|gap|`` over the decisive comparisons (``inf`` if none)."""
        return min((c.margin for c in self.decisions), default=math.inf)


# ---- shared machinery ---------------------------------------------------------------------------
def _prefix_cut(
    ctx: ExactContext,
    est: np.ndarray,
    strict: bool,
    decide: Callable[[int], Check],
) -> tuple[int, list[Check]]:
    """Length of the kept prefix for a gap non-increasing along the sorted order.

    ``est`` are float estimates of the gaps; ``decide(i)`` certifies the gap of position ``i``.
    Monotonicity makes two certified comparisons enough: position ``k-1`` passes, ``k`` fails.
    """
    n = ctx.n
    k = int(np.count_nonzero(est > 0 if strict else est >= 0))
    # the estimate of a monotone gap is monotone up to rounding; start from its count
    checks: dict[int, Check] = {}
    while True:
        if k < n:
            c = checks.setdefault(k, decide(k))
            ok = c.outcome(strict)
            if ok:
                k += 1
                continue
        if k > 0:
            c = checks.setdefault(k - 1, decide(k - 1))
            ok = c.outcome(strict)
            if not ok:
                k -= 1
                continue
        break
    keep = [checks[i] for i in (k - 1, k) if i in checks]
    return k, keep


def _floor(row: ExactRow, k: int, m: int, ties: bool) -> int:
    """At least ``m`` tokens (and at least one); ``ties`` also keeps every token tied with the m-th."""
    n = row.n
    m = min(max(m, 1), n)
    if ties:
        v = row.values
        m = int(np.count_nonzero(v >= v[m - 1]))
    return max(k, m)


def _result(method, policy, params, tau, row, k, checks, **kw) -> TruncationResult:
    """``k``: the kept prefix length, or the kept sorted positions (a sampler that keeps a suffix)."""
    certified = all(c.certified for c in checks)
    kept = row.order[:k] if isinstance(k, int) else tuple(row.order[i] for i in k)
    return TruncationResult(method, policy, params, tau, kept, certified, row.n, tuple(checks), **kw)


# ---- the samplers ---------------------------------------------------------------------------
def _top_k(row, ctx, tau, pol, prm, rule, policy):
    n, k, m = row.n, prm["k"], prm["min_tokens_to_keep"]
    if pol.noop(prm):
        return n, []
    if pol.ties:  # every token tied with the k-th value
        kk = top_k.width(k, m, row.size)
        if kk > n:  # the k-th value is -inf: every candidate is kept
            return n, []
        return int(np.count_nonzero(row.values >= row.values[kk - 1])), []
    return int(top_k.width(k, m, n)), []


def _top_p(row, ctx, tau, pol, prm, rule, policy):
    p = prm["p"]
    n = row.n
    m = prm["min_tokens_to_keep"]
    if pol.noop(prm):  # P_i < 1 <= p for every i < n: all kept (llama.cpp: a no-op)
        return n, []
    if p <= 0.0:  # no mass above a token is < p
        return _floor(row, 0, m, ties=pol.min_keep == "floor-ties"), []
    pf = Fraction(p)
    est = top_p.gap(p, np.concatenate([[0.0], np.cumsum(ctx.est_p)[:-1]]))

    def decide(i):  # token i is kept iff the mass before it, P_i, is < p
        return ctx.decide(
            "p - P_before",
            i,
            lambda prec: top_p.gap(iv.mpf(p), ctx.prefix(i, prec) / ctx.S(prec)),
            lambda: [(pf, (j,)) for j in range(n)] + [(Fraction(-1), (j,)) for j in range(i)],
        )

    k, checks = _prefix_cut(ctx, est, pol.strict, decide)
    return _floor(row, k, m, ties=pol.min_keep == "floor-ties"), checks


def _min_p(row, ctx, tau, pol, prm, rule, policy):
    mp = prm["min_p"]
    m = prm["min_tokens_to_keep"]
    if pol.noop(prm):
        return row.n, []
    mf = Fraction(mp)
    est = min_p.gap(ctx.est_e, mp)

    def decide(i):  # e_i = p_i / p_max  vs  min_p
        return ctx.decide("p_i/p_max - min_p", i, lambda prec: min_p.gap(ctx.e(i, prec), iv.mpf(mp)), lambda: [(Fraction(1), (i,)), (-mf, (0,))])

    k, checks = _prefix_cut(ctx, est, pol.strict, decide)
    return _floor(row, k, m, ties=pol.min_keep == "floor-ties"), checks


def _epsilon_checks(ctx, eps, strict):
    ef = Fraction(eps)
    n = ctx.n

    def decide(i):
        return ctx.decide(
            "p_i - epsilon",
            i,
            lambda prec: epsilon.gap(ctx.p(i, prec), iv.mpf(eps)),
            lambda: [(Fraction(1), (i,))] + [(-ef, (j,)) for j in range(n)],
        )

    return _prefix_cut(ctx, epsilon.gap(ctx.est_p, eps), strict, decide)


def _epsilon(row, ctx, tau, pol, prm, rule, policy):
    k, checks = _epsilon_checks(ctx, prm["epsilon"], pol.strict)
    return _floor(row, k, prm["min_tokens_to_keep"], ties=pol.min_keep == "floor-ties"), checks


def _eta(row, ctx, tau, pol, prm, rule, policy):
    eps = prm["epsilon"]
    strict = pol.strict
    k1, checks = _epsilon_checks(ctx, eps, strict)
    # ln p_i + H - ln(sqrt(eps)) = A/S - a_i - ln(eps)/2  (no exact form: intervals only)
    p = ctx.est_p
    H = float(entropy_of_probs(p, FLOAT))
    with np.errstate(divide="ignore", invalid="ignore"):
        est = eta_sampling.log_margin(np.log(p), H, eps, FLOAT)

    def decide(i):
        # ln p_i = -a_i - ln S and H = ln S + A/S: both shifted by ln S, which cancels
        return ctx.decide(
            "ln p_i + H - ln(eps)/2",
            i,
            lambda prec: eta_sampling.log_margin(-ctx.a(i, prec), ctx.A(prec) / ctx.S(prec), eps, IV),
        )

    k2, checks2 = _prefix_cut(ctx, est, strict, decide)
    return _floor(row, max(k1, k2), prm["min_tokens_to_keep"], ties=pol.min_keep == "floor-ties"), checks + checks2


def _p_less(row, ctx, tau, pol, prm, rule, policy):
    n, V = row.n, row.size
    norm = rule.variant["norm"]
    if n == 1:
        return 1, []
    p = ctx.est_p
    s2 = float(np.sum(p * p))
    thr = p_less.threshold(s2, V, norm)

    def gap(i, prec):
        S, S2 = ctx.S(prec), ctx.S2(prec)
        return ctx.e(i, prec) / S - p_less.threshold(S2 / (S * S), V, norm)

    def form(i):
        if not norm:  # e_i S - sum e^2
            return [(Fraction(1), (i, j)) for j in range(n)] + [(Fraction(-1), (j, j)) for j in range(n)]
        # (V-1) e_i S - V sum e^2 + S^2
        out = [(Fraction(V - 1), (i, j)) for j in range(n)] + [(Fraction(-V), (j, j)) for j in range(n)]
        return out + [(Fraction(1), (j, l)) for j in range(n) for l in range(n)]

    def decide(i):
        return ctx.decide("p_i - threshold", i, lambda prec: gap(i, prec), lambda: form(i))

    k, checks = _prefix_cut(ctx, p - thr, pol.strict, decide)
    return max(k, 1), checks


def _top_n_sigma(row, ctx, tau, pol, prm, rule, policy):
    nn = prm["n"]
    n = row.n
    if pol.noop(prm) or n == 1:
        return n, []
    denom = n - top_n_sigma.ddof(policy)
    xs = ctx.exponents
    if xs is not None:  # logits: a_i = -x_i rational, sigma^2 rational: decide a_i^2 <= n^2 sigma^2 exactly
        a = [-x for x in xs]
        mean = sum(a, Fraction(0)) / n
        var = sum(((ai - mean) ** 2 for ai in a), Fraction(0)) / denom
        bound = Fraction(nn) ** 2 * var
        est = np.array([fraction_to_float(bound - ai * ai) for ai in a])

        def decide(i):
            return ctx.decide_fraction("n^2 sigma^2 - (max - l_i)^2", i, bound - a[i] * a[i])

    else:
        a_est = ctx.est_a
        est = nn * float(np.std(a_est, ddof=top_n_sigma.ddof(policy))) - a_est

        def sigma(prec):
            mean = ctx._sum("a", prec, lambda j: ctx.a(j, prec)) / n
            var = ctx._sum(f"var{denom}", prec, lambda j: (ctx.a(j, prec) - mean) ** 2) / denom
            return iv.sqrt(var)

        def decide(i):
            return ctx.decide("n sigma - (max - l_i)", i, lambda prec: iv.mpf(nn) * sigma(prec) - ctx.a(i, prec))

    k, checks = _prefix_cut(ctx, est, pol.strict, decide)
    return max(k, 1), checks


def _top_a(row, ctx, tau, pol, prm, rule, policy):
    a = prm["a"]
    if pol.noop(prm):
        return row.n, []
    af = Fraction(a)
    est = ctx.est_p - top_a.threshold(a, ctx.est_p[0])

    def decide(i):  # p_i - a p_max^2, times S^2 (e_0 = 1): e_i S - a
        return ctx.decide(
            "p_i - a p_max^2",
            i,
            lambda prec: ctx.p(i, prec) - top_a.threshold(iv.mpf(a), ctx.p(0, prec)),
            lambda: [(Fraction(1), (i, j)) for j in range(ctx.n)] + [(-af, (0, 0))],
        )

    k, checks = _prefix_cut(ctx, est, pol.strict, decide)
    return _floor(row, k, prm["min_tokens_to_keep"], ties=pol.min_keep == "floor-ties"), checks


def _xtc(row, ctx, tau, pol, prm, rule, policy):
    n, thr = row.n, prm["threshold"]
    if n < 2 or pol.noop(prm):  # the gate stays shut
        return n, [], {"gate": False}
    tf = Fraction(thr)

    def decide(i):
        return ctx.decide(
            "p_i - xtc threshold",
            i,
            lambda prec: ctx.p(i, prec) - iv.mpf(thr),
            lambda: [(Fraction(1), (i,))] + [(-tf, (j,)) for j in range(n)],
        )

    above, checks = _prefix_cut(ctx, ctx.est_p - thr, pol.strict, decide)
    d = int(xtc.dropped(above, xtc.counted(n, row.size, policy), max(prm["min_tokens_to_keep"], 1)))
    return range(d, n), checks, {"gate": True, "above": above}


def _tfs(row, ctx, tau, pol, prm, rule, policy):
    z, n, m = prm["z"], row.n, prm["min_tokens_to_keep"]
    if pol.noop(prm) or (tfs.short_rows_untouched(policy) and n < 3):
        return n, [], {}
    if n < 3:  # no second difference: the first token and min_tokens_to_keep
        return int(tfs.kept(0, n, m, policy)), [], {}
    w = n - 2
    checks: list[Check] = []

    def d2(i, prec):  # the second difference of the weights e (p times S)
        return ctx.e(i, prec) - 2 * ctx.e(i + 1, prec) + ctx.e(i + 2, prec)

    def d2_form(i):
        return [(Fraction(1), (i,)), (Fraction(-2), (i + 1,)), (Fraction(1), (i + 2,))]

    signs: dict[int, Check] = {}

    def sign(i) -> Optional[int]:
        if i not in signs:
            signs[i] = ctx.decide("second difference", i, lambda prec: d2(i, prec), lambda: d2_form(i))
        return signs[i].sign

    def abs_form(coef):
        """``sum_i coef(i) |D_i|`` as a form; ``None`` where a sign is not certified."""
        out = []
        for i in range(w):
            s_i = sign(i)
            if s_i is None:
                return None
            if s_i and coef(i):
                out += [(c * s_i * coef(i), idx) for c, idx in d2_form(i)]
        return out

    def form_or_nonzero(coef):
        f = abs_form(coef)
        # an uncertified sign only happens on logits rows, where a single e^0 term reads "nonzero"
        return f if f is not None else [(Fraction(1), ())]

    def total(prec):
        return ctx._sum("tfs-w", prec, lambda i: abs(d2(i, prec)) if i < w else iv.mpf(0))

    est_w = np.abs(tfs.second_differences(ctx.est_e))
    est_total = float(est_w.sum())
    uniform = False
    if tfs.flat_means_uniform(policy):
        ff = Fraction(tfs.FLAT)
        c = ctx.decide("sum|d2| - 1e-6", 0, lambda prec: total(prec) / ctx.S(prec) - iv.mpf(tfs.FLAT),
                       lambda: form_or_nonzero(lambda i: Fraction(1)) + [(-ff, (j,)) for j in range(n)])
        checks.append(c)
        uniform = not c.outcome(True)
    else:
        flat = all(sign(i) == 0 for i in range(w))
        checks += list(signs.values()) if flat else []
        if flat:
            return n, checks, {}
    if uniform:  # cdf_j = (j + 1) / (n - 2), exactly
        count = sum(1 for j in range(w) if Fraction(j + 1, w) <= Fraction(z))
        return int(tfs.kept(count, n, m, policy)), checks, {"uniform": True}
    zf = Fraction(z)
    est = z * est_total - np.cumsum(est_w)

    def decide(j):  # cdf_j <= z:  z sum|D| - sum_{i<=j} |D_i| >= 0
        return ctx.decide(
            "z sum|d2| - cdf_j sum|d2|",
            j,
            lambda prec: iv.mpf(z) * total(prec) - sum((abs(d2(i, prec)) for i in range(j + 1)), iv.mpf(0)),
            lambda: form_or_nonzero(lambda i: zf - (1 if i <= j else 0)),
        )

    count, cut = _prefix_cut(_Sub(ctx, w), est, False, decide)
    return int(tfs.kept(count, n, m, policy)), checks + cut, {}


def _typical(row, ctx, tau, pol, prm, rule, policy):
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
    checks: list[Check] = []
    prec0 = precisions(ctx.max_prec)[0]
    with iv_precision(prec0):
        h = ctx.A(prec0) / ctx.S(prec0)  # H - ln S: the shifted score is |a_i - h|
        enc = []
        for i in range(n):
            enc.append(float_bounds(*iv_bounds(typical.score(-ctx.a(i, prec0), h))))
    cmp_cache: dict[tuple[int, int], Check] = {}

    def compare(i: int, j: int) -> Check:
        """Certified sign of score_j - score_i."""
        key = (i, j)
        if key in cmp_cache:
            return cmp_cache[key]
        if row.values[i] == row.values[j]:
            c = Check.of_sign("score_j - score_i", j, 0, 0.0, 0.0, "structure")
        else:

            def gap(prec):
                hh = ctx.A(prec) / ctx.S(prec)
                return typical.score(-ctx.a(j, prec), hh) - typical.score(-ctx.a(i, prec), hh)

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

    r, cut_checks = _prefix_cut(ctx, np.subtract(*typical.not_reached_sides(mass, np.cumsum(p[order]))), pol.strict, not_reached)
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


def _sample(ctx: ExactContext, k: int, u: float) -> tuple[int, list[Check]]:
    """Inverse CDF over the renormalised first ``k`` tokens: first ``j`` with ``S_{j+1} > u S_k``."""
    uf = Fraction(u)
    cum = np.cumsum(ctx.est_e[:k])
    est = u * cum[-1] - cum  # "not yet past u" gaps, non-increasing: >= 0 means not past

    def decide(j):
        return ctx.decide(
            "u S_k - S_{j+1}",
            j,
            lambda prec: iv.mpf(u) * ctx.prefix(k, prec) - ctx.prefix(j + 1, prec),
            lambda: [(uf, (l,)) for l in range(k)] + [(Fraction(-1), (l,)) for l in range(j + 1)],
        )

    sub = _Sub(ctx, k)
    j, checks = _prefix_cut(sub, est, False, decide)
    return min(j, k - 1), checks


class _Sub:
    """A view of a context restricted to its first ``k`` positions (for :func:`_prefix_cut`)."""

    def __init__(self, ctx: ExactContext, k: int):
        self.n = k
        self.max_prec = ctx.max_prec


def _mirostat(row, ctx, tau_temp, pol, prm, rule, policy):
    version = rule.variant["version"]
    n = row.n
    target, eta, u = prm["tau"], prm["eta"], prm["u"]
    mu = prm["mu"] if prm["mu"] is not None else 2.0 * target
    ln2 = math.log(2.0)
    checks: list[Check] = []
    extras: dict = {"mu_in": mu}
    if version == 2:
        # keep surprise -log2 p_i <= mu:  mu ln 2 - a_i - ln S >= 0
        with np.errstate(divide="ignore"):
            est = mu * ln2 + np.log(ctx.est_p)

        def decide(i):
            return ctx.decide(
                "mu ln2 - ln(1/p_i)",
                i,
                lambda prec: iv.mpf(mu) * iv.log(iv.mpf(2)) - ctx.a(i, prec) - iv.log(ctx.S(prec)),
            )

        k, checks = _prefix_cut(ctx, est, False, decide)
        k = max(k, 1)
    else:
        mm = min(prm["m"], n)
        nv = prm["n_vocab"] if prm["n_vocab"] is not None else row.size
        if nv < 2:
            raise ValueError("mirostat-v1 needs a vocabulary of at least 2 tokens (n_vocab)")
        vals = row.values[:mm]
        if mm < 2 or np.all(vals == vals[0]):
            k = n  # a flat (or one-token) head: the Zipf fit is degenerate, nothing is cut
            extras.update(s_hat=0, k_hat=math.inf)
        else:

            def s_hat(prec):
                num = iv.mpf(0)
                den = iv.mpf(0)
                for i in range(mm - 1):
                    t = mirostat.zipf_weight(i, IV)
                    num += t * (ctx.a(i + 1, prec) - ctx.a(i, prec))
                    den += t * t
                return num / den

            def log_k_hat(prec):
                s = s_hat(prec)
                y = (s - 1) * iv.log(iv.mpf(nv))
                # eps/(1 - N^-eps) = 1/(ln N * phi(eps ln N)), phi(y) = (1 - e^-y)/y decreasing, phi(0) = 1
                ylo, yhi = iv_bounds(y)

                def phi(x):
                    if x == 0:
                        return iv.mpf(1)
                    xv = iv.mpf(x)
                    return (1 - iv_exp(-xv)) / xv

                plo, phi_hi = phi(yhi), phi(ylo)
                ph = iv.mpf([iv_bounds(plo)[0], iv_bounds(phi_hi)[1]])
                return mirostat.log_k_hat(s, mu, iv.log(iv.mpf(nv)), ph, IV)

            half = mirostat.rounds_half_up(policy)  # floor(k_hat + 1/2)

            def q(prec):
                kh = iv_exp(log_k_hat(prec))
                return kh + iv.mpf(0.5) if half else kh

            with iv_precision(128):
                qlo, qhi = iv_bounds(q(128))
                extras["s_hat"] = float(mpmath.mpf(iv_bounds(s_hat(128))[0]))
                extras["k_hat"] = float(mpmath.mpf(iv_bounds(iv_exp(log_k_hat(128)))[0]))
            j = n if qlo >= n else max(int(mpmath.floor(qlo)), 1)
            # certify j <= q (when j >= 2) and q < j + 1 (when j < n), walking if the guess was off
            while True:
                if j >= 2:
                    c = ctx.decide("q - j", j, lambda prec, j=j: q(prec) - j)
                    ok = c.outcome(False)
                    if not ok:
                        j -= 1
                        continue
                    checks = [c]
                else:
                    checks = []
                if j < n:
                    c2 = ctx.decide("j + 1 - q", j, lambda prec, j=j: (j + 1) - q(prec))
                    ok = c2.outcome(True)
                    if not ok:
                        j += 1
                        continue
                    checks.append(c2)
                break
            k = j
    tok_pos, sample_checks = _sample(ctx, k, u)
    checks = list(checks) + sample_checks
    renorm = mirostat.renormalised_surprise(policy)

    def surprise(prec):  # bits
        denom = ctx.prefix(k, prec) if renorm else ctx.S(prec)
        return (ctx.a(tok_pos, prec) + iv.log(denom)) / iv.log(iv.mpf(2))

    s_val, ok_s = enclose(surprise, 30, ctx.max_prec, floor=1)
    mu_val, ok_m = enclose(lambda prec: mirostat.mu_update(iv.mpf(mu), iv.mpf(eta), surprise(prec), iv.mpf(target)), 30, ctx.max_prec, floor=1)
    if not (ok_s and ok_m):
        checks.append(Check.of_sign("mu to 30 digits", 0, None, float(mu_val), float(mu_val), "undecided"))
    return k, checks, extras, {"token": row.order[tok_pos], "mu": mu_val, "surprise": s_val}


# ---- the entry point ------------------------------------------------------------------------
def truncate(
    method: str,
    logits: Any,
    temperature: float = 1.0,
    policy: str = DEFAULT_POLICY,
    *,
    max_prec: int = DEFAULT_MAX_PREC,
    **params: Any,
) -> TruncationResult:
    """The certified kept set of ``method`` on one row (logits, or a ``from_probs`` row).

    Parameters
    ----------
    method : str
        A sampler of ``METHODS``: ``"top-k"``, ``"top-p"``, ``"min-p"``, ``"typical"``,
        ``"epsilon"``, ``"eta"``, ``"p-less"``, ``"p-less-norm"``, ``"top-n-sigma"``,
        ``"mirostat-v1"``, ``"mirostat-v2"``, ``"xtc"``, ``"top-a"``, ``"tfs"``.
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite.
    temperature : float
        Finite and ``> 0`` (default 1), applied before truncation.
    policy : str
        The engine convention, one of the method's policies (default ``"paper"``; see above).
    max_prec : int
        The highest ``mpmath`` precision in bits (``>= 64``, default 4096) before a comparison
        is reported undecided.
    **params
        The method's own parameters (``k``, ``p``, ``min_p``, ``mass``, ``epsilon``, ``n``,
        ``tau``/``eta``/``mu``/``u``, ``threshold``/``probability``, ``a``, ``z``) and
        ``min_tokens_to_keep`` where the engine has it; ranges depend on the policy.

    Returns
    -------
    TruncationResult
        The kept ids, whether they are certified, and (mirostat) the chosen token and new ``mu``.

    Raises
    ------
    ValueError
        An unknown method or a policy it does not have, a parameter out of its range under the
        policy, a bad row, or ``temperature`` / ``max_prec`` out of range.
    TypeError
        A parameter the method does not take, a required one missing, or a value of the wrong type.

    Examples
    --------
    >>> r = truncate("epsilon", [0.0, 0.0], epsilon=0.5)          # p = 0.5 each: 0.5 > 0.5 fails
    >>> r.kept, r.decisions[0].method
    ((0,), 'exact-lw')
    >>> truncate("epsilon", [0.0, 0.0], policy="transformers", epsilon=0.5).kept   # >= keeps both
    (0, 1)
    >>> r = truncate("mirostat-v2", [2.0, 1.0, 0.0], tau=1.0, eta=0.1, u=0.5)
    >>> r.kept, r.token, round(float(r.mu), 6)      # p = (.665, .245, .090); mu0 = 2 bits keeps p >= 1/4
    ((0,), 0, 2.041195)
    >>> # mu = 2 - 0.1 (-log2 0.665 - 1) = 2 - 0.1 (0.588 - 1)
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    prm = check_params(method, policy, params)
    precisions(max_prec)  # checked here, not only when a comparison needs the ladder
    ctx = ExactContext(row, tau, max_prec)
    rule = truncation_rule(method)
    # every rule's driver returns (the kept prefix length or sorted positions, the decisive
    # checks[, extras[, the state of a stateful sampler]])
    k, checks, extras, state = (*_DRIVERS[rule.module](row, ctx, tau, rule.policy(policy), prm, rule, policy), {}, {})[:4]
    return _result(method, policy, prm, tau, row, k, checks, extras=extras, **state)


#: the certified driver of each rule module of :mod:`ees_theory.core.truncation`
_DRIVERS = {
    top_k: _top_k,
    top_p: _top_p,
    min_p: _min_p,
    typical: _typical,
    epsilon: _epsilon,
    eta_sampling: _eta,
    p_less: _p_less,
    top_n_sigma: _top_n_sigma,
    mirostat: _mirostat,
    xtc: _xtc,
    top_a: _top_a,
    tfs: _tfs,
}

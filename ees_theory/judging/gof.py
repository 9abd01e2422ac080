"""Goodness of fit of token draws against an exactly known distribution, with finite-sample
error rates (no asymptotic approximation anywhere).

The draws judge (:mod:`draws <ees_theory.running.draws>`) knows the exact distribution ``q`` every draw must come from, so
the question is a one-sample test of ``N`` draws against ``q``. Asymptotic tests (Pearson's
chi-square, the G-test) are accurate near the 5% level; at the tiny levels a family-wise rate of
``1e-6`` asks for, their tail approximation is not guaranteed. Every p-value here is instead an
upper bound that holds for every ``N`` and every ``q``:

* **bins**: tokens are grouped into at most ``max_bins`` bins, most probable tokens singly, the
  tail pooled so that every bin expects at least ``min_expected`` draws (:func:`pool_bins`);
* **L1 test** (:func:`l1_pvalue`): ``L = sum_i |n_i / N - q_i|`` over the bins. Two valid tail
  bounds, the smaller taken: Weissman et al. (2003), ``P(L >= e) <= (2^k - 2) exp(-N e^2 / 2)``,
  and McDiarmid's inequality (one draw moves ``L`` by at most ``2 / N``) around
  ``E L <= sum_i sqrt(q_i (1 - q_i) / N)``: ``P(L >= E + t) <= exp(-N t^2 / 2)``;
* **exact binomial test per bin** (:func:`bins_pvalue`): each bin count is exactly
  ``Binomial(N, q_i)``; two-sided exact tails, Bonferroni over the bins. Valid at any expected
  count, and far more sensitive than the L1 test to a deviation concentrated on one token;
* the case's p-value is ``2 min(p_L1, p_bins)`` (Bonferroni over the two tests);
* **sequences** (mirostat, whose distribution changes from draw to draw): the randomised
  probability integral transform of each draw under its own exact conditional distribution is
  exactly uniform and independent of the past; :func:`ks_uniform_pvalue` bounds the
  Kolmogorov-Smirnov statistic of those values by Massart's DKW inequality ``2 exp(-2 N D^2)``.

Across cases :func:`holm` controls the family-wise false-alarm rate. :func:`plan_draws` is the
sample-size plan: the ``N`` at which the L1 test detects any deviation of total variation ``tv``
(on at most ``max_bins`` bins) with probability ``power``, at the per-case level; it follows
from the same two bounds applied under the alternative, so the power statement is as rigorous as
the false-alarm one.

>>> q = np.array([0.5, 0.3, 0.2])
>>> round(gof_pvalue(np.array([5000, 3000, 2000]), q).pvalue, 6)
1.0
>>> gof_pvalue(np.array([5000, 3000, 0]), q).pvalue < 1e-100      # a token never drawn
True
>>> plan_draws(0.02, 0.99, 1e-6, max_bins=32)
157717
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = [
    "MAX_BINS",
    "MIN_EXPECTED",
    "Fit",
    "pool_bins",
    "binom_two_sided",
    "bins_pvalue",
    "l1_pvalue",
    "gof_pvalue",
    "ks_uniform_pvalue",
    "holm",
    "plan_draws",
    "detectable_tv",
]

#: at most this many bins per test (the plan's power statement is for deviations on these bins)
MAX_BINS = 32
#: pooled tail bins expect at least this many draws
MIN_EXPECTED = 5.0


def _check_prob(name: str, x: float, open_hi: bool = True) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(x).__name__}")
    x = float(x)
    if not (0.0 < x < 1.0 if open_hi else 0.0 < x <= 1.0):
        raise ValueError(f"{name} must lie in (0, 1{')' if open_hi else ']'}, got {x!r}")
    return x


def pool_bins(q: Sequence[float], n: int, min_expected: float = MIN_EXPECTED, max_bins: int = MAX_BINS) -> list[list[int]]:
    """Group the positions of ``q`` (most probable first) into bins for ``n`` draws.

    The leading positions each get a bin while they expect at least ``min_expected`` draws (and
    fewer than ``max_bins - 1`` bins are taken); the rest are pooled, in order, into tail bins
    that expect at least ``min_expected`` draws each (a short remainder joins the last bin), and
    the whole stays within ``max_bins`` bins. Positions with ``q = 0`` are pooled like the others.

    >>> pool_bins([0.6, 0.3, 0.05, 0.03, 0.02], 100)
    [[0], [1], [2], [3, 4]]
    >>> pool_bins([0.25] * 4, 100, max_bins=3)
    [[0], [1], [2, 3]]
    """
    q = np.asarray(q, dtype=np.float64)
    if max_bins < 2:
        raise ValueError(f"max_bins must be >= 2, got {max_bins}")
    bins: list[list[int]] = []
    i, m = 0, q.size
    while i < m and len(bins) < max_bins - 1 and q[i] * n >= min_expected:
        bins.append([i])
        i += 1
    rest = list(range(i, m))
    if not rest:
        return bins
    room = max_bins - len(bins)
    total = float(q[i:].sum()) * n
    # tail bins of (about) equal expectation, each >= min_expected, at most `room` of them
    parts = max(1, min(room, int(total // min_expected) if min_expected > 0 else room))
    target = total / parts
    cur: list[int] = []
    acc = 0.0
    for j in rest:
        cur.append(j)
        acc += q[j] * n
        if acc >= target and len(bins) < max_bins - 1:
            bins.append(cur)
            cur, acc = [], 0.0
    if cur:
        if bins and len(bins) > i and acc < min_expected:
            bins[-1].extend(cur)  # a short remainder joins the last tail bin
        else:
            bins.append(cur)
    return bins


def _tail(x: int, n: int, p: float, upper: bool) -> float:
    """``P(X <= x)`` (or ``P(X >= x)``), X ~ Bin(n, p), summed outward from ``x`` in log space;
    stops once the terms are negligible or the sum passes 1/2 (then the two-sided value is 1)."""
    lp, lq = math.log(p), math.log1p(-p)
    ln_n = math.lgamma(n + 1)
    total, j = 0.0, x
    step = 1 if upper else -1
    prev = -math.inf
    while 0 <= j <= n:
        stop = n + 1 if upper else -1
        js = range(j, min(j + 256, stop) if upper else max(j - 256, stop), step)
        terms = [math.exp(ln_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq) for i in js]
        total += math.fsum(terms)
        last = terms[-1]
        if total > 0.5:
            return 1.0
        if last < prev and last <= 1e-18 * total:  # past the mode: what is left is below 1e-16 of the sum
            break
        prev = last
        j = js[-1] + step
    return total


def binom_two_sided(x: int, n: int, p: float) -> float:
    """Exact two-sided binomial p-value ``min(1, 2 min(P(X <= x), P(X >= x)))``, X ~ Bin(n, p).

    Each tail is a sum of terms computed from ``lgamma`` (relative error about ``1e-9`` for a
    million draws); the result is rounded up by a factor ``1 + 1e-6`` so it stays an upper bound.
    Within 3 standard deviations of the mean the answer is 1 (an upper bound that saves the long
    sums: such p-values exceed 1e-4 and never decide anything at the levels of a run).

    >>> round(binom_two_sided(0, 100, 0.1), 9)         # 2 * 0.9**100
    5.3123e-05
    >>> binom_two_sided(3, 10, 0.0), binom_two_sided(0, 10, 0.0)
    (0.0, 1.0)
    >>> binom_two_sided(5000, 10000, 0.5)
    1.0
    """
    if p <= 0.0:
        return 0.0 if x > 0 else 1.0
    if p >= 1.0:
        return 0.0 if x < n else 1.0
    if abs(x - n * p) <= 3 * math.sqrt(n * p * (1 - p)):
        return 1.0  # within 3 sd the p-value is far above any level used here; 1 is an upper bound
    lo = _tail(x, n, p, upper=False)
    hi = _tail(x, n, p, upper=True)
    return min(1.0, 2 * min(lo, hi) * (1 + 1e-6))


@dataclass(frozen=True)
class Fit:
    """The outcome of one goodness-of-fit test: the p-value bound and where the misfit is worst.

    ``worst`` is the position of the bin with the smallest binomial p-value, ``observed`` and
    ``expected`` its draw count and expectation; ``test`` names the test that gave the p-value.
    """

    pvalue: float
    test: str
    l1: float
    worst: int
    observed: int
    expected: float
    bins: int


def bins_pvalue(counts: np.ndarray, q: np.ndarray) -> tuple[float, int]:
    """Bonferroni-combined exact binomial p-value over the bins and the worst bin.

    >>> p, worst = bins_pvalue(np.array([70, 30]), np.array([0.5, 0.5]))
    >>> round(p, 8)               # 2 bins x 2 P(X >= 70) = 4 x 3.925e-05
    0.000157
    """
    counts = np.asarray(counts)
    n = int(counts.sum())
    ps = [binom_two_sided(int(c), n, float(p)) for c, p in zip(counts, q)]
    worst = int(np.argmin(ps))
    return min(1.0, ps[worst] * len(ps)), worst


def l1_pvalue(counts: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """Finite-sample p-value bound of the L1 distance between the empirical and ``q``; and L.

    >>> p, L = l1_pvalue(np.array([5000, 5000]), np.array([0.5, 0.5]))
    >>> p, L
    (1.0, 0.0)
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = float(counts.sum())
    k = int(q.size)
    L = float(np.abs(counts / n - q).sum())
    if k < 2 or L <= 0.0:
        return 1.0, L
    log_w = k * math.log(2.0) - n * L * L / 2  # Weissman, with (2^k - 2) <= 2^k
    mean = float(np.sqrt(q * (1 - q) / n).sum())
    log_m = -n * (L - mean) ** 2 / 2 if L > mean else 0.0
    return min(1.0, math.exp(min(log_w, log_m, 0.0))), L


def gof_pvalue(counts: np.ndarray, q: np.ndarray) -> Fit:
    """Test bin ``counts`` against bin probabilities ``q``: ``2 min(p_L1, p_bins)``.

    A count in a bin with ``q = 0`` gives p-value 0.

    >>> f = gof_pvalue(np.array([700, 300]), np.array([0.5, 0.5]))
    >>> f.pvalue < 1e-30, f.test, f.worst
    (True, 'binomial', 0)
    """
    counts = np.asarray(counts, dtype=np.int64)
    q = np.asarray(q, dtype=np.float64)
    if counts.shape != q.shape or counts.ndim != 1:
        raise ValueError(f"counts and q must be 1-D of one length, got {counts.shape} and {q.shape}")
    n = int(counts.sum())
    if n <= 0:
        raise ValueError("no draws to test")
    if np.any(q < 0) or not math.isclose(float(q.sum()), 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"q must be a probability vector (sum {float(q.sum())!r})")
    p_bins, worst = bins_pvalue(counts, q)
    p_l1, L = l1_pvalue(counts, q)
    test = "binomial" if p_bins <= p_l1 else "L1"
    return Fit(min(1.0, 2 * min(p_bins, p_l1)), test, L, worst, int(counts[worst]), float(q[worst] * n), int(q.size))


def ks_uniform_pvalue(u: np.ndarray) -> tuple[float, float]:
    """Massart's DKW bound ``min(1, 2 exp(-2 N D^2))`` for values that should be i.i.d. U(0,1).

    >>> p, D = ks_uniform_pvalue((np.arange(1000) + 0.5) / 1000)
    >>> p, round(D, 4)
    (1.0, 0.0005)
    """
    u = np.sort(np.asarray(u, dtype=np.float64))
    n = u.size
    if n == 0:
        return 1.0, 0.0
    i = np.arange(1, n + 1)
    D = float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))
    return min(1.0, 2.0 * math.exp(-2.0 * n * D * D)), D


def holm(pvalues: Sequence[float], alpha: float) -> list[bool]:
    """Holm's step-down rejections at family-wise level ``alpha`` (NaN = untested, never rejected).

    >>> holm([0.01, 0.04, 0.03, float("nan")], 0.05)
    [True, False, False, False]
    """
    alpha = _check_prob("alpha", alpha)
    tested = [(p, i) for i, p in enumerate(pvalues) if not math.isnan(p)]
    tested.sort()
    m = len(tested)
    out = [False] * len(pvalues)
    for j, (p, i) in enumerate(tested):
        if p > alpha / (m - j):
            break
        out[i] = True
    return out


def _coefficients(level: float, beta: float, max_bins: int) -> float:
    """``c`` with ``threshold + power margin = c / sqrt(N)`` for the L1 test (see :func:`plan_draws`)."""
    k = max_bins
    lw = k * math.log(2.0)

    def c(delta: float) -> float:  # both tail bounds solved for the deviation, times sqrt(N)
        weissman = math.sqrt(2 * (lw + math.log(1 / delta)))
        mcdiarmid = math.sqrt(k - 1) + math.sqrt(2 * math.log(1 / delta))
        return min(weissman, mcdiarmid)

    return c(level) + c(beta)


def plan_draws(tv: float, power: float, level: float, max_bins: int = MAX_BINS) -> int:
    """Draws per case so that the L1 test at per-case ``level`` (half of it: the other half is the
    binomial test's) rejects every distribution at total variation ``>= tv`` from the exact one
    (on the bins) with probability ``>= power``.

    Under such an alternative ``q'``, ``L >= 2 tv - ||p_hat - q'||_1``; the test rejects once
    ``2 tv`` exceeds its threshold plus the ``1 - power`` quantile bound of ``||p_hat - q'||_1``,
    both ``c / sqrt(N)`` by the bounds of the module docstring.

    >>> plan_draws(0.05, 0.99, 1e-6, max_bins=8)
    11748
    """
    tv = _check_prob("tv", tv, open_hi=False)
    power = _check_prob("power", power)
    level = _check_prob("level", level)
    c = _coefficients(level / 2, 1 - power, max_bins)
    return int(math.ceil((c / (2 * tv)) ** 2))


def detectable_tv(n: int, power: float, level: float, max_bins: int = MAX_BINS) -> float:
    """The total variation :func:`plan_draws` guarantees to detect with ``n`` draws.

    >>> round(detectable_tv(plan_draws(0.02, 0.99, 1e-6), 0.99, 1e-6), 4)
    0.02
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    power = _check_prob("power", power)
    level = _check_prob("level", level)
    return _coefficients(level / 2, 1 - power, max_bins) / (2 * math.sqrt(n))

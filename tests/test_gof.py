"""The statistics of the draws judge: exact tails, pooling, Holm, the L1 bound and the plan."""

from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest

from ees_theory.judging import gof


def exact_two_sided(x, n, p):
    # term by term at 60 digits with exact binomial coefficients (independent of gof's lgamma sums)
    with mpmath.workdps(60):
        p = mpmath.mpf(Fraction(p).numerator) / Fraction(p).denominator
        term = lambda j: comb(n, j) * p**j * (1 - p) ** (n - j)  # noqa: E731
        lo = mpmath.fsum(term(j) for j in range(0, x + 1))
        hi = mpmath.fsum(term(j) for j in range(x, n + 1))
        return float(min(1, 2 * min(lo, hi)))


@pytest.mark.parametrize("x,n,p", [(10, 1000, 0.03), (60, 1000, 0.03), (0, 2000, 0.01), (500, 3000, 0.2), (1, 50, 0.3), (49, 50, 0.5)])
def test_binomial_tail_is_an_upper_bound_within_1e_5(x, n, p):
    exact = exact_two_sided(x, n, p)
    got = gof.binom_two_sided(x, n, p)
    assert got >= exact
    assert got <= exact * (1 + 1e-5) or (exact > 1e-3 and got == 1.0)


def test_pool_bins_cover_every_position_once_and_respect_limits():
    rng = np.random.default_rng(3)
    for _ in range(50):
        q = np.sort(rng.dirichlet(np.full(int(rng.integers(1, 300)), 0.3)))[::-1]
        n = int(rng.integers(10, 5000))
        bins = gof.pool_bins(q, n)
        flat = [i for b in bins for i in b]
        assert flat == list(range(q.size))
        assert len(bins) <= gof.MAX_BINS
        # every bin but the last expects at least MIN_EXPECTED draws
        assert all(q[b].sum() * n >= gof.MIN_EXPECTED * (1 - 1e-9) for b in bins[:-1])


def test_holm_matches_the_step_down_definition():
    assert gof.holm([0.001, 0.02, 0.06], 0.05) == [True, True, False]  # 0.001 <= .05/3, 0.02 <= .05/2, 0.06 > .05
    assert gof.holm([0.001, 0.02, 0.04], 0.05) == [True, True, True]
    assert gof.holm([0.2, 0.001], 0.05) == [False, True]
    with pytest.raises(ValueError, match="alpha"):
        gof.holm([0.1], 1.5)


def test_l1_pvalue_holds_its_level_by_simulation():
    # false-alarm frequency at level 0.05 must not exceed 0.05 (the bound is conservative)
    rng = np.random.default_rng(0)
    q = np.array([0.4, 0.3, 0.2, 0.1])
    rejections = sum(gof.l1_pvalue(rng.multinomial(500, q), q)[0] <= 0.05 for _ in range(400))
    assert rejections <= 20


def test_plan_grows_as_the_deviation_shrinks_and_matches_detectable_tv():
    n1, n2 = gof.plan_draws(0.05, 0.99, 1e-6), gof.plan_draws(0.02, 0.99, 1e-6)
    assert n2 > n1 > 0
    assert abs(n2 / n1 - (0.05 / 0.02) ** 2) < 0.01 * (0.05 / 0.02) ** 2
    assert gof.detectable_tv(n2, 0.99, 1e-6) <= 0.02


def test_the_plan_really_has_its_power_against_a_tv_deviation():
    # a deviation of exactly TV 0.1 on 8 bins, planned draws: rejected every time in 20 tries
    q = np.full(8, 1 / 8)
    alt = q.copy()
    alt[0] += 0.1
    alt[1:5] -= 0.025
    n = gof.plan_draws(0.1, 0.99, 1e-3, max_bins=8)
    rng = np.random.default_rng(1)
    assert all(gof.l1_pvalue(rng.multinomial(n, alt), q)[0] <= 1e-3 / 2 for _ in range(20))


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, float("nan")])
def test_plan_rejects_bad_levels(bad):
    with pytest.raises(ValueError):
        gof.plan_draws(0.02, 0.99, bad)
    with pytest.raises(TypeError):
        gof.plan_draws("0.02", 0.99, 1e-6)


def test_gof_rejects_a_non_distribution():
    with pytest.raises(ValueError, match="probability vector"):
        gof.gof_pvalue(np.array([1, 2]), np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="no draws"):
        gof.gof_pvalue(np.array([0, 0]), np.array([0.5, 0.5]))


def test_ks_of_uniform_values_is_not_rejected_and_of_skewed_values_is():
    rng = np.random.default_rng(2)
    assert gof.ks_uniform_pvalue(rng.random(2000))[0] > 1e-6
    assert gof.ks_uniform_pvalue(rng.random(2000) ** 1.3)[0] < 1e-6

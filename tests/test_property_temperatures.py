"""Property tests of the temperature claims (EDT-*, DYN-RANGE, SEED-TAU)."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ees_theory as et
from ees_theory.ledger import claims
from ees_theory.families import strategies as ets


@given(ets.logits(min_vocab=2, max_vocab=30, ties=True), ets.edt_params())
def test_edt_range(z, params):
    T0, theta, N = params
    T = et.reference.edt_temperature(z, T0, theta, N)
    T_flat = et.reference.edt_temperature(z / 2.0, T0, theta, N)  # higher (or equal) entropy
    H, H_flat = et.reference.entropy(z), et.reference.entropy(z / 2.0)
    with mpmath.workdps(40):
        if theta == 0:
            assert T == T0
        else:
            assert 0 <= T <= T0
            # T0 - T ~ T0 theta |ln N| / H: visible in the reference's 30 digits when that is > 1e-20
            if H > 0 and theta * abs(math.log(N)) / H > 1e-20:
                assert T < T0
            # the rise is ~ T theta |ln N| (1/H - 1/H_flat): resolvable in 30 digits here
            if theta > 1e-3 and H_flat > H * (1 + mpmath.mpf(10) ** -10):
                assert T_flat > T


@given(ets.logits(min_vocab=2, max_vocab=30), st.floats(0.1, 3.0), st.floats(0.05, 0.95))
def test_edt_points(z, T0, N):
    H = et.reference.entropy(z)
    if H == 0:
        assert et.reference.edt_temperature(z, T0, 1.0, N) == 0  # H -> 0: greedy
        return
    T = et.reference.edt_temperature(z, T0, float(H), N)
    with mpmath.workdps(40):  # theta = H up to the rounding of H to a double
        assert abs(mpmath.log(T / (mpmath.mpf(N) * T0))) <= abs(math.log(N)) * 2.0**-51 + mpmath.mpf(10) ** -28


@given(ets.logits(min_vocab=2, max_vocab=30, ties=True), ets.dynatemp_params(exponent_min=0.01))
def test_dynatemp_range(z, params):
    temp, delta, e = params
    T = et.reference.dynatemp_temperature(z, temp, delta, e)
    T2 = et.reference.dynatemp_temperature(z / 2.0, temp, delta, e)
    H, H2 = et.reference.entropy(z), et.reference.entropy(z / 2.0)
    with mpmath.workdps(50):
        t_min, t_max = max(mpmath.mpf(0), mpmath.mpf(temp) - delta), mpmath.mpf(temp) + delta
        tol = mpmath.mpf(10) ** -25 * (1 + t_max)
        assert t_min - tol <= T <= t_max + tol
        if H2 > H + tol:
            assert T2 >= T - tol


def test_dynatemp_negative_exponent_leaves_the_range():
    # DYN-RANGE's range part fails for a negative exponent: for logits (1, 0), H < ln 2, and with
    # exponent -1 the factor (H / ln 2)**-1 exceeds 1, so T > T_max = 1.5. By hand:
    p = 1 / (1 + math.exp(-1.0))
    H = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    expect = 0.5 + 1.0 * (H / math.log(2)) ** -1.0
    T = et.reference.dynatemp_temperature([1.0, 0.0], temp=1.0, delta=0.5, exponent=-1.0)
    assert T > 1.5 and float(T) == pytest.approx(expect, rel=1e-12)


def test_dyn_range_counterexample_refutes():
    c = claims.Counterexample.from_json(claims.recorded_verdicts()["DYN-RANGE"]["counterexample"])
    p = c.params
    assert p["exponent"] < 0
    T = et.reference.dynatemp_temperature(c.row, p["temp"], p["delta"], p["exponent"])
    with mpmath.workdps(50):
        assert T > mpmath.mpf(p["temp"]) + mpmath.mpf(p["delta"]) + mpmath.mpf(10) ** -20


def test_seed_tau_counterexample_refutes():
    c = claims.Counterexample.from_json(claims.recorded_verdicts()["SEED-TAU"]["counterexample"])
    z = c.row
    # two tokens: p_top(tau) = 1 / (1 + exp(-d / tau)) falls to 1/2, computed by hand here
    with mpmath.workdps(40):
        d = mpmath.mpf(float(np.max(z))) - mpmath.mpf(float(np.min(z)))
        for tau in c.temperatures:
            ref = max(et.reference.softmax(z, tau))
            assert abs(ref - 1 / (1 + mpmath.exp(-d / tau))) < mpmath.mpf(10) ** -25
        assert 1 / (1 + mpmath.exp(-d / c.temperatures[-1])) < 0.51

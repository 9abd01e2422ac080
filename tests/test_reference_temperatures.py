"""EDT and llama.cpp dynatemp in the exact reference: hand-checked values and limits."""

import math

import mpmath
import pytest

from ees_theory.reference import dynatemp_temperature, edt_temperature, entropy

NEG_INF = -math.inf


def test_entropy_by_hand():
    # p = (1/2, 1/4, 1/4): H = 1.5 ln 2
    z = [math.log(2.0), 0.0, 0.0]
    assert float(entropy(z)) == pytest.approx(1.5 * math.log(2), rel=1e-15)
    assert entropy([3.0]) == 0
    assert float(entropy([1.0, 1.0, NEG_INF])) == pytest.approx(math.log(2), rel=1e-15)


def test_edt_fixed_points():
    # H = ln 2 for two equal logits; theta = H gives T = N * T0
    T = edt_temperature([0.0, 0.0], T0=1.5, theta=math.log(2), N=0.8)
    assert float(T) == pytest.approx(1.2, rel=1e-15)
    # theta = 0 gives T0; a single candidate gives the greedy limit 0
    assert edt_temperature([0.0, 1.0], T0=0.7, theta=0.0) == mpmath.mpf(0.7)
    assert edt_temperature([0.0, NEG_INF], T0=0.7, theta=1.0) == 0


def test_edt_formula_and_units():
    # p = (0.25, 0.75) as logits (0, ln 3): H = -(0.25 ln 0.25 + 0.75 ln 0.75)
    z = [0.0, math.log(3.0)]
    H = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    T = edt_temperature(z, T0=1.0, theta=0.5, N=0.8)
    assert float(T) == pytest.approx(0.8 ** (0.5 / H), rel=1e-13)
    # scale invariance T(c theta, c H): entropy in bits = theta rescaled by ln 2
    assert float(T) == pytest.approx(0.8 ** ((0.5 / math.log(2)) / (H / math.log(2))), rel=1e-13)


def test_edt_tempered_entropy():
    # entropy_of="tempered" uses softmax(z / T0): with T0 = 2 the row (0, 2 ln 3) becomes (0, ln 3)
    z = [0.0, 2 * math.log(3.0)]
    H = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    T = edt_temperature(z, T0=2.0, theta=0.5, entropy_of="tempered")
    assert float(T) == pytest.approx(2.0 * 0.8 ** (0.5 / H), rel=1e-13)
    assert edt_temperature(z, T0=2.0, theta=0.5) != T


def test_dynatemp_by_hand():
    # uniform over 4: H / ln n = 1 -> T_max
    assert float(dynatemp_temperature([0.0] * 4, temp=1.0, delta=0.5, exponent=2.0)) == pytest.approx(1.5)
    # masked entries count in n: H = ln 2, n = 4 -> ratio 1/2
    T = dynatemp_temperature([0.0, 0.0, NEG_INF, NEG_INF], temp=1.0, delta=0.5, exponent=2.0)
    assert float(T) == pytest.approx(0.5 + 1.0 * 0.25, rel=1e-14)
    # T_min = max(0, temp - delta)
    T = dynatemp_temperature([0.0, 0.0, NEG_INF, NEG_INF], temp=0.3, delta=0.5, exponent=1.0)
    assert float(T) == pytest.approx(0.0 + 0.8 * 0.5, rel=1e-14)


def test_dynatemp_special_cases():
    assert dynatemp_temperature([1.0, 2.0], temp=0.8, delta=0.0, exponent=1.0) == mpmath.mpf(0.8)
    assert dynatemp_temperature([1.0, 2.0], temp=0.8, delta=-1.0, exponent=1.0) == mpmath.mpf(0.8)
    assert dynatemp_temperature([1.0], temp=0.8, delta=0.3, exponent=1.0) is None
    # exponent 0 -> T_max, also at H = 0
    assert float(dynatemp_temperature([1.0, NEG_INF], 0.8, 0.3, 0.0)) == pytest.approx(1.1)
    # H = 0, positive exponent -> T_min
    assert float(dynatemp_temperature([1.0, NEG_INF], 0.8, 0.3, 1.0)) == pytest.approx(0.5)


def test_digits_are_correct():
    # 40 digits asked, 40 digits delivered: compare against an independent 80-digit evaluation
    z = [0.25, -1.5, 3.0, 0.0]
    with mpmath.workdps(80):
        w = [mpmath.exp(mpmath.mpf(v)) for v in z]
        s = mpmath.fsum(w)
        H = -mpmath.fsum((x / s) * mpmath.log(x / s) for x in w)
        expect = mpmath.mpf(1.3) * mpmath.power(mpmath.mpf(0.8), mpmath.mpf(0.9) / H)
    got = edt_temperature(z, T0=1.3, theta=0.9, dps=40)
    with mpmath.workdps(80):
        assert abs(got - expect) / expect < mpmath.mpf(10) ** -39


def test_tiny_entropy_keeps_its_relative_accuracy():
    # p2 = e^-d / (1 + e^-d): H = -p1 ln p1 - p2 ln p2 is ~ (d + 1) e^-d, far below any fixed precision
    for d in (1000.0, 100000.0):
        with mpmath.workdps(60):
            x = mpmath.exp(-mpmath.mpf(d))
            p1, p2 = 1 / (1 + x), x / (1 + x)
            expect = -(p1 * mpmath.log1p(-p2) + p2 * mpmath.log(p2))
            got = entropy([0.0, -d])
            assert abs(got - expect) / expect < mpmath.mpf(10) ** -28
    # EDT there is the greedy limit in all but name, and still an exact positive number
    T = edt_temperature([0.0, -1000.0], T0=1.0, theta=1.0)
    assert 0 < T < mpmath.mpf(10) ** -1000


def test_astronomical_temperatures_are_reported_not_hung():
    # (0, -1e5): H ~ 1e5 e^-1e5, so theta ln N / H ~ -6e43423 and T = exp(that): positive but far
    # beyond what the reference evaluates -- a clear ValueError, promptly (it used to run for minutes)
    with pytest.raises(ValueError, match=r"below T0 \* exp\(-2\*\*2048\)"):
        edt_temperature([0.0, -1e5], T0=1.0, theta=1.0)
    with pytest.raises(ValueError, match=r"below T0 \* exp\(-2\*\*2048\)"):
        edt_temperature([0.0, -1e300], T0=1.0, theta=1.0)
    # dynatemp there stays exact: T_min plus a negligible term, or a huge but finite number
    assert dynatemp_temperature([0.0, -1e300], temp=1.0, delta=0.5, exponent=1.0) == mpmath.mpf(0.5)
    big = dynatemp_temperature([0.0, -1e300], temp=1.0, delta=0.5, exponent=-1.0)
    assert mpmath.isfinite(big) and big > mpmath.mpf(10) ** (10**20)

"""The certified EES reference: hand-checked cases, structure, certification, and an independent
multiprecision cross-check."""

import math

import mpmath
import numpy as np
import pytest

import ees_theory as et
from ees_theory.reference import ees, from_probs

NEG_INF = -math.inf


def _binary_entropy(q: float) -> float:
    return -(q * math.log(q) + (1 - q) * math.log(1 - q))


def test_three_probabilities_by_hand():
    # p = (0.5, 0.3, 0.2).  k = 2: q = (0.625, 0.375), Hbar_2 = h(0.625)/ln 2 = 0.9544 >= P_2 = 0.8.
    # k = 3: H_3 = 1.0297, Hbar_3 = H_3 / ln 3 = 0.9372 < P_3 = 1 -> crossing at 3, keep 2.
    hbar2 = _binary_entropy(0.625) / math.log(2)
    assert hbar2 == pytest.approx(0.954434, abs=1e-6) and hbar2 > 0.8
    h3 = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2))
    assert h3 / math.log(3) < 1.0
    r = ees(from_probs([0.5, 0.3, 0.2]))
    assert (r.k, r.kept, r.certified) == (2, (0, 1), True)
    c2, c3 = r.decisions
    assert c2.k == 2 and c2.crossing is False and c2.f_lo <= hbar2 - 0.8 <= c2.f_hi
    assert c3.k == 3 and c3.crossing is True and c3.f_lo <= h3 / math.log(3) - 1 <= c3.f_hi


def test_logits_by_hand_and_rules():
    # z = (2, 1, 0): p = (e^2, e, 1) / (e^2 + e + 1) = (0.6652, 0.2447, 0.0900).
    # k = 2: q_1 = e/(e+1) = 0.7311, Hbar_2 = h(0.7311)/ln 2 = 0.8400 < P_2 = 0.9100 -> crossing at 2.
    s = math.e**2 + math.e + 1
    q1 = math.e / (math.e + 1)
    assert _binary_entropy(q1) / math.log(2) < (math.e**2 + math.e) / s
    assert ees([2.0, 1.0, 0.0]).k == 1
    assert ees([2.0, 1.0, 0.0], rule="first-inclusive").k == 2
    # "last": k* = max{k >= 2: f(k) >= 0}; f(2) < 0 and f(3) < 0 (not uniform) -> none -> 1
    assert ees([2.0, 1.0, 0.0], rule="last").k == 1
    # ids follow sorted order, not input order
    assert ees([0.0, 2.0, 1.0]).kept == (1,)


def test_uniform_rows_keep_everything():
    for n in (2, 3, 7, 1000):
        r = ees(np.zeros(n))
        assert r.k == n and r.certified
        assert r.decisions[-1].method == "structure" and r.decisions[-1].crossing is False
    # masked tokens are not candidates
    r = ees([1.5, NEG_INF, 1.5, NEG_INF])
    assert r.kept == (0, 2) and r.n == 2


def test_single_candidate_and_min_tokens_to_keep():
    assert ees([NEG_INF, 3.0, NEG_INF]).kept == (1,)
    assert ees([7.0]).k == 1
    # n <= m: nothing is filtered
    r = ees([5.0, 0.0, -5.0], min_tokens_to_keep=3)
    assert r.k == 3 and r.decisions == ()
    # m only moves the start of the search: with m = 2 the first comparison is at i = 3
    r = ees([2.0, 1.0, 0.0], min_tokens_to_keep=2)
    assert r.k == 2 and [c.k for c in r.decisions] == [3]


def test_top_tie_block_is_kept_by_structure():
    # Hbar_k = 1 for a tied top block while P_k < 1, so no crossing inside the block.
    r = ees([4.0, 4.0, 4.0, -20.0, -20.0])
    assert r.k >= 3
    assert [c.method for c in r.decisions[:2]] == ["structure", "structure"]


def test_tie_breaking_by_id_keeps_the_count():
    # tokens 1 and 3 tie at the boundary; which is kept follows ids, how many does not
    z = np.array([3.0, 1.0, 5.0, 1.0, -2.0])
    r = ees(z, rule="first-inclusive")
    perm = np.array([4, 2, 0, 3, 1])
    r2 = ees(z[perm], rule="first-inclusive")
    assert r.k == r2.k
    order = [i for i in r.kept]
    assert order == sorted(order, key=lambda i: (-z[i], i))


def test_temperature_is_applied_before_ees():
    # dividing by a power of two is exact, so softmax(z / 4) is the same row as z / 4 at tau = 1
    rng = np.random.default_rng(7)
    for _ in range(20):
        z = rng.normal(0, 3, size=int(rng.integers(3, 50)))
        assert ees(z, temperature=4.0).k == ees(z / 4.0).k
        assert ees(z, temperature=0.25).k == ees(z * 4.0).k


def test_from_probs_matches_logits_of_the_same_distribution():
    # p proportional to 2**-i: logits i*ln 2 are not exact, but the decision margins are wide
    p = np.array([2.0**-i for i in range(1, 12)])
    p[-1] *= 2  # make it sum to exactly 1
    z = np.log(p)
    assert ees(from_probs(p)).k == ees(z).k


# Three probabilities rounded so that f(2) = -2.2189e-20 (computed at 50 digits in the test below):
# float64 cannot decide it, 64-bit intervals cannot either, 128 bits can.
NEAR = [float.fromhex("0x1.3bdacae2a4479p-1"), float.fromhex("0x1.0ebb89548cd3cp-2"), float.fromhex("0x1.e63b8398aafb6p-4")]


def _f2_at_50_digits(p):
    with mpmath.workdps(50):
        a, b, c = (mpmath.mpf(x) for x in p)
        P2 = a + b
        q = a / P2
        h = -(q * mpmath.log(q) + (1 - q) * mpmath.log(1 - q))
        return h / mpmath.log(2) - P2 / (a + b + c)


def test_escalation_decides_what_float64_cannot():
    f2 = _f2_at_50_digits(NEAR)
    assert -1e-19 < f2 < 0
    r = ees(from_probs(NEAR, sum_tolerance=1e-9))
    assert r.certified and r.k == 1
    (c,) = r.decisions
    assert c.crossing is True and c.method.startswith("mpmath-")
    assert c.f_lo <= float(f2) <= c.f_hi


def test_undecided_is_reported_not_guessed():
    r = ees(from_probs(NEAR, sum_tolerance=1e-9), max_prec=64)
    assert not r.certified
    (u,) = r.undecided
    assert u.k == 2 and u.crossing is None and u.f_lo < 0 < u.f_hi and u.margin == 0.0


def _independent_k(z, tau, rule="first-exclusive", dps=50):
    """A straightforward multiprecision EES, written independently of the reference."""
    with mpmath.workdps(dps):
        zs = sorted([mpmath.mpf(float(v)) for v in z if np.isfinite(v)], reverse=True)
        w = [mpmath.exp((v - zs[0]) / tau) for v in zs]
        total = mpmath.fsum(w)
        p = [x / total for x in w]
        n = len(p)
        f = {}
        for k in range(2, n + 1):
            P = mpmath.fsum(p[:k])
            H = -mpmath.fsum((x / P) * mpmath.log(x / P) for x in p[:k])
            f[k] = H / mpmath.log(k) - P
        tiny = mpmath.mpf(10) ** (-dps + 10)  # f = 0 exactly (uniform) shows up as rounding noise
        if rule == "last":
            ks = [k for k in f if f[k] >= -tiny]
            return max(ks) if ks else 1
        for k in range(2, n + 1):
            if f[k] < -tiny:
                return k - 1 if rule == "first-exclusive" else k
        return n


@pytest.mark.parametrize("rule", ["first-exclusive", "first-inclusive", "last"])
def test_agrees_with_independent_multiprecision(rule):
    rng = np.random.default_rng(2024)
    for trial in range(60):
        V = int(rng.integers(2, 30))
        z = rng.normal(0, float(rng.choice([0.2, 1.0, 4.0])), V)
        if trial % 4 == 0:
            z = np.round(z)  # ties
        if trial % 5 == 0:
            z[rng.integers(0, V)] = NEG_INF
        if not np.isfinite(z).any():
            continue
        tau = float(rng.choice([0.5, 1.0, 3.0]))
        r = ees(z, temperature=tau, rule=rule)
        assert r.certified
        assert r.k == _independent_k(z, tau, rule), (z.tolist(), tau)


def test_enclosures_contain_the_exact_curve():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 2, 40)
    r = ees(z)
    for rec in r.curve:
        i = rec.k - 1
        assert r.enclosure.f_lo[i] <= float(rec.f) <= r.enclosure.f_hi[i]
        assert r.enclosure.P_lo[i] <= float(rec.P) <= r.enclosure.P_hi[i]
        assert r.enclosure.hbar_lo[i] <= float(rec.hbar) <= r.enclosure.hbar_hi[i]


def test_incremental_update_equals_direct_entropy_at_high_precision():
    # specification §2: H_{k+1} = (P_k/P_{k+1}) H_k + (P_k/P_{k+1}) ln(P_{k+1}/P_k)
    #                           - (p_{k+1}/P_{k+1}) ln(p_{k+1}/P_{k+1}),  H_1 = 0
    rng = np.random.default_rng(11)
    z = np.sort(rng.normal(0, 2, 60))[::-1]
    records = et.reference.exact_curve(z, dps=60)
    with mpmath.workdps(70):
        w = [mpmath.exp(mpmath.mpf(float(v)) - mpmath.mpf(float(z[0]))) for v in z]
        total = mpmath.fsum(w)
        p = [x / total for x in w]
        H, P = mpmath.mpf(0), p[0]
        for k in range(1, len(p)):
            P_next = P + p[k]
            H = (P / P_next) * H + (P / P_next) * mpmath.log(P_next / P) - (p[k] / P_next) * mpmath.log(p[k] / P_next)
            P = P_next
            hbar_direct = records[k - 1].hbar  # record for k + 1 tokens
            assert records[k - 1].k == k + 1
            assert abs(H / mpmath.log(k + 1) - hbar_direct) < mpmath.mpf(10) ** -55


def test_large_vocabulary_is_certified_by_the_float_tier():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 2, 131072).astype(np.float32)
    r = ees(z)
    assert r.certified and all(c.method in ("float64", "structure") for c in r.decisions)
    assert 1 <= r.k < r.n


def test_input_dtypes_are_read_exactly():
    z16 = np.array([0.1, 0.2, -0.3], dtype=np.float16)
    r16 = ees(z16)
    r64 = ees(z16.astype(np.float64))
    assert r16.k == r64.k and r16.row.dtype == "float16"
    assert ees(["0x1.0p+1", "0x1.0p+0", "0"]).k == ees([2.0, 1.0, 0.0]).k


@pytest.mark.parametrize("shape", ["peaked", "mid", "flat", "ties", "masked", "head"])
@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_float_tier_encloses_core_curve_point(shape, tau):
    """The float64 interval tier (its own directed rounding, vectorised) encloses the curve as
    core.ees.curve_point defines it, evaluated here at 120 bits from the exact row."""
    from ees_theory.core.ctx import MP
    from ees_theory.core.ees import curve_point

    rng = np.random.default_rng([["peaked", "mid", "flat", "ties", "masked", "head"].index(shape), int(tau * 2)])
    z = rng.normal(size=120) * {"peaked": 8.0, "mid": 2.0, "flat": 0.3, "ties": 2.0, "masked": 3.0, "head": 0.5}[shape]
    if shape == "ties":
        z = np.round(z)
    if shape == "masked":
        z[:40] = -np.inf
    if shape == "head":
        z[3] += 25.0
    row = et.reference.as_row(z)
    enc = et.reference.curve_enclosure(row, tau)
    zs = sorted((float(v) for v in z if np.isfinite(v)), reverse=True)
    with mpmath.workprec(120):
        a = [(mpmath.mpf(zs[0]) - mpmath.mpf(v)) / mpmath.mpf(tau) for v in zs]
        e = [mpmath.exp(-x) for x in a]
        S, A = [e[0]], [e[0] * a[0]]
        for x, y in zip(e[1:], a[1:]):
            S.append(S[-1] + x)
            A.append(A[-1] + x * y)
        for k in range(2, len(zs) + 1):
            hbar, P, f = curve_point(S[k - 1], A[k - 1], mpmath.log(k), S[-1], MP)
            i = k - 1
            assert enc.hbar_lo[i] <= hbar <= enc.hbar_hi[i] and enc.P_lo[i] <= P <= enc.P_hi[i], (k, hbar, P)
            assert enc.f_lo[i] <= f <= enc.f_hi[i], (k, f)

"""Per-row bands: they enclose what float computations of the class actually produce, they are
finite where the a-priori bounds are not, and the temperature and truncation judges use them."""

import math

import mpmath
import numpy as np
import pytest

from ees_theory import reference, tolerances
from ees_theory.errormodel.bands import ees_band, entropy_band, sum_error, truncation_row_bounds
from ees_theory.judging.methods import Options, judge
from ees_theory.spec.formats import cast
from tests.ports.float_ports import _arith, _cumsum

DTYPES = ("float64", "float32", "float16", "bfloat16")


def _rows(seed, count=30):
    rng = np.random.default_rng(seed)
    for i in range(count):
        n = int(rng.choice([2, 3, 5, 16, 64, 200]))
        kind = i % 3
        if kind == 0:
            z = rng.normal(0, 3, n)
        elif kind == 1:
            z = np.concatenate([[4.0], rng.normal(-6, 1, n - 1)])
        else:
            z = rng.uniform(-1, 0, n)
        yield z


@pytest.mark.parametrize("cd", DTYPES)
def test_running_sums_in_any_order_stay_within_the_sum_bound(cd):
    to, rd = _arith(cd)
    rng = np.random.default_rng(1)
    for _ in range(40):
        t = cast(np.exp(rng.normal(-2, 2, int(rng.integers(2, 300)))), cd).astype(np.float64)
        exact = math.fsum(t)
        bound = float(sum_error(t, cd)[-1])
        for order in (np.arange(t.size), np.argsort(t), np.argsort(-t), rng.permutation(t.size)):
            got = float(_cumsum(to(t[order]), rd)[-1])
            assert abs(got - exact) <= bound, (cd, got, exact, bound)


def _entropies(z, cd):
    """The row entropy as three float computations in ``cd`` do it (form 1, -sum p ln p, log-softmax)."""
    to, rd = _arith(cd)
    x = to(np.sort(z)[::-1])
    a = rd(x[0] - x)
    e = rd(np.exp(-a))
    S = _cumsum(e, rd)[-1]
    A = _cumsum(rd(e * a), rd)[-1]
    out = [rd(rd(np.log(S)) + rd(A / S))]
    p = rd(e / S)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, rd(-rd(p * rd(np.log(np.where(p > 0, p, 1))))), 0).astype(p.dtype)
    out.append(_cumsum(t, rd)[-1])
    lsm = rd(-rd(-a - rd(np.log(S))))
    out.append(_cumsum(rd(p * lsm), rd)[-1])
    return [float(h) for h in out]


@pytest.mark.parametrize("cd", DTYPES)
def test_entropy_band_encloses_float_entropies_and_the_exact_one(cd):
    for z in _rows(2):
        z = cast(z, cd).astype(np.float64)
        lo, hi = entropy_band(z, 1.0, cd, "input")
        H = float(reference.entropy(z))
        assert lo <= H <= hi
        for h in _entropies(z, cd):
            assert lo <= h <= hi, (cd, z.size, lo, h, hi)


@pytest.mark.parametrize("cd", DTYPES)
def test_ees_band_encloses_the_exact_gaps(cd):
    for z in _rows(3, 12):
        z = np.sort(cast(z, cd).astype(np.float64))[::-1]
        for tau in (0.1, 0.7, 1.0, 2.0):
            b = ees_band(z, tau, cd, "input")
            curve = reference.exact_curve(z, tau, dps=30)
            for r in curve[1:]:
                f = float(r.hbar - r.P)
                assert b.lo[r.k - 1] <= f <= b.hi[r.k - 1], (cd, tau, r.k)


def test_bands_are_finite_where_the_a_priori_bounds_are_not():
    z = cast(np.random.default_rng(4).normal(0, 3, 64), "bfloat16").astype(np.float64)
    R = float(np.ptp(z))
    assert math.isinf(tolerances.ees_gap_bound("bfloat16", "input", 64, R))
    b = ees_band(np.sort(z)[::-1], 1.0, "bfloat16", "input")
    assert np.all(np.isfinite(b.lo[1:])) and np.all(np.isfinite(b.hi[1:]))
    assert math.isinf(tolerances.truncation_bounds("bfloat16", "input", 64, R, float(np.abs(z).max()))["prob"])
    tb = truncation_row_bounds(z, 1.0, "bfloat16", "input")
    assert all(math.isfinite(v) for v in tb.values())


def test_a_wrong_bf16_temperature_fails_instead_of_being_admissible():
    # 64 tokens in bfloat16 arithmetic: the a-priori entropy bound is infinite (no claim), so any
    # answer outside the rtol interval used to be admissible; the row's entropy band is finite
    z = cast(np.random.default_rng(5).normal(0, 2, 64), "bfloat16").astype(np.float64)
    H = float(reference.entropy(z))
    assert math.isinf(tolerances.entropy_error_bound("bfloat16", "input", 64, float(np.ptp(z)), H))
    params = {"T0": 1.0, "theta": 1.0, "N": 0.8}
    exact = float(mpmath.mpf(0.8) ** (1 / mpmath.mpf(H)))
    v = judge("edt", z.astype(np.float32), params, 1.5 * exact, "bfloat16", Options(accumulate="input"))
    lo, hi = v.details["allowed"]
    assert lo <= exact <= hi and hi - lo < 0.5 * exact
    assert (v.status, v.fault) == ("fail", "wrong-temperature"), v.message
    assert judge("edt", z.astype(np.float32), params, exact, "bfloat16").status == "pass"
    params = {"temp": 1.0, "delta": 0.5, "exponent": 1.0}
    v = judge("dynatemp", z.astype(np.float32), params, 5.0, "bfloat16", Options(accumulate="input"))  # T_max is 1.5
    assert math.isfinite(v.details["allowed"][1]) and v.status == "fail", v.message


def test_a_temperature_in_the_subnormal_range_is_enclosed_and_below_it_no_claim_is_made():
    z = np.array([3.0, 1.0, 0.5, -2.0])
    for tau in (1e-6, 2.0**-20):  # float16 subnormals: 1e-6 rounds with an absolute error
        b = ees_band(z, tau, "float16", "input")
        for r in reference.exact_curve(z, tau, dps=30)[1:]:
            assert b.lo[r.k - 1] <= float(r.hbar - r.P) <= b.hi[r.k - 1]
    b = ees_band(z, 1e-9, "float16", "input")  # rounds to 0 in float16: no claim, never a false one
    assert np.all(np.isinf(b.lo[1:])) and np.all(np.isinf(b.hi[1:]))


def test_cli_strict_turns_an_exact_tie_into_a_failure(tmp_path, capsys):
    from ees_theory.cli import main

    port = tmp_path / "tieport.py"
    port.write_text("import numpy as np\ndef ees(z, t):\n    m = np.isfinite(z)\n    m[np.flatnonzero(m)[-1]] = m.sum() < 3\n    return m\n")
    vec = tmp_path / "v.jsonl"
    vec.write_text('{"id": "tie3", "method": "ees", "logits": ["0x0p+0", "0x0p+0", "0x0p+0"], "params": {"temperature": "0x1p+0"}}\n')
    args = ["check", f"{port}:ees", "--method", "ees", "--dtype", "float32", "-n", "0", "--vectors", str(vec), "--in-process"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "exact ties decided by rounding: 1 case(s)" in out and "CONFORMS" in out
    assert main(args + ["--strict"]) == 1
    out = capsys.readouterr().out
    assert "[exact-tie]" in out and "--strict" in out


def test_both_producers_of_truncation_bounds_give_exactly_the_declared_keys():
    from ees_theory import tolerances
    from ees_theory.errormodel.bands import truncation_row_bounds

    declared = set(tolerances.TruncationBounds.__annotations__)
    worst = tolerances.truncation_bounds("float32", "input", n=8, logit_range=3.0, logit_scale=3.0)
    unbounded = tolerances.truncation_bounds("float16", "input", n=4096, logit_range=5.0, logit_scale=5.0)
    per_row = truncation_row_bounds([0.0, -1.0, -2.0], 1.0, "bfloat16", "input")
    single = truncation_row_bounds([0.0], 1.0, "float32", "input")
    for b in (worst, unbounded, per_row, single):
        assert set(b) == declared and all(isinstance(v, float) for v in b.values())

"""Claims of specification §5 about the temperatures: EDT (``EDT-*``), dynatemp (``DYN-RANGE``), ``SEED-TAU``."""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ..core.ctx import MP
from ..core.temperatures import dynatemp_range
from ..reference import dynatemp_temperature, edt_temperature, entropy, softmax
from ..reference.rows import as_row
from .registry import Counterexample, register_claim, to_hex
from .search import proof_verdict, refutation_verdict, check_rows, search_counterexample

__all__: list[str] = []


# EDT / dynatemp ----------------------------------------------------------------------------------


@register_claim("EDT-RANGE", test="tests/test_property_temperatures.py::test_edt_range")
def _check_edt_range(ctx):
    checked = 0
    bad = []
    for fam, z in check_rows(ctx, max_vocab=30):
        T0, theta, N = float(ctx.rng.uniform(0.1, 3)), float(ctx.rng.uniform(0.01, 4)), float(ctx.rng.uniform(0.05, 0.95))
        H = entropy(z)
        T = edt_temperature(z, T0, theta, N)
        z2 = z / 2.0  # halving the logits raises the entropy (or keeps it, for a flat row)
        H2, T2 = entropy(z2), edt_temperature(z2, T0, theta, N)
        checked += 1
        if not (0 <= T < T0) or (H2 > H and not T2 > T) or (H2 == H and T2 != T):
            bad.append((fam, f"T={float(T)}, T0={T0}, H={float(H)} -> {float(H2)}, T -> {float(T2)}"))
    return proof_verdict("rows: 0 <= T < T0 and T rises with H", checked, 0, bad)


@register_claim("EDT-POINTS", test="tests/test_property_temperatures.py::test_edt_points")
def _check_edt_points(ctx):
    checked = 0
    bad = []
    for fam, z in check_rows(ctx, max_vocab=30):
        row = as_row(z)
        if row.n < 2:
            continue
        T0, N = float(ctx.rng.uniform(0.1, 3)), float(ctx.rng.uniform(0.05, 0.95))
        H = entropy(z)
        theta = float(H)  # theta = H up to its rounding: |theta/H - 1| <= 2**-52
        T = edt_temperature(z, T0, theta, N)
        checked += 1
        with mpmath.workdps(40):  # N * T0 of two doubles, exactly enough
            ratio = T / (mpmath.mpf(N) * mpmath.mpf(T0))
            if abs(mpmath.log(ratio)) > abs(math.log(N)) * 2.0**-51 + mpmath.mpf(10) ** -28:
                bad.append((fam, f"T(H = theta) / (N T0) = {mpmath.nstr(ratio, 20)}"))
    return proof_verdict("rows: T(H = theta) = N T0 to the rounding of theta", checked, 0, bad)


def _dyn_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    """A row and parameters with T outside [T_min, T_max], certified by the reference's 30 correct digits."""
    p = stored.params if stored else {"temp": 1.0, "delta": 0.5, "exponent": -1.0}
    temp, delta, e = float(p["temp"]), float(p["delta"]), float(p["exponent"])
    T = dynatemp_temperature(z, temp, delta, e)
    if T is None:
        return None
    with mpmath.workprec(200):  # temp -/+ delta of two doubles, exactly
        t_min, t_max = dynatemp_range(temp, delta, MP)
    with mpmath.workdps(50):
        tol = mpmath.mpf(10) ** -25 * (1 + abs(t_max))
        if t_min - tol <= T <= t_max + tol:
            return None
    params = {"temp": temp, "delta": delta, "exponent": e, "T": mpmath.nstr(T, 20), "T_max": mpmath.nstr(t_max, 20)}
    summary = (f"exponent {e:g} < 0: T = {mpmath.nstr(T, 12)} > T_max = {mpmath.nstr(t_max, 12)} "
               f"(H < ln n, so (H / ln n)**exponent > 1); the range holds for exponent >= 0 (proof)")
    return Counterexample(to_hex(z), len(z), [], params, summary, [], True)


@register_claim("DYN-RANGE", test="tests/test_property_temperatures.py::test_dynatemp_range")
def _check_dyn_range(ctx):
    """Refuted as stated: the range part fails for a negative exponent, which llama.cpp accepts.

    For ``exponent > 0`` the whole statement is proved (the page says how); the spot checks below
    exercise that scope, and any violation there would be reported too.
    """
    checked = 0
    bad = []
    for fam, z in check_rows(ctx, max_vocab=30):
        temp, delta, e = float(ctx.rng.uniform(0, 3)), float(ctx.rng.uniform(0.01, 2)), float(ctx.rng.uniform(0.01, 4))
        with mpmath.workprec(200):  # temp -/+ delta of two doubles, exactly
            t_min, t_max = dynatemp_range(temp, delta, MP)
        T = dynatemp_temperature(z, temp, delta, e)
        if T is None:
            continue
        z2 = z / 2.0
        T2 = dynatemp_temperature(z2, temp, delta, e)
        H, H2 = entropy(z), entropy(z2)
        checked += 1
        with mpmath.workdps(50):  # the reference's values carry 30 correct digits
            tol = mpmath.mpf(10) ** -25 * (1 + abs(t_max))
            outside = not (t_min - tol <= T <= t_max + tol) or (H2 > H and T2 < T - tol)
        if outside:
            bad.append((fam, f"T={mpmath.nstr(T, 20)} outside [{mpmath.nstr(t_min, 20)}, {mpmath.nstr(t_max, 20)}] or falling in H"))
    verdict, evidence, cex, undecided = refutation_verdict(
        ctx, _dyn_certify, lambda: search_counterexample(lambda z: 1.0, _dyn_certify, ctx, range(2, 4), 7, 3, 0))
    scoped = proof_verdict("exponent > 0: T_min <= T <= T_max, non-decreasing in H", checked, 0, bad)
    return verdict, f"{evidence}; {scoped[1]}", cex, undecided


# SEED-TAU ----------------------------------------------------------------------------------------


def _seed_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    taus = stored.temperatures if stored else [1.0, 10.0, 100.0, 1000.0]
    tops = [max(softmax(z, t)) for t in taus]
    n = int(np.isfinite(z).sum())
    falling = all(b < a for a, b in zip(tops, tops[1:]))
    if not falling or not tops[-1] < 1.0 / n + 0.01:
        return None
    summary = "top probability " + ", ".join(f"{float(p):.6f} at tau={t:g}" for p, t in zip(tops, taus)) + f": falls towards 1/n = {1 / n:g}"
    return Counterexample(to_hex(z), len(z), list(taus), {"top_probability": [mpmath.nstr(p, 20) for p in tops]}, summary, [], True)


@register_claim("SEED-TAU", test="tests/test_property_temperatures.py::test_seed_tau_counterexample_refutes")
def _check_seed(ctx):
    return refutation_verdict(ctx, _seed_certify, lambda: search_counterexample(lambda z: 1.0, _seed_certify, ctx, range(2, 4), 7, 3, 0))

"""Agreement of the float EDT and dynatemp kernels with the certified reference.

Every computed temperature must lie within the per-row bound of :mod:`ees_theory.tolerances`
(derived in ``proofs/float-error-analysis.md``) of the reference value, in every dtype and both
accumulation modes. Rows where the bound makes no claim (``inf``) are counted; the largest error
seen, in units of roundoff of the compute dtype, is printed with the counts.
"""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ees_theory as et  # noqa: E402
from ees_theory import tolerances
from ees_theory.families import strategies  # noqa: E402
from test_agreement_ees import DTYPES, TORCH_DTYPE, _accumulator, _print_past_capture, _round_row  # noqa: E402

TALLY: dict[tuple[str, str, str], collections.Counter] = collections.defaultdict(collections.Counter)
WORST: dict[tuple[str, str, str], float] = collections.defaultdict(float)


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    lines = ["", "EDT / dynatemp float-vs-reference agreement:"]
    lines.append(f"{'kernel':>8} {'dtype':>9} {'accumulate':>10} {'checked':>8} {'no-claim':>8} {'worst error (units of u)':>25}")
    for key, c in sorted(TALLY.items()):
        lines.append(f"{key[0]:>8} {key[1]:>9} {key[2]:>10} {c['checked']:>8} {c['no_claim']:>8} {WORST[key]:>25.3g}")
    _print_past_capture(request, "\n".join(lines))


def _setup(row64, dtype):
    row = _round_row(row64, dtype)
    finite = row[np.isfinite(row)]
    return row, torch.tensor(row, dtype=torch.float64).to(TORCH_DTYPE[dtype]), int(finite.size), float(finite.max() - finite.min())


def _record(kind, dtype, acc, got, want, bound, message):
    key = (kind, dtype, acc)
    if not math.isfinite(bound):
        TALLY[key]["no_claim"] += 1
        return
    TALLY[key]["checked"] += 1
    err = abs(got - want)
    u = tolerances.unit_roundoff(dtype, acc)
    if want >= tolerances.SMALLEST_NORMAL[tolerances.compute_dtype_name(dtype, acc)]:
        WORST[key] = max(WORST[key], err / want / u)
    assert err <= bound, f"{kind} {dtype}/{acc}: got {got!r}, reference {want!r}, |error| {err:.3g} > bound {bound:.3g}; {message}"


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=60)
@given(row=strategies.logits(min_vocab=1, max_vocab=64, ties=True), params=strategies.edt_params(),
       entropy_of=st.sampled_from(["raw", "tempered"]))
def test_edt_agreement(dtype, row, params, entropy_of):
    T0, theta, N = params
    row, z, n, spread = _setup(row, dtype)
    tau = 1.0 if entropy_of == "raw" else T0
    want = float(et.reference.edt_temperature(row, T0, theta, N, entropy_of))
    H = float(et.reference.entropy(row, tau)) if n > 1 else 0.0
    for acc in tolerances.ACCUMULATE:
        got = float(et.torch.edt_temperature(z, T0, theta, N, entropy_of, accumulate=acc))
        assert not math.isnan(got)
        if theta == 0:
            bound = 2 * tolerances.unit_roundoff(dtype, acc) * T0
        else:
            bound = tolerances.edt_temperature_bound(dtype, acc, n, spread / tau, H, want, T0, accumulator=_accumulator(dtype, acc))
        _record("edt", dtype, acc, got, want, bound, f"T0={T0!r} theta={theta!r} N={N!r} {entropy_of}; row={[x.hex() for x in row.tolist()]}")


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=60)
@given(row=strategies.logits(min_vocab=2, max_vocab=64, ties=True), params=strategies.dynatemp_params())
def test_dynatemp_agreement(dtype, row, params):
    temp, delta, exponent = params
    row, z, n, spread = _setup(row, dtype)
    want = et.reference.dynatemp_temperature(row, temp, delta, exponent)
    assert want is not None  # size >= 2 and delta > 0
    want = float(want)
    H = float(et.reference.entropy(row)) if n > 1 else 0.0
    for acc in tolerances.ACCUMULATE:
        got = float(et.torch.dynatemp_temperature(z, temp, delta, exponent, accumulate=acc))
        bound = tolerances.dynatemp_temperature_bound(dtype, acc, n, spread, H, row.size, temp, delta, exponent, accumulator=_accumulator(dtype, acc))
        _record("dynatemp", dtype, acc, got, want, bound, f"temp={temp!r} delta={delta!r} exponent={exponent!r}; row={[x.hex() for x in row.tolist()]}")

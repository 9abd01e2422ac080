"""Kernels are never silently wrong at temperatures their compute dtype cannot hold, and the
reference stays complete on extreme rows (decided, finite bounds, relative tail slack).

Expected kept sets come from the definitions by hand (a temperature far below the logit gaps keeps
the most likely tokens only; top-n-sigma is scale-invariant), never from the code under test."""

import math

import mpmath
import numpy as np
import pytest

from ees_theory import reference

torch = pytest.importorskip("torch")
from ees_theory.hf import DynaTempLogitsWarper, EDTLogitsWarper, EESLogitsWarper  # noqa: E402
from ees_theory.kernels import ees_logits, ees_mask, truncate_mask  # noqa: E402
from ees_theory.kernels.temperature import apply_temperature  # noqa: E402

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
TINY = [1e-50, 1e-46, 1e-8, 1e-300]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("accumulate", ["input", "float32"])
@pytest.mark.parametrize("tau", TINY)
def test_tiny_temperature_is_the_greedy_limit(dtype, accumulate, tau):
    # at tau far below every logit gap, p is one-hot on the maximum: k = 2 keeps the two largest
    z = torch.tensor([2.0, -1.0, 0.0, 1.0], dtype=dtype)
    assert truncate_mask("top-k", z, temperature=tau, k=2, accumulate=accumulate).tolist() == [True, False, False, True]
    assert truncate_mask("top-k", z, temperature=tau, k=2, policy="transformers", accumulate=accumulate).tolist() == [True, False, False, True]
    for method, prm in (("top-p", {"p": 0.9}), ("min-p", {"min_p": 0.3}), ("epsilon", {"epsilon": 0.01}), ("typical", {"mass": 0.9})):
        assert truncate_mask(method, z, temperature=tau, accumulate=accumulate, **prm).tolist() == [True, False, False, False], method
    # top-n-sigma does not depend on tau: keep z >= max - sigma, sigma of (2, -1, 0, 1) = sqrt(1.25)
    assert truncate_mask("top-n-sigma", z, temperature=tau, n=1.0, accumulate=accumulate).tolist() == [True, False, False, True]
    assert ees_mask(z, tau, accumulate=accumulate).tolist() == [True, False, False, False]
    out = ees_logits(z, tau, accumulate=accumulate)
    assert not torch.isnan(out).any() and out[0] == 0 and bool(torch.isneginf(out[1:]).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_huge_temperature_is_the_uniform_limit(dtype):
    # at tau = 1e40 every p is 1/V to far below any float's resolution
    z = torch.tensor([2.0, -1.0, 0.0, 1.0], dtype=dtype)
    for acc in ("input", "float32"):
        assert truncate_mask("top-p", z, temperature=1e40, p=0.6, accumulate=acc).sum().item() == 3  # mass 1/4 each: 3 tokens reach 0.6
        m = ees_mask(z, 1e40, accumulate=acc)
        assert not torch.isnan(ees_logits(z, 1e40, accumulate=acc)).any() and m.any()


def test_warpers_never_return_nan_at_extreme_temperatures():
    z = torch.tensor([[2.0, 1.0, 0.0]])
    for tau in (1e-50, 1e-310, 1e40):
        out = EESLogitsWarper(temperature=tau)(None, z)
        assert not torch.isnan(out).any(), tau
        assert out[0, 0] == 0
    assert EESLogitsWarper(temperature=1e-50)(None, z).tolist() == [[0.0, -math.inf, -math.inf]]
    for w in (EDTLogitsWarper(T0=1e-50, theta=0.5), DynaTempLogitsWarper(1e-50, 1e-51, 1.0)):
        out = w(None, z)
        assert out.tolist() == [[0.0, -math.inf, -math.inf]], out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_apply_temperature_below_the_dtype_range_is_not_greedy_by_accident(dtype):
    # 1e-50 rounds to 0 in float32: treated as T = 0 it would be right by luck; a near tie
    # 3 vs 3 - 2**-8 still separates, and the maxima keep 0
    z = torch.tensor([[1.0, 3.0, 3.0, 3.0 - 2.0**-8]], dtype=dtype)
    out = apply_temperature(z, 1e-50, greedy="first")
    assert out.tolist() == [[-math.inf, 0.0, 0.0, -math.inf]]


@pytest.mark.parametrize("policy", ["paper", "sample-std", "llama.cpp"])
def test_top_n_sigma_when_sigma_overflows(policy):
    # rows (B, -B/2, 0): distances to the max (0, 1.5 B, B); sigma overflows float16 at
    # B = 65504 (dev**2 ~ 1e9), float32 at 3e38 and float64 at 1e308. Population sigma =
    # sqrt(7/18) B = 0.624 B, sample sigma = sqrt(7/12) B = 0.764 B; with n = 1.5 the population
    # rule keeps the max only (1.5 * 0.624 = 0.935 < 1), the sample rule also the 0 (1.146 >= 1)
    expect = [True, False, True] if policy == "sample-std" else [True, False, False]
    for dt, big in ((torch.float16, 65504.0), (torch.float32, 3e38), (torch.float64, 1e308)):
        for acc in ("input", "float32"):
            z = torch.tensor([big, -big / 2, 0.0], dtype=dt)
            assert truncate_mask("top-n-sigma", z, n=1.5, policy=policy, accumulate=acc).tolist() == expect, (dt, acc)
        r = reference.truncate("top-n-sigma", [big, -big / 2, 0.0], n=1.5, policy=policy)
        assert r.certified and sorted(r.kept) == [i for i in range(3) if expect[i]]


def test_reference_decides_rows_whose_scaled_gaps_overflow():
    r = reference.ees([2.0, 1.0, 0.0], temperature=1e-310)
    assert (r.k, r.certified) == (1, True)
    assert all(math.isfinite(c.f_lo) and math.isfinite(c.f_hi) and c.f_lo <= c.f_hi for c in r.decisions)
    r = reference.ees([1e308, 1e308, -1e308, -1.7e308])
    assert (r.k, r.certified, sorted(r.kept)) == (2, True, [0, 1])
    for c in r.decisions:
        assert math.isfinite(c.f_lo) and math.isfinite(c.f_hi)
    # f(3) = ln 2 / ln 3 - 1 exactly here: the third weight, exp(-2e308), is 0 to any precision
    c3 = next(c for c in r.decisions if c.k == 3)
    assert c3.f_lo <= math.log(2) / math.log(3) - 1 <= c3.f_hi


def test_entropy_and_dynatemp_of_an_astronomically_peaked_row():
    with mpmath.workdps(60):
        a = [mpmath.mpf(0), mpmath.mpf(7000), mpmath.mpf(7002)]
        e = [mpmath.exp(-x) for x in a]
        R = e[1] + e[2]  # S = 1 + R with R ~ 1e-3040: ln S = log1p(R), or the tail is lost
        H = mpmath.log1p(R) + mpmath.fsum(ei * ai for ei, ai in zip(e, a)) / (1 + R)
        T = mpmath.mpf("0.75") * H / mpmath.log(3)  # T_min = 0, T_max = 0.75, exponent 1
    got_H = reference.entropy([0.0, -7000.0, -7002.0])
    assert abs(got_H - H) <= mpmath.mpf(10) ** -28 * H
    got_T = reference.dynatemp_temperature([0.0, -7000.0, -7002.0], 0.25, 0.5, 1.0)
    assert abs(got_T - T) <= mpmath.mpf(10) ** -28 * T
    assert mpmath.mpf("4.71e-3037") < got_T < mpmath.mpf("4.72e-3037")

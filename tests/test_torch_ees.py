"""Unit tests of the batched EES kernel: hand-computed cases, structure, validation, batching,
the top-K fast path against the full sort, and CUDA against CPU."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ees_theory as et  # noqa: E402
from ees_theory.kernels import ees as ees_module  # noqa: E402

ees_mask = et.torch.ees_mask
ees_keep_count = et.torch.ees_keep_count
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
ACCUMULATE = ["input", "float32"]
INF = float("inf")


def test_hand_computed_crossing():
    # p ~ (1, e^-1, e^-2) / 1.5032 = (0.665, 0.245, 0.090); P_2 = 0.910;
    # H_2 = entropy of (0.731, 0.269) = 0.582 nats, Hbar_2 = 0.582 / ln 2 = 0.840 < 0.910:
    # the first crossing is i* = 2, so one token is kept (two with the inclusive rule).
    z = torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64)
    assert ees_mask(z).tolist() == [True, False, False]
    assert ees_mask(z, rule="first-inclusive").tolist() == [True, True, False]
    # the same row, tokens permuted: the kept token follows the id of the largest logit
    assert ees_mask(z[[2, 0, 1]]).tolist() == [False, True, False]


def test_hand_computed_curve():
    # z = (0, 0, -1): P_2 = 2 / (2 + e^-1) = 0.84465, the top two are tied so Hbar_2 = 1
    c = et.torch.ees_curve(torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64))
    assert c.hbar[1].item() == pytest.approx(1.0, abs=1e-15)
    assert c.P[1].item() == pytest.approx(2 / (2 + math.exp(-1)), rel=1e-15)
    assert c.order.tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("accumulate", ACCUMULATE)
@pytest.mark.parametrize("rule", et.spec.RULES)
def test_uniform_row_keeps_everything(dtype, accumulate, rule):
    # f(n) = 0 exactly for a uniform row: not a crossing under the strict rule
    z = torch.full((3, 7), 1.25, dtype=dtype)
    z[1, 4:] = -INF
    mask = ees_mask(z, accumulate=accumulate, rule=rule)
    assert mask.tolist() == torch.isfinite(z).tolist()


@pytest.mark.parametrize("dtype", DTYPES)
def test_tied_top_block_is_never_a_crossing(dtype):
    # (0, 0, -5): tokens 1 and 2 are tied (Hbar_2 = 1 >= P_2), token 3 is the structural
    # crossing at k = n of a non-uniform row, so k* = 2 under the exclusive rule.
    z = torch.tensor([-5.0, 0.0, 0.0], dtype=dtype)
    assert ees_mask(z).tolist() == [False, True, True]
    assert ees_keep_count(z, rule="first-inclusive").item() == 3


def test_min_tokens_to_keep():
    z = torch.tensor([3.0, 1.0, 0.5, -2.0])
    assert ees_keep_count(z).item() == 1
    assert ees_keep_count(z, min_tokens_to_keep=2).item() >= 2
    assert ees_mask(z, min_tokens_to_keep=4).all()
    assert ees_mask(z, min_tokens_to_keep=10).all()  # n <= m: nothing filtered
    assert ees_keep_count(z, min_tokens_to_keep=3, rule="last").item() >= 3


def test_masked_tokens_never_kept_and_single_candidate():
    z = torch.tensor([[-INF, 0.5, -INF], [1.0, -INF, 1.0]])
    mask = ees_mask(z)
    assert mask.tolist() == [[False, True, False], [True, False, True]]


@pytest.mark.parametrize("accumulate", ACCUMULATE)
def test_fp16_underflowing_tail_gives_no_nan(accumulate):
    # fp16 weights exp(-a) underflow below a ~ 17; the gap must stay finite and the mask sane
    z = torch.tensor([[0.0, -1.0, -20.0, -60000.0, -65504.0, 65504.0]], dtype=torch.float16)
    c = et.torch.ees_curve(z, accumulate=accumulate)
    assert torch.isfinite(c.f).all() and torch.isfinite(c.hbar).all()
    mask = ees_mask(z, accumulate=accumulate)
    assert mask[0, 5] and mask.sum() >= 1
    out = et.torch.ees_logits(z, temperature=1e-3, accumulate=accumulate)
    assert not torch.isnan(out).any() and out.dtype == torch.float16


def test_leading_batch_dims_and_row_temperatures():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 3, 50, generator=g) * 3
    taus = torch.tensor([[0.5, 1.0, 2.0], [4.0, 0.25, 1.5]])
    mask = ees_mask(z, temperature=taus)
    assert mask.shape == z.shape
    for i in range(2):
        for j in range(3):
            assert torch.equal(mask[i, j], ees_mask(z[i, j], temperature=float(taus[i, j])))


def test_input_is_not_modified():
    z = torch.tensor([[2.0, 1.0, -INF, 0.0]])
    before = z.clone()
    et.torch.ees_logits(z, temperature=0.7)
    ees_mask(z, method="topk")
    assert torch.equal(z, before)


def test_processed_logits():
    z = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    out = et.torch.ees_logits(z, temperature=0.5, filter_value=-1e4)
    assert out[0].tolist() == [0.0, -1e4, -1e4]
    assert out[1].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.tensor([1.0, float("nan")]), "logits contain NaN at position 1"),
        (torch.tensor([[1.0, 2.0], [INF, 0.0]]), "logits contain +inf in row 1 at position 0"),
        (torch.tensor([[0.0, 1.0], [-INF, -INF]]), "logits in row 1 has no finite logit"),
        (torch.zeros(2, 0), "vocabulary axis has length 0"),
        (torch.tensor(1.0), "at least one axis"),
    ],
)
def test_bad_logits(bad, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        ees_mask(bad)


def test_bad_arguments():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got 0.0"):
        ees_mask(z, temperature=0.0)
    with pytest.raises(ValueError, match=r"got -1.0 in row 1"):
        ees_mask(z, temperature=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="does not match the batch shape"):
        ees_mask(z, temperature=torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="rule must be one of"):
        ees_mask(z, rule="middle")
    with pytest.raises(ValueError, match="accumulate must be one of"):
        ees_mask(z, accumulate="float16")
    with pytest.raises(ValueError, match="method must be one of"):
        ees_mask(z, method="heap")
    with pytest.raises(ValueError, match="min_tokens_to_keep must be >= 1"):
        ees_mask(z, min_tokens_to_keep=0)
    with pytest.raises(TypeError, match="dtype torch.int64 is not supported"):
        ees_mask(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        ees_mask([1.0, 2.0])


def test_half_precision_reductions_accumulate_in_float32():
    # ees_gap_bound(..., accumulator="float32") for accumulate="input" on half dtypes relies on
    # torch's sum/cumsum accumulating half in float32: an fp16 accumulator stalls at 2048.
    for dtype in (torch.float16, torch.bfloat16):
        ones = torch.ones(4096, dtype=dtype)
        assert ones.cumsum(0)[-1].item() == 4096.0
        assert ones.sum().item() == 4096.0


# ---- top-K fast path == full sort ------------------------------------------------------------

@st.composite
def batches_with_ties(draw):
    """Batches mixing peaked, flat, tied and masked rows, rounded to a coarse grid so that ties
    (at the top, at the crossing, at the window boundary) are frequent."""
    vocab = draw(st.integers(2, 600))
    rows = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rows):
        kind = draw(st.sampled_from(["peaked", "flat", "ties", "masked", "uniform"]))
        scale = {"peaked": 6.0, "flat": 0.3, "ties": 2.0, "masked": 3.0, "uniform": 0.0}[kind]
        z = rng.normal(size=vocab) * scale
        if kind == "ties":
            z = np.round(z * 2) / 2
        if kind == "masked":
            z[rng.random(vocab) < 0.5] = -np.inf
            z[rng.integers(vocab)] = 0.0
        out.append(z)
    dtype = draw(st.sampled_from(DTYPES))
    tau = draw(st.sampled_from([0.3, 1.0, 3.0]))
    return torch.tensor(np.array(out)).to(dtype), tau


@settings(max_examples=60)
@given(batch=batches_with_ties(), rule=st.sampled_from(["first-exclusive", "first-inclusive"]),
       m=st.integers(1, 5), initial=st.sampled_from([1, 2, 16, 128]))
def test_topk_path_equals_full_sort(batch, rule, m, initial):
    z, tau = batch
    old = ees_module.TOPK_INITIAL
    ees_module.TOPK_INITIAL = initial  # small windows force the doubling and the fallback
    try:
        fast = ees_mask(z, tau, m, rule, method="topk")
    finally:
        ees_module.TOPK_INITIAL = old
    full = ees_mask(z, tau, m, rule, method="sort")
    assert torch.equal(fast, full)


def test_topk_path_large_vocab_peaked_and_flat():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, 20000, generator=g)
    z[:2] *= 8.0  # peaked: crossing within the first window
    z[3] = 0.0  # uniform: no crossing, the window doubles up to the full sort
    for rule in ("first-exclusive", "first-inclusive"):
        assert torch.equal(ees_mask(z, rule=rule, method="topk"), ees_mask(z, rule=rule, method="sort"))
    assert ees_mask(z)[3].all()


# ---- CUDA ----------------------------------------------------------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_matches_cpu(dtype):
    g = torch.Generator().manual_seed(2)
    z = (torch.randn(8, 5000, generator=g) * 4).to(dtype)
    z[1, ::3] = -INF
    z[2] = 1.0
    for accumulate in ACCUMULATE:
        cpu = ees_mask(z, 0.8, accumulate=accumulate)
        gpu = ees_mask(z.cuda(), 0.8, accumulate=accumulate).cpu()
        # rows where CPU and GPU libm round differently can only differ within the gap bound;
        # these rows are far from any decision, so they must agree
        assert torch.equal(cpu, gpu)
        assert torch.equal(ees_mask(z.cuda(), 0.8, accumulate=accumulate, method="topk").cpu(), gpu)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16])
@pytest.mark.parametrize("tau", [1.0, 0.7])
def test_gap_equals_core_curve_point(dtype, tau):
    """The kernel's in-place curve is core.ees.curve_point on the same prefix sums, bit for bit
    (evaluated here out of place with the torch context, in the compute dtype)."""
    from ees_theory.core.ctx import torch_context
    from ees_theory.core.ees import curve_point

    rng = np.random.default_rng(11)
    rows = [rng.normal(size=300) * s for s in (0.5, 2.0, 6.0)] + [np.round(rng.normal(size=300))]
    z = torch.tensor(np.stack(rows)).to(dtype)
    cd = torch.float64 if dtype == torch.float64 else torch.float32
    curve = et.torch.ees_curve(z, tau)
    vals = torch.sort(z, dim=-1, descending=True).values.to(cd)
    zmax = z.amax(dim=-1, keepdim=True).to(cd)
    t = (vals - zmax) / tau if tau != 1.0 else vals - zmax
    e = torch.exp(t)
    A = -(t * e).cumsum(dim=-1)
    C = torch.cat([torch.zeros_like(e[:, :1]), e[:, 1:]], dim=-1).cumsum(dim=-1)
    tz = (z.to(cd) - zmax) / tau if tau != 1.0 else z.to(cd) - zmax
    total = torch.exp(tz).sum(dim=-1, keepdim=True)  # in token order, as the kernel sums it
    ln_k = torch.log(torch.arange(1, z.shape[-1] + 1, dtype=torch.float64))
    ln_k[0] = 1.0
    hbar, P, f = curve_point(1 + C, A, ln_k.to(cd), total, torch_context(), C_k=C)
    assert torch.equal(curve.hbar[:, 1:], hbar[:, 1:]) and torch.equal(curve.P, P) and torch.equal(curve.f[:, 1:], f[:, 1:])

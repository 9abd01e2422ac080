"""The EES kernel's search paths (``method="sort"``, ``"topk"``, ``"auto"``) give the same mask as
the canonical construction: ids from a stable ``torch.sort`` (value descending, ties by id
ascending), the first ``k*`` of them kept. Rows are built so that every branch of ``"auto"`` is
taken (window hit, window miss, straight to the sort, the head-over-tail probe) and ties fall at
the top, at the cut and at the window boundary."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ees_theory as et  # noqa: E402
from ees_theory.kernels import ees as ees_module  # noqa: E402

METHODS = ("sort", "topk", "auto")
KINDS = ("peaked", "mid", "flat", "ties", "cut-ties", "head", "zipf", "masked", "uniform")


def canonical_mask(z: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Keep the first k ids of the stable descending sort (independent of the kernel's sort)."""
    order = torch.sort(z, dim=-1, descending=True, stable=True).indices
    ranks = torch.empty_like(order).scatter_(-1, order, torch.arange(z.shape[-1]).expand_as(order))
    return ranks < k.unsqueeze(-1)


def make_row(kind: str, vocab: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uniform":
        return np.zeros(vocab)
    if kind == "zipf":  # crossing deep while the top token is heavy: the probe misses
        z = -0.8 * np.log(np.arange(1, vocab + 1)) + 0.3 * rng.normal(size=vocab)
        return rng.permutation(z)
    scale = {"peaked": 6.0, "mid": 2.0, "flat": 0.5, "ties": 2.0, "cut-ties": 3.0, "head": 0.5, "masked": 3.0}[kind]
    z = rng.normal(size=vocab) * scale
    if kind == "ties":
        z = np.round(z * 2) / 2
    if kind == "cut-ties":  # many ties at every level near the top
        z = np.round(z)
    if kind == "head":
        z[rng.integers(vocab)] += rng.choice([4.0, 10.0, 20.0])
    if kind == "masked":
        z[rng.random(vocab) < 0.5] = -np.inf
        z[rng.integers(vocab)] = 0.0
    return z


@st.composite
def batches(draw, min_vocab: int, max_vocab: int):
    vocab = draw(st.integers(min_vocab, max_vocab))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    z = np.array([make_row(kind, vocab, rng) for kind in kinds])
    dtype = draw(st.sampled_from([torch.float64, torch.float32, torch.float16, torch.bfloat16]))
    tau = draw(st.sampled_from([0.5, 1.0, 2.0]))
    return torch.tensor(z).to(dtype), tau


def check_all_paths(z, tau, m, rule):
    counts = {meth: et.torch.ees_keep_count(z, tau, m, rule, method=meth) for meth in METHODS}
    for meth in METHODS:
        assert torch.equal(counts[meth], counts["sort"]), meth
        assert torch.equal(et.torch.ees_mask(z, tau, m, rule, method=meth), canonical_mask(z, counts["sort"])), meth


@settings(max_examples=25, deadline=None)
@given(batch=batches(4096, 6000), rule=st.sampled_from(["first-exclusive", "first-inclusive"]), m=st.integers(1, 3))
@pytest.mark.parametrize("first_fraction", [None, 8])
def test_paths_equal_canonical_order_large_vocab(batch, rule, m, first_fraction):
    # at this V the default first window (V / 256) opens for head rows only; V / 8 opens it for
    # the peaked rows too, and sends the others through misses and retries
    z, tau = batch
    with pytest.MonkeyPatch.context() as mp:
        if first_fraction:
            mp.setattr(ees_module, "AUTO_FIRST_FRACTION", first_fraction)
        check_all_paths(z, tau, m, rule)


@settings(max_examples=60, deadline=None)
@given(batch=batches(2, 400), rule=st.sampled_from(["first-exclusive", "first-inclusive", "last"]), m=st.integers(1, 5))
def test_paths_equal_canonical_order_small_vocab_auto_forced(batch, rule, m):
    # "auto" only looks at windows from TOPK_MIN_VOCAB on; lowered here so that small rows with
    # dense ties go through every branch
    z, tau = batch
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ees_module, "TOPK_MIN_VOCAB", 2)
        mp.setattr(ees_module, "AUTO_MAX_FRACTION", 2)
        mp.setattr(ees_module, "AUTO_FIRST_FRACTION", 4)
        mp.setattr(ees_module, "AUTO_HEAD_WIDTH", 2)
        mp.setattr(ees_module, "TOPK_INITIAL", 4)
        check_all_paths(z, tau, m, rule)


def auto_branch_rows() -> torch.Tensor:
    """V = 131072 rows for every branch of ``"auto"`` (the expected branch is asserted by the test
    from the kernel's own signals, the kept counts against the sort and the canonical order)."""
    rng = np.random.default_rng(3)
    V = 131072
    rows = [make_row("peaked", V, rng), make_row("flat", V, rng), make_row("flat", V, rng), make_row("zipf", V, rng)]
    rows += [make_row("flat", V, rng), make_row("flat", V, rng)]
    rows.append(np.random.default_rng(5).normal(size=(2, V))[1] * 3.2)  # exp(H) = 898, k* = 982
    rows[2][5] += 20.0  # head over a flat tail, so heavy that the perplexity is about 1
    rows[4][7] += 10.0  # head over a flat tail: large perplexity, the probe finds f(2) < 0
    rows[5][7] += 10.0  # the same with a second token close to the head: probed, f(2) >= 0
    rows[5][9] += 9.5
    return torch.tensor(np.stack(rows), dtype=torch.float32)


def spy_paths(monkeypatch) -> list:
    calls = []
    real_window, real_sort = ees_module._window, ees_module._k_full_sort

    def spy_window(rows, active, width, m, rule, out):
        missed = real_window(rows, active, width, m, rule, out)
        calls.append(("window", width, active.tolist(), missed.tolist()))
        return missed

    def spy_sort(rows, m, rule, sel=None):
        calls.append(("sort", list(range(rows.x.shape[0])) if sel is None else sel.tolist()))
        return real_sort(rows, m, rule, sel)

    monkeypatch.setattr(ees_module, "_window", spy_window)
    monkeypatch.setattr(ees_module, "_k_full_sort", spy_sort)
    return calls


def test_auto_takes_every_branch(monkeypatch):
    """Window hit; the sort at once from the total alone (no perplexity pass); a perplexity-sized
    window; the sort after the perplexity; the head probe that hits (a small window) and the one
    that misses (the sort); a window miss retried twice as wide. Every count equals the sort's."""
    zt = auto_branch_rows()
    rows = ees_module._prepare(zt, 1.0, "float32", want_perplexity=True)
    T = rows.total.squeeze(-1).tolist()
    cap = zt.shape[-1] // ees_module.AUTO_FIRST_FRACTION
    assert rows.perplexity[1] == float("inf") and T[1] * ees_module.AUTO_PERPLEXITY_FACTOR > cap  # no pass
    assert all(p < float("inf") for i, p in enumerate(rows.perplexity) if i != 1)
    assert rows.head == [False, False, False, False, True, False, False]
    widths = ees_module._auto_widths(rows, 1, ees_module.TOPK_INITIAL)
    assert widths == [128, 0, 128, 0, ees_module.AUTO_HEAD_WIDTH, 0, 512]
    sort_k = et.torch.ees_keep_count(zt, method="sort")
    assert sort_k[2] == 1 and sort_k[4] == 1 and sort_k[6] > 512  # the last row's window misses
    calls = spy_paths(monkeypatch)
    k = et.torch.ees_keep_count(zt)
    assert calls == [
        ("window", 16, [4], []),
        ("window", 128, [0, 2], []),
        ("window", 512, [6], [6]),
        ("window", 1024, [6], []),
        ("sort", [1, 3, 5]),
    ]
    assert torch.equal(k, sort_k)
    assert torch.equal(et.torch.ees_mask(zt), canonical_mask(zt, sort_k))


def test_auto_window_miss_without_retry_goes_to_the_sort(monkeypatch):
    zt = auto_branch_rows()[[0, 6]]
    monkeypatch.setattr(ees_module, "AUTO_RETRIES", 0)
    calls = spy_paths(monkeypatch)
    k = et.torch.ees_keep_count(zt)
    assert calls == [("window", 128, [0], []), ("window", 512, [1], [1]), ("sort", [1])]
    monkeypatch.undo()
    assert torch.equal(k, et.torch.ees_keep_count(zt, method="sort"))


def test_auto_head_gap_table_matches_the_curve():
    # g(T) is where f(2) changes sign for the pair (1, e^-a) in a row of total T: just beyond it
    # the curve crosses, just before it it does not (core.ees.curve_point, float64)
    from ees_theory.core.ctx import FLOAT
    from ees_theory.core.ees import curve_point

    def f2(a, T):
        e = np.exp(-a)
        return curve_point(1 + e, e * a, np.log(2), T, FLOAT)[2]

    for T in (3.0, 8.0, 29.0, 150.0, 1e4):
        g = ees_module._head_gap(T)
        assert f2(g + 0.02, T) < 0 <= f2(g - 0.02, T)


def test_window_ending_inside_a_tie_is_not_settled(monkeypatch):
    # sorted 1, 0, 0, -1 | -1: the window of 4 holds the crossing (k* = 4, inclusive rule), but
    # the 4th logit is tied with a token outside it; the kept tie is the lower id only
    monkeypatch.setattr(ees_module, "TOPK_INITIAL", 4)
    z = torch.tensor([-1.0, 0.0, 1.0, 0.0, -1.0], dtype=torch.float64)
    for meth in METHODS:
        assert et.torch.ees_mask(z, rule="first-inclusive", method=meth).tolist() == [True, True, True, True, False], meth

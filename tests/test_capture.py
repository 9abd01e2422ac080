"""The sync-free kernels and warpers: the same bits as the default path, traceable whole, and the
one-pass entropy within the error band of the default one.

* ``sync_free=True`` must give what the default path gives, bit for bit: on the golden vectors
  (one row at a time and padded into one batch), on generated batches that reach every choice
  the default path makes on the host (masked tokens, ties at the cut, the float64 form for a
  temperature or a spread the compute dtype cannot hold, row chunks), in every dtype and both
  accumulation modes, and it must refuse bad input with the same message;
* ``torch.compile(fullgraph=True)`` raises at the first graph break (a host read, a
  data-dependent branch, numpy): tracing the sync-free warpers whole is the CPU's proof that they
  need no host read, and ``torch._dynamo.explain`` shows that the default path does break;
* on CUDA: the warpers are captured in a CUDA graph with ``set_sync_debug_mode("error")``;
* the fused entropy (:mod:`ees_theory.kernels._fused`) lies within the per-row band of
  :func:`ees_theory.errormodel.bands.entropy_error` and within
  :func:`ees_theory.tolerances.entropy_error_bound` of the certified reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ees_theory as et  # noqa: E402
from ees_theory import hf, tolerances  # noqa: E402
from ees_theory.errormodel.bands import entropy_error  # noqa: E402
from ees_theory.running.vectors import load_vectors  # noqa: E402
from ees_theory.kernels import _fused  # noqa: E402
from ees_theory.kernels import ees as kernel_ees  # noqa: E402
from ees_theory.reference.entropy import entropy as reference_entropy  # noqa: E402

DTYPES = (torch.float64, torch.float32, torch.float16, torch.bfloat16)
ACCUMULATE = ("input", "float32")
RULES = ("first-exclusive", "first-inclusive", "last")
UNCHECKED = dict(sync_free=True, check_inputs=False)


def _outcome(fn):
    """What a call gives: its tensor, or the type and message of its error."""
    try:
        return fn()
    except (ValueError, TypeError) as err:
        return f"{type(err).__name__}: {err}"


def _assert_same(default, sync_free, what):
    a, b = _outcome(default), _outcome(sync_free)
    if isinstance(a, str) or isinstance(b, str):
        assert a == b, f"{what}: default {a!r}, sync-free {b!r}"
        return
    assert a.dtype == b.dtype and a.shape == b.shape, what
    assert torch.equal(a, b), f"{what}: {int((a != b).sum())} entries differ"


def _golden(method, dtype):
    """The golden rows of ``method`` in ``dtype`` (values beyond its range saturate), with params."""
    fi = torch.finfo(dtype)
    for case in load_vectors(method=method):
        row = np.where(np.isfinite(case.logits), np.clip(case.logits, -fi.max, fi.max), case.logits)
        yield case.id, torch.tensor(row, dtype=torch.float64).to(dtype), case.params


def _padded(rows):
    """Rows of different lengths as one batch, padded with masked tokens."""
    V = max(r.shape[-1] for r in rows)
    out = torch.full((len(rows), V), -math.inf, dtype=rows[0].dtype)
    for i, r in enumerate(rows):
        out[i, : r.shape[-1]] = r
    return out


def _generated(dtype, V, seed):
    """A batch that reaches the default path's host decisions: peaked, flat, tied, masked and
    integer rows, a row of one candidate, and a row whose spread is near the dtype's limit."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(9, V, generator=g, dtype=torch.float64)
    x[0] *= 6.0
    x[1] *= 0.2
    x[2] = (x[2] * 2).round()  # ties everywhere, and at the cut
    x[3, ::3] = -math.inf
    x[4, 1:] = -math.inf  # one candidate
    x[5] = 0.0  # uniform
    x[6, : V // 2] = 1.5  # a tied block at the top
    big = torch.finfo(dtype).max
    x[7] = torch.linspace(-0.45 * big, 0.45 * big, V, dtype=torch.float64)  # spread near the dtype's max
    x[8] = x[8] * 3 - 40.0
    big = torch.finfo(dtype).max
    return torch.where(torch.isfinite(x), x.clamp(-big, big), x).to(dtype)


# ---- sync-free = default, bit for bit -------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_ees_sync_free_matches_the_golden_vectors(dtype):
    rows, temps = [], []
    for i, (cid, z, prm) in enumerate(_golden("ees", dtype)):
        for j, acc in enumerate(ACCUMULATE):
            for rule in (RULES[(i + j) % 3],):  # one rule a row in turn; the batch below takes every rule
                _assert_same(lambda: et.torch.ees_logits(z, prm["temperature"], 1, rule, acc),
                             lambda: et.torch.ees_logits(z, prm["temperature"], 1, rule, acc, **UNCHECKED), f"{cid} {dtype} {acc} {rule}")
        rows.append(z)
        temps.append(prm["temperature"])
    batch, tau = _padded(rows), torch.tensor(temps, dtype=torch.float64)
    for acc in ACCUMULATE:
        for rule in RULES:
            for m in (1, 3):
                _assert_same(lambda: et.torch.ees_logits(batch, tau, m, rule, acc),
                             lambda: et.torch.ees_logits(batch, tau, m, rule, acc, sync_free=True), f"golden batch {dtype} {acc} {rule} m={m}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_temperature_kernels_sync_free_match_the_golden_vectors(dtype):
    edt_rows, dyn_rows = [], []
    for i, (cid, z, prm) in enumerate(_golden("edt", dtype)):
        edt_rows.append(z)
        for acc in ACCUMULATE:
            for of in (("raw", "tempered")[i % 2],):
                _assert_same(lambda: et.torch.edt_logits(z, prm["T0"], prm["theta"], prm["N"], of, acc),
                             lambda: et.torch.edt_logits(z, prm["T0"], prm["theta"], prm["N"], of, acc, **UNCHECKED), f"{cid} {dtype} {acc} {of}")
    for i, (cid, z, prm) in enumerate(_golden("dynatemp", dtype)):
        dyn_rows.append(z)
        for acc in ACCUMULATE:
            for policy in (("llama.cpp", "finite-candidates")[i % 2],):
                args = (z, prm["temp"], prm["delta"], prm["exponent"], acc)
                _assert_same(lambda: et.torch.dynatemp_logits(*args, policy=policy),
                             lambda: et.torch.dynatemp_logits(*args, policy=policy, sync_free=True), f"{cid} {dtype} {acc} {policy}")
    edt_batch, dyn_batch = _padded(edt_rows), _padded(dyn_rows)
    for acc in ACCUMULATE:
        _assert_same(lambda: et.torch.edt_logits(edt_batch, 1.3, 0.6, 0.8, "tempered", acc),
                     lambda: et.torch.edt_logits(edt_batch, 1.3, 0.6, 0.8, "tempered", acc, **UNCHECKED), f"edt batch {dtype} {acc}")
        for exponent in (1.0, 2.5, -1.0):
            _assert_same(lambda: et.torch.dynatemp_logits(dyn_batch, 0.9, 0.6, exponent, acc),
                         lambda: et.torch.dynatemp_logits(dyn_batch, 0.9, 0.6, exponent, acc, sync_free=True), f"dynatemp batch {dtype} {acc} {exponent}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("V", [2, 37, 5000])
def test_ees_sync_free_matches_on_generated_batches(dtype, V):
    x = _generated(dtype, V, seed=V)
    g = torch.Generator().manual_seed(7)
    per_row = torch.rand(x.shape[0], generator=g, dtype=torch.float64) * 3 + 0.05
    tiny = torch.full((x.shape[0],), 1e-30, dtype=torch.float64)  # below float16's range: the float64 form
    temps = (1.0, 0.35, 1e-30, 1e-300, per_row, tiny, torch.tensor(0.5))
    for acc in ACCUMULATE:
        # (the CPU's windows from V = 4096 on: a few temperatures there, every one on the short rows)
        for temp in temps if V < 4096 else temps[::3]:
            for rule in RULES if V < 4096 else RULES[1:]:
                what = f"{dtype} V={V} {acc} T={temp if not isinstance(temp, torch.Tensor) else tuple(temp.shape)} {rule}"
                _assert_same(lambda: et.torch.ees_logits(x, temp, 2, rule, acc, filter_value=-7.0),
                             lambda: et.torch.ees_logits(x, temp, 2, rule, acc, filter_value=-7.0, **UNCHECKED), what)
                for method in kernel_ees.STRATEGIES:
                    _assert_same(lambda: et.torch.ees_keep_count(x, temp, 1, rule, acc, method=method),
                                 lambda: et.torch.ees_keep_count(x, temp, 1, rule, acc, method=method, sync_free=True), f"{what} {method}")


def test_ees_sync_free_matches_in_row_chunks():
    # more elements than CHUNK_ELEMENTS: the CPU path cuts the batch into chunks of rows
    V = 4096
    B = kernel_ees.CHUNK_ELEMENTS // V + 3
    x = torch.cat([_generated(torch.float32, V, seed=s) for s in range(B // 9 + 1)])[:B]
    tau = torch.linspace(0.2, 2.0, B)
    for temp in (1.0, tau):
        _assert_same(lambda: et.torch.ees_mask(x, temp), lambda: et.torch.ees_mask(x, temp, **UNCHECKED), "chunked")


@pytest.mark.parametrize("dtype", DTYPES)
def test_temperature_kernels_sync_free_match_on_generated_batches(dtype):
    x = _generated(dtype, 301, seed=11).reshape(3, 3, 301)  # two batch dims
    for acc in ACCUMULATE:
        for fused in (False, True):
            for T0, theta in ((1.0, 0.5), (0.4, 2.0), (2.0, 0.0)):
                _assert_same(lambda: et.torch.edt_temperature(x, T0, theta, accumulate=acc, fused=fused),
                             lambda: et.torch.edt_temperature(x, T0, theta, accumulate=acc, fused=fused, **UNCHECKED), f"edt {dtype} {acc}")
            for p in ((1.0, 0.5, 1.0), (0.2, 0.5, 3.0), (1.0, 0.5, -1.0), (1.0, 0.0, 1.0), (1.0, 0.5, 0.0)):
                for policy in ("llama.cpp", "finite-candidates"):
                    _assert_same(lambda: et.torch.dynatemp_logits(x, *p, acc, policy=policy, fused=fused),
                                 lambda: et.torch.dynatemp_logits(x, *p, acc, policy=policy, fused=fused, sync_free=True), f"dynatemp {dtype} {acc} {p}")
        T = torch.tensor([[0.0, 1e-40, 0.5], [2.0, float("inf"), 1e-300], [3.0, 0.0, 1.0]], dtype=torch.float64)
        for t in (T, T.float(), 0.0, 1e-40, 0.7, torch.tensor(1e-40), torch.tensor(0.0)):
            for greedy in ("ties", "first"):
                _assert_same(lambda: et.torch.apply_temperature(x, t, greedy), lambda: et.torch.apply_temperature(x, t, greedy, **UNCHECKED),
                             f"apply {dtype} {greedy}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_warpers_sync_free_match_the_default_path(dtype):
    x = _generated(dtype, 700, seed=3)
    x[4], x[7] = x[3], x[8]  # (no row of entropy 0: the negative exponent refuses it, tested below)
    warpers = [
        lambda **kw: hf.EESLogitsWarper(0.8, 2, filter_value=-50.0, **kw),
        lambda **kw: hf.EESLogitsWarper(1.0, 1, "last", **kw),
        lambda **kw: hf.EDTLogitsWarper(1.0, 0.7, min_tokens_to_keep=3, **kw),
        lambda **kw: hf.EDTLogitsWarper(0.5, 40.0, entropy_of="tempered", **kw),  # greedy rows
        lambda **kw: hf.DynaTempLogitsWarper(0.0, 0.3, 1.0, min_tokens_to_keep=2, **kw),  # T_min = 0: greedy rows
        lambda **kw: hf.DynaTempLogitsWarper(1.0, 0.5, -1.5, accumulate="input", **kw),
    ]
    for make in warpers:
        want = make(sync_free=False)(None, x)
        for kw in (dict(sync_free=True), dict(sync_free=True, check_inputs=False)):
            got = make(**kw)(None, x)
            assert torch.equal(got, want), (make(), kw)
    # automatic: the default path on the CPU
    assert hf.EESLogitsWarper().sync_free is None and not hf._use_sync_free(None, x)


# ---- the checks of a sync-free call --------------------------------------------------------------
def test_sync_free_refuses_bad_input_with_the_default_message():
    nan = torch.tensor([[0.0, 1.0], [2.0, float("nan")]])
    one = torch.tensor([[0.0, -math.inf], [0.0, 1.0]])
    for fn in (
        lambda **kw: et.torch.ees_mask(nan, **kw),
        lambda **kw: et.torch.ees_logits(nan, **kw),
        lambda **kw: et.torch.ees_mask(one, torch.tensor([1.0, -2.0]), **kw),
        lambda **kw: et.torch.edt_logits(nan, 1.0, 0.5, **kw),
        lambda **kw: et.torch.dynatemp_temperature(one, 1.0, 0.5, -1.0, **kw),
        lambda **kw: et.torch.dynatemp_logits(nan, 1.0, 0.5, 1.0, **kw),
        lambda **kw: et.torch.apply_temperature(one, torch.tensor([0.5, -1.0]), **kw),
        lambda **kw: hf.DynaTempLogitsWarper(1.0, 0.5, -1.0, **kw)(None, one),
        lambda **kw: hf.DynaTempLogitsWarper(1.0, 0.5, 1.0, **kw)(None, nan),
        lambda **kw: hf.EDTLogitsWarper(1.0, 0.5, **kw)(None, nan),
    ):
        want = _outcome(lambda: fn(sync_free=False))
        assert isinstance(want, str) and want.startswith("ValueError"), want
        assert _outcome(lambda: fn(sync_free=True)) == want


def test_check_inputs_false_reads_nothing_and_diagnoses_nothing():
    # (documented) the caller vouches for the logits: NaN passes through undiagnosed
    nan = torch.tensor([[0.0, 1.0, float("nan")]])
    assert et.torch.ees_mask(nan, **UNCHECKED).shape == nan.shape
    assert et.torch.edt_temperature(nan, 1.0, 0.5, **UNCHECKED).shape == (1,)


def test_switches_must_be_booleans():
    z = torch.zeros(1, 3)
    for fn, name in ((lambda: et.torch.ees_mask(z, sync_free="yes"), "sync_free"),
                     (lambda: et.torch.edt_temperature(z, 1.0, 0.5, fused=1), "fused"),
                     (lambda: et.torch.apply_temperature(z, 1.0, check_inputs=None), "check_inputs"),
                     (lambda: hf.EESLogitsWarper(sync_free="auto"), "sync_free"),
                     (lambda: hf.EDTLogitsWarper(1.0, 0.5, check_inputs=0), "check_inputs")):
        with pytest.raises(TypeError, match=name):
            fn()


def test_search_strategies_are_named_once():
    assert kernel_ees.STRATEGIES == (kernel_ees.AUTO, kernel_ees.SORT, kernel_ees.TOPK) == ("auto", "sort", "topk")
    with pytest.raises(ValueError, match="method must be one of auto, sort, topk"):
        et.torch.ees_mask(torch.zeros(1, 3), method="bisect")


# ---- traced whole: no graph break ----------------------------------------------------------------
def _warpers(**kw):
    return {
        "ees": hf.EESLogitsWarper(0.7, 2, **kw),
        "ees-last": hf.EESLogitsWarper(1.0, 1, "last", **kw),
        "edt": hf.EDTLogitsWarper(1.0, 0.6, min_tokens_to_keep=2, **kw),
        "edt-fused": hf.EDTLogitsWarper(1.0, 0.6, fused=True, **kw),
        "dynatemp": hf.DynaTempLogitsWarper(1.0, 0.5, 1.0, **kw),
        "dynatemp-negative": hf.DynaTempLogitsWarper(1.0, 0.5, -1.0, **kw),
    }


@pytest.mark.parametrize("name", sorted(_warpers()))
def test_sync_free_warpers_trace_whole_and_give_the_same_bits(name):
    torch._dynamo.reset()
    x = _generated(torch.float32, 300, seed=5)
    x[4], x[7] = x[0], x[8]  # (no row of entropy 0: the negative exponent refuses it)
    warper = _warpers(**UNCHECKED)[name]
    compiled = torch.compile(lambda s: warper(None, s), fullgraph=True, backend="aot_eager", dynamic=False)
    got = compiled(x)  # fullgraph=True: a host read or a data-dependent branch raises here
    assert torch.equal(got, _warpers(sync_free=False)[name](None, x))


def test_the_default_path_does_break_the_graph():
    # the detector the test above relies on: the default path's host reads are graph breaks
    torch._dynamo.reset()
    x = _generated(torch.float32, 64, seed=2)
    checked = torch._dynamo.explain(lambda s: hf.EESLogitsWarper(sync_free=False)(None, s))(x)
    free = torch._dynamo.explain(lambda s: hf.EESLogitsWarper(**UNCHECKED)(None, s))(x)
    assert checked.graph_break_count > 0
    assert free.graph_break_count == 0 and free.graph_count == 1


def test_fused_entropy_traces_whole():
    torch._dynamo.reset()
    x = _generated(torch.float32, 1000, seed=8)
    x[7] = 0.0  # (a spread beyond float32's exp range is covered by the eager tests)
    compiled = torch.compile(lambda z: _fused.fused_entropy(z, 0.8, block=128), fullgraph=True, backend="aot_eager", dynamic=False)
    got, want = compiled(x), _fused.fused_entropy(x, 0.8, block=128)
    assert torch.equal(got.entropy, want.entropy) and torch.equal(got.log_normaliser, want.log_normaliser)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine: CUDA graph capture and the sync detector need a GPU")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_graph_capture_without_a_host_sync(dtype):
    cpu = _generated(dtype, 32768, seed=1)
    cpu[4], cpu[7] = cpu[0], cpu[8]
    for name, warper in _warpers(**UNCHECKED).items():
        static = cpu.cuda()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the capture stream, as torch.cuda.graphs asks
            for _ in range(2):
                warper(None, static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        torch.cuda.set_sync_debug_mode("error")
        try:
            warper(None, static)  # eager, sync-free: a synchronising call raises here
            with torch.cuda.graph(graph):
                out = warper(None, static)
            fresh = _generated(dtype, 32768, seed=9)
            fresh[4], fresh[7] = fresh[0], fresh[8]
            static.copy_(fresh.cuda())
            graph.replay()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        torch.cuda.synchronize()
        want = _warpers(sync_free=False)[name](None, fresh.cuda())
        assert torch.equal(out, want), name


# ---- the one-pass entropy --------------------------------------------------------------------------
def _entropy_rows():
    g = torch.Generator().manual_seed(4)
    for V in (2, 9, 100, 700):
        for scale in (0.02, 1.0, 5.0, 40.0):
            x = torch.randn(4, V, generator=g, dtype=torch.float64) * scale
            x[1, 1::3] = -math.inf  # masked tokens, whole masked blocks at block=5
            x[2] = x[2].round()  # ties within and across blocks
            x[3, -1] = x[3].max() + 30.0  # the maximum in the last block, far above the rest
            yield x


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_entropy_within_the_band_of_the_reference(dtype):
    name = str(dtype).removeprefix("torch.")
    checked = 0
    for x64 in _entropy_rows():
        x = x64.to(dtype)
        for tau in (1.0, 0.3):
            plain = et.kernels._core.row_entropy(x, tau)
            exact = []
            for r in range(x.shape[0]):
                row = x[r].double().numpy()
                H = float(reference_entropy(row.tolist(), tau, dps=20))
                finite = row[np.isfinite(row)]
                bound = tolerances.entropy_error_bound(name, "input", finite.size, float(finite.max() - finite.min()) / tau, H)
                exact.append((row, finite, H, bound, entropy_error(row, tau, H, name, "input")))
            for block in (5, 64, _fused.BLOCK):
                got = _fused.fused_entropy(x, tau, block=block)
                for r, (row, finite, H, bound, band) in enumerate(exact):
                    err = abs(float(got.entropy[r]) - H)
                    assert err <= band and err <= bound, (name, tau, block, r, err, band, bound)
                    assert abs(float(got.entropy[r]) - float(plain[r])) <= 2 * max(band, bound)
                    lnZ = float(np.log(np.exp((finite - finite.max()) / tau).sum()) + finite.max() / tau)
                    assert abs(float(got.log_normaliser[r]) - lnZ) <= 8 * tolerances.unit_roundoff(name) * max(1.0, abs(lnZ)) * finite.size
                    checked += 1
    assert checked == 16 * 4 * 2 * 3


def test_fused_entropy_exact_cases():
    z = torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [2.0, -math.inf, -math.inf, -math.inf, -math.inf, -math.inf],
                      [-math.inf, -math.inf, -math.inf, 0.0, 0.0, -math.inf]], dtype=torch.float64)
    r = _fused.fused_entropy(z, block=2)  # uniform over 6 across three blocks; one candidate; a masked first block
    assert r.entropy.tolist() == pytest.approx([math.log(6), 0.0, math.log(2)], abs=1e-15)
    assert r.log_normaliser.tolist() == pytest.approx([1 + math.log(6), 2.0, math.log(2)], abs=1e-15)
    with pytest.raises(ValueError, match="block must be a positive number"):
        _fused.fused_entropy(z, block=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_temperatures_within_their_bounds(dtype):
    name = str(dtype).removeprefix("torch.")
    for x64 in _entropy_rows():
        x = x64.to(dtype)
        T = et.torch.edt_temperature(x, 1.0, 0.7, fused=True)
        D = et.torch.dynatemp_temperature(x, 1.0, 0.5, 1.5, fused=True)
        for r in range(x.shape[0]):
            row = x[r].double().numpy()
            finite = row[np.isfinite(row)]
            n, R = finite.size, float(finite.max() - finite.min())
            H = float(reference_entropy(row.tolist()))
            T_exact = 0.0 if H == 0 else math.exp(0.7 * math.log(0.8) / H)
            if T_exact == 0:  # greedy, or underflowed: the bound is about T > 0
                assert float(T[r]) < tolerances.SMALLEST_NORMAL["float32"]
            else:
                assert abs(float(T[r]) - T_exact) <= tolerances.edt_temperature_bound(name, "float32", n, R, H, T_exact, 1.0)
            ratio = min(1.0, H / math.log(row.size))
            D_exact = 0.5 + 1.0 * ratio**1.5
            assert abs(float(D[r]) - D_exact) <= tolerances.dynatemp_temperature_bound(name, "float32", n, R, H, row.size, 1.0, 0.5, 1.5)

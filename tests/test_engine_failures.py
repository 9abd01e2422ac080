"""The "fails" rows of the engine matrix, each re-derived with its cause named.

* transformers' typical draws on a near-uniform row: the kept set is decided by the rounding of
  near-equal scores; a set a careful float32 implementation keeps is admissible even when it is
  no prefix of the reference's order (the draws judge tests it as a distribution of its own);
* llama.cpp's mirostat v1: an estimate of k that is NaN, infinite or at least 2**31 has no C
  ``int`` value; ``max(int(k), 1)`` then keeps one token (x86-64 converts to ``INT_MIN``), and the
  judge names the fault ``k-overflow``;
* the torch.multinomial adapter in float16 at a tiny temperature: the row's maximum is
  subtracted before dividing by T (dividing first overflowed to a NaN softmax), and a recorded
  row of an older adapter revision that cannot re-run here is stale, not a verdict;
* llama.cpp's typical on a row with a float32 probability of 0 (``nan-entropy``), a top-p that
  keeps the crossing's tie block whole (``tie-block-kept``), and draws that no truncation of the
  row explains.

The ports here are small independent imitations written for the tests: they do not call the code
they are judged by.
"""

from __future__ import annotations

import numpy as np
import pytest

from ees_theory.engines import draws as ed
from ees_theory.engines import matrix
from ees_theory.engines.registry import RowResult
from ees_theory.engines.table import get_row
from ees_theory.harness import run_check
from ees_theory.running.cases import Case
from ees_theory.running.draws import InProcessDrawsPort, check_draws
from ees_theory.judging.draws import judge_draws
from ees_theory.judging.methods import Options
from ees_theory.running.ports import InProcessPort
from ees_theory.spec.formats import from_hex_list

torch = pytest.importorskip("torch")


def _inverse_cdf(ids, weights, n, seed):
    """``n`` draws of ``ids`` with probabilities proportional to ``weights`` (float64 inverse CDF)."""
    ids = np.asarray(ids, dtype=np.int64)
    q = np.asarray(weights, dtype=np.float64)
    u = np.random.default_rng(seed).random(n)
    return ids[np.searchsorted(np.cumsum(q / q.sum()), u, side="right").clip(0, ids.size - 1)]


# ---- transformers' typical on a near-uniform row ---------------------------------------------
#: the shrunk row of case gen0-typical-float32-0003 (12 logits within 2e-6 of each other)
NEAR_UNIFORM = from_hex_list(["-0x1.651bc60000000p-20", "-0x1.c47fbe0000000p-20", "-0x1.43fec60000000p-21", "-0x1.9ac3680000000p-20",
                              "-0x1.68d3a80000000p-20", "-0x1.1923d40000000p-20", "-0x1.5f85060000000p-21", "-0x1.d920dc0000000p-21",
                              "-0x1.965fd60000000p-20", "-0x1.7866120000000p-23", "-0x1.0530e60000000p-22", "-0x1.3b32b00000000p-21"])
TYPICAL_PARAMS = {"temperature": 1.0, "mass": 0.5, "min_tokens_to_keep": 1}
#: what a careful float32 typical sampler summing sequentially keeps there (and transformers'
#: TypicalLogitsWarper too): seven tokens, no prefix of the exact typicality order
CAREFUL_SET = (2, 5, 6, 7, 9, 10, 11)
TRANSFORMERS = Options(policy="transformers")


def _set_port(kept):
    """A draws port that samples the exact renormalised distribution of the fixed set ``kept``."""
    def draw(logits, temperature, n, seed, mass, min_tokens_to_keep):
        z = np.asarray(logits, dtype=np.float64) / temperature
        p = np.exp(z - z.max())
        return _inverse_cdf(kept, p[list(kept)], n, seed)

    return draw


def _typical_case():
    return Case("near-uniform", "typical", "near_uniform", np.array(NEAR_UNIFORM), dict(TYPICAL_PARAMS))


def test_the_careful_set_is_what_a_style_keeps_and_no_prefix_of_the_reference_order():
    from ees_theory.errormodel import styles
    from ees_theory.reference.truncation import truncate

    outs = styles.mask_outcomes("typical", np.array(NEAR_UNIFORM), TYPICAL_PARAMS, "float32", "input", "transformers")
    assert frozenset(CAREFUL_SET) in {o.kept for o in outs}
    order = list(truncate("typical", np.array(NEAR_UNIFORM), policy="transformers", mass=0.5, min_tokens_to_keep=1).extras["order"])
    assert set(order[: len(CAREFUL_SET)]) != set(CAREFUL_SET) and not any(set(order[:c]) == set(CAREFUL_SET) for c in range(1, 13))


def test_draws_from_a_careful_style_kept_set_are_admissible_not_a_failure():
    r = check_draws(InProcessDrawsPort(_set_port(CAREFUL_SET), "careful-style"), "typical", "float32", cases=[_typical_case()],
                    draws=20000, seed=3, options=TRANSFORMERS, shrink=False)
    rec = r.records[0]
    assert r.ok, rec
    assert rec["status"] == "admissible" and "no prefix of the reference's order" in rec["message"]
    assert rec["details"]["best_set"].startswith("the kept set of style")


def test_draws_from_a_set_no_careful_code_keeps_still_fail():
    wrong = (9, 10, 11)  # three tokens: a count outside every admissible one, and no style's set
    v = judge_draws("typical", np.array(NEAR_UNIFORM), TYPICAL_PARAMS, _set_port(wrong)(NEAR_UNIFORM, 1.0, 20000, 5, 0.5, 1),
                    "float32", TRANSFORMERS)
    assert v.status == "tested" and v.pvalue < 1e-12


# ---- llama.cpp's mirostat v1: k with no int value -----------------------------------------------
INT_MIN = -(2**31)


def _c_int_x86(k) -> int:
    """C's ``(int)k`` as x86-64 computes it: a NaN, infinite or out-of-range value gives INT_MIN."""
    return int(k) if np.isfinite(k) and -(2.0**31) <= k < 2.0**31 else INT_MIN


def _mirostat_v1_port(overflow: bool):
    """mirostat v1 in float32 as llama.cpp writes it (Zipf fit over the top m of the whole sorted
    candidate array, ``k = (eps 2^mu / (1 - N^-eps))^(1/s_hat)``, top-k, renormalise, draw, surprise
    in bits under the kept set). ``overflow``: top-k takes ``max((int)k, 1)``; otherwise the fit
    skips probabilities of 0 and k is clamped to the vocabulary, as a careful port does."""
    def draw(logits, temperature, n, seed, tau, eta, mu=None, m=100, **_):
        x = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
        V = x.size
        order = np.argsort(-x, kind="stable")
        with np.errstate(all="ignore"):
            e = np.exp(x[order] - x[order][0])
            p = e / e.sum()
            live = p if overflow else p[p > 0]
            w = min(int(m), live.size) - 1
            t = np.log(np.arange(2, w + 2, dtype=np.float32) / np.arange(1, w + 1, dtype=np.float32))
            b = np.log(live[:w] / live[1 : w + 1])
            s_hat = np.float32(np.sum(t * b) / np.sum(t * t))
        state = np.float32(2 * tau if mu is None else mu)
        rng = np.random.default_rng(seed)
        out = np.empty(n, dtype=np.int64)
        for i in range(n):
            with np.errstate(all="ignore"):
                eps = s_hat - np.float32(1)
                k = np.power(eps * np.power(np.float32(2), state) / (np.float32(1) - np.power(np.float32(V), -eps)), np.float32(1) / s_hat)
            kk = max(_c_int_x86(k), 1) if overflow else (live.size if not k < live.size else max(int(k), 1))
            kk = min(kk, V)
            q = p[:kk] / p[:kk].sum()
            j = int(np.searchsorted(np.cumsum(q), rng.random(), side="right").clip(0, kk - 1))
            out[i] = order[j]
            state = np.float32(state - eta * (-np.log2(q[j]) - tau))
        return out

    return draw


#: case v1-mirostat-v1-0004 (two masked tokens: the fit over the whole array takes ln 0 - ln 0)
MASKED = np.array([-np.inf, -3.359375, -0.97265625, -3.328125, -np.inf, 0.0, -1.5703125, -4.375])
MASKED_PARAMS = {"temperature": 2.0, "tau": 5.0, "eta": 0.1, "m": 100}
#: case gen0-mirostat-v1-float32-0009 (five tokens, a target of 3 bits: mu climbs until k >= 2**31)
CLIMBING = np.array([-0.37404266, -2.54169703, -2.11403418, 0.0, -2.11403418]).astype(np.float32).astype(np.float64)
CLIMBING_PARAMS = {"temperature": 1.0, "tau": 3.0, "eta": 0.5, "m": 100}
LLAMA = Options(policy="llama.cpp")


def test_the_port_imitates_the_conversion():
    assert _c_int_x86(float("nan")) == INT_MIN and _c_int_x86(float("inf")) == INT_MIN and _c_int_x86(3e9) == INT_MIN
    assert max(_c_int_x86(float("nan")), 1) == 1 and _c_int_x86(7.9) == 7


def test_a_nan_estimate_of_k_is_named_k_overflow():
    tokens = _mirostat_v1_port(True)(MASKED, 2.0, 400, 11, tau=5.0, eta=0.1, m=100)
    assert set(tokens.tolist()) == {5}  # greedy: the most probable token every time
    v = judge_draws("mirostat-v1", MASKED, MASKED_PARAMS, tokens, "float32", LLAMA, seed=11)
    assert v.status == "tested" and v.pvalue < 1e-20
    assert v.fault == "k-overflow"
    assert "s_hat = nan" in v.message and "INT_MIN" in v.message and "keeps 6" in v.message


def test_k_beyond_int_range_after_mu_climbs_is_named_k_overflow():
    tokens = _mirostat_v1_port(True)(CLIMBING, 1.0, 400, 12, tau=3.0, eta=0.5, m=100)
    v = judge_draws("mirostat-v1", CLIMBING, CLIMBING_PARAMS, tokens, "float32", LLAMA, seed=12)
    assert v.fault == "k-overflow" and v.pvalue < 1e-6
    assert ">= 2**31" in v.message


def test_a_port_without_the_overflow_is_not_blamed():
    tokens = _mirostat_v1_port(False)(MASKED, 2.0, 400, 13, tau=5.0, eta=0.1, m=100)
    assert len(set(tokens.tolist())) > 1
    v = judge_draws("mirostat-v1", MASKED, MASKED_PARAMS, tokens, "float32", LLAMA, seed=13)
    assert v.fault != "k-overflow" and v.pvalue > 1e-6


# ---- torch.multinomial in float16 at a tiny temperature ------------------------------------------
def test_dividing_first_is_what_overflowed():
    # the computation the adapter no longer does: z / T in float16 is -inf for every token
    x = torch.tensor([-2.0], dtype=torch.float16) / 2.0**-20
    assert torch.isnan(torch.softmax(x, dim=-1)).all()


def test_the_float16_adapter_draws_on_the_v1_ees_0016_logits():
    fn = ed.factory("torch.multinomial", "ees", "float16")
    assert fn(np.array([-2.0]), 2.0**-20, 200, 1404407630).tolist() == [0] * 200
    # two tokens 1 apart at T = 2^-20: the second one's probability is exactly 0
    assert set(fn(np.array([-2.0, -3.0]), 2.0**-20, 200, 7).tolist()) == {0}


def test_the_float16_ees_case_conforms():
    case = Case("v1-ees-0016", "ees", "temperature", np.array([-2.0]), {"temperature": 2.0**-20})
    r = check_draws(InProcessDrawsPort(ed.factory("torch.multinomial", "ees", "float16"), "tm"), "ees", "float16", cases=[case],
                    draws=2000, shrink=False)
    assert r.ok and r.records[0]["status"] == "pass"


def test_the_torch_adapters_carry_a_new_revision():
    for name in ("torch.multinomial", "torch.multinomial.cuda", "exponential-race"):
        assert get_row(ed.ROW_NAMES[name], "ees", "paper").revision == 2
    assert get_row("llama.cpp-dist", "mirostat-v1", "llama.cpp").revision == 1
    res = RowResult("e", "1", "ees", "paper", "float16", "draws", "conforms", adapter_revision=2)
    assert res.to_json()["adapter_revision"] == 2 and RowResult.from_json(res.to_json()) == res


def test_a_recorded_row_of_an_older_adapter_is_stale_not_a_verdict():
    rec = {"engine": "g", "method": "ees", "policy": "paper", "dtype": "float16", "verdict": "fails", "engine_version": "torch on H200"}
    now = dict(rec, verdict="not-run", reason="needs CUDA", adapter_revision=2)
    [out] = matrix.merge_records([rec], [now])
    assert out["verdict"] == "not-run" and out["reason"].startswith("stale, not re-run: recorded as fails")
    [same] = matrix.merge_records([dict(rec, adapter_revision=2)], [now])
    assert same["verdict"] == "fails"


def test_the_committed_cuda_rows_of_the_old_adapter_are_stale_not_verdicts():
    # the GPU recorded these rows with adapter revision 1 (dividing by T before the shift); the
    # committed file must not publish them as verdicts until a GPU re-runs them
    recs = [r for r in matrix.read_jsonl(matrix.RESULTS_PATH) if r["engine"] == "torch.multinomial.cuda"]
    assert len(recs) == 12
    for rec in recs:
        if rec["verdict"] != "not-run":  # re-run on a GPU with the current adapter
            assert rec.get("adapter_revision", 1) == get_row("torch.multinomial.cuda", rec["method"], rec["policy"]).revision
        else:
            assert "stale, not re-run: recorded as" in rec["reason"] or "needs CUDA" in rec["reason"], rec["reason"]
    fp16 = next(r for r in recs if (r["method"], r["dtype"]) == ("ees", "float16"))
    assert fp16["verdict"] != "fails" or fp16.get("adapter_revision", 1) >= 2


# ---- llama.cpp typical, FlashInfer top-p: the cause in words --------------------------------------
def _llama_typical(logits, temperature, mass, min_tokens_to_keep):
    """typical as llama.cpp writes it, in float32: the entropy sums -p ln p over every candidate
    (no p > 0 guard), the candidates are sorted by |-ln p - H| from the probability order, and the
    cut stops once the running mass exceeds ``mass``."""
    x = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    order = np.argsort(-x, kind="stable")
    with np.errstate(all="ignore"):
        e = np.exp(x[order] - x[order][0])
        p = e / e.sum()
        H = -np.sum(p * np.log(p))
        score = np.abs(-np.log(p) - H)
    idx = sorted(range(len(p)), key=lambda i: score[i])  # NaN keys compare False: the order stays
    kept = np.zeros(len(p), dtype=bool)
    total = np.float32(0)
    for n, i in enumerate(idx):
        kept[order[i]] = np.isfinite(x[order[i]])
        total += p[i]
        if total > mass and n + 1 >= min_tokens_to_keep:
            break
    return kept


def test_llama_cpp_typical_on_a_masked_row_is_diagnosed_nan_entropy():
    case = Case("masked", "typical", "masked", np.array([1.0, 0.0, 0.0, 0.0, -np.inf]),
                {"temperature": 1.0, "mass": 0.3, "min_tokens_to_keep": 1})
    assert _llama_typical(case.logits, 1.0, 0.3, 1).tolist() == [True, False, False, False, False]
    r = run_check(InProcessPort(_llama_typical, "nan-entropy"), "typical", "float32", [case], options=LLAMA, shrink=False)
    rec = r.records[0]
    assert rec["status"] == "fail" and rec["fault"] == "nan-entropy" and "0 * ln 0 is NaN" in rec["message"]


def test_a_correct_typical_on_the_same_row_is_not_blamed():
    def guarded(logits, temperature, mass, min_tokens_to_keep):  # the entropy over p > 0 only
        x = np.asarray(logits, dtype=np.float64) / temperature
        p = np.exp(x - x.max())
        p /= p.sum()
        with np.errstate(divide="ignore"):
            lp = np.log(p)
        H = -np.sum(p[p > 0] * lp[p > 0])
        score = np.where(p > 0, np.abs(-lp - H), np.inf)
        kept = np.zeros(p.size, dtype=bool)
        total = 0.0
        for n, i in enumerate(np.argsort(score, kind="stable")):
            kept[i] = p[i] > 0
            total += p[i]
            if total > mass and n + 1 >= min_tokens_to_keep:
                break
        return kept

    case = Case("masked", "typical", "masked", np.array([1.0, 0.0, 0.0, 0.0, -np.inf]),
                {"temperature": 1.0, "mass": 0.3, "min_tokens_to_keep": 1})
    r = run_check(InProcessPort(guarded, "guarded"), "typical", "float32", [case], options=LLAMA, shrink=False)
    assert r.records[0]["status"] in ("pass", "admissible")


def test_a_top_p_that_keeps_the_tie_block_whole_is_named():
    def pivot(logits, temperature, p, min_tokens_to_keep):  # keep every token at or above the crossing's probability
        z = np.asarray(logits, dtype=np.float64) / temperature
        q = np.exp(z - z.max())
        q /= q.sum()
        srt = np.sort(q)[::-1]
        crossing = srt[min(int(np.searchsorted(np.cumsum(srt), p)), q.size - 1)]
        return q >= crossing

    case = Case("tie", "top-p", "tied_top", np.array([0.0, 0.0]), {"temperature": 1.0, "p": 0.1, "min_tokens_to_keep": 1})
    r = run_check(InProcessPort(pivot, "pivot"), "top-p", "float32", [case], options=TRANSFORMERS, shrink=False)
    rec = r.records[0]
    assert rec["status"] == "fail" and rec["fault"] == "tie-block-kept" and "pivot" in rec["message"]


def test_draws_below_the_untruncated_share_come_from_no_truncation():
    # the recorded FlashInfer sampler counts on [0, -1, -1], top_p = 0.6 (token 0: 9496 of 20000)
    tokens = np.random.default_rng(0).permutation(np.repeat([0, 1, 2], [9496, 5252, 5252]))
    v = judge_draws("top-p", np.array([0.0, -1.0, -1.0]), {"temperature": 1.0, "p": 0.6, "min_tokens_to_keep": 1}, tokens,
                    "float32", TRANSFORMERS)
    assert v.fault == "deficit-token" and "no truncation of this row" in v.message
    # drawn from the whole row (a kept set too large), token 0 is short of the kept share, not of the untruncated one
    whole = _inverse_cdf([0, 1, 2], np.exp([0.0, -1.0, -1.0]), 20000, 1)
    w = judge_draws("top-p", np.array([0.0, -1.0, -1.0]), {"temperature": 1.0, "p": 0.6, "min_tokens_to_keep": 1}, whole,
                    "float32", TRANSFORMERS)
    assert w.pvalue < 1e-6 and "no truncation of this row" not in w.message

"""Verdict grades judged with code written apart from the toolkit (``tests/ports/independent_ports.py``).

* Careful ports in every style (softmax or log_softmax, ranking by logits or by computed
  probabilities, mass from the top or the bottom, shifting before or after the temperature) and
  with reduction orders the style set does not enumerate (random trees, random block sizes)
  conform in all 8 dtype x accumulation-mode combinations.
* Planted bugs are rejected in every combination, with their fault named.
* An answer inside the rigorous band that no careful style produces is *suspect*: it fails, and
  ``bands="rigorous"`` accepts it.
* The draws judge never calls a token certain to be outside when a careful style keeps it.

The full tables (more rows, every bug, the EES off-by-one rates) come from
``benchmarks/verdict_quality.py``.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from ees_theory.harness import Case, InProcessPort, Options, plan, run_check
from ees_theory.running.generate import generated_cases
from ees_theory.errormodel.styles import typical_score_tie
from ees_theory.judging.methods import judge
from tests.ports.independent_ports import PORT_STYLES, ees_port, temperature_port, truncation_port

DTYPES = ("float64", "float32", "float16", "bfloat16")
MODES = [(d, m) for d in DTYPES for m in ("input", "float32")]


def _cd(dtype, mode):
    return dtype if mode == "input" or dtype == "float64" else "float32"


def _port(method, cd, style, seed, bug=None):
    if method == "ees":
        return ees_port(cd=cd, seed=seed, bug=bug, **style)
    if method in ("edt", "dynatemp"):
        return temperature_port(method, cd=cd, seed=seed, bug=bug, **style)
    return truncation_port(method, cd=cd, seed=seed, bug=bug, **style)


def _cases(method, dtype, n=16, seed=31):
    # golden vectors, generated rows (one cold, one above 1,000 entries in every 8), and cold rows
    T = {"edt": "T0", "dynatemp": "temp"}.get(method, "temperature")
    return plan(method, dtype, examples=n, seed=seed) + generated_cases(method, dtype, 4, seed=seed + 1, params={T: (0.05, 0.1)})


def _run(method, dtype, mode, fn, cases):
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate=mode), shrink=False)


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize("method", ["ees", "top-p", "top-k", "min-p", "epsilon", "edt", "dynatemp"])
def test_independent_careful_ports_conform(method, dtype, mode):
    cases = _cases(method, dtype)
    cd = _cd(dtype, mode)
    # two styles per cell (rotating through the set), each with its own random reduction order;
    # every style for EES in half precision input mode, where reduction orders move the curve most
    start = zlib.crc32(f"{method}/{dtype}/{mode}".encode())
    every = method == "ees" and mode == "input" and dtype in ("float16", "bfloat16")
    picks = [PORT_STYLES[(start + j) % len(PORT_STYLES)] for j in (range(len(PORT_STYLES)) if every else (0, 2))]
    for j, style in enumerate(picks):
        r = _run(method, dtype, mode, _port(method, cd, style, seed=j + 1), cases)
        assert r.ok, r.text()
        assert r.counts()["cases"] >= 15


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize(
    "method, bug, faults",
    [
        ("ees", "crossing", {"crossing-included"}),
        ("ees", "le", {"non-strict"}),
        ("ees", "minus1", None),
        ("top-p", "plus1", None),
        ("min-p", "minus1", None),
        ("edt", "bits", {"entropy-in-bits"}),
        ("edt", "tempered", {"entropy-of-tempered", "entropy-in-bits"}),
        ("dynatemp", "bits", {"entropy-in-bits"}),
    ],
)
def test_planted_bugs_are_rejected_with_their_fault(method, bug, faults, dtype, mode):
    cases = _cases(method, dtype, n=24, seed=41)
    r = _run(method, dtype, mode, _port(method, _cd(dtype, mode), PORT_STYLES[1], 7, bug), cases)
    if (method, bug, _cd(dtype, mode)) == ("ees", "le", "bfloat16"):
        # '<=' differs from '<' only where f(k) = 0 exactly; there careful bfloat16 code that divides H
        # by a float ln k crosses too (tests/meta/test_careful_ports.py), so the bug is not observable
        assert any("closed-float-ln-k" in rec["message"] for rec in r.records if rec["status"] == "admissible"), r.text()
        return
    assert not r.ok, r.text()
    named = {f["fault"] for f in r.failures}
    if faults is not None:
        assert named & faults, (named, r.text())


@pytest.mark.parametrize("bug", ["cold", "big"])
def test_bugs_that_show_only_cold_or_only_on_big_rows_are_found_by_the_default_plan(bug):
    # the generated plan makes every 8th row cold and every 8th row larger than 1,000 entries
    cases = plan("top-p", "float32", vectors=False, examples=96, seed=5)
    fn = truncation_port("top-p", cd="float32", bug=bug if bug == "cold" else "big", **PORT_STYLES[0])
    if bug == "cold":
        # top-p clamped to 0.3: only rows with a temperature below 0.3 can show it
        assert any(c.params["temperature"] < 0.3 for c in cases)
    else:
        assert any(c.vocab > 1000 for c in cases)
    r = _run("top-p", "float32", "input", fn, cases)
    assert not r.ok, r.text()


@pytest.mark.parametrize("dtype, mode", MODES)
def test_a_top_p_clamping_cold_temperatures_is_found_in_60_rows_in_every_cell(dtype, mode):
    # every other cold row is the family's row times its temperature, so the tempered distribution
    # is spread and clamping T at 0.3 (six times flatter at T = 0.05) moves the cut; on raw rows
    # a few units apart a cold top-p keeps one token whatever the clamp
    cases = plan("top-p", dtype, vectors=False, examples=60, seed=5)
    fn = truncation_port("top-p", cd=_cd(dtype, mode), bug="cold", **PORT_STYLES[0])
    r = _run("top-p", dtype, mode, fn, cases)
    assert not r.ok, r.text()


def test_a_fault_on_two_percent_of_rows_is_found_by_the_default_example_count():
    from ees_theory.running.runner import miss_probability, rows_for

    assert rows_for(0.01, 0.01) <= 460  # --examples' default finds a 1% fault with probability 0.99
    assert miss_probability(460, 0.02) < 1e-3


def test_suspect_inside_the_rigorous_band_fails_unless_asked_for_rigorous():
    # uniform over 2 with theta = ln 2: T = N * T0 = 0.8; 0.8025 lies in the rigorous float16 band
    # but 5 units in the last place away from every careful float16 evaluation
    z, params = np.zeros(2), {"T0": 1.0, "theta": math.log(2), "N": 0.8}
    v = judge("edt", z, params, 0.8025, "float16")
    assert (v.status, v.fault) == ("fail", "suspect") and v.details["grade"] == "suspect"
    lo, hi = v.details["envelope"]
    a_lo, a_hi = v.details["allowed"]
    assert a_lo <= lo <= 0.8 <= hi < 0.8025 <= a_hi  # the envelope is inside the rigorous band
    assert judge("edt", z, params, 0.8025, "float16", Options(bands="rigorous")).status == "admissible"


def test_a_bfloat16_blocked_scan_that_rounds_each_prefix_sum_twice_is_admissible():
    # a generated row of 100 logits in five values. The port (log_softmax, a blocked scan with random
    # block sizes that stores in-block running sums in bfloat16 and adds float32 offsets) keeps 94
    # with some block boundaries where the reference keeps 91: its P_k and -sum p ln p land one
    # bfloat16 unit from every style's, which moves f(93) and f(94) by about 3 units of 2**-8.
    # Widening the styles' hull by one unit rejected it; the double-rounding term admits it
    z = np.array([0.0, -0.69140625] + [-2.734375] * 34 + [-2.75] * 63 + [-2.859375])
    counts = set()
    for seed in range(12):
        m = ees_port(cd="bfloat16", seed=seed, **PORT_STYLES[2])(z, 1.0)
        v = judge("ees", z, {"temperature": 1.0}, m, "bfloat16")
        assert v.status != "fail", v.message
        counts.add(int(m.sum()))
    assert {91, 94} <= counts  # the reference's count and the doubly rounded one were both judged
    # the band still rejects: keeping 96 needs f(95) >= 0, where every style gives at most -5 units of 2**-8
    wide = np.zeros(100, dtype=bool)
    wide[:96] = True  # the row is sorted: its first 96 tokens are the 96 most probable
    assert judge("ees", z, {"temperature": 1.0}, wide, "bfloat16").status == "fail"


def test_an_ees_port_ranking_by_its_own_probabilities_may_order_near_ties_by_position():
    # a generated float16 row: 32 logits within 30 * 2**-24 of each other. A float32 port with
    # log_softmax ranks by its computed probabilities, which tie tokens 5 and 17 (logits 2**-24
    # apart); its stable sort keeps token 5 where the reference keeps 17. The styles' probabilities
    # of the two differ by 1 to 4 float32 units (under one unit of their logarithm): another rounding ties them
    z = np.array([-2, -23, -5, -3, -29, -30, -26, -24, -6, -4, -2, -2, 0, -11, -20, -6, -5, -29, 0, -15, -11, -21, -9, -23, -23, -5, -9, -20, -19, -22, -14, -14]) * 2.0**-24
    m = ees_port(cd="float32", probs="logsoftmax", rank="probs", shift="before", sums="seq")(z, 1.0)
    assert m.sum() == 31 and m[5] and not m[17]
    v = judge("ees", z, {"temperature": 1.0}, m, "float16", Options(accumulate="float32"))
    assert v.status == "admissible", v.message
    # dropping a token 28 * 2**-24 above them instead is no near tie (its probability is 27 to 28 float32 units higher)
    far = m.copy()
    far[[5, 17]] = True
    far[0] = False  # logit -2 * 2**-24
    assert judge("ees", z, {"temperature": 1.0}, far, "float16", Options(accumulate="float32")).status == "fail"


def test_ranking_by_computed_probabilities_is_admissible_on_near_ties():
    # two logits 1.07e-8 apart: their float32 probabilities are the same number, so a port that
    # ranks by probabilities may keep either (before the styles this was a certain failure)
    z = np.array([0.0, -1.07e-8, -5.0, -6.0], dtype=np.float32).astype(np.float64)
    prm = {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}
    v = judge("top-k", z, prm, np.array([False, True, False, False]), "float32")
    assert v.status == "admissible" and v.details["grade"] == "admissible", v.message
    v = judge("top-k", z, prm, np.array([False, False, True, False]), "float32")
    assert v.status == "fail"


def test_log_softmax_then_exp_on_a_dyadic_row_is_admissible():
    # float16 log_softmax(...).exp() gives 0.24988 for 1/4: a uniform 4-token row is not exact
    import torch

    z = np.zeros(4)
    p = torch.log_softmax(torch.zeros(4, dtype=torch.float16), dim=-1).exp()
    assert float(p[0]) != 0.25
    before = torch.cumsum(p, dim=-1) - p
    k = int((before < 0.75).sum())
    kept = np.zeros(4, dtype=bool)
    kept[:k] = True
    v = judge("top-p", z, {"temperature": 1.0, "p": 0.75, "min_tokens_to_keep": 1}, kept, "float16")
    assert v.status in ("pass", "admissible"), v.message


def test_draws_of_a_token_a_careful_style_keeps_are_never_certain_failures():
    from ees_theory.judging.draws import support

    # float32 probabilities of tokens 1 and 2 tie exactly: a careful port ranking by them may
    # keep either under top-k = 2, so a draw of token 2 is not a certain failure
    z = np.array([0.0, -1.07e-8, -1.07e-8 * 0.5, -9.0], dtype=np.float32).astype(np.float64)
    s = support("top-k", z, {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}, "float32")
    assert s.may[1] and s.may[2] and not s.may[3]


def test_mirostat_replay_stops_at_an_ambiguous_step():
    # tokens within 1e-7 of each other: in float32 every kept count from 1 to 8 is admissible at the
    # first step, so the port's new mu is unknown; the judge must not replay the reference's mu
    # and call a later draw outside the support
    from ees_theory.judging.draws import judge_draws

    z = np.array([0.0, -1e-7, -2e-7, -3e-7, -4e-7, -5e-7, -6e-7, -7e-7], dtype=np.float32).astype(np.float64)
    params = {"temperature": 1.0, "tau": 3.0, "eta": 0.1, "mu": 3.0}  # -log2 p = 3 bits: every token at the edge
    tokens = np.array([7, 6, 5, 4, 3, 2, 1, 0] * 4)
    v = judge_draws("mirostat-v2", z, params, tokens, "float32")
    assert v.status != "fail", v.message
    assert v.details["replay_stopped_at"] == 0


def test_a_top_p_port_comparing_the_mass_with_p_itself_is_admissible():
    # a generated bfloat16 row of 16 logits, p = 0.95. In bfloat16 the mass before the 9th most
    # probable token is 0.94921875, which is also 0.95 rounded to bfloat16: torch, comparing a
    # tensor with the Python number rounded to the tensor's dtype, drops that token; a port that
    # compares the bfloat16 mass with 0.95 itself (numpy on float64 values, C in double) keeps it.
    # Every style compared in the tensor's dtype and kept 8
    import torch

    z = np.array([-2.515625, -0.6328125, -3.421875, -2.890625, -5.0625, -0.35546875, -2.84375, -3.359375,
                  -0.4765625, -3.375, -5.34375, -0.77734375, -4.15625, 0.0, -5.375, -1.59375])
    s, _ = torch.sort(torch.softmax(torch.tensor(z, dtype=torch.bfloat16), dim=-1), descending=True)
    before = (torch.cumsum(s, dim=-1) - s).double()
    assert before[8] == 0.94921875 == float(torch.tensor(0.95, dtype=torch.bfloat16))
    prm = {"temperature": 1.0, "p": 0.95, "min_tokens_to_keep": 1}
    m = truncation_port("top-p", cd="bfloat16", **PORT_STYLES[0])(z, 1.0, p=0.95, min_tokens_to_keep=1)
    assert m.sum() == 9 and m[np.argsort(-z, kind="stable")[:9]].all()
    v = judge("top-p", z, prm, m, "bfloat16")
    assert v.status == "admissible", v.message
    # the next token's mass before it is 0.96484375 > 0.95 at any precision: keeping it fails
    wide = np.zeros(16, dtype=bool)
    wide[np.argsort(-z, kind="stable")[:10]] = True
    assert judge("top-p", z, prm, wide, "bfloat16").status == "fail"


def test_a_top_p_blocked_scan_that_lands_below_an_exact_tie_is_admissible():
    # uniform over 100 with p = 0.95: the mass before token 96 is exactly p. In float64 a running
    # sum (cumsum - p, as the styles form it) ends above 0.95 and every style kept 95; a scan of
    # blocks of 8 (running sums inside each block plus the blocks' running total) ends below it,
    # and a port with random blocks (seed 2) keeps 96
    z = np.zeros(100)
    p = np.full(100, 0.01)
    seq = np.cumsum(p)[95] - p[95]
    offset = np.cumsum([np.cumsum(p[i : i + 8])[-1] for i in range(0, 88, 8)])[-1]
    blocks = (offset + np.cumsum(p[88:96])[-1]) - p[95]
    assert seq > 0.95 > blocks
    prm = {"temperature": 0.05, "p": 0.95, "min_tokens_to_keep": 1}
    m = truncation_port("top-p", cd="float64", probs="logsoftmax", rank="logits", shift="before", cum="top", sums="tree", seed=2)(z, 0.05, p=0.95, min_tokens_to_keep=1)
    assert m.sum() == 96
    assert judge("top-p", z, prm, m, "float64").status == "admissible"
    m[96] = True  # 97 tokens: the mass before the 97th is 0.96, no rounding reaches p
    assert judge("top-p", z, prm, m, "float64").status == "fail"


def test_typical_near_ties_in_the_score_may_move_the_cut():
    # a generated float32 row of 8 logits within 1.6e-6 of each other, mass = 0.5. The scores
    # |-ln p - H| of tokens 7, 0, 2 and 1 lie within 1e-7 of each other, under half a float32 unit
    # at ln 8 (where -ln p and H lie): a port whose entropy sums in another order lands a unit
    # away and ranks them otherwise. One that ranks token 2 fourth needs a fifth token (the exact
    # mass of {2, 3, 4, 5} is below 0.5, that of {0, 3, 4, 5} above it): it keeps 5 where every
    # style keeps 4
    z = np.array([-3.167494710965002e-08, 0.0, -1.1860101949423552e-06, -8.338126349372033e-07,
                  -5.211481379774341e-07, -5.546378361032112e-07, -1.552753928990569e-06, -8.922262395572034e-08])
    p = np.exp(z - z.max())
    p /= p.sum()
    score = np.abs(-np.log(p) - -(p * np.log(p)).sum())
    assert np.ptp(score[[7, 0, 2, 1]]) < 1e-7 and p[[2, 3, 4, 5]].sum() < 0.5 <= p[[0, 3, 4, 5]].sum()
    prm = {"temperature": 1.0, "mass": 0.5, "min_tokens_to_keep": 1}
    m = truncation_port("typical", cd="float32", probs="softmax", rank="probs", shift="before", sums="tree", seed=1)(z, 1.0, mass=0.5, min_tokens_to_keep=1)
    assert np.flatnonzero(m).tolist() == [0, 2, 3, 4, 5]
    v = judge("typical", z, prm, m, "float32")
    assert v.status == "admissible", v.message
    # every score lies within a few float32 units of every other (the whole row is one near tie):
    # any order is careful, but no order stops at 3 tokens (mass 3/8 < 0.5) or goes on to a sixth
    # (every 5 tokens reach 0.5)
    assert np.ptp(score) < typical_score_tie(8, "float32")
    for kept in ([0, 3, 4], [0, 1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 0, 1]):
        w = np.zeros(8, dtype=bool)
        w[kept] = True
        assert judge("typical", z, prm, w, "float32").status == "fail", kept


def test_typical_scores_apart_by_more_than_the_tie_keep_their_order():
    # logits 0.0, -0.01, ..., -0.07 at T = 1 in float32: neighbouring scores lie about 0.01 apart,
    # far beyond the tie (about 7e-6 at 8 tokens); with mass 0.45 the cut keeps the 4 most typical
    # tokens (3 of them hold about 0.375, 4 about 0.5), and swapping the last of them with the
    # first one dropped is no careful answer
    z = -0.01 * np.arange(8.0)
    p = np.exp(z - z.max())
    p /= p.sum()
    score = np.abs(-np.log(p) + (p * np.log(p)).sum())
    order = np.argsort(score, kind="stable")
    assert np.diff(np.sort(score)).min() > 100 * typical_score_tie(8, "float32")
    assert p[order[:3]].sum() < 0.44 and p[order[:4]].sum() > 0.46
    prm = {"temperature": 1.0, "mass": 0.45, "min_tokens_to_keep": 1}
    exact = np.zeros(8, dtype=bool)
    exact[order[:4]] = True
    assert judge("typical", z, prm, exact, "float32").status == "pass"
    swapped = exact.copy()
    swapped[[order[3], order[4]]] = [False, True]
    assert judge("typical", z, prm, swapped, "float32").status == "fail"


def test_an_eta_port_comparing_with_epsilon_itself_is_admissible():
    # a generated float16 row of 16 logits at temperature 0.7, epsilon = 0.01. The entropy is
    # 2.158 < ln 10, so eta's threshold is epsilon itself; the 11th most probable token's float16
    # probability is 0.01000213623046875, which is also 0.01 rounded to float16: torch (the number
    # rounded to the tensor's dtype) drops it, a port comparing with 0.01 itself keeps it
    import torch

    z = np.array([0.0, -2.626953125, -2.974609375, -1.310546875, -1.35546875, -2.173828125, 0.0, 0.0,
                  -2.572265625, 0.0, 0.0, -1.888671875, -1.220703125, 0.0, -1.79296875, -3.091796875])
    p = np.exp((z - z.max()) / 0.7)
    p /= p.sum()
    assert 0.1 * np.exp((p * np.log(p)).sum()) > 0.01  # sqrt(epsilon) exp(-H) > epsilon
    t = torch.softmax(torch.tensor(z, dtype=torch.float16) / torch.tensor(0.7, dtype=torch.float16), dim=-1)
    assert sorted(t.tolist(), reverse=True)[10] == 0.01000213623046875 == float(torch.tensor(0.01, dtype=torch.float16))
    prm = {"temperature": 0.7, "epsilon": 0.01, "min_tokens_to_keep": 1}
    m = truncation_port("eta", cd="float16", **PORT_STYLES[0])(z, 0.7, epsilon=0.01, min_tokens_to_keep=1)
    assert m.sum() == 11
    v = judge("eta", z, prm, m, "float16")
    assert v.status == "admissible", v.message
    wide = np.zeros(16, dtype=bool)
    wide[np.argsort(-z, kind="stable")[:12]] = True  # the 12th has probability 0.0066: below any rounding of 0.01
    assert judge("eta", z, prm, wide, "float16").status == "fail"


def test_a_suspect_temperature_is_named_only_by_a_wrong_formula_it_lies_nearer():
    # a generated bfloat16 row of 2048 logits: careful bfloat16 dynatemp lands in [0.778, 0.834]
    # around the exact 0.8065. A C loop rounding every addition to bfloat16 gives 0.609375: inside
    # the rigorous band and inside the wide band of the entropy taken in bits, but the entropy in bits
    # gives a larger temperature (about 1.2), not a smaller one: suspect, named by the bfloat16 loop
    # (outside the careful set) and not by the entropy in bits
    case = next(c for c in plan("dynatemp", "bfloat16", examples=60, seed=3) if c.id == "gen3-dynatemp-bfloat16-0006")
    row, params = case.row("bfloat16"), case.params
    v = judge("dynatemp", row, params, 0.609375, "bfloat16", Options(accumulate="input"))
    assert v.status == "fail" and v.details["grade"] == "suspect"
    assert v.fault == "bfloat16-running-sum" and "entropy-in-bits" not in v.message, v.message
    z = row.astype(np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    bits = -(p * np.log2(p)).sum()  # the wrong formula, evaluated apart from the toolkit
    t_min, t_max = max(params["temp"] - params["delta"], 0.0), params["temp"] + params["delta"]
    in_bits = t_min + (t_max - t_min) * (bits / math.log(z.size)) ** params["exponent"]
    v = judge("dynatemp", row, params, float(np.float32(in_bits)), "bfloat16", Options(accumulate="input"))
    assert v.status == "fail" and v.fault == "entropy-in-bits", v.message


def test_a_float32_mode_failure_that_input_mode_admits_is_diagnosed_as_half_storage():
    # softmax in float32, the probabilities stored in bfloat16 (as a kernel writing a bfloat16 output
    # does), top-k ranked by the stored values: exp(-140) and exp(-100) both underflow to 0 there and
    # tie, and a stable sort keeps token 0 where the exact answer keeps token 1
    import torch

    def top_k_on_stored_probs(logits, temperature, k, min_tokens_to_keep=1):
        p = torch.softmax(torch.tensor(np.asarray(logits, dtype=np.float32)) / temperature, -1).to(torch.bfloat16)
        order = torch.argsort(p.float(), descending=True, stable=True)
        keep = np.zeros(len(logits), dtype=bool)
        keep[order[: max(int(k), int(min_tokens_to_keep))].numpy()] = True
        return keep

    case = Case.from_json({"id": "stored", "method": "top-k", "logits": [-14.0, -10.0, 0.0], "params": {"temperature": 0.1, "k": 2, "min_tokens_to_keep": 1}})
    port = InProcessPort(top_k_on_stored_probs, "top_k_on_stored_probs")
    failed = run_check(port, "top-k", "bfloat16", [case], options=Options(accumulate="float32"), shrink=False)
    (rec,) = failed.records
    assert rec["status"] == "fail" and "half-precision-storage" in rec["message"], rec["message"]
    assert run_check(port, "top-k", "bfloat16", [case], options=Options(accumulate="input"), shrink=False).ok


def test_a_float16_top_n_sigma_whose_variance_overflows_is_diagnosed():
    # z / T = 0, -200, -400, -600: every squared deviation (90,000 or 10,000) is near or above
    # float16's largest value, 65504, so a float16 sum of squares is inf, sigma with it, and the port
    # keeps every token; the exact sigma is 223.6 and n = 1 keeps the first two
    def top_n_sigma_in_float16(logits, temperature, n):
        x = (np.asarray(logits, dtype=np.float16) / np.float16(temperature)).astype(np.float16)
        dev = (x - x.mean(dtype=np.float16)).astype(np.float16)
        with np.errstate(over="ignore"):
            sigma = np.sqrt((dev * dev).sum(dtype=np.float16) / np.float16(len(x)))
        return x >= x.max() - np.float16(n) * sigma

    case = Case.from_json({"id": "overflow", "method": "top-n-sigma", "logits": [0.0, -10.0, -20.0, -30.0], "params": {"temperature": 0.05, "n": 1.0}})
    assert top_n_sigma_in_float16(case.row("float16"), **case.params).all()
    report = run_check(InProcessPort(top_n_sigma_in_float16, "top_n_sigma_in_float16"), "top-n-sigma", "float16", [case],
                       options=Options(accumulate="input"), shrink=False)
    (rec,) = report.records
    assert rec["status"] == "fail" and rec["fault"] == "sigma-overflow", rec["message"]


def test_a_bfloat16_loop_that_rounds_every_addition_is_named():
    # top-p as a C loop over sorted candidates with its running mass a bfloat16 variable: on a
    # 256-token row at T = 2 the mass stalls and the loop runs past the cut; no careful style keeps
    # that (they keep 111 or 112), and the style outside the set that rounds every addition does
    import torch

    def top_p_bfloat16_loop(logits, temperature, p, min_tokens_to_keep=1):
        x = torch.tensor(np.asarray(logits, dtype=np.float32)).to(torch.bfloat16) / temperature
        probs = torch.softmax(x.float(), -1).to(torch.bfloat16)  # a float32 softmax, stored
        order = torch.argsort(x.float(), descending=True, stable=True)
        cum, kept = torch.tensor(0.0, dtype=torch.bfloat16), len(order)
        for i, t in enumerate(order.tolist()):
            cum = (cum + probs[t]).to(torch.bfloat16)
            if float(cum) >= p and i + 1 >= min_tokens_to_keep:
                kept = i + 1
                break
        keep = np.zeros(len(logits), dtype=bool)
        keep[order[:kept].numpy()] = True
        return keep

    cases = [c for c in generated_cases("top-p", "bfloat16", 24, seed=3) if c.vocab >= 256]
    report = _run("top-p", "bfloat16", "input", top_p_bfloat16_loop, cases)
    faults = [r["fault"] for r in report.records if r["status"] == "fail"]
    assert faults and faults.count("bfloat16-running-sum") >= len(faults) - 1, faults


def test_a_mirostat_draw_whose_bfloat16_mass_comes_out_short_is_named():
    # mirostat-v2 as a C loop over a bfloat16 type (softmax normaliser, kept total and cumulative
    # mass each a bfloat16 running sum): on this 32-token row at T = 0.7 (mu = 10 keeps 19) the
    # kept total comes out short, the top token's share rises above u = 1/2 and the loop draws it,
    # where the exact inverse CDF draws the second (token 17). Still a failure, now with its cause.
    row = np.array([-3.265625, -2.890625, -4.8125, -6.25, -6.53125, -2.8125, -4.1875, -4.4375, -2.546875, -2.84375, -1.25,
                    -4.6875, -4.0625, -7.28125, -2.609375, -2.21875, -2.3125, -0.6640625, -5.34375, -4.46875, -2.125, -2.953125,
                    -3.078125, -7.03125, -2.6875, -6.90625, -4.65625, 0.0, -1.5078125, -6.90625, -2.203125, -7.96875])
    params = {"temperature": 0.7, "tau": 2.0, "eta": 0.1, "mu": 10.0, "u": 0.5}
    kept = np.zeros(row.size, dtype=bool)
    kept[[0, 1, 5, 6, 8, 9, 10, 12, 14, 15, 16, 17, 20, 21, 22, 24, 27, 28, 30]] = True
    loop = judge("mirostat-v2", row, params, (kept, 27, 10.125), "bfloat16", Options(accumulate="input"))
    assert loop.status == "fail" and loop.fault == "bfloat16-running-sum", (loop.fault, loop.message)
    assert "[17]" in loop.message
    # the exact draw, with the paper's update (the surprise under the untruncated softmax), passes
    z = row / params["temperature"]
    p17 = math.exp(z[17] - z.max()) / np.exp(z - z.max()).sum()
    mu17 = params["mu"] - params["eta"] * (-math.log2(p17) - params["tau"])
    assert judge("mirostat-v2", row, params, (kept, 17, mu17), "bfloat16", Options(accumulate="input")).status == "pass"


def test_a_dynatemp_through_x_minus_logsumexp_on_a_peaked_row_conforms():
    # log p = z - logsumexp(z), the log-sum-exp a rounded value near 20.9: its rounding (about
    # 1.8e-15) moves the top token's log-probability (-3.1e-9) and so an entropy of 6.3e-8 by a
    # relative 3e-8, all of which exponent -1 carries into T. A NumPy port written from the
    # specification returned this float64 T; the styles without that form keep T within
    # [11274493.96, 11274494.30], so it was suspect
    from ees_theory.spec.formats import from_hex

    row = np.array([from_hex("0x1.47d0f2e672fecp+0"), from_hex("0x1.4e9730bacb20ep+4")])
    params = {"temp": 1.0, "delta": 0.5, "exponent": -1.0}
    lse = judge("dynatemp", row, params, 11274494.331038965, "float64", Options())
    assert lse.status in ("pass", "admissible"), lse.message
    # below every careful form's value, inside the rigorous band: still suspect
    low = judge("dynatemp", row, params, 11274493.9, "float64", Options())
    assert low.status == "fail" and low.fault == "suspect", (low.fault, low.message)


def _ees_recurrence_bfloat16(logits, temperature):
    """The paper's incremental EES loop (with log1p) with every value a bfloat16: the softmax's
    normaliser carried in float32 and rounded, then H_k updated from H_{k-1} one token at a time."""
    from ees_theory.spec.formats import cast

    def bf(x):
        return float(cast(np.array([x], dtype=np.float64), "bfloat16")[0])

    z = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-z, kind="stable")
    t = bf(temperature)
    e = [bf(math.exp(bf(bf(v - z[order[0]]) / t))) for v in z[order]]
    total = bf(float(np.sum(np.asarray(e, dtype=np.float32), dtype=np.float32)))
    p = [bf(v / total) for v in e]
    H, P, k = 0.0, p[0], len(p)
    for j in range(1, len(p)):
        Pn = bf(P + p[j])
        if p[j] > 0:
            q = bf(p[j] / Pn)
            H = bf(bf(bf(P / Pn) * bf(H + bf(math.log1p(bf(p[j] / P))))) - bf(q * bf(math.log(q))))
        P = Pn
        if bf(H / bf(math.log(j + 1))) < P:
            k = j
            break
    keep = np.zeros(z.size, dtype=bool)
    keep[order[:k]] = True
    return keep


def test_the_incremental_ees_loop_in_bfloat16_is_named():
    # the paper's update of H_k carried in bfloat16 drifts along the row: on these sorted normal
    # rows it stops 20 to 80 tokens early. Outside the careful set (the answer is tens of tokens
    # from every careful evaluation), and now named for what it is
    from ees_theory import reference
    from ees_theory.spec.formats import cast

    rng = np.random.default_rng(1)
    named = []
    for _ in range(4):
        n = int(rng.choice([64, 128, 256, 512]))
        row = cast(np.sort(rng.normal(0, rng.choice([0.5, 1.0, 2.0]), n))[::-1].copy(), "bfloat16")
        T = float(rng.choice([0.7, 1.0, 1.5]))
        kept = _ees_recurrence_bfloat16(row, T)
        v = judge("ees", row, {"temperature": T}, kept, "bfloat16", Options(accumulate="input"))
        if kept.sum() != reference.ees(row, T).k:
            named.append(v.fault)
    assert named.count("half-precision-recurrence") >= 3, named

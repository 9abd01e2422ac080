"""Plain numpy ports (``tests/ports/numpy_ports.py``) on the rows where an earlier style set called
their answers suspect or wrong: each answer must now be passed or admissible.

The rows come from generated runs (``check --examples 60 --seed S``) and their shrunk forms. What
each shows:

* EES in float16: ``np.cumsum`` rounds every addition of the prefix sums into float16 while
  ``np.sum`` forms the normaliser accurately; on a long flat row the running sum then runs ahead
  (``P_n = 1.154``) and the crossing lands hundreds of tokens early. A float16 running sum beside a
  library normaliser is careful code (the ``sequential-scan`` styles), and so is a temperature
  applied as the product with its rounded reciprocal (the ``reciprocal`` styles).
* top-p at ``p = 1``: a port comparing its running mass with ``p`` without a shortcut drops the
  tokens left once the mass has rounded to 1 (float64 ``[0, -4]`` at ``T = 0.05``: ``p_2 = 1.8e-35``).
* top-p in float16 on long flat rows: ties of probabilities taken from float16 log-probabilities,
  and running sums that stall or run ahead (the directed-rounding brackets).
* mirostat v2: near-tied top tokens ordered by their computed probabilities, and a draw over a kept
  count no edge reference has.
* top-n-sigma in float16: squared deviations that underflow to 0, as plain code computes them.
* eta in float16: ``ln p_i`` against ``min(ln eps, ln(eps)/2 - H)`` in the compute dtype, where
  ``ln(3e-4)`` and a token's ``ln p`` round to the same float16 number.
"""

from __future__ import annotations

import numpy as np
import pytest

from ees_theory.harness import InProcessPort, Options, plan, run_check
from ees_theory.running.cases import Case
from tests.ports import numpy_ports as npp


def _hex_case(method, case_id, logits_hex, params_hex, dtype):
    row = np.array([float.fromhex(h) for h in logits_hex])
    params = {k: float.fromhex(v) for k, v in params_hex.items()}
    return Case(case_id, method, "given", row, params, "")


SMALL = [
    # (port, method, dtype, logits, params)
    ("top_p_numpy", "top-p", "float64", ["0x0.0p+0", "-0x1.0000000000000p+2"],
     {"temperature": "0x1.999999999999ap-5", "p": "0x1.0000000000000p+0", "min_tokens_to_keep": "0x1.0000000000000p+0"}),
    ("top_p_numpy", "top-p", "float16", ["0x1.8000000000000p+1", "0x0.0p+0", "-0x1.0000000000000p+1", "-0x1.4000000000000p+2"],
     {"temperature": "0x1.0000000000000p+0", "p": "0x1.0000000000000p+0", "min_tokens_to_keep": "0x1.0000000000000p+0"}),
    ("top_n_sigma_numpy", "top-n-sigma", "float16", ["-0x1.c000000000000p-22", "0x0.0p+0"],
     {"temperature": "0x1.0000000000000p+0", "n": "0x1.0000000000000p+1"}),
]


@pytest.mark.parametrize("port, method, dtype, logits, params", SMALL, ids=[f"{s[1]}-{s[2]}-{len(s[3])}" for s in SMALL])
def test_plain_numpy_answers_on_small_rows_are_admissible(port, method, dtype, logits, params):
    case = _hex_case(method, "given", logits, params, dtype)
    r = run_check(InProcessPort(getattr(npp, port), port), method, dtype, [case], options=Options(accumulate="input"), shrink=False)
    assert r.ok, r.text()
    assert r.counts()["cases"] == 1


GENERATED = [
    # (port, method, dtype, seed, case ids): cases of `check --examples 60 --seed SEED`
    ("ees_numpy", "ees", "float16", 2, ("gen2-ees-float16-0000", "gen2-ees-float16-0006", "gen2-ees-float16-0037")),
    ("top_p_numpy", "top-p", "float16", 1, ("gen1-top-p-float16-0006", "gen1-top-p-float16-0030")),
    ("top_p_numpy", "top-p", "float32", 1, ("gen1-top-p-float32-0040",)),
    ("mirostat_v2_numpy", "mirostat-v2", "float32", 1, ("gen1-mirostat-v2-float32-0029", "gen1-mirostat-v2-float32-0042")),
    ("mirostat_v2_numpy", "mirostat-v2", "float16", 1, ("gen1-mirostat-v2-float16-0003", "gen1-mirostat-v2-float16-0039")),
    ("eta_numpy", "eta", "float16", 2, ("gen2-eta-float16-0025",)),
    # near-uniform rows whose deciding comparisons lie within two roundings of their threshold
    # (p-less: p_i against sum p^2, 4 tokens within 2 units of each other) or whose tail-free
    # curvature (1.9e-8 on 100 tokens) is below one rounding of the probabilities
    ("tfs_numpy", "tfs", "float32", 1, ("gen1-tfs-float32-0042",)),
    ("p_less_numpy", "p-less", "float32", 1, ("gen1-p-less-float32-0029",)),
]


@pytest.mark.parametrize("port, method, dtype, seed, ids", GENERATED, ids=[f"{g[1]}-{g[2]}" for g in GENERATED])
def test_plain_numpy_answers_on_generated_rows_are_admissible(port, method, dtype, seed, ids, monkeypatch):
    monkeypatch.delenv("EXT_ACC", raising=False)
    monkeypatch.delenv("EXT_BF16", raising=False)
    cases = [c for c in plan(method, dtype, examples=60, seed=seed) if c.id in ids]
    assert sorted(c.id for c in cases) == sorted(ids)
    r = run_check(InProcessPort(getattr(npp, port), port), method, dtype, cases, options=Options(accumulate="input"), shrink=False)
    assert r.ok, r.text()


def test_tail_free_on_three_equal_computed_probabilities_is_admissible_in_float32_mode():
    # bfloat16 logits 1e-6 apart, probabilities in float32: the port's three probabilities come out
    # evenly spaced, its one second difference exactly 0, and the flat-row rule keeps every token;
    # the exact curvature (1.2e-7) is below two roundings of a probability of 1/3
    case = _hex_case("tfs", "given", ["-0x1.0600000000000p-19", "0x0.0p+0", "-0x1.a800000000000p-21"],
                     {"temperature": "0x1.0000000000000p+0", "z": "0x1.ccccccccccccdp-1", "min_tokens_to_keep": "0x1.0000000000000p+0"}, "bfloat16")
    r = run_check(InProcessPort(npp.tfs_numpy, "tfs_numpy"), "tfs", "bfloat16", [case], options=Options(accumulate="float32"), shrink=False)
    assert r.ok, r.text()
    assert r.counts()["admissible"] == 1
    assert r.records[0]["details"]["category"] == "resolution"


def _mirostat_v2_renormalised(logits, temperature, tau, eta, mu, u):
    """Mirostat v2 whose surprise is that of the chosen token under the renormalised kept set
    (llama.cpp's convention), judged under the paper's: a planted misreading."""
    kept, token, _ = npp.mirostat_v2_numpy(logits, temperature, tau, eta, mu, u)
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max())
    share = p[token] / p[kept].sum()
    return kept, token, float(mu - eta * (-np.log2(share) - tau))


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_a_renormalised_mirostat_surprise_is_rejected_on_a_uniform_row(dtype):
    # 50 equal logits, mu = 2: one token kept (its surprise log2 50 = 5.64 bits > mu); the paper's
    # update gives 2 - 0.1 (5.64 - 2) = 1.636, the renormalised one 2.2. In bfloat16 the mu check
    # once took 64 units of the dtype (0.25 relative) for the update's roundings and passed it
    case = Case("uniform-50", "mirostat-v2", "given", np.zeros(50), {"temperature": 1.0, "tau": 2.0, "eta": 0.1, "mu": 2.0, "u": 0.5}, "")
    r = run_check(InProcessPort(_mirostat_v2_renormalised, "renormalised"), "mirostat-v2", dtype, [case], options=Options(accumulate="input"), shrink=False)
    assert not r.ok, r.text()
    assert {f["fault"] for f in r.failures} == {"surprise-renormalised"}, r.text()
    careful = run_check(InProcessPort(npp.mirostat_v2_numpy, "careful"), "mirostat-v2", dtype, [case], options=Options(accumulate="input"), shrink=False)
    assert careful.ok, careful.text()

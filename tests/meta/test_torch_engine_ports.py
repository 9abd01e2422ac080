"""Ports written with torch's own operations, as engine code is (``tests/ports/torch_engine_ports.py``:
transformers' ascending top-p, min-p on probabilities, typical with tied cut scores, epsilon and
eta; EES with ``softmax`` or ``log_softmax``; min-p on log-probabilities, top-n-sigma, typical on
``log_softmax``), conform in every dtype and accumulation mode on the golden vectors (uniform rows,
ties, underflow, masked tokens) and 12 generated rows per run, and on the generated bfloat16 rows
where their answers lie one to eight tokens past every formula the style set enumerated (the
temperature a Python number; thresholds rounded before the comparison).
"""

import pytest

from ees_theory import harness as cf
from ees_theory import tolerances
from ees_theory.harness import InProcessPort, Options, run_check
from tests.ports.torch_engine_ports import PORTS, make

MODES = [(d, m) for d in cf.DTYPES for m in ("input", "float32") if not (d == "float64" and m == "float32")]


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize("name", sorted(PORTS))
def test_torch_engine_ports_conform(name, dtype, mode):
    method, policy = PORTS[name]
    fn = make(name, tolerances.compute_dtype_name(dtype, mode))
    cases = cf.plan(method, dtype, examples=12, seed=3)
    report = run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate=mode, policy=policy), shrink=False)
    assert report.ok, report.text()
    assert report.counts()["cases"] >= 15


#: rows of ``plan(method, "bfloat16", examples=60, seed=1)`` where these ports, computing in
#: bfloat16, keep what no style of set 5 kept: the quotient ``x / T`` rounded once (a Python
#: temperature) and thresholds rounded before the comparison
HALF_PRECISION_ROWS = [
    ("epsilon_strict", "gen1-epsilon-bfloat16-0039"),        # keeps 136, set 5 kept 131 or 134
    ("min_p_log_probs", "gen1-min-p-bfloat16-0022"),         # keeps 58, set 5 kept 48 to 50
    ("top_n_sigma_std", "gen1-top-n-sigma-bfloat16-0011"),   # keeps 858, set 5 kept 850
    ("typical_log_softmax", "gen1-typical-bfloat16-0055"),   # keeps 502, set 5 kept 499 to 501
    # a uniform row of 2048 tokens, mass 1/2: every p is 2**-11 exactly, but the bfloat16 running
    # sum moves in steps of 4 tokens there, and `cumsum - p < mass` keeps 1021 (set 5 knew only the
    # running sum up to the token before, which keeps 1022, and the exact 1024)
    ("typical_log_softmax", "gen2-typical-bfloat16-0054"),
]


@pytest.mark.parametrize("name, case_id", HALF_PRECISION_ROWS)
def test_torch_engine_ports_conform_on_half_precision_rows(name, case_id):
    method, policy = PORTS[name]
    fn = make(name, "bfloat16")
    seed = int(case_id.split("-")[0][3:])
    cases = [c for c in cf.plan(method, "bfloat16", examples=60, seed=seed) if c.id == case_id]
    assert len(cases) == 1
    report = run_check(InProcessPort(fn, fn.__name__), method, "bfloat16", cases, options=Options(accumulate="input", policy=policy), shrink=False)
    assert report.ok, report.text()


#: typical with ``min_tokens_to_keep = 2`` at ``T = 0.05``: only the first token's probability is
#: not 0 in float32 (``exp(-220)`` underflows), so the second token kept is one of the two whose
#: probability underflowed. The exact answer keeps the larger logit (``-11.0``); a port taking
#: ``-log p`` gives both the score ``inf``, they tie, and a stable sort keeps the first by id.
UNDERFLOW_TIE_CASE = {"id": "underflow-tie", "method": "typical", "logits": [0.0, -11.25, -11.0], "params": {"temperature": 0.05, "mass": 0.95, "min_tokens_to_keep": 2}}


@pytest.mark.parametrize("dtype, mode", [("float32", "input"), ("float16", "input"), ("float16", "float32"), ("bfloat16", "float32")])
def test_typical_keeps_either_of_the_tokens_whose_probability_underflowed(dtype, mode):
    fn = make("typical_log_of_probs", tolerances.compute_dtype_name(dtype, mode))
    case = cf.Case.from_json(UNDERFLOW_TIE_CASE)
    assert fn(case.row(dtype), **case.params).tolist() == [True, True, False]  # the tie taken by id
    report = run_check(InProcessPort(fn, fn.__name__), "typical", dtype, [case], options=Options(accumulate=mode), shrink=False)
    assert report.ok, report.text()

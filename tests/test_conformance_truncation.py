"""The truncation samplers in the port harness: registry, port protocol (Python and JSON Lines),
the judgement at exact and near boundaries, the built-in kernels in every dtype, the vectors."""

import json
import math
import sys

import numpy as np
import pytest

from ees_theory import harness as cf
from ees_theory import tolerances
from ees_theory.harness import Options
from ees_theory.judging.methods import judge
from ees_theory.judging.truncation import judge_truncation
from ees_theory.reference.truncation import METHODS as SAMPLERS


def test_every_sampler_is_registered_with_its_parameters():
    assert set(cf.TRUNCATION_METHODS) == set(SAMPLERS)
    for name in cf.TRUNCATION_METHODS:
        m = cf.get_method(name)
        assert m.params[0] == "temperature"
        # every sampler parameter of the reference without a default reaches the port
        required = {p for p, prm in SAMPLERS[name].params.items() if prm.default is not None and prm.default is not object}
        assert set(m.params) >= required - {"n_vocab"}


def _p(**kw):
    return {"temperature": 1.0, **kw}


def test_exact_ties_bind_on_dyadic_rows_and_policies_differ():
    z = np.zeros(2)
    both, one = np.array([True, True]), np.array([True, False])
    # p_i = epsilon = 1/2 exactly: the paper's '>' keeps one (floor), transformers' '>=' both
    assert judge("epsilon", z, _p(epsilon=0.5, min_tokens_to_keep=1), one, "float16").status == "pass"
    v = judge("epsilon", z, _p(epsilon=0.5, min_tokens_to_keep=1), both, "float16")
    assert (v.status, v.fault) == ("fail", "non-strict") and "'>=' used instead of '>'" in v.message
    opts = Options(policy="transformers")
    assert judge("epsilon", z, _p(epsilon=0.5, min_tokens_to_keep=1), both, "float16", opts).status == "pass"
    assert judge("epsilon", z, _p(epsilon=0.5, min_tokens_to_keep=1), one, "float16", opts).status == "fail"


def test_mass_exactly_at_p_keeps_the_crossing_token():
    z = np.zeros(4)  # P_2 = 1/2 = p: two tokens
    assert judge("top-p", z, _p(p=0.5, min_tokens_to_keep=1), np.array([1, 1, 0, 0], bool), "bfloat16").status == "pass"
    v = judge("top-p", z, _p(p=0.5, min_tokens_to_keep=1), np.array([1, 1, 1, 0], bool), "bfloat16")
    assert (v.status, v.fault) == ("fail", "non-strict") and "exceeds p" in v.message  # '> p': one token too many


def test_inside_the_bound_either_answer_is_admissible():
    # exp(-fl(ln 2)) = 0.5 (1 + 2e-17): min_p = 0.5 decides on a margin far inside every dtype's bound
    z = np.array([0.0, -math.log(2.0), -1.0])
    prm = _p(min_p=0.5, min_tokens_to_keep=1)
    got = {judge("min-p", z, prm, np.array(m, bool), "float64").status for m in ([1, 1, 0], [1, 0, 0])}
    assert got == {"pass", "admissible"}
    # p-less on a uniform row of 3: 1/3 = sum p^2 exactly; float drift may keep all or one
    z3 = np.zeros(3, dtype=np.float16)
    assert judge("p-less", z3, _p(), np.array([1, 1, 1], bool), "float16").status == "pass"
    assert judge("p-less", z3, _p(), np.array([1, 0, 0], bool), "float16").status == "admissible"
    # ... but not on a uniform row of 4, whose probabilities are exact
    assert judge("p-less", np.zeros(4), _p(), np.array([1, 0, 0, 0], bool), "float16").status == "fail"


def test_clear_errors_fail_with_named_faults():
    z = np.array([2.0, 1.0, 0.0, -1.0])
    v = judge("top-p", z, _p(p=0.9, min_tokens_to_keep=1), np.array([1, 1, 0, 0], bool), "float32")
    assert (v.status, v.fault) == ("fail", "crossing-excluded") and "crossing token" in v.message
    v = judge("top-k", z, _p(k=2, min_tokens_to_keep=1), np.array([1, 0, 1, 0], bool), "float32")
    assert (v.status, v.fault) == ("fail", "not-a-prefix")
    v = judge("min-p", np.array([0.0, -np.inf]), _p(min_p=0.1, min_tokens_to_keep=1), np.array([1, 1], bool), "float32")
    assert v.fault == "kept-masked"
    v = judge("top-n-sigma", z, _p(n=1.0), np.zeros(4, bool), "float32")
    assert v.fault == "bad-output"


def test_mirostat_answer_carries_token_and_mu():
    z = np.array([2.0, 1.0, 0.0])
    prm = _p(tau=1.0, eta=0.1, mu=2.0, u=0.5)
    kept = np.array([True, False, False])
    # p0 = e^2 / (e^2 + e + 1) = 0.6652; paper surprise -log2 p0 = 0.5882: mu = 2 - 0.1 (0.5882 - 1)
    mu = 2.0 - 0.1 * (-math.log2(math.exp(2) / (math.exp(2) + math.e + 1)) - 1.0)
    assert judge("mirostat-v2", z, prm, (kept, 0, mu), "float64").status == "pass"
    v = judge("mirostat-v2", z, prm, (kept, 0, mu + 1e-6), "float64")
    assert v.status == "fail" and "new mu" in v.message
    v = judge("mirostat-v2", z, prm, (kept, 1, mu), "float64")
    assert v.fault == "wrong-token"
    # llama.cpp renormalises: the only kept token has surprise 0, mu = 2 + 0.1
    assert judge("mirostat-v2", z, prm, (kept, 0, 2.1), "float64", Options(policy="llama.cpp")).status == "pass"
    assert judge("mirostat-v2", z, prm, (kept, 0, float("nan")), "float64").fault == "nan"


def test_port_receives_ints_and_keywords():
    seen = {}

    def port(logits, temperature, **params):
        seen.update(params, temperature=temperature)
        return np.isfinite(logits)

    report = cf.run_check(cf.InProcessPort(port, "spy"), "top-k", "float64", cf.plan("top-k", "float64", vectors=False, examples=1))
    assert isinstance(seen["k"], int) and isinstance(seen["min_tokens_to_keep"], int) and isinstance(seen["temperature"], float)
    assert report.counts()["cases"] == 1


def test_jsonl_protocol_round_trip_for_mirostat():
    m = cf.get_method("mirostat-v1")
    value = (np.array([True, True, False]), 1, 3.25)
    obj = json.loads(json.dumps(m.encode(value)))
    assert obj == {"kept": [0, 1], "token": 1, "mu": (3.25).hex()}
    back = m.decode(obj, 3)
    assert back[0].tolist() == [True, True, False] and back[1:] == (1, 3.25)
    with pytest.raises(cf.OutputFault):
        m.decode({"kept": [0]}, 3)


def test_isolated_python_port_and_repro_line_carry_the_policy():
    r = cf.check("tests.meta.truncation_ports:top_k_ties_dropped", "top-k", "float64", vectors=True, examples=0,
                 options=Options(policy="transformers"), isolate=True, shrink=False, timeout=60)
    assert not r.ok and {"ties-dropped"} <= {f["fault"] for f in r.failures}
    assert all("--policy transformers" in f["repro"] for f in r.failures)


@pytest.mark.parametrize("method", cf.TRUNCATION_METHODS)
def test_builtin_kernels_conform_in_every_dtype(method):
    reports = cf.check_builtin([method], examples=4, seed=11)
    bad = [(r.dtype, r.options.accumulate, r.options.policy, r.failures[:1]) for r in reports if not r.ok]
    assert not bad, bad
    assert len(reports) == 8 * len(SAMPLERS[method].policies)


def test_vectors_cover_every_sampler_and_policy():
    cases = [c for c in cf.load_vectors() if c.method in cf.TRUNCATION_METHODS]
    seen = {(c.method, c.expected["policy"]) for c in cases}
    for name, spec in SAMPLERS.items():
        assert (name, "paper") in seen
        assert len([c for c in cases if c.method == name]) >= 5
    assert seen >= {("top-k", "transformers"), ("top-k", "llama.cpp"), ("typical", "llama.cpp"), ("epsilon", "transformers"),
                    ("top-n-sigma", "sample-std"), ("mirostat-v2", "llama.cpp"), ("mirostat-v1", "llama.cpp")}
    assert all(c.expected["certified"] for c in cases)


def test_truncation_bound_is_monotone_in_precision():
    args = dict(n=64, logit_range=8.0, logit_scale=8.0, entropy=2.0)
    b = {d: tolerances.truncation_bounds(d, "input", **args)["cum"] for d in ("float64", "float32", "bfloat16")}
    assert b["float64"] < b["float32"] < b["bfloat16"]
    assert tolerances.truncation_bounds("float16", "float32", **args)["cum"] < tolerances.truncation_bounds("float16", "input", **args)["cum"]


@pytest.mark.parametrize("temperature", [0.7, 2.0])
def test_top_k_ties_dropped_fails_at_any_temperature(temperature):
    """Dividing by the temperature rounds monotonically: it may merge close logits into a tie but
    never splits an exact one, so a port that keeps exactly k of an exact tie block under the
    transformers policy is wrong at every temperature, not just at 1."""
    row = np.zeros(8, dtype=np.float32)
    params = {"temperature": temperature, "k": 2.0, "min_tokens_to_keep": 1.0}
    exactly_k = np.zeros(8, dtype=bool)
    exactly_k[:2] = True
    v = judge_truncation("top-k", row, params, exactly_k, "float32", Options(policy="transformers"))
    assert v.status == "fail" and "ties-dropped" in v.message
    assert judge_truncation("top-k", row, params, np.ones(8, dtype=bool), "float32", Options(policy="transformers")).status == "pass"


def test_top_k_subnormal_logits_may_merge_when_divided():
    """float16 divides 5 * 2^-24 and 4 * 2^-24 by 1.5 onto one subnormal (3 * 2^-24): transformers
    then keeps both as a tie. The band allows it (absolute error of a subnormal result), and still
    refuses a third token that no rounding brings level."""
    z = np.array([5 * 2.0**-24, 4 * 2.0**-24, 0.0], dtype=np.float16)
    prm = {"temperature": 1.5, "k": 1.0, "min_tokens_to_keep": 1.0}
    opts = Options(policy="transformers")
    assert judge_truncation("top-k", z, prm, np.array([1, 0, 0], bool), "float16", opts).status == "pass"
    assert judge_truncation("top-k", z, prm, np.array([1, 1, 0], bool), "float16", opts).status == "admissible"
    assert judge_truncation("top-k", z, prm, np.array([1, 1, 1], bool), "float16", opts).status == "fail"


def test_top_p_threshold_compared_in_bfloat16_is_admissible():
    """transformers compares the cumulative mass with 1 - top_p in the scores' dtype: 0.05 is
    0.050048828125 = 205/4096 in bfloat16, so on a uniform 4096-token row it keeps 3891 tokens, not
    3892; a port comparing with 0.95 itself in bfloat16 (0.94921875 = 3888/4096) keeps 3888. Both
    roundings of the parameter are in the band; a count beyond them still fails."""
    z = np.zeros(4096, dtype=np.float32)
    prm = {"temperature": 1.0, "p": 0.95, "min_tokens_to_keep": 1.0}
    opts = Options(policy="transformers")
    statuses = {}
    for k in (3892, 3891, 3888, 3700, 4000):
        kept = np.zeros(4096, bool)
        kept[:k] = True
        statuses[k] = judge_truncation("top-p", z, prm, kept, "bfloat16", opts).status
    assert statuses == {3892: "pass", 3891: "admissible", 3888: "admissible", 3700: "fail", 4000: "fail"}


def test_top_p_running_sums_of_a_dyadic_row_round_in_half_precision():
    """A uniform row over 2**12 tokens is not exact in bfloat16: p = 2**-12 is, but the running
    mass k / 4096 near 0.95 is rounded to bfloat16's 2**-8 spacing (16 tokens). What torch itself
    keeps, computed here with the port's own operations, is admissible."""
    import torch

    z = np.zeros(4096, dtype=np.float32)
    prm = {"temperature": 1.0, "p": 0.95, "min_tokens_to_keep": 1.0}
    p = torch.softmax(torch.zeros(4096, dtype=torch.bfloat16), dim=-1)
    before = torch.cumsum(p, dim=-1) - p
    k = int((before < 0.95).sum())
    assert k != 3892  # the rounding moves the count
    kept = np.zeros(4096, bool)
    kept[:k] = True
    v = judge_truncation("top-p", z, prm, kept, "bfloat16", Options(policy="transformers"))
    assert v.status == "admissible" and v.details["grade"] == "admissible", v.message


def test_top_p_parameter_rounding_stays_in_the_ports_dtype():
    """p = 3892/4096 + 1e-12 needs 3893 of 4096 uniform tokens. A float32 port holds p as
    3892/4096 exactly and keeps 3892: admissible in float32. A float64 port holds p itself, so
    there 3892 is wrong: no float32 rounding of p widens the float64 band."""
    z = np.zeros(4096)
    prm = {"temperature": 1.0, "p": 3892 / 4096 + 1e-12, "min_tokens_to_keep": 1.0}
    opts = Options(policy="transformers")
    got = {}
    for dtype in ("float64", "float32"):
        for k in (3893, 3892):
            kept = np.zeros(4096, bool)
            kept[:k] = True
            got[dtype, k] = judge_truncation("top-p", z.astype(dtype), prm, kept, dtype, opts).status
    assert got == {("float64", 3893): "pass", ("float64", 3892): "fail", ("float32", 3893): "pass", ("float32", 3892): "admissible"}

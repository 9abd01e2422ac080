"""The draws judge must pass correct samplers (no false alarm) and reject mutants with the right
diagnosis; certain failures carry the token, its probability, the seed and a reproduce line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ees_theory.running.cases import Case
from ees_theory.running.draws import InProcessDrawsPort, check_draws, open_draws_port
from ees_theory.judging.draws import judge_draws
from ees_theory.running.generate import generated_cases
from ees_theory.judging.methods import Options

from . import draws_ports as dp

SMALL = (2, 3, 4, 5, 8, 12, 16, 32, 64)
METHODS = ("top-k", "top-p", "min-p", "typical", "epsilon", "eta", "p-less", "top-n-sigma", "ees")
HAND = np.array([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])


@pytest.mark.parametrize("kind", dp.CORRECT)
def test_correct_samplers_raise_no_false_alarm(kind):
    # 3 samplers x 9 methods x 8 cases = 216 correct runs, each judged on 2000 draws
    judged = 0
    for method in METHODS:
        cases = generated_cases(method, "float32", 8, seed=11, vocabs=SMALL)
        r = check_draws(InProcessDrawsPort(dp.for_method(kind, method), kind), method, "float32", cases=cases, draws=2000, shrink=False)
        bad = [(x["case"], x["fault"], x["message"]) for x in r.records if x["status"] == "fail"]
        assert r.ok and not bad, bad
        judged += sum(x["status"] in ("pass", "admissible") for x in r.records)
    assert judged >= 70


@pytest.mark.parametrize("method", ["mirostat-v2", "mirostat-v1"])
def test_correct_mirostat_sequences_pass(method):
    cases = generated_cases(method, "float64", 2, seed=5, vocabs=(8, 16))
    r = check_draws(InProcessDrawsPort(dp.for_method("inverse_cdf", method), "miro"), method, "float64", cases=cases, draws=60, shrink=False)
    assert r.ok, r.text()
    assert all(x["status"] in ("pass", "skipped") for x in r.records)
    assert any(x["details"].get("tested_steps", 0) > 10 for x in r.records)


@pytest.mark.parametrize(
    "kind,fault",
    [("untruncated", "outside-support"), ("never_last", "never-drawn"), ("off_by_one", "off-by-one"),
     ("unnormalised", "unnormalised"), ("biased", "excess-token")],
)
def test_mutants_are_rejected_with_the_right_diagnosis(kind, fault):
    case = Case("hand", "top-p", "hand", HAND, {"temperature": 1.0, "p": 0.9, "min_tokens_to_keep": 1})
    r = check_draws(InProcessDrawsPort(dp.for_method(kind, "top-p"), kind), "top-p", cases=[case], draws=20000, shrink=False)
    rec = r.records[0]
    assert not r.ok and rec["status"] == "fail" and rec["fault"] == fault, rec["message"]
    if kind == "untruncated":
        assert rec["details"]["diagnosis"] == ["untruncated"]


def test_a_certain_failure_names_token_probability_seed_and_reproduces():
    case = Case("hand", "top-k", "hand", HAND, {"temperature": 1.0, "k": 3, "min_tokens_to_keep": 1})
    port = InProcessDrawsPort(dp.for_method("untruncated", "top-k"), "tests.meta.draws_ports:untruncated")
    r = check_draws(port, "top-k", cases=[case], draws=500, seed=4, shrink=True)
    rec = r.records[0]
    assert rec["certain"] and rec["fault"] == "outside-support"
    tok = rec["details"]["token"]
    assert tok not in (0, 1, 2)  # the exact kept set of top-3 on this row
    assert "truncated distribution is 0 (exactly)" in rec["message"] and f"seed {rec['seed']}" in rec["message"]
    assert f"--draw-seed {rec['seed']}" in rec["repro"] and "--draws 500" in rec["repro"]
    assert rec["shrunk"]["vocab"] < case.vocab
    text = r.text()
    assert "reproduce:" in text and "DOES NOT CONFORM" in text and "1 certain" in text


def test_the_report_header_states_alpha_and_the_plan():
    cases = generated_cases("top-k", "float64", 3, seed=1, vocabs=(4, 8))
    r = check_draws(InProcessDrawsPort(dp.for_method("race", "top-k"), "race"), "top-k", cases=cases, draws=3000)
    head = r.header()
    assert "family-wise false-alarm rate 1e-06" in head and "detect total variation >= 0.02" in head
    assert "with 3000 draws the detectable total variation is" in head
    assert r.plan["planned_draws"] > 100000


def test_a_tie_at_the_boundary_may_be_broken_either_way():
    z = np.array([1.0, 3.0, 3.0, 0.0])
    prm = {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}
    assert judge_draws("top-k", z, prm, np.full(400, 2), "float64").pvalue == 1.0
    assert judge_draws("top-k", z, prm, np.full(400, 1), "float64").pvalue == 1.0
    assert judge_draws("top-k", z, prm, np.array([1] * 399 + [0]), "float64").fault == "outside-support"


def test_a_masked_token_drawn_is_certain_with_probability_exactly_zero():
    z = np.array([0.0, -np.inf, 0.0])
    v = judge_draws("top-p", z, {"temperature": 1.0, "p": 1.0, "min_tokens_to_keep": 1}, np.array([0, 2, 1]), "float16")
    assert v.fault == "outside-support" and v.details["token"] == 1 and v.details["untruncated_p"] == 0.0


def test_batched_form_is_used_and_a_broken_one_falls_back():
    calls = {"batched": 0}
    one = dp.for_method("inverse_cdf", "top-k")

    def batched(rows, temperature, draws, seeds, **params):
        calls["batched"] += 1
        return np.stack([one(r, float(t), draws, int(s), **{k: v[i].item() for k, v in params.items()})
                         for i, (r, t, s) in enumerate(zip(rows, temperature, seeds))])

    cases = generated_cases("top-k", "float32", 6, seed=2, vocabs=(8,))
    r = check_draws(InProcessDrawsPort(one, "b", batched=batched), "top-k", "float32", cases=cases, draws=1000)
    assert r.ok and calls["batched"] == 1

    def broken(rows, *a, **k):
        raise RuntimeError("no batch here")

    r = check_draws(InProcessDrawsPort(one, "b", batched=broken), "top-k", "float32", cases=cases, draws=1000)
    assert r.ok and len(r.records) == 6


def test_port_faults_and_bad_output_are_verdicts():
    case = Case("hand", "top-k", "hand", HAND, {"temperature": 1.0, "k": 3, "min_tokens_to_keep": 1})

    def wrong_length(z, t, draws, seed, **p):
        return np.zeros(draws - 1, dtype=np.int64)

    def floats(z, t, draws, seed, **p):
        return np.zeros(draws)

    def mutates(z, t, draws, seed, **p):
        z[0] = 9.0
        return np.zeros(draws, dtype=np.int64)

    for fn, fault in ((wrong_length, "bad-output"), (floats, "bad-output"), (mutates, "mutated-input")):
        rec = check_draws(InProcessDrawsPort(fn, "x"), "top-k", cases=[case], draws=10, shrink=False).records[0]
        assert rec["fault"] == fault, rec


def test_exec_port_speaks_draws_and_a_mutant_is_caught():
    case = Case("hand", "top-k", "hand", HAND, {"temperature": 1.0, "k": 4, "min_tokens_to_keep": 1})
    good = open_draws_port(f"exec:{sys.executable} tests/ports/draws_jsonl_port.py")
    try:
        assert check_draws(good, "top-k", cases=[case], draws=3000).ok
    finally:
        good.close()
    bad = open_draws_port(f"exec:{sys.executable} tests/ports/draws_jsonl_port.py --drop-last")
    try:
        r = check_draws(bad, "top-k", cases=[case], draws=3000, shrink=False)
    finally:
        bad.close()
    assert r.records[0]["fault"] == "never-drawn"


def test_bad_arguments_are_clear_errors():
    case = Case("hand", "top-k", "hand", HAND, {"temperature": 1.0, "k": 4, "min_tokens_to_keep": 1})
    port = InProcessDrawsPort(dp.for_method("race", "top-k"), "race")
    with pytest.raises(ValueError, match="alpha"):
        check_draws(port, "top-k", cases=[case], draws=10, alpha=2.0)
    with pytest.raises(ValueError, match="draws"):
        check_draws(port, "top-k", cases=[case], draws=0)
    with pytest.raises(ValueError, match="temperature"):
        check_draws(port, "edt", cases=[], draws=10)


def test_command_line_judges_by_draws(tmp_path):
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "ees_theory", "check", "tests.meta.draws_ports:untruncated", "--method", "top-p",
           "--draws", "2000", "--examples", "4", "--vectors", "none", "--no-shrink", "--json", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    assert "reproduce: ees-theory check tests.meta.draws_ports:untruncated --method top-p" in res.stdout
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["kind"] == "header" and lines[0]["alpha"] == 1e-6 and lines[-1]["kind"] == "summary"
    res = subprocess.run(cmd[:4] + ["tests.meta.draws_ports:inverse_cdf"] + cmd[5:-2], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "CONFORMS" in res.stdout

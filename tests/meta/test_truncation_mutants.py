"""Tests of the tests for the truncation samplers: every mutant port is rejected with its fault
class named; the correct numpy ports pass in every dtype."""

import pytest

from ees_theory import harness as cf
from ees_theory.harness import InProcessPort, Options, run_check
from tests.meta import truncation_ports as tp

MUTANTS = [
    # (port, method, policy, fault class, words the message must contain)
    (tp.top_k_ties_dropped, "top-k", "transformers", "ties-dropped", "ties at the k-th value dropped"),
    (tp.top_p_crossing_excluded, "top-p", "paper", "crossing-excluded", "crossing token"),
    (tp.min_p_strict, "min-p", "paper", "strict-comparison", "'>' used instead of '>='"),
    (tp.top_n_sigma_sample_std, "top-n-sigma", "paper", "sample-std", "divide by N - 1"),
    (tp.p_less_norm_finite_v, "p-less-norm", "paper", "v-finite-only", "masked entries included"),
    (tp.mirostat_v2_untruncated, "mirostat-v2", "llama.cpp", "surprise-untruncated", "renormalises over the kept set"),
    (tp.epsilon_inclusive, "epsilon", "paper", "non-strict-comparison", "'>=' used instead of '>'"),
]

CORRECT = [
    (tp.top_p, "top-p", "paper"),
    (tp.min_p, "min-p", "transformers"),
    (tp.top_k_transformers, "top-k", "transformers"),
    (tp.top_n_sigma, "top-n-sigma", "paper"),
    (tp.p_less_norm, "p-less-norm", "paper"),
    (tp.mirostat_v2_llama, "mirostat-v2", "llama.cpp"),
]


def _run(fn, method, dtype, policy, examples=20):
    cases = cf.plan(method, dtype, examples=examples, seed=3)
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate="input", policy=policy), shrink=False)


@pytest.mark.parametrize("fn, method, policy, fault, words", MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_truncation_mutant_is_rejected_with_its_fault_named(fn, method, policy, fault, words):
    report = _run(fn, method, "float64", policy)
    assert not report.ok
    faults = {r["fault"] for r in report.failures}
    assert fault in faults, f"{fn.__name__}: expected fault {fault!r}, got {sorted(faults)}"
    messages = [r["message"] for r in report.failures if r["fault"] == fault]
    assert any(words in m for m in messages), messages[:2]
    assert "DOES NOT CONFORM" in report.text() and f"policy={policy}" in report.text()


@pytest.mark.parametrize("fn, method, policy", CORRECT, ids=[c[0].__name__ for c in CORRECT])
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_correct_numpy_truncation_port_passes(fn, method, policy, dtype):
    report = _run(fn, method, dtype, policy, examples=10)
    assert report.ok, report.text()
    assert report.counts()["cases"] >= 15

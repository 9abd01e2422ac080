"""Tests of the tests: every mutant port (EES, EDT, dynatemp and the truncation samplers) is rejected
with its fault class named; correct ports pass in every dtype.

Each mutant runs on the golden vectors plus generated cases, in process (a crash cannot happen
here: the mutants only compute wrong answers). The fault class asserted is the harness's own
diagnosis of the failure, and the message must say what is wrong in words.
"""

import pytest

from ees_theory import harness as cf
from ees_theory.harness import InProcessPort, Options, run_check
from tests.meta import mutant_ports as mp
from tests.meta import truncation_ports as tp
from tests.meta import wider_ports as wp
from tests.ports import numpy_port

#: how a formula port (EES, EDT, dynatemp) is run, and a truncation port under an engine policy
FORMULA = dict(examples=60, options=Options(accumulate="float32"))


def TRUNCATION(policy):
    return dict(examples=20, options=Options(accumulate="input", policy=policy))


MUTANTS = [
    # (port, method, dtype, how it runs, fault class, words the message must contain)
    (mp.ees_crossing_included, "ees", "float64", FORMULA, "crossing-included", "crossing token is kept"),
    (mp.ees_last_crossing, "ees", "float64", FORMULA, "last-crossing", "last crossing"),
    (mp.ees_hbar_ln_vocab, "ees", "float64", FORMULA, "hbar-ln-vocab", "ln V"),
    (mp.ees_non_strict, "ees", "float64", FORMULA, "non-strict", "'<=' used instead of '<'"),
    (mp.ees_mutates_input, "ees", "float32", FORMULA, "mutated-input", "modified its input"),
    (mp.ees_fp16_log_underflow, "ees", "float16", FORMULA, "keeps-all", "0*ln 0"),
    (mp.edt_bits, "edt", "float64", FORMULA, "entropy-in-bits", "bits"),
    (mp.edt_tempered, "edt", "float64", FORMULA, "entropy-of-tempered", "softmax(z / T0)"),
    (mp.edt_fp16_log_underflow, "edt", "float16", FORMULA, "nan", "NaN"),
    (mp.dynatemp_finite_n, "dynatemp", "float64", FORMULA, "n-finite-only", "only the finite entries"),
    (mp.dynatemp_fp16_log_underflow, "dynatemp", "float16", FORMULA, "nan", "NaN"),
    (tp.top_k_ties_dropped, "top-k", "float64", TRUNCATION("transformers"), "ties-dropped", "ties at the k-th value dropped"),
    (tp.top_p_crossing_excluded, "top-p", "float64", TRUNCATION("paper"), "crossing-excluded", "crossing token"),
    (tp.min_p_strict, "min-p", "float64", TRUNCATION("paper"), "non-strict", "'>' used instead of '>='"),
    (tp.top_n_sigma_sample_std, "top-n-sigma", "float64", TRUNCATION("paper"), "sample-std", "divide by N - 1"),
    (tp.p_less_norm_finite_v, "p-less-norm", "float64", TRUNCATION("paper"), "v-finite-only", "masked entries included"),
    (tp.mirostat_v2_untruncated, "mirostat-v2", "float64", TRUNCATION("llama.cpp"), "surprise-untruncated", "renormalises over the kept set"),
    (tp.epsilon_inclusive, "epsilon", "float64", TRUNCATION("paper"), "non-strict", "'>=' used instead of '>'"),
    (wp.xtc_drops_all_above, "xtc", "float64", TRUNCATION("llama.cpp"), "least-above-dropped", "keeps the least probable"),
    (wp.xtc_gate_le, "xtc", "float64", TRUNCATION("paper"), "gate-comparison", "u < probability"),
    (wp.xtc_min_keep_floor, "xtc", "float64", TRUNCATION("llama.cpp"), "min-keep-partial", "drops none"),
    (wp.top_a_linear, "top-a", "float64", TRUNCATION("paper"), "linear-threshold", "a * p_max^2"),
    (wp.tfs_llama_as_paper, "tfs", "float64", TRUNCATION("paper"), "tail-index", "one token more"),
    (wp.quadratic_curve_flipped, "quadratic", "float64", FORMULA, "curve-sign-flipped", "wrong sign"),
    (wp.quadratic_curve_ignored, "quadratic", "float16", FORMULA, "curve-ignored", "smoothing curve ignored"),
]

CORRECT_TRUNCATION = [
    (tp.top_p, "top-p", "paper"),
    (tp.min_p, "min-p", "transformers"),
    (tp.top_k_transformers, "top-k", "transformers"),
    (tp.top_n_sigma, "top-n-sigma", "paper"),
    (tp.p_less_norm, "p-less-norm", "paper"),
    (tp.mirostat_v2_llama, "mirostat-v2", "llama.cpp"),
    (wp.xtc_llama, "xtc", "llama.cpp"),
    (wp.xtc_webui, "xtc", "paper"),
    (wp.top_a, "top-a", "paper"),
    (wp.tfs_llama, "tfs", "llama.cpp"),
    (wp.tfs_webui, "tfs", "paper"),
    (wp.quadratic, "quadratic", "paper"),
]


def _run(fn, method, dtype, examples=60, options=Options(accumulate="float32")):
    cases = cf.plan(method, dtype, examples=examples, seed=3)
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=options, shrink=False)


@pytest.mark.parametrize("fn, method, dtype, how, fault, words", MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_mutant_is_rejected_with_its_fault_named(fn, method, dtype, how, fault, words):
    report = _run(fn, method, dtype, **how)
    assert not report.ok
    faults = {r["fault"] for r in report.failures}
    assert fault in faults, f"{fn.__name__}: expected fault {fault!r}, got {sorted(faults)}"
    messages = [r["message"] for r in report.failures if r["fault"] == fault]
    assert any(words in m for m in messages), messages[:2]
    assert "DOES NOT CONFORM" in report.text()
    if how is not FORMULA:  # a truncation report names the policy it judged under
        assert f"policy={how['options'].policy}" in report.text()


@pytest.mark.parametrize("fn, method, policy", CORRECT_TRUNCATION, ids=[c[0].__name__ for c in CORRECT_TRUNCATION])
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_correct_numpy_truncation_port_passes(fn, method, policy, dtype):
    report = _run(fn, method, dtype, **dict(TRUNCATION(policy), examples=10))
    assert report.ok, report.text()
    assert report.counts()["cases"] >= 15


@pytest.mark.parametrize("method", ["ees", "edt", "dynatemp"])
@pytest.mark.parametrize("dtype", cf.DTYPES)
def test_correct_numpy_port_passes_in_every_dtype(method, dtype):
    fn = getattr(numpy_port, method)
    report = _run(fn, method, dtype, options=Options(accumulate="input"))
    assert report.ok, report.text()
    assert report.counts()["cases"] >= 60


def test_mutants_name_their_fault_in_the_cli_output(capsys):
    from ees_theory.cli import main

    rc = main(["check", "tests.meta.mutant_ports:ees_crossing_included", "--method", "ees", "-n", "10", "--in-process"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "[crossing-included]" in out and "reproduce: ees-theory check tests.meta.mutant_ports:ees_crossing_included" in out

"""Tests of the tests: every mutant port is rejected with its fault class named; correct ports pass.

Each mutant runs on the golden vectors plus generated cases, in process (a crash cannot happen
here: the mutants only compute wrong answers). The fault class asserted is the harness's own
diagnosis of the failure, and the message must say what is wrong in words.
"""

import numpy as np
import pytest

from ees_theory import harness as cf
from ees_theory.harness import InProcessPort, Options, run_check
from tests.meta import mutant_ports as mp
from tests.ports import numpy_port

MUTANTS = [
    # (port, method, dtype, fault class, words the message must contain)
    (mp.ees_crossing_included, "ees", "float64", "crossing-included", "crossing token is kept"),
    (mp.ees_last_crossing, "ees", "float64", "last-crossing", "last crossing"),
    (mp.ees_hbar_ln_vocab, "ees", "float64", "hbar-ln-vocab", "ln V"),
    (mp.ees_non_strict, "ees", "float64", "non-strict", "'<=' used instead of '<'"),
    (mp.ees_mutates_input, "ees", "float32", "mutated-input", "modified its input"),
    (mp.ees_fp16_log_underflow, "ees", "float16", "keeps-all", "0*ln 0"),
    (mp.edt_bits, "edt", "float64", "entropy-in-bits", "bits"),
    (mp.edt_tempered, "edt", "float64", "entropy-of-tempered", "softmax(z / T0)"),
    (mp.edt_fp16_log_underflow, "edt", "float16", "nan", "NaN"),
    (mp.dynatemp_finite_n, "dynatemp", "float64", "n-finite-only", "only the finite entries"),
    (mp.dynatemp_fp16_log_underflow, "dynatemp", "float16", "nan", "NaN"),
]


def _run(fn, method, dtype, examples=60, accumulate="float32"):
    cases = cf.plan(method, dtype, examples=examples, seed=3)
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate=accumulate), shrink=False)


@pytest.mark.parametrize("fn, method, dtype, fault, words", MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_mutant_is_rejected_with_its_fault_named(fn, method, dtype, fault, words):
    report = _run(fn, method, dtype)
    assert not report.ok
    faults = {r["fault"] for r in report.failures}
    assert fault in faults, f"{fn.__name__}: expected fault {fault!r}, got {sorted(faults)}"
    messages = [r["message"] for r in report.failures if r["fault"] == fault]
    assert any(words in m for m in messages), messages[:2]
    assert "DOES NOT CONFORM" in report.text()


@pytest.mark.parametrize("method", ["ees", "edt", "dynatemp"])
@pytest.mark.parametrize("dtype", cf.DTYPES)
def test_correct_numpy_port_passes_in_every_dtype(method, dtype):
    fn = getattr(numpy_port, method)
    report = _run(fn, method, dtype, accumulate="input")
    assert report.ok, report.text()
    assert report.counts()["cases"] >= 60


def test_mutants_name_their_fault_in_the_cli_output(capsys):
    from ees_theory.cli import main

    rc = main(["check", "tests.meta.mutant_ports:ees_crossing_included", "--method", "ees", "-n", "10", "--in-process"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "[crossing-included]" in out and "reproduce: ees-theory check tests.meta.mutant_ports:ees_crossing_included" in out

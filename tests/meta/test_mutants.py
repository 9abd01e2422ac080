"""Tests of the tests: every mutant port (EES, EDT, dynatemp and the truncation samplers) is rejected
with its fault class named; correct ports pass in every dtype.

Each mutant runs on the golden vectors plus generated cases, in process (a crash cannot happen
here: the mutants only compute wrong answers). The fault class asserted is the harness's own
diagnosis of the failure, and the message must say what is wrong in words. The mutants and the
careful ports are found in the ``*ports.py`` modules of this folder, where each declares what the
harness must say of it (``tests/meta/diagnosis.py``): a new sampler's mutants are its ports module.
"""

import pytest

from ees_theory import harness as cf
from ees_theory.harness import InProcessPort, Options, run_check
from tests.meta.diagnosis import discover
from tests.ports import numpy_port

#: how a formula port (EES, EDT, dynatemp) is run, and a truncation port under an engine policy
FORMULA = dict(examples=60, options=Options(accumulate="float32"))


def TRUNCATION(policy):
    return dict(examples=20, options=Options(accumulate="input", policy=policy))


#: every mutant port of the ``*ports.py`` modules here, each with the diagnosis it declares
#: (``@mutant``: method, dtype, policy or none for a formula, fault class, words of the message)
MUTANTS = discover("diagnosis")
#: every careful truncation port, with the policy it declares (``@conforms``)
CORRECT_TRUNCATION = discover("careful")


def _how(d):
    """How a mutant runs: as a formula port, or as a truncation port under its policy."""
    return FORMULA if d.policy is None else TRUNCATION(d.policy)


def _run(fn, method, dtype, examples=60, options=Options(accumulate="float32")):
    cases = cf.plan(method, dtype, examples=examples, seed=3)
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=options, shrink=False)


def test_every_ports_module_declares_its_mutants():
    # the discovery reads each ports module: the formula, truncation and wider-field mutants all
    # come back, each once, and every careful sampler port too
    modules = {fn.__module__.rsplit(".", 1)[1] for fn in MUTANTS}
    assert {"mutant_ports", "truncation_ports", "wider_ports"} <= modules
    assert len({fn.__name__ for fn in MUTANTS}) == len(MUTANTS) >= 25
    assert {fn.__module__.rsplit(".", 1)[1] for fn in CORRECT_TRUNCATION} >= {"truncation_ports", "wider_ports"}
    assert not any(hasattr(fn, "careful") for fn in MUTANTS)


@pytest.mark.parametrize("fn", MUTANTS, ids=[fn.__name__ for fn in MUTANTS])
def test_mutant_is_rejected_with_its_fault_named(fn):
    d = fn.diagnosis
    method, dtype, how, fault, words = d.method, d.dtype, _how(d), d.fault, d.words
    report = _run(fn, method, dtype, **how)
    assert not report.ok
    faults = {r["fault"] for r in report.failures}
    assert fault in faults, f"{fn.__name__}: expected fault {fault!r}, got {sorted(faults)}"
    messages = [r["message"] for r in report.failures if r["fault"] == fault]
    assert any(words in m for m in messages), messages[:2]
    assert "DOES NOT CONFORM" in report.text()
    if how is not FORMULA:  # a truncation report names the policy it judged under
        assert f"policy={how['options'].policy}" in report.text()


@pytest.mark.parametrize("fn", CORRECT_TRUNCATION, ids=[fn.__name__ for fn in CORRECT_TRUNCATION])
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
def test_correct_numpy_truncation_port_passes(fn, dtype):
    method, policy = fn.careful.method, fn.careful.policy
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

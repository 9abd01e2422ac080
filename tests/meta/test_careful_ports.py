"""Careful float ports (EES, EDT, dynatemp) conform in every dtype and accumulation mode; hostile
ones are rejected in every one, bfloat16 input mode included, with their fault named.

The ports (``tests/ports/float_ports.py``) compute every step in the compute dtype of the mode:
the logits' dtype in ``input`` mode, at least float32 in ``float32`` mode. They are judged on the
golden vectors, generated rows, and generated rows at temperatures below 0.2.
"""

import numpy as np
import pytest

from ees_theory import harness as cf
from ees_theory import tolerances
from ees_theory.harness import InProcessPort, Options, run_check
from ees_theory.spec.formats import cast
from ees_theory.running.generate import generated_cases
from ees_theory.judging.methods import judge
from tests.ports.float_ports import port, temperature_port

MODES = [(d, m) for d in cf.DTYPES for m in ("input", "float32")]
LOW_TEMPERATURES = [0.01, 0.05, 0.1, 0.15]


def _cases(dtype, n=40):
    return cf.plan("ees", dtype, examples=n, seed=11) + generated_cases("ees", dtype, n // 2, seed=12, params={"temperature": LOW_TEMPERATURES})


def _run(fn, dtype, mode, cases, strict=False):
    return run_check(InProcessPort(fn, fn.__name__), "ees", dtype, cases, options=Options(accumulate=mode, strict=strict), shrink=False)


@pytest.mark.parametrize("dtype, mode", MODES)
def test_careful_float_ports_conform(dtype, mode):
    cd = tolerances.compute_dtype_name(dtype, mode)
    cases = _cases(dtype)
    variants = [("closed", "probs"), ("incremental", "logits")]
    if mode == "input":
        variants += [("closed", "logits"), ("incremental", "probs")]
    for form, order in variants:
        report = _run(port(form, cd, order=order), dtype, mode, cases)
        assert report.ok, (form, order, report.text())
        c = report.counts()
        assert c["cases"] >= 60 and c["passed"] > c["admissible"]


@pytest.mark.parametrize("dtype, mode", MODES)
def test_hostile_float_ports_are_rejected_with_their_fault_named(dtype, mode):
    cd = tolerances.compute_dtype_name(dtype, mode)
    cases = _cases(dtype)
    report = _run(port("closed", cd, nonstrict=True), dtype, mode, cases)
    if cd == "bfloat16":
        # '<=' differs from '<' only where f(k) = 0 exactly, and there a careful bfloat16 port that
        # divides H by a float ln k (math.log, or a float32 tensor) crosses too: on [0, 0] its
        # Hbar_2 is the rounded ln 2 over the exact one, 0.996; so '<=' keeps what careful code keeps
        two_token = next(r for r in report.records if r["case"] == "v1-ees-0001")
        assert two_token["status"] == "admissible" and "style closed-float-ln-k" in two_token["message"], two_token
    else:
        assert not report.ok and "non-strict" in {r["fault"] for r in report.failures}, report.text()
        msg = next(r["message"] for r in report.failures if r["fault"] == "non-strict")
        assert "f(2) < 0 (a crossing at 2)" in msg and "'<=' used instead of '<'" in msg

    report = _run(port("incremental", cd, keep_all=True), dtype, mode, cases)
    assert not report.ok and "keeps-all" in {r["fault"] for r in report.failures}, report.text()

    report = _run(port("closed", cd, clamp=0.2), dtype, mode, cases)
    assert not report.ok, report.text()
    low = [r for r in report.failures if r["case"].startswith("gen12")]
    assert low and all("its answer needs f(" in r["message"] for r in low)


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize("tau", [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0])
def test_keep_all_is_rejected_on_peaked_rows_at_every_temperature(dtype, mode, tau):
    # f(2) is within 1e-4 of -1 at these temperatures: no rounding can hide the crossing at 2
    z = cast(np.array([0.0, -12.0, -12.5, -13.0, -14.0, -16.0]), dtype)
    v = judge("ees", z, {"temperature": tau}, np.ones(6, dtype=bool), dtype, Options(accumulate=mode))
    assert (v.status, v.fault) == ("fail", "keeps-all"), v.message
    assert "f(2) >= 0 (no crossing at 2)" in v.message


def test_exact_ties_are_counted_apart_and_strict_fails_them():
    # a row uniform over 3 candidates: the closed form rounds f(3) = 0 below zero in float32
    z = np.zeros(3, dtype=np.float32)
    fn = port("closed", "float32")
    assert fn(z, 1.0).sum() in (2, 3)
    case = cf.Case("tie3", "ees", "hand", np.zeros(3), {"temperature": 1.0})
    drop = lambda z, t: np.array([True, True, False])  # noqa: E731 - drops one of three tied tokens
    report = _run(drop, "float32", "input", [case])
    assert report.ok and report.counts()["exact_ties"] == 1
    assert "exact ties decided by rounding: 1 case(s)" in report.text() and "--strict" in report.text()
    report = _run(drop, "float32", "input", [case], strict=True)
    assert not report.ok and report.failures[0]["fault"] == "exact-tie"


# ---- temperatures: the per-row band of EDT and dynatemp ------------------------------------------
def _run_temperature(fn, method, dtype, mode):
    cases = cf.plan(method, dtype, examples=40, seed=11)
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate=mode), shrink=False)


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize("method", ["edt", "dynatemp"])
def test_careful_temperature_ports_conform(method, dtype, mode):
    cd = tolerances.compute_dtype_name(dtype, mode)
    for form in ("closed", "running"):
        report = _run_temperature(temperature_port(method, form, cd), method, dtype, mode)
        assert report.ok, (form, report.text())
        c = report.counts()
        assert c["cases"] >= 75 and c["passed"] == c["cases"]  # a band has no admissible zone


@pytest.mark.parametrize("dtype, mode", MODES)
@pytest.mark.parametrize("method", ["edt", "dynatemp"])
def test_entropy_in_bits_is_rejected_in_every_dtype(method, dtype, mode):
    # H / ln 2 is 44% larger than H: the 64u rule (+-25% in bfloat16) let it pass in half precision
    cd = tolerances.compute_dtype_name(dtype, mode)
    report = _run_temperature(temperature_port(method, "running", cd, bits=True), method, dtype, mode)
    assert not report.ok, report.text()
    assert {r["fault"] for r in report.failures} == {"entropy-in-bits"}, report.text()
    assert all("the entropy is taken in bits" in r["message"] for r in report.failures)

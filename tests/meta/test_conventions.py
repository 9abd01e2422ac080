"""The conventions of real inference code: each is a named policy (a port following it conforms
under that policy) or a named diagnosis (a port departing from it fails with that name), and a
port without ``min_tokens_to_keep`` conforms once the harness is told it has none.

The ports (``tests/meta/convention_ports.py``) are written in torch, float32 where the
convention's code is, in the style of the front ends that use them.
"""

import numpy as np
import pytest

from ees_theory import harness as cf
from ees_theory.cli import main
from ees_theory.harness import InProcessPort, Options, run_check
from ees_theory.running.capabilities import check_unsupported
from ees_theory.running.ports import PortLoadError
from tests.meta import convention_ports as cp

MK = ("min_tokens_to_keep",)


def _run(fn, method, dtype="float32", examples=40, families=None, vectors=True, **options):
    cases = cf.plan(method, dtype, vectors=vectors, examples=examples, seed=3, families=families)
    return run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(**options), shrink=False, workers=1)


def _faults(report):
    return {r["fault"] for r in report.failures}


def _skips(report):
    return {s["reason"] for s in report.skipped}


NO_MIN_KEEP = "the port has no min_tokens_to_keep (--unsupported): the case needs a value other than 1"

# (port without min_tokens_to_keep, method, policy)
WITHOUT_MIN_KEEP = [
    (cp.top_p_no_min_keep, "top-p", "paper"),
    (cp.top_k_no_min_keep, "top-k", "transformers"),
    (cp.min_p_no_min_keep, "min-p", "paper"),
    (cp.epsilon_no_min_keep, "epsilon", "paper"),
    (cp.typical_no_min_keep, "typical", "paper"),
]


@pytest.mark.parametrize("fn, method, policy", WITHOUT_MIN_KEEP, ids=[w[1] for w in WITHOUT_MIN_KEEP])
def test_a_port_without_min_tokens_to_keep_conforms_when_declared(fn, method, policy):
    report = _run(fn, method, policy=policy, unsupported=MK)
    assert report.ok, report.text()
    assert NO_MIN_KEEP in _skips(report) and report.counts()["skipped"] >= 3
    assert "skipped" in report.text() and "unsupported=min_tokens_to_keep" in report.text()
    # undeclared, the same port is called with a parameter it does not take
    assert not _run(fn, method, examples=10, policy=policy).ok


# (port that takes min_tokens_to_keep and ignores it, method, policy): the diagnosis is
# min-keep-ignored, never the sampler's own (top-p: crossing-excluded, top-k: ties-dropped)
@pytest.mark.parametrize("fn, method, policy", [(cp.top_p_min_keep_ignored, "top-p", "paper"),
                                                (cp.top_k_min_keep_ignored, "top-k", "transformers")])
def test_min_keep_ignored_is_decided_first(fn, method, policy):
    report = _run(fn, method, policy=policy)
    assert _faults(report) == {"min-keep-ignored"}, report.text()


# (careful port, mutant, method, policy the careful one follows)
NON_STRICT = [
    (cp.top_p_no_min_keep, cp.top_p_exceeds, "top-p", "paper", "exceeds p"),
    (cp.min_p_no_min_keep, cp.min_p_exclusive, "min-p", "paper", "'>' used instead of '>='"),
    (cp.epsilon_no_min_keep, cp.epsilon_inclusive, "epsilon", "paper", "'>=' used instead of '>'"),
    (cp.typical_no_min_keep, cp.typical_exceeds, "typical", "paper", "instead of reaching it"),
    (cp.typical_exceeds, cp.typical_no_min_keep, "typical", "llama.cpp", "needs it to exceed mass"),
]


@pytest.mark.parametrize("careful, mutant, method, policy, words", NON_STRICT, ids=[f"{n[2]}-{n[3]}" for n in NON_STRICT])
def test_the_other_strictness_is_named_non_strict(careful, mutant, method, policy, words):
    assert _run(careful, method, policy=policy, unsupported=MK).ok
    report = _run(mutant, method, policy=policy, unsupported=MK)
    assert _faults(report) == {"non-strict"}, report.text()
    assert all(words in r["message"] for r in report.failures)


def test_top_p_keeping_the_token_whose_preceding_mass_is_p():
    # four equal tokens, p = 1/2: the mass before the third is exactly p, so '>= p' stops at two
    z = np.zeros(4, dtype=np.float32)
    v = cf.judge("top-p", z, {"temperature": 1.0, "p": 0.5, "min_tokens_to_keep": 1}, cp.top_p_exceeds(z, 1.0, p=0.5), "float32")
    assert (v.status, v.fault) == ("fail", "non-strict") and v.details["got_k"] == 3


def test_p_less_with_a_strict_threshold():
    # uniform over 4: p_i = 1/4 = sum p^2 exactly; '>' keeps no token but the one every sampler keeps
    z = np.zeros(4, dtype=np.float32)
    v = cf.judge("p-less", z, {"temperature": 1.0}, np.array([1, 0, 0, 0], bool), "float32")
    assert (v.status, v.fault) == ("fail", "non-strict") and "'>' used instead of '>='" in v.message


@pytest.mark.parametrize("careful, mutant, method, policy, also", [
    (cp.top_n_sigma, cp.top_n_sigma_masked_as_zero, "top-n-sigma", "sample-std", set()),
    (cp.top_n_sigma, cp.top_n_sigma_masked_as_zero, "top-n-sigma", "paper", {"sample-std"}),
    (cp.typical_no_min_keep, cp.typical_masked_as_zero, "typical", "paper", set()),
])
def test_a_statistic_over_masked_entries_is_masked_as_zero(careful, mutant, method, policy, also):
    assert _run(careful, method, unsupported=MK if method == "typical" else ()).ok
    report = _run(mutant, method, vectors=False, examples=20, families=["masked"], policy=policy)
    assert _faults(report) == {"masked-as-zero"}, report.text()
    named = set().union(*(r["details"]["diagnosis"] for r in report.failures))
    assert named == {"masked-as-zero"} | also


def test_dynatemp_over_the_finite_candidates_is_a_policy():
    careful = _run(cp.dynatemp_finite, "dynatemp", "float64", policy="finite-candidates")
    assert careful.ok, careful.text()
    assert "policy=finite-candidates" in careful.text()
    # under llama.cpp's count the same port fails, named
    assert _faults(_run(cp.dynatemp_finite, "dynatemp", "float64")) == {"n-finite-only"}
    # under finite-candidates: llama.cpp's count, and an entropy over masked_fill(-inf -> 0), named
    assert _faults(_run(cp.dynatemp_all_entries, "dynatemp", "float64", policy="finite-candidates")) == {"n-all-entries"}
    assert _faults(_run(cp.dynatemp_finite_masked_as_zero, "dynatemp", "float64", policy="finite-candidates")) == {"masked-as-zero"}


def test_the_reference_and_kernels_count_finite_candidates():
    from ees_theory import reference
    from ees_theory.engines.builtin import builtin_port

    z = [0.0, 0.0, -np.inf, -np.inf]  # H = ln 2: T_max when n = 2 (finite), not when n = 4
    assert float(reference.dynatemp_temperature(z, 1.0, 0.5, 1.0, policy="finite-candidates")) == 1.5
    assert float(reference.dynatemp_temperature(z, 1.0, 0.5, 1.0)) == 1.0  # 0.5 + (1.5 - 0.5) * ln 2 / ln 4
    with pytest.raises(ValueError, match="one finite candidate"):
        reference.dynatemp_temperature([0.0, -np.inf], 1.0, 0.5, 1.0, policy="finite-candidates")
    with pytest.raises(ValueError, match="not defined for dynatemp"):
        reference.dynatemp_temperature(z, 1.0, 0.5, 1.0, policy="transformers")
    port = builtin_port("dynatemp", "float32", "input", policy="finite-candidates")
    assert port.run("dynatemp", [np.array(z, np.float32)], [{"temp": 1.0, "delta": 0.5, "exponent": 1.0}], "float32")[0].value == 1.5


def test_a_temperature_that_cannot_change_the_distribution_is_skipped():
    # a guard that answers T_max on one finite candidate: nothing to judge there
    report = _run(cp.dynatemp_llama_one_candidate_guard, "dynatemp", "float64")
    assert report.ok, report.text()
    assert "the temperature cannot change the distribution: the row has one finite candidate" in _skips(report)
    one = [cf.Case("one", "dynatemp", "hand", np.array([0.0, -np.inf]), {"temp": 1.0, "delta": 0.5, "exponent": 1.0})]
    r = run_check(InProcessPort(cp.dynatemp_llama_one_candidate_guard, "guard"), "dynatemp", "float64", one)
    assert r.counts()["skipped"] == 1 and r.counts()["cases"] == 0


def test_unsupported_is_checked():
    assert check_unsupported("top-p", "min_tokens_to_keep, min_tokens_to_keep") == MK
    with pytest.raises(ValueError, match="has no value meaning \"off\""):
        check_unsupported("top-p", "p")
    with pytest.raises(ValueError, match="has no parameter 'mass'"):
        check_unsupported("top-p", ["mass"])
    with pytest.raises(ValueError, match="has no parameter"):
        cf.check("tests.meta.convention_ports:top_p_no_min_keep", "top-p", vectors=False, examples=1, isolate=False, unsupported="k")


def test_check_command_takes_unsupported_and_policy(capsys):
    port = "tests.meta.convention_ports:top_p_no_min_keep"
    assert main(["check", port, "--method", "top-p", "--dtype", "float32", "-n", "30", "--unsupported", "min_tokens_to_keep",
                 "--in-process", "--no-shrink", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert NO_MIN_KEEP in out and "CONFORMS" in out
    assert main(["check", "tests.meta.convention_ports:dynatemp_finite", "--method", "dynatemp", "--policy", "finite-candidates",
                 "-n", "30", "--in-process", "--workers", "1", "-q"]) == 0
    assert main(["check", "tests.meta.convention_ports:dynatemp_finite", "--method", "ees", "--policy", "finite-candidates",
                 "-n", "1", "--in-process"]) == 2  # a policy ees does not have: a usage error
    assert "not defined for ees" in capsys.readouterr().err


def test_a_slow_import_has_its_own_bound():
    # the import sleeps 1.5 s: longer than the per-call timeout, well inside the import bound
    report = cf.check("tests.meta.slow_import_port:ees", "ees", vectors=False, examples=3, timeout=1.0)
    assert report.counts()["cases"] == 3
    with pytest.raises(PortLoadError, match="--import-timeout"):
        cf.check("tests.meta.slow_import_port:ees", "ees", vectors=False, examples=1, timeout=10.0, import_timeout=0.3)


def test_an_engine_row_declares_what_it_lacks():
    from ees_theory.engines.registry import EngineRow, run_row

    row = EngineRow("front-end", "min-p", "paper", adapter="tests.meta.convention_ports:adapter", dtypes=("float32",), unsupported=MK)
    res = run_row(row, "float32", examples=30, shrink=False)
    assert res.verdict == "conforms" and res.skipped_reasons.get(NO_MIN_KEEP, 0) >= 3, res.to_json()
    bare = EngineRow("front-end", "min-p", "paper", adapter="tests.meta.convention_ports:adapter", dtypes=("float32",))
    assert run_row(bare, "float32", examples=30, shrink=False).verdict == "fails"  # called with a parameter it has not


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_the_kernel_conforms_under_finite_candidates(dtype):
    opts = Options(accumulate="input", policy="finite-candidates")
    report = cf.check("builtin:input", "dynatemp", dtype, examples=30, options=opts, isolate=False, shrink=False)
    assert report.ok, report.text()

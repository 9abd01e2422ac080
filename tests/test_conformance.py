"""Judging: verdicts against hand arithmetic, admissibility inside the error bound, ties, the
report, shrinking and the reproduction line."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ees_theory import harness as cf
from ees_theory.judging import methods as judging_methods
from ees_theory.families import strategies
from ees_theory.harness import Case, InProcessPort, Options, judge, run_check
from ees_theory.spec.formats import cast, exact_in, from_hex, to_hex
from ees_theory.judging.methods import ees_admissible
from ees_theory import reference
from tests.ports import numpy_port


def mask(v, ids):
    m = np.zeros(v, dtype=bool)
    m[list(ids)] = True
    return m


def test_ees_verdicts_follow_hand_arithmetic():
    # p = softmax([2, 1, 0]) = (0.665, 0.245, 0.090); P_2 = 0.910;
    # H_2 = ln P_2 + S_2 / P_2 with S_2 = -(p1 ln p1 + p2 ln p2); Hbar_2 = H_2 / ln 2
    p = np.exp([2.0, 1.0, 0.0]) / np.exp([2.0, 1.0, 0.0]).sum()
    P2 = p[0] + p[1]
    H2 = math.log(P2) - (p[0] * math.log(p[0]) + p[1] * math.log(p[1])) / P2
    assert H2 / math.log(2) < P2  # token 2 crosses: keep 1
    z = np.array([2.0, 1.0, 0.0])
    assert judge("ees", z, {"temperature": 1.0}, mask(3, [0]), "float64").status == "pass"
    v = judge("ees", z, {"temperature": 1.0}, mask(3, [0, 1]), "float64")
    assert (v.status, v.fault) == ("fail", "crossing-included")
    assert "keeps k*=1" in v.message and "certified f(2)" in v.message


def test_uniform_row_exact_tie_is_admissible_unless_strict_and_binding_on_two_tokens():
    z = np.zeros(3)
    assert judge("ees", z, {"temperature": 1.0}, mask(3, [0, 1, 2]), "float16").status == "pass"
    # f(3) = 0 exactly; a float evaluation may round it below 0: its own category, --strict fails it
    v = judge("ees", z, {"temperature": 1.0}, mask(3, [0, 1]), "float32")
    assert v.status == "admissible" and v.details["category"] == "exact-tie" and "--strict" in v.message
    v = judge("ees", z, {"temperature": 1.0}, mask(3, [0, 1]), "float32", Options(strict=True))
    assert (v.status, v.fault) == ("fail", "exact-tie")
    # two tied tokens: f(2) = ln 2 / ln 2 - 2 / 2 is exact where ln 2 is rounded alike in H_2 and
    # in ln k, so dropping one is '<='; in bfloat16 a float ln k (math.log) makes Hbar_2 = 0.996
    for dtype in ("float64", "float32", "float16"):
        v = judge("ees", np.zeros(2), {"temperature": 0.7}, mask(2, [0]), dtype)
        assert (v.status, v.fault) == ("fail", "non-strict")
        assert "f(2) < 0 (a crossing at 2)" in v.message and "[0, 0]" in v.message
    v = judge("ees", np.zeros(2), {"temperature": 0.7}, mask(2, [0]), "bfloat16")
    assert v.status == "admissible" and "closed-float-ln-k" in v.message
    # f(2) = 1 - 2/3 = 1/3 and f(3) = 0 exactly: with a bound below 1/3 only k = 3 is admissible
    assert ees_admissible(reference.ees(z), 0.1) == {3}
    assert ees_admissible(reference.ees(z), 0.5) == {1, 3}


def test_inside_the_bound_either_decision_is_admissible():
    # Hbar_2 = 1 and P_2 = 2 / (2 + e^-12): f(2) = e^-12 / (2 + e^-12) = 3.07e-6 > 0, so token 2
    # does not cross and k* = 2; f(3) = Hbar_3 - 1 < 0 by far, so keeping all 3 is never right
    z = np.array([0.0, 0.0, -12.0])
    r = reference.ees(z)
    f2 = math.exp(-12) / (2 + math.exp(-12))
    assert r.k == 2 and r.decisions[0].f_lo <= f2 <= r.decisions[0].f_hi
    assert judge("ees", z, {"temperature": 1.0}, mask(3, [0]), "float64").status == "fail"
    # bfloat16 arithmetic: P_2 = 2 / (2 + e^-12) may round to 1, so crossing at 2 is admissible
    v = judge("ees", z, {"temperature": 1.0}, mask(3, [0]), "bfloat16", Options(accumulate="input"))
    assert v.status == "admissible" and ("band" in v.message or "careful bfloat16 implementation" in v.message)
    # float32 arithmetic resolves f(2) = 3.07e-6: the row's band excludes 0, so the crossing is wrong
    v = judge("ees", z, {"temperature": 1.0}, mask(3, [0]), "bfloat16", Options(accumulate="float32"))
    assert v.status == "fail" and "f(2) < 0 (a crossing at 2)" in v.message
    assert judge("ees", z, {"temperature": 1.0}, mask(3, [0, 1, 2]), "bfloat16", Options(accumulate="input")).status == "fail"


def test_ties_masked_tokens_and_prefixes():
    z = np.array([1.0, 0.0, 0.0, 0.0, -5.0])
    r = reference.ees(z)
    assert 1 < r.k < 4  # the tie block {1, 2, 3} straddles the boundary
    other = [0] + [3, 2, 1][: r.k - 1]
    assert judge("ees", z, {"temperature": 1.0}, mask(5, r.kept), "float64").status == "pass"
    assert judge("ees", z, {"temperature": 1.0}, mask(5, other), "float64").status == "admissible"
    v = judge("ees", z, {"temperature": 1.0}, mask(5, other), "float64", Options(strict_ties=True))
    assert v.fault == "tie-order"
    v = judge("ees", z, {"temperature": 1.0}, mask(5, [1]), "float64")
    assert v.fault == "not-a-prefix"
    zm = np.array([1.0, -np.inf, 0.0])
    v = judge("ees", zm, {"temperature": 1.0}, mask(3, [0, 1]), "float64")
    assert v.fault == "kept-masked"


def test_output_faults():
    z = np.array([1.0, 0.0])
    assert judge("ees", z, {"temperature": 1.0}, [True, False], "float64").status == "pass"  # lists are read
    assert judge("ees", z, {"temperature": 1.0}, np.ones(3, bool), "float64").fault == "bad-output"
    assert judge("ees", z, {"temperature": 1.0}, np.array([np.nan, 1.0]), "float64").fault == "nan"
    assert judge("ees", z, {"temperature": 1.0}, None, "float64").fault == "bad-output"
    params = {"T0": 1.0, "theta": 0.5, "N": 0.8}
    assert judge("edt", z, params, None, "float64").fault == "bad-output"
    assert judge("edt", z, params, float("inf"), "float64").fault == "nan"
    assert judge("edt", z, params, True, "float64").fault == "bad-output"


def test_temperature_tolerance_by_dtype():
    # uniform over 2 with theta = ln 2: T = N * T0 = 0.8 exactly
    z, params = np.zeros(2), {"T0": 1.0, "theta": math.log(2), "N": 0.8}
    assert judge("edt", z, params, 0.8, "float64").status == "pass"
    assert judge("edt", z, params, 0.8 * (1 + 1e-9), "float64").status == "fail"
    assert judge("edt", z, params, 0.8 * (1 + 1e-9), "float32").status == "pass"
    assert judge("edt", z, params, 0.80078125, "float16").status == "pass"  # 0.8 + 2 float16 ulps: where careful ports land
    # inside the rigorous float16 band (0.8 +- 0.34%) but 5 ulps away from every careful style: suspect
    v = judge("edt", z, params, 0.8025, "float16")
    assert (v.status, v.fault) == ("fail", "suspect") and "--bands rigorous" in v.message
    assert judge("edt", z, params, 0.8025, "float16", Options(bands="rigorous")).status == "admissible"
    assert judge("edt", z, params, 0.81, "float16").status == "fail"  # inside 64u (3.1%), outside the band
    assert judge("edt", z, params, 0.9, "float16").status == "fail"
    # one candidate: greedy, T = 0 exactly
    assert judge("edt", np.array([0.0, -np.inf]), params, 0.0, "float64").status == "pass"
    assert judge("edt", np.array([0.0, -np.inf]), params, 1e-3, "float64").status == "fail"


def test_dynatemp_no_op_and_masked_n():
    p = {"temp": 1.0, "delta": 0.5, "exponent": 1.0}
    assert judge("dynatemp", np.array([0.3]), p, None, "float64").status == "pass"
    assert judge("dynatemp", np.array([0.3]), p, 1.0, "float64").fault == "no-op-applied"
    assert judge("dynatemp", np.zeros(2), p, None, "float64").fault == "wrong-no-op"
    # n = 4 entries, H = ln 2: T = 0.5 + 1.0 * (ln 2 / ln 4) = 1.0; counting finite only gives 1.5
    z = np.array([0.0, -np.inf, 0.0, -np.inf])
    assert judge("dynatemp", z, p, 1.0, "float64").status == "pass"
    v = judge("dynatemp", z, p, 1.5, "float64")
    assert v.fault == "n-finite-only" and "-inf included" in v.message


def test_codec_round_trips_and_bf16():
    for x in (0.1, -0.0, 5e-324, 1.7976931348623157e308, float("-inf")):
        assert from_hex(to_hex(x)) == x or (math.isnan(x) and math.isnan(from_hex(to_hex(x))))
    assert cast(np.array([1 + 2.0**-8]), "bfloat16").tolist() == [1.0]  # a tie rounds to even
    assert cast(np.array([1 + 3 * 2.0**-8]), "bfloat16").tolist() == [1 + 2.0**-6]
    assert not exact_in(np.array([65520.0]), "float16")  # overflows to inf


@settings(max_examples=40)
@given(row=strategies.logits(min_vocab=2, max_vocab=48), tau=st.sampled_from([0.5, 1.0, 2.0]))
def test_correct_port_is_never_failed_on_property_suite_rows(row, tau):
    v = judge("ees", row, {"temperature": tau}, numpy_port.ees(row.copy(), tau), "float64")
    assert v.status != "fail", v.message


def test_generated_cases_are_deterministic_and_exact():
    a = cf.generated_cases("ees", "bfloat16", 30, seed=5)
    b = cf.generated_cases("ees", "bfloat16", 40, seed=5)
    assert all(x == y for x, y in zip(a, b[:30]))  # a longer run extends a shorter one
    assert all("bfloat16" in c.dtypes and np.isfinite(c.logits).any() for c in a)
    with pytest.raises(ValueError, match="unknown family"):
        cf.generated_cases("ees", "float32", 1, families=["nope"])


def test_report_table_shrinking_and_repro_line_reproduce_the_failure(capsys):
    from ees_theory.cli import main
    from tests.meta import mutant_ports

    cases = cf.plan("ees", "float64", vectors=False, examples=12, seed=2)
    report = run_check(InProcessPort(mutant_ports.ees_crossing_included, "m"), "ees", "float64", cases,
                       port_spec="tests.meta.mutant_ports:ees_crossing_included")
    table = report.table()
    assert table.splitlines()[0].split()[:6] == ["family", "cases", "passed", "admiss.", "failed", "uncert."]
    fail = report.failures[0]
    shrunk = fail["shrunk"]
    assert shrunk["vocab"] <= fail["vocab"] and shrunk["vocab"] <= 3
    line = shrunk["repro"]
    assert line.startswith("ees-theory check tests.meta.mutant_ports:ees_crossing_included --method ees --dtype float64 --case ")
    payload = line.split("--case ", 1)[1].strip("'")
    rc = main(["check", "tests.meta.mutant_ports:ees_crossing_included", "--in-process", "--case", payload, "--no-shrink"])
    out = capsys.readouterr().out
    assert rc == 1 and "[crossing-included]" in out and "1 failed" in out
    assert json.loads(payload)["logits"] == shrunk["logits"]


def test_unknown_method_and_bad_port_names():
    with pytest.raises(ValueError, match="unknown method"):
        cf.get_method("nucleus")
    with pytest.raises(ValueError, match="module:callable"):
        cf.open_port("no_colon_here", "ees", "float64", isolate=False)
    with pytest.raises(ValueError, match="has no attribute"):
        cf.open_port("tests.ports.numpy_port:nope", "ees", "float64", isolate=False)
    with pytest.raises(ValueError, match="dtype must be one of"):
        cf.open_port("tests.ports.numpy_port:ees", "ees", "float8", isolate=False)


def test_a_new_method_plugs_into_the_registry():
    class Greedy(judging_methods.EES):
        name = "greedy-demo"

        def reference(self, row, params, options):
            return reference.ees(row, 1e-6)  # the temperature -> 0 limit keeps the top token

    cf.register_method(Greedy())
    try:
        z = np.array([0.5, 2.0, 1.0])
        assert judge("greedy-demo", z, {"temperature": 1.0}, mask(3, [1]), "float64").status == "pass"
    finally:
        del cf.METHODS["greedy-demo"]


@pytest.mark.parametrize("method", ["ees", "edt", "dynatemp"])
def test_builtin_float_variants_conform_in_every_dtype(method):
    pytest.importorskip("torch")
    reports = cf.check_builtin(methods=[method])
    bad = [r.text() for r in reports if not r.ok]
    assert not bad, "\n\n".join(bad)
    assert len(reports) == 8


def test_batched_form_is_detected_used_and_falls_back():
    from ees_theory.running.ports import find_batched, load_callable

    calls = {"batched": 0, "one": 0}

    def one(z, t):
        calls["one"] += 1
        return numpy_port.ees(z, t)

    def batched(rows, temps):
        calls["batched"] += 1
        assert rows.ndim == 2 and temps.shape == (rows.shape[0],)
        return numpy_port.ees_batched(rows, temps)

    cases = cf.plan("ees", "float32", vectors=False, examples=40, seed=1, families=["normal"])
    report = run_check(InProcessPort(one, "b", batched), "ees", "float32", cases)
    assert report.ok and calls["batched"] >= 1 and calls["one"] < 40
    # a batched form that raises: every row is run alone instead, and still judged
    calls.update(batched=0, one=0)

    def broken(rows, temps):
        calls["batched"] += 1
        raise RuntimeError("no batches today")

    report = run_check(InProcessPort(one, "b", broken), "ees", "float32", cases)
    assert report.ok and calls["one"] == 40
    fn = load_callable("tests.ports.numpy_port:ees")
    assert find_batched(fn, "tests.ports.numpy_port:ees").__name__ == "ees_batched"
    assert cf.open_port("tests.ports.numpy_port:ees", "ees", "float32", isolate=False).batched


def test_hunt_finds_and_shrinks_a_failure_and_passes_a_correct_port(tmp_path):
    from ees_theory.running.hunt import hunt
    from tests.meta import mutant_ports

    # '<=' differs from '<' on exact zeros; only the two-token uniform row's is exact in every
    # float evaluation (larger uniform rows are exact ties a port may round): small rows find it
    case, verdict, tried = hunt(InProcessPort(mutant_ports.ees_non_strict, "m"), "ees", "float64", examples=300, max_vocab=8)
    assert verdict.fault == "non-strict"
    assert case.vocab == 2 and case.logits[0] == case.logits[1]  # shrunk to the smallest uniform row
    case, verdict, tried = hunt(InProcessPort(numpy_port.dynatemp, "ok"), "dynatemp", "float32", examples=150)
    assert case is None and tried >= 100
    out = tmp_path / "h.jsonl"
    kw = dict(vectors=False, examples=2, isolate=False, journal=out)
    cf.check("tests.ports.numpy_port:ees", "ees", "float64", **kw)
    from ees_theory.running.runner import run_check as rc

    report = rc(cf.open_port("tests.ports.numpy_port:ees", "ees", "float64", isolate=False), "ees", "float64",
                cf.plan("ees", "float64", vectors=False, examples=2), journal=out, resume=True, hunt=50,
                port_spec="tests.ports.numpy_port:ees")
    ids = [r["case"] for r in report.records]
    assert ids[-1] == "hunt-ees-float64" and len(ids) == 3 and report.ok

"""Token-level engine rows: registered in the matrix as form "draws", runnable, reachable from
the command line as engine:NAME:METHOD with --draws."""

import subprocess
import sys

import numpy as np
import pytest

from ees_theory.engines import draws as ed
from ees_theory.engines.registry import run_row
from ees_theory.engines.table import rows


def test_every_token_level_engine_is_a_draws_row():
    got = {(r.engine, r.method) for r in rows() if r.form == "draws"}
    for engine, (_, methods, _, _) in ed.ENGINES.items():
        assert {(ed.ROW_NAMES[engine], m) for m in methods} <= got
    assert ("vllm-sampler", "top-p") in got and ("flashinfer-sampler", "top-k") in got


def test_gpu_sampler_rows_say_why_they_do_not_run():
    row = next(r for r in rows() if r.engine == "flashinfer-sampler" and r.method == "top-p")
    res = run_row(row, "float32")
    assert res.verdict == "not-run" and "CUDA" in res.reason


def test_the_exponential_race_conforms_on_a_few_cases():
    r = ed.run_draws_row("exponential-race", "min-p", "float32", examples=3, draws=3000, shrink=False)
    assert r.ok and r.counts()["passed"] >= 3


def test_a_draws_row_result_carries_counts_and_the_plan():
    row = next(r for r in rows() if r.engine == "exponential-race" and r.method == "top-k")
    res = row.runner(row, "float32", examples=2, seed=1)
    assert res.form == "draws" and res.verdict == "conforms"
    assert res.cases == res.passed + res.admissible + res.failed + res.skipped
    assert "detectable total variation" in res.reason


def test_llama_cpp_chain_ending_in_dist_draws_inside_the_kept_set():
    pytest.importorskip("llama_cpp")
    fn = ed.factory("llama.cpp", "top-k", "float32")
    z = np.array([2.0, 1.5, 1.0, 0.5, 0.0], dtype=np.float32)
    tokens = fn(z, 1.0, 2000, 7, k=2)
    assert set(tokens.tolist()) == {0, 1}
    assert np.array_equal(tokens, fn(z, 1.0, 2000, 7, k=2))  # the seed fixes the draws


def test_factory_refuses_what_an_engine_cannot_do():
    with pytest.raises(ValueError, match="no token-level engine"):
        ed.factory("nope", "top-k", "float32")
    with pytest.raises(ValueError, match="bfloat16"):
        ed.factory("exponential-race", "top-k", "bfloat16")


def test_command_line_runs_a_token_level_engine():
    res = subprocess.run([sys.executable, "-m", "ees_theory", "check", "engine:exponential-race:top-p", "--method", "top-p",
                          "--dtype", "float32", "--draws", "2000", "--examples", "2", "--vectors", "none"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "port engine:exponential-race:top-p" in res.stdout and "CONFORMS" in res.stdout


def test_llama_cpp_mirostat_breaks_an_exact_tie_freely():
    # a uniform row: llama.cpp's mirostat v2 keeps one token of the tie, any one; that is admissible
    pytest.importorskip("llama_cpp")
    from ees_theory.judging.draws import judge_draws
    from ees_theory.judging.methods import Options

    z = np.zeros(64, dtype=np.float32)
    tokens = ed.factory("llama.cpp", "mirostat-v2", "float32")(z, 1.0, 100, 5, tau=2.0, eta=0.1)
    v = judge_draws("mirostat-v2", z, {"temperature": 1.0, "tau": 2.0, "eta": 0.1}, tokens, "float32", Options(policy="llama.cpp"), 5)
    assert v.status == "tested" and v.pvalue > 1e-6


def test_a_uniform_row_is_judged_not_refused():
    """A uniform row under a keep-ties top-k: every admissible kept count is >= 1, so the draws
    are tested (a count of 0 once made the exact block probabilities 0/0 and the case untested)."""
    from ees_theory.judging.draws import judge_draws
    from ees_theory.judging.methods import Options

    tokens = np.random.default_rng(0).integers(0, 8, size=4000)
    v = judge_draws("top-k", np.zeros(8, dtype=np.float32), {"temperature": 2.0, "k": 2, "min_tokens_to_keep": 1}, tokens, "float32",
                    Options(policy="transformers"), 0)
    assert v.status == "tested" and v.pvalue > 1e-6


def test_torch_multinomial_float16_draws_of_zero_probability_are_named():
    # torch.multinomial on the CPU in float16 returns indices it was handed with probability exactly
    # 0 (its exponential race casts q ~ Exp(1) to float16, where a small q becomes 0 and p / q = 0 / 0).
    # One kept token among 4096 whose other probabilities are 0 in float16 (e**-30): a few of 20,000
    # draws land on the zeros; the adapter records them and a failure of that case names the cause
    # (the draws judge's own verdict on such draws, a certain outside-support failure, is tested with
    # the judge; it takes a minute on a row this long)
    from types import SimpleNamespace

    from ees_theory.harness import Case

    row = np.full(4096, -30.0)
    row[7] = 0.0
    case = Case("one-hot-4096", "ees", "one-hot", row, {"temperature": 1.0})
    fn = ed.factory("torch.multinomial", "ees", "float16")
    tokens = fn(row, 1.0, 20000, 0)
    count, zero = fn.zero_draws[next(iter(fn.zero_draws))]
    assert count >= 1 and 7 not in zero and zero <= set(tokens.tolist())
    report = SimpleNamespace(records=[{"status": "fail", "case": case.id, "fault": "outside-support", "message": "drawn outside"},
                                      {"status": "pass", "case": "other", "fault": None, "message": ""}])
    ed.name_engine_faults(report, fn, [case], "float16")
    assert report.records[0]["fault"] == "multinomial-zero-probability"
    assert "pytorch/pytorch#192812" in report.records[0]["message"] and str(sorted(zero)[0]) in report.records[0]["message"]
    assert report.records[1]["fault"] is None
    # float32 and bfloat16 probabilities: no such draw, nothing recorded
    for dtype in ("float32", "bfloat16"):
        other = ed.factory("torch.multinomial", "ees", dtype)
        assert set(other(row, 1.0, 20000, 0).tolist()) == {7} and not other.zero_draws, dtype

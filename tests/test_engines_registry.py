"""The engine registry, the ``engine:`` port scheme, ``--method temperature`` and the matrix command."""

import json

import numpy as np
import pytest

from ees_theory import harness as cf
from ees_theory.cli import main
from ees_theory.engines import registry, table
from ees_theory.engines.registry import EngineRow, register, run_row
from ees_theory.judging.scaling import judge_scaled


def _bad_topk(method, dtype, policy="paper"):
    # keeps one token fewer than asked: a port that must fail under every policy
    def fn(logits, temperature, k, min_tokens_to_keep=1):
        z = np.asarray(logits, dtype=np.float64)
        mask = np.zeros(len(z), dtype=bool)
        mask[np.argsort(-z, kind="stable")[: max(k - 1, 0)]] = True
        return mask

    return fn


def test_register_rejects_duplicates_and_bad_rows():
    row = EngineRow("t-dup", "top-k", "paper", adapter="ees_theory.examples:top_k_engine")
    register(row)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register(row)
    finally:
        registry._ROWS.pop(row.key)
    with pytest.raises(ValueError, match="no ':'"):
        EngineRow("a:b", "top-k", adapter="x:y")
    with pytest.raises(ValueError, match="needs a runner"):
        EngineRow("d", "top-k", form="draws")
    with pytest.raises(ValueError, match="form must be"):
        EngineRow("d", "top-k", form="tokens", adapter="x:y")


def test_a_failing_engine_row_fails_with_a_shrunk_case():
    row = EngineRow("t-bad", "top-k", "paper", adapter="tests.test_engines_registry:_bad_topk", dtypes=("float64",))
    res = run_row(row, "float64", examples=5)
    assert res.verdict == "fails" and res.failed > 0
    assert res.first_failure["reproduce"].startswith("ees-theory check engine:t-bad:top-k --method top-k")
    assert res.to_json()["first_failure"]["fault"] == res.first_failure["fault"]


def test_draws_rows_use_their_runner_and_unknown_engines_are_errors():
    def runner(row, dtype, examples, seed):
        return registry.RowResult(row.engine, "0", row.method, row.policy, dtype, "draws", "conforms", passed=3, cases=3)

    row = EngineRow("t-draws", "multinomial", "paper", form="draws", runner=runner)
    assert run_row(row, "float32").passed == 3
    with pytest.raises(ValueError, match="unknown engine"):
        table.find_rows(["no-such"])
    with pytest.raises(ValueError, match="implements top-k, but --method is top-p"):
        table.resolve_port("engine:transformers:top-k", "top-p", "float32", "transformers")


def test_skip_case_counts_instead_of_judging():
    row = EngineRow("t-skip", "top-k", "paper", adapter="ees_theory.examples:top_k_engine", dtypes=("float64",),
                    skip_case=lambda z, p: "cannot see it" if len(z) < 4 else None)
    res = run_row(row, "float64", examples=20)
    assert res.skipped_reasons.get("cannot see it", 0) > 0
    assert res.skipped >= res.skipped_reasons["cannot see it"]


def test_scaling_judgement_is_exact_and_diagnoses():
    z = np.array([3.0, 1.0, -2.0, -np.inf])
    assert judge_scaled(z, 0.5, z / 0.5, "float32").status == "pass"
    assert judge_scaled(z, 0.5, z / 0.5 + 7.0, "float32").status == "pass"  # a common shift is invisible to softmax
    assert judge_scaled(z, 0.5, z * 0.5, "float32").fault == "multiplied"
    assert judge_scaled(z, 0.5, z / 0.25, "float32").fault == "squared"
    bad = z / 0.5
    bad[3] = 0.0
    assert judge_scaled(z, 0.5, bad, "float32").fault == "kept-masked"
    off = z / 0.5
    off[1] = np.nextafter(np.float32(off[1]), np.float32(100), dtype=np.float32) + 1e-3
    assert judge_scaled(z, 0.5, off, "float32").fault == "wrong-scaled-logit"


def test_scaling_method_in_check(tmp_path):
    report = cf.check("tests.test_engines_registry:_halve", "temperature", "float16", vectors=False, examples=10, isolate=False, shrink=False)
    assert not report.ok and {f["fault"] for f in report.failures} <= {"temperature-ignored", "multiplied", "wrong-scaled-logit"}


def _halve(logits, temperature):
    return np.asarray(logits, dtype=np.float64) / 2.0  # ignores the temperature


def test_engine_port_through_check_cli(capsys):
    pytest.importorskip("transformers")
    status = main(["check", "engine:transformers:top-k", "--method", "top-k", "--policy", "transformers",
                   "--dtype", "float32", "-n", "5", "--in-process", "-q"])
    out = capsys.readouterr().out
    assert status == 0 and "CONFORMS" in out


def test_engines_command_lists_and_writes_json(tmp_path, capsys):
    out_file = tmp_path / "m.jsonl"
    status = main(["engines", "--engine", "vllm", "--engine", "ees_theory.kernels", "--method", "top-k", "-n", "3", "--json", str(out_file)])
    text = capsys.readouterr().out
    rows = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert status == 0
    keys = {"engine", "engine_version", "method", "policy", "dtype", "verdict", "passed", "admissible", "failed", "first_failure"}
    assert all(keys <= set(r) for r in rows)
    assert {r["engine"] for r in rows} == {"vllm", "ees_theory.kernels"}
    assert {r["verdict"] for r in rows if r["engine"] == "ees_theory.kernels"} == {"conforms"}
    assert all(r["verdict"] == "not-run" and r["reason"] for r in rows if r["engine"] == "vllm")  # no CUDA in CI
    assert "not run" in text
    assert main(["engines", "--engine", "nope"]) == 2


def test_engine_port_runs_isolated_in_a_worker():
    import ees_theory.engines  # noqa: F401 - registers the engine: scheme

    report = cf.check("engine:ees_theory.kernels:temperature", "temperature", "float32", vectors=False, examples=4, isolate=True, timeout=60)
    assert report.ok and report.counts()["passed"] == 4

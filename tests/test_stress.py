"""``ees-theory stress``: sweeps, implementations, rates, the results file and --resume."""

import json

import pytest

from ees_theory.cli import main
from ees_theory.cli.stress import parse_impl, parse_sweep


def test_parse_sweep_and_impl():
    assert parse_sweep("2") == [2.0]
    assert parse_sweep("0.1:10:3") == [0.1, 1.0, 10.0]
    for bad in ("0:1:3", "1:2", "x", "-1", "nan", "0.5:inf:3", "0.5:nan:3"):
        with pytest.raises(ValueError):
            parse_sweep(bad)
    assert parse_impl("bfloat16", None) == ("builtin:float32", "bfloat16", "float32")
    with pytest.raises(ValueError, match="contradicts"):
        parse_impl("float16", "float32")
    with pytest.raises(ValueError, match="accumulation mode"):
        parse_impl("float16:double", None)


def _lines(path):
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def test_stress_builtin_writes_results_and_resumes(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "s.jsonl"
    args = ["stress", "--impl", "float16:input", "--vocab", "8,64", "--temperature", "0.5:2:3", "-n", "24",
            "--out", str(out), "--no-progress", "--family", "normal", "--family", "peaked"]
    rc = main(args)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "disagreement outside the error bound: 0.0000%" in text and "NaN/inf outputs: 0" in text
    assert "temperature=0.5" in text and "temperature=2.0" in text
    lines = _lines(out)
    cases = [ln for ln in lines if ln["kind"] == "case"]
    assert len(cases) == 24 and {c["family"] for c in cases} == {"normal", "peaked"}
    assert {c["vocab"] for c in cases} <= {8, 64}
    assert main(args + ["--resume"]) == 0  # everything recorded: nothing is run again
    capsys.readouterr()
    again = [ln for ln in _lines(out) if ln["kind"] == "case"]
    assert [c["case"] for c in again] == [c["case"] for c in cases]


def test_stress_reports_nan_outputs_and_disagreement(tmp_path, capsys):
    out = tmp_path / "m.jsonl"
    rc = main(["stress", "--impl", "tests.meta.mutant_ports:edt_fp16_log_underflow", "--method", "edt", "--dtype", "float16",
               "--in-process", "--family", "wide_range", "--vocab", "16", "-n", "12", "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 1
    nan = [ln for ln in _lines(out) if ln.get("fault") == "nan"]
    thetas = [ln["params"]["theta"] for ln in _lines(out) if ln["kind"] == "case"]
    # every row underflows in float16, so every row with theta > 0 takes log(0): NaN
    assert len(nan) == sum(t > 0 for t in thetas) > 0
    assert f"NaN/inf outputs: {len(nan)}" in text
    out2 = tmp_path / "c.jsonl"
    rc = main(["stress", "--impl", "tests.meta.mutant_ports:ees_crossing_included", "--dtype", "float64", "--in-process",
               "--vocab", "8", "-n", "10", "--out", str(out2), "--no-progress", "--no-shrink"])
    text = capsys.readouterr().out
    rows = [ln for ln in _lines(out2) if ln["kind"] == "case"]
    failed = [ln for ln in rows if ln["status"] == "fail"]
    # the mutant is right only where there is no crossing at all (k* = n, e.g. a uniform row)
    assert all(ln["fault"] == "crossing-included" for ln in failed) and len(failed) >= 5
    assert all(ln["details"]["expected_k"] == ln["details"]["n"] for ln in rows if ln["status"] == "pass")
    assert rc == 1 and f"disagreement outside the error bound: {len(failed) / len(rows):.4%}" in text

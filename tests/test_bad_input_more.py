"""Bad input gets a clear error, never a traceback, NaN or a false verdict: scalars and ragged
lists to the reference, the dynatemp warper on a single token, hostile files for ``explain``,
non-finite values in ``explain --json``, and CLI domain errors (usage errors, exit status 2)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ees_theory import reference

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "ees_theory", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("call", [
    lambda x: reference.ees(x),
    lambda x: reference.entropy(x),
    lambda x: reference.truncate("top-k", x, k=1),
    lambda x: reference.edt_temperature(x, 1.0, 0.5),
    lambda x: reference.dynatemp_temperature(x, 1.0, 0.5, 1.0),
])
def test_reference_refuses_a_python_scalar_and_ragged_lists(call):
    for scalar in (1.0, 3, np.float64(2.0)):
        with pytest.raises(TypeError, match="must be a row .* got the scalar"):
            call(scalar)
    with pytest.raises(ValueError, match="ragged"):
        call([[1.0, 2.0], [3.0]])


def test_reference_refuses_absurd_nesting():
    deep = 1.0
    for _ in range(500):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 32 lists deep"):
        reference.ees(deep)


def test_dynatemp_warper_on_one_token_rejects_nan_and_empty_rows():
    torch = pytest.importorskip("torch")
    from ees_theory.hf import DynaTempLogitsWarper

    w = DynaTempLogitsWarper(0.8, 0.5, 1.0)
    assert w(None, torch.tensor([[0.5]])).tolist() == [[0.5]]  # a single candidate: nothing to do
    for bad, says in ((torch.tensor([[float("nan")]]), "NaN"), (torch.tensor([[float("inf")]]), r"\+inf"), (torch.zeros(1, 0), "empty")):
        with pytest.raises(ValueError, match=says):
            w(None, bad)


def _npy_claiming(path: Path, shape: tuple) -> None:
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (118 - len(header)) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 16)


def test_explain_file_refuses_directories_deep_json_and_lying_npy_headers(tmp_path):
    (tmp_path / "row.json").mkdir()
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep2.json").write_text('{"logits": ' + "[" * 500 + "1" + "]" * 500 + "}")
    (tmp_path / "bad.json").write_text("[1, 2,")
    _npy_claiming(tmp_path / "huge.npy", (100_000_000_000,))
    (tmp_path / "junk.npy").write_bytes(b"not an npy file at all")
    expect = {
        "row.json": "is a directory",
        "deep.json": "nested too deeply",
        "deep2.json": "nested more than 32 lists deep",
        "bad.json": "not valid JSON",
        "huge.npy": "header claims shape (100000000000,)",
        "junk.npy": "not a valid .npy file",
    }
    for name, says in expect.items():
        done = _cli("explain", "--file", str(tmp_path / name))
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr, (name, done.stderr)


def test_explain_json_is_valid_json_on_extreme_rows():
    # rows whose float64 curve enclosure overflows: the JSON must still parse (JSON has no NaN)
    for args in (["--logits", "2,1,0", "-t", "1e-310"], ["--logits", "1e308,-1e308,0"]):
        done = _cli("explain", *args, "--json")
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout, parse_constant=lambda c: pytest.fail(f"{c} in explain --json"))
        assert data["k"] >= 1
        for row in data["rows"]:
            for key in ("hbar", "P", "f", "f_lo", "f_hi"):
                assert row[key] is None or isinstance(row[key], str) or math.isfinite(row[key])


@pytest.mark.parametrize("args, says", [
    (["stress", "--impl", "float64", "--rule", "bogus", "-n", "1"], "invalid choice: 'bogus'"),
    (["check", "builtin", "--case", '{"logits": ["0x1p+0", "0x0p+0"], "params": {"temperature": "-0x1p+0"}}'],
     "--case is outside the domain of ees: temperature must be a finite number > 0"),
    (["check", "builtin", "--method", "top-k", "--case", '{"logits": ["0x1p+0", "0x0p+0"], "params": {"temperature": "0x1p+0", "k": 0}}'],
     "--case is outside the domain of top-k"),
    (["check", "builtin", "--hunt", "-3", "--vectors", "none", "-n", "1"], "--hunt must be >= 0, got -3"),
    (["stress", "--impl", "float64", "--hunt", "-3", "-n", "1"], "--hunt must be >= 0, got -3"),
    (["claims", "--rows", "-1"], "--rows must be >= 1, got -1"),
])
def test_cli_domain_errors_are_usage_errors(args, says):
    done = _cli(*args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert says in done.stderr and "CONFORM" not in done.stdout and "Traceback" not in done.stderr


def test_a_run_with_nothing_judged_is_no_verdict_not_a_failure():
    from ees_theory.harness import Case, InProcessPort, run_check

    c = Case("tiny", "ees", "hand", np.array([1.0, 0.0]), {"temperature": -1.0})
    report = run_check(InProcessPort(lambda z, t: z == z.max(), "argmax"), "ees", "float64", [c])
    assert not report.ok and "NO VERDICT: no case was judged" in report.text() and "DOES NOT CONFORM" not in report.text()

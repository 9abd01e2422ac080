"""The harness survives ports that raise, return the wrong thing, return NaN, mutate their input,
hang or kill their process; results are appended as they come and ``--resume`` continues a killed
run without losing or repeating a case."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ees_theory.harness import Case, InProcessPort, open_port, run_check
from ees_theory.running.ports import SubprocessPort

ROOT = Path(__file__).resolve().parents[1]


def _row(v):
    # a generic non-uniform row of v tokens (the misbehaving port picks its fault by v)
    return np.linspace(1.0, -1.0, v) if v > 1 else np.array([0.5])


def _cases(sizes):
    return [Case(f"c{v}-{i}", "ees", "hand", _row(v), {"temperature": 1.0}) for i, v in enumerate(sizes)]


EXPECTED = {3: "raised", 4: "bad-output", 5: "bad-output", 6: "crashed", 7: "timeout", 9: "mutated-input"}


def test_isolated_python_port_survives_every_misbehaviour(monkeypatch):
    monkeypatch.chdir(ROOT)
    sizes = [8, 3, 8, 4, 5, 6, 8, 7, 9, 8]
    port = open_port("tests.ports.misbehaving_port:ees", "ees", "float64", isolate=True, timeout=4.0)  # room for a restart on a loaded machine
    assert isinstance(port, SubprocessPort)
    report = run_check(port, "ees", "float64", _cases(sizes), shrink=False)
    got = {r["case"]: (r["status"], r["fault"]) for r in report.records}
    assert len(got) == len(sizes)  # every case has a verdict: the run went on
    for i, v in enumerate(sizes):
        status, fault = got[f"c{v}-{i}"]
        if v in EXPECTED:
            assert (status, fault) == ("fail", EXPECTED[v]), (v, status, fault)
        else:
            assert status == "pass", (v, status, fault)
    crash = next(r for r in report.records if r["fault"] == "crashed")
    assert "exited with status 7" in crash["message"]
    shape = next(r for r in report.records if r["case"].startswith("c4-"))
    assert "shape (5,)" in shape["message"]


def test_in_process_port_verdicts_and_timeout():
    from tests.ports import misbehaving_port

    sizes = [3, 4, 5, 7, 9, 8]
    report = run_check(InProcessPort(misbehaving_port.ees, "misbehaving", timeout=0.5), "ees", "float64", _cases(sizes), shrink=False)
    faults = [r["fault"] for r in report.records]
    assert faults == ["raised", "bad-output", "bad-output", "timeout", "mutated-input", None]
    assert "RuntimeError: port failure on purpose" in report.records[0]["message"]


def test_temperature_port_nan_and_wrong_type():
    from tests.ports import misbehaving_port

    cases = [Case(f"e{v}", "edt", "hand", _row(v), {"T0": 1.0, "theta": 0.5, "N": 0.8}) for v in (3, 4)]
    report = run_check(InProcessPort(misbehaving_port.edt, "m"), "edt", "float64", cases, shrink=False)
    assert [r["fault"] for r in report.records] == ["nan", "bad-output"]
    assert "NaN" in report.records[0]["message"] and "str" in report.records[1]["message"]


def test_jsonl_subprocess_port_conforms(monkeypatch):
    from ees_theory import harness as cf

    monkeypatch.chdir(ROOT)
    for method in ("ees", "edt", "dynatemp"):
        report = cf.check(f"exec:{sys.executable} tests/ports/jsonl_port.py", method, "float32", examples=15, timeout=20)
        assert report.ok, report.text()


def test_protocol_errors_are_verdicts(tmp_path):
    script = tmp_path / "garbage.py"
    script.write_text(
        "import sys, json\n"
        "for line in sys.stdin:\n"
        "    req = json.loads(line)\n"
        "    v = len(req['logits'])\n"
        "    if v == 3: print('hello there', flush=True)\n"
        "    elif v == 4: print(json.dumps({'id': 'wrong', 'kept': [0]}), flush=True)\n"
        "    elif v == 5: print(json.dumps({'id': req['id'], 'kept': [0, 99]}), flush=True)\n"
        "    else: print(json.dumps({'id': req['id'], 'kept': [0]}), flush=True)\n"
    )
    port = SubprocessPort([sys.executable, str(script)], "garbage", timeout=10)
    report = run_check(port, "ees", "float64", _cases([3, 4, 5, 2]), shrink=False)
    faults = [r["fault"] for r in report.records]
    assert faults == ["protocol-error", "protocol-error", "bad-output", None]
    assert "not a JSON object" in report.records[0]["message"]
    assert "does not match request id" in report.records[1]["message"]
    assert "outside 0..4" in report.records[2]["message"]


def _journal_cases(path):
    lines = [json.loads(ln) for ln in Path(path).read_text().splitlines() if ln.strip()]
    return [ln["case"] for ln in lines if ln.get("kind") == "case"], lines


def test_resume_after_a_killed_run(tmp_path):
    out = tmp_path / "run.jsonl"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SLOW_PORT_SECONDS="0.15")
    cmd = [sys.executable, "-m", "ees_theory", "check", "tests.ports.slow_port:ees", "--method", "ees", "--vectors", "none",
           "-n", "24", "--json", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if out.exists() and len(_journal_cases(out)[0]) >= 4:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the harness and its port worker, hard, mid-run
        proc.wait()
    first, _ = _journal_cases(out)
    assert 4 <= len(first) < 24
    with open(out, "a") as fh:
        fh.write('{"kind":"case","case":"torn')  # a line torn by the kill
    done = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=dict(env, SLOW_PORT_SECONDS="0"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    ids, lines = _journal_cases(out)
    assert ids[: len(first)] == first  # nothing recorded before was lost
    assert len(ids) == len(set(ids)) == 24  # nothing repeated, nothing missing
    assert lines[-1]["kind"] == "summary" and lines[-1]["totals"]["cases"] == 24


def test_resume_refuses_a_different_run(tmp_path):
    from ees_theory import harness as cf

    out = tmp_path / "r.jsonl"
    cf.check("tests.ports.numpy_port:ees", "ees", "float64", vectors=False, examples=3, isolate=False, journal=out)
    with pytest.raises(ValueError, match="different run"):
        cf.check("tests.ports.numpy_port:ees", "ees", "float32", vectors=False, examples=3, isolate=False, journal=out, resume=True)

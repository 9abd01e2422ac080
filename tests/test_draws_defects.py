"""The draws pipeline against hostile ports and bad plans: nothing judged is NO VERDICT, a Python
port runs isolated (an exit, a patched judge, a KeyboardInterrupt or a hang costs its case), the
journal is written as the run goes and resumed, the other form's journal is refused, and the
draws count is bounded before any port runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ees_theory.running.cases import Case, params_to_json
from ees_theory.running.draws import InProcessDrawsPort, check_draws, open_draws_port
from ees_theory.running.ports import InProcessPort
from ees_theory.running.runner import run_check
from ees_theory.spec.formats import hex_list

from tests.ports import draws_hostile as dh

HOSTILE = "tests/ports/draws_hostile.py"
HAND = np.array([2.0, 1.0, 0.0, -1.0])
#: top-k with k = 1 on HAND keeps token 0 only: drawing token 3 is a certain failure
PARAMS = {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}
VERDICTS = ("CONFORMS", "DOES NOT CONFORM", "NO VERDICT")


def _case(i: int = 0) -> Case:
    return Case(f"hand{i}", "top-k", "hand", HAND + i, dict(PARAMS))


def _cli(port: str, *extra: str, draws: str | None = "200", env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    payload = json.dumps({"logits": hex_list(HAND), "params": params_to_json(PARAMS)})
    cmd = [sys.executable, "-m", "ees_theory", "check", port, "--method", "top-k", "--case", payload, "--no-shrink", "--draws"]
    cmd += ([draws] if draws else []) + list(extra)
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, **(env or {})))
    return res, time.monotonic() - t0


def _verdict(stdout: str) -> str:
    return next(line for line in reversed(stdout.splitlines()) if line.startswith(VERDICTS))


# ---- nothing judged ---------------------------------------------------------------------------
def test_a_run_with_every_case_skipped_is_no_verdict():
    r = check_draws(InProcessDrawsPort(dh.top1, "top1"), "top-k", cases=[_case()], draws=50,
                    skip_case=lambda row, params: "the port cannot express this case")
    assert [x["status"] for x in r.records] == ["skipped"]
    assert not r.ok  # the command line's exit status 1
    assert _verdict(r.text()).startswith("NO VERDICT")


def test_a_run_with_no_case_is_no_verdict():
    r = check_draws(InProcessDrawsPort(dh.top1, "top1"), "top-k", cases=[], draws=50)
    assert not r.ok and _verdict(r.text()) == "NO VERDICT: no case was run"


def test_the_report_speaks_the_mask_reports_words():
    cases = [_case(), Case("off", "top-k", "hand", HAND, dict(PARAMS, k=-1))]  # k = -1: outside the domain
    r = check_draws(InProcessDrawsPort(dh.top1, "top1"), "top-k", cases=cases, draws=50)
    assert [x["status"] for x in r.records] == ["pass", "skipped"]
    c = r.counts()
    assert (c["cases"], c["passed"], c["admissible"], c["failed"], c["skipped"]) == (1, 1, 0, 0, 1)
    assert r.ok and _verdict(r.text()).startswith("CONFORMS")


# ---- isolation ----------------------------------------------------------------------------------
def test_a_port_that_exits_in_a_call_fails_its_case():
    res, _ = _cli(f"{HOSTILE}:exits")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "[crashed]" in res.stdout and _verdict(res.stdout).startswith("DOES NOT CONFORM")


def test_a_port_cannot_patch_the_judge():
    res, _ = _cli(f"{HOSTILE}:patches_judge")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "[outside-support]" in res.stdout


def test_in_process_is_labelled_as_no_evidence_against_a_hostile_port():
    res, _ = _cli(f"{HOSTILE}:top1", "--in-process")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "not evidence against a hostile port" in res.stdout


def test_a_keyboard_interrupt_raised_by_the_port_is_a_raised_verdict():
    for port in (InProcessDrawsPort(dh.interrupts, "interrupts"), f"{HOSTILE}:interrupts"):
        try:
            r = check_draws(port, "top-k", cases=[_case()], draws=5, shrink=False)
        except KeyboardInterrupt:
            pytest.fail(f"the port's KeyboardInterrupt ended the run ({port})")
        rec = r.records[0]
        assert rec["fault"] == "raised" and "KeyboardInterrupt" in rec["message"], rec


def test_timeout_bounds_a_draws_call():
    res, took = _cli(f"{HOSTILE}:sleeps", "--timeout", "1", env={"EES_TEST_SLEEP": "20"})
    assert res.returncode == 1, res.stdout + res.stderr
    assert "[timeout]" in res.stdout and took < 20


def test_a_draws_ports_import_is_bounded():
    res, took = _cli("tests/ports/draws_slow_import.py:port", "--import-timeout", "2")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "did not finish loading" in res.stderr and took < 50


def test_a_token_id_past_int64_is_bad_output():
    port = open_draws_port(f"exec:{sys.executable} {HOSTILE}")
    try:
        rec = check_draws(port, "top-k", cases=[_case()], draws=5, shrink=False).records[0]
    finally:
        port.close()
    assert rec["fault"] == "bad-output" and "outside 0..3" in rec["message"], rec


# ---- the journal ----------------------------------------------------------------------------------
def test_the_journal_is_written_as_the_run_goes_and_resumed(tmp_path):
    path = tmp_path / "draws.jsonl"
    cases = [_case(i) for i in range(4)]
    calls = []

    def interrupted_at_third(z, t, n, seed, **params):
        calls.append(seed)
        if len(calls) == 3:  # the user stops the run during the third case
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        return dh.top1(z, t, n, seed)

    with pytest.raises(KeyboardInterrupt):
        check_draws(InProcessDrawsPort(interrupted_at_third, "top1"), "top-k", cases=cases, draws=100, journal=str(path))
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["header", "case", "case"]
    calls.clear()

    def counting(z, t, n, seed, **params):
        calls.append(seed)
        return dh.top1(z, t, n, seed)

    r = check_draws(InProcessDrawsPort(counting, "top1"), "top-k", cases=cases, draws=100, journal=str(path), resume=True)
    assert len(calls) == 2  # only the cases not recorded are drawn
    assert [x["case"] for x in r.records] == [c.id for c in cases] and [x["status"] for x in r.records] == ["pass"] * 4
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["header"] + ["case"] * 4 + ["summary"]


def test_a_forged_record_is_refused_on_resume(tmp_path):
    path = tmp_path / "draws.jsonl"
    argmin = lambda z, t, n, seed, **p: np.full(n, int(np.argmin(z)))  # noqa: E731 - draws outside the kept set
    r = check_draws(InProcessDrawsPort(argmin, "argmin"), "top-k", cases=[_case(0), _case(1)], draws=20, journal=str(path), shrink=False)
    assert not r.ok
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[1].update(status="pass", fault=None)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines[:-1]))
    with pytest.raises(ValueError, match="recorded with status 'pass'"):
        check_draws(InProcessDrawsPort(argmin, "argmin"), "top-k", cases=[_case(0), _case(1)], draws=20, journal=str(path), resume=True)


def _mask_journal(path) -> None:
    case = Case("a", "ees", "hand", np.array([2.0, 0.0]), {"temperature": 1.0})
    run_check(InProcessPort(lambda z, t: z == z.max(), "argmax"), "ees", "float64", [case], journal=str(path), shrink=False)


def test_resuming_a_mask_journal_with_draws_is_refused_and_leaves_it_alone(tmp_path):
    path = tmp_path / "mask.jsonl"
    _mask_journal(path)
    before = path.read_bytes()
    res, _ = _cli(f"{HOSTILE}:top1", "--json", str(path), "--resume")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "mask-form run" in res.stderr
    assert path.read_bytes() == before


def test_resuming_a_draws_journal_as_a_mask_run_is_refused(tmp_path):
    path = tmp_path / "draws.jsonl"
    check_draws(InProcessDrawsPort(dh.top1, "argmax"), "top-k", cases=[_case()], draws=20, journal=str(path))
    case = Case("a", "ees", "hand", np.array([2.0, 0.0]), {"temperature": 1.0})
    with pytest.raises(ValueError, match="records a draws run"):
        run_check(InProcessPort(lambda z, t: z == z.max(), "argmax"), "ees", "float64", [case], journal=str(path), resume=True)


# ---- the memory budget -----------------------------------------------------------------------------
def test_a_draws_count_beyond_the_budget_is_refused_before_the_port_runs():
    calls = []

    def port(z, t, n, seed, **params):
        calls.append(n)
        raise RuntimeError("never asked for this many")

    with pytest.raises(ValueError, match="memory budget"):
        check_draws(InProcessDrawsPort(port, "p"), "top-k", cases=[_case()], draws=10 ** 9)
    assert calls == []


def test_a_plan_beyond_the_budget_is_a_usage_error(tmp_path):
    marker = tmp_path / "called"
    res, _ = _cli(f"{HOSTILE}:marks", "--tv", "1e-9", draws=None, env={"EES_TEST_MARKER": str(marker)})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "memory budget" in res.stderr and "--tv" in res.stderr
    assert not marker.exists()

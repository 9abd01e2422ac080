"""Judging in worker processes gives the same records, in the same order, as judging in the
checking process: passes, failures with their shrunk cases, and journals."""

import json

import pytest

from ees_theory import harness as cf
from ees_theory.harness import InProcessPort, run_check
from ees_theory.running.runner import judge_workers
from tests.meta import mutant_ports


def without_timing(records):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


@pytest.mark.parametrize(
    "method, port",
    [("ees", mutant_ports.ees_crossing_included), ("top-p", None)],
)
def test_parallel_judging_equals_serial(method, port, tmp_path):
    cases = cf.plan(method, "float64", vectors=True, examples=6, seed=3)
    if port is None:
        port_fn = cf.open_port("builtin", method, "float64", isolate=False)
        serial = run_check(port_fn, method, "float64", cases, workers=1, journal=tmp_path / "s.jsonl")
        parallel = run_check(cf.open_port("builtin", method, "float64", isolate=False), method, "float64", cases, workers=2,
                             journal=tmp_path / "j.jsonl")
    else:
        serial = run_check(InProcessPort(port, "m"), method, "float64", cases, workers=1, journal=tmp_path / "s.jsonl")
        parallel = run_check(InProcessPort(port, "m"), method, "float64", cases, workers=2, journal=tmp_path / "j.jsonl")
    assert len(serial.records) == len(parallel.records) > 0
    assert without_timing(serial.records) == without_timing(parallel.records)
    if port is not None:  # the mutant fails, and its failures are shrunk in parallel mode too
        assert serial.failures and all("shrunk" in f for f in parallel.failures)
    lines = [json.loads(x) for x in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert [r["case"] for r in lines if "case" in r] == [r["case"] for r in serial.records]


def test_judge_workers_choice():
    assert judge_workers(3, 1) == 1  # capped at the cases (and the cores)
    assert judge_workers("auto", 10) == 1
    assert judge_workers("auto", 10_000) >= 1
    for bad in (0, -1, "two", True, 1.5):
        with pytest.raises(ValueError, match="workers must be"):
            judge_workers(bad, 10)


def test_auto_times_the_first_cases_before_starting_workers(monkeypatch):
    """"auto" judges here for PROBE_SECONDS first; workers start only when the rest would take
    longer than PARALLEL_MIN_SECONDS, and the records are the same either way."""
    from ees_theory.running import runner

    started = []
    real_pool = runner._judge_pool
    monkeypatch.setattr(runner, "_judge_pool", lambda n: started.append(n) or real_pool(n))
    monkeypatch.setattr(runner, "judge_workers", lambda workers, cases: 2 if workers == "auto" else workers)
    cases = cf.plan("ees", "float64", vectors=True, examples=4, seed=1)
    port = lambda: InProcessPort(mutant_ports.ees_crossing_included, "m")  # noqa: E731
    serial = run_check(port(), "ees", "float64", cases, workers=1, shrink=False)
    cheap = run_check(port(), "ees", "float64", cases, workers="auto", shrink=False)
    assert started == []  # these cases judge in milliseconds: no worker is worth its start
    monkeypatch.setattr(runner, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_SECONDS", 0.0)
    parallel = run_check(port(), "ees", "float64", cases, workers="auto", shrink=False)
    assert started == [2]
    assert without_timing(serial.records) == without_timing(cheap.records) == without_timing(parallel.records)

"""Nothing a port does can fool the harness: an import that exits, raises or hangs is a verdict
for the run (never exit 0 without output); processes a port spawns die with it; a port that never
reads its request, or answers with a deeply nested or oversized line, costs one case; ``sys.exit``
and ``KeyboardInterrupt`` raised by a port are reported as such."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ees_theory.harness import Case, InProcessPort, open_port, run_check
from ees_theory.running.ports import PortLoadError, SubprocessPort, load_callable

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _cli(args, env=None, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([PY, "-m", "ees_theory", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _cases(sizes):
    return [Case(f"c{v}-{i}", "ees", "hand", np.linspace(1.0, -1.0, v), {"temperature": 1.0}) for i, v in enumerate(sizes)]


@pytest.mark.parametrize("mode, says", [
    ("exit", "called sys.exit(0)"),
    ("raise", "RuntimeError: import failure on purpose"),
    ("hang", "did not finish loading within 2 s"),
])
@pytest.mark.parametrize("in_process", [False, True])
def test_import_that_exits_raises_or_hangs_is_a_verdict_for_the_run(mode, says, in_process):
    if in_process and mode == "hang":
        says = "did not finish within 2 s"
    args = ["check", "tests.ports.hostile_import:ees", "--vectors", "none", "-n", "3", "--import-timeout", "2"]
    t0 = time.monotonic()
    done = _cli(args + (["--in-process"] if in_process else []), env={"EES_HOSTILE_IMPORT": mode})
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "tests.ports.hostile_import" in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - t0 < 60


def test_import_is_done_in_the_worker_not_in_the_harness(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("EES_HOSTILE_IMPORT", "exit")
    sys.modules.pop("tests.ports.hostile_import", None)
    with pytest.raises(PortLoadError, match="sys.exit"):
        open_port("tests.ports.hostile_import:ees", "ees", "float64", isolate=True, timeout=5)
    assert "tests.ports.hostile_import" not in sys.modules  # the harness never ran the port's import
    with pytest.raises(PortLoadError, match=r"called sys.exit\(0\)"):
        load_callable("tests/ports/hostile_import.py:ees")


def test_the_same_port_loads_when_its_import_behaves(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("EES_HOSTILE_IMPORT", raising=False)
    report = run_check(open_port("tests.ports.hostile_import:ees", "ees", "float64", timeout=10), "ees", "float64", _cases([2, 3]), shrink=False)
    assert report.ok


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by init) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_call_time_exit_interrupt_and_spawned_processes(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    pid_file = tmp_path / "child.pid"
    monkeypatch.setenv("EES_CHILD_PID_FILE", str(pid_file))
    port = open_port("tests.ports.hostile_call:ees", "ees", "float64", timeout=3)
    report = run_check(port, "ees", "float64", _cases([3, 2, 4, 2, 5, 2]), shrink=False)
    got = [(r["status"], r["fault"]) for r in report.records]
    assert got == [("fail", "crashed"), ("pass", None), ("fail", "raised"), ("pass", None), ("fail", "timeout"), ("pass", None)]
    assert "called sys.exit(0)" in report.records[0]["message"] and "killed" not in report.records[0]["message"]
    assert "KeyboardInterrupt" in report.records[2]["message"]
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "a process the port spawned outlived it"


def test_in_process_port_raising_keyboard_interrupt_is_its_fault():
    from tests.ports import hostile_call

    report = run_check(InProcessPort(hostile_call.ees, "hostile", timeout=5), "ees", "float64", _cases([4, 3, 2]), shrink=False)
    assert [(r["fault"], r["status"]) for r in report.records] == [("raised", "fail"), ("crashed", "fail"), (None, "pass")]
    assert "KeyboardInterrupt" in report.records[0]["message"]
    assert "sys.exit(0)" in report.records[1]["message"]


def test_port_that_never_reads_a_large_request_times_out():
    port = SubprocessPort([PY, str(ROOT / "tests/ports/hostile_exec.py"), "noread"], "noread", timeout=2)
    big = [Case("big", "ees", "hand", np.linspace(1.0, -1.0, 200_000), {"temperature": 1.0})]
    t0 = time.monotonic()
    report = run_check(port, "ees", "float64", big, shrink=False)
    assert time.monotonic() - t0 < 30
    (rec,) = report.records
    assert (rec["status"], rec["fault"]) == ("fail", "timeout")
    assert "did not read its request" in rec["message"]


def test_nested_and_oversized_answers_are_protocol_errors():
    port = SubprocessPort([PY, str(ROOT / "tests/ports/hostile_exec.py")], "hostile", timeout=10)
    report = run_check(port, "ees", "float64", _cases([3, 2, 4, 2, 5, 2]), shrink=False)
    got = [(r["status"], r["fault"]) for r in report.records]
    assert got == [("fail", "protocol-error"), ("pass", None), ("fail", "protocol-error"), ("pass", None), ("fail", "protocol-error"), ("pass", None)]
    assert "nested too deeply" in report.records[0]["message"]
    assert "longer than" in report.records[2]["message"] and "longer than" in report.records[4]["message"]

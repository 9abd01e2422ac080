"""Bad input, third round: every library call and command answers clearly, and nothing a run
starts outlives it. Each bad input is a row of a table: the call (or command), the exception type
(or exit status) and a piece of the message; saturated inputs are rows of the tables of inputs
that must work, with the answer they must give."""

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ees_theory as et  # noqa: E402
from ees_theory import reference  # noqa: E402
from ees_theory.harness import Case, InProcessPort, Journal, open_port, run_check  # noqa: E402
from ees_theory.running import runner as runner_mod  # noqa: E402
from ees_theory.hf import DynaTempLogitsWarper, EDTLogitsWarper, EESLogitsWarper  # noqa: E402
from tests.ports.round3_ports import SLEEP_MARK  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
K = et.torch
F32, F16, BF16, F64 = torch.float32, torch.float16, torch.bfloat16, torch.float64


def _z(dtype=F32, rows=1):
    return torch.tensor([[2.0, 1.0, 0.0, -1.0]] * rows, dtype=dtype)


#: every kernel and warper, as ``name -> f(logits)``
KERNELS = {
    "ees_mask": lambda z: K.ees_mask(z),
    "ees_keep_count": lambda z: K.ees_keep_count(z),
    "ees_logits": lambda z: K.ees_logits(z),
    "ees_curve": lambda z: K.ees_curve(z).f,
    "truncate_mask(top-p)": lambda z: K.truncate_mask("top-p", z, p=0.9),
    "truncate_mask(typical)": lambda z: K.truncate_mask("typical", z, mass=0.9),
    "truncate_mask(top-n-sigma)": lambda z: K.truncate_mask("top-n-sigma", z, n=1.0),
    "edt_temperature": lambda z: K.edt_temperature(z, 1.0, 0.5),
    "dynatemp_temperature": lambda z: K.dynatemp_temperature(z, 1.0, 0.5, 1.0),
    "apply_temperature": lambda z: K.apply_temperature(z, 0.7),
    "edt_logits": lambda z: K.edt_logits(z, 1.0, 0.5),
    "dynatemp_logits": lambda z: K.dynatemp_logits(z, 1.0, 0.5, 1.0),
    "EESLogitsWarper": lambda z: EESLogitsWarper()(None, z),
    "EDTLogitsWarper": lambda z: EDTLogitsWarper(1.0, 0.5)(None, z),
    "DynaTempLogitsWarper": lambda z: DynaTempLogitsWarper(1.0, 0.5)(None, z),
}
#: the ones a gradient-tracking input must not break
GRAD = ["ees_mask", "truncate_mask(typical)", "edt_temperature", "dynatemp_temperature", "EESLogitsWarper", "EDTLogitsWarper",
        "DynaTempLogitsWarper"]

META = torch.empty(2, 4, device="meta")

# (id, call, exception type, piece of the message)
REFUSED = [
    *[(f"meta {name}", (lambda f: lambda: f(META))(f), TypeError, "meta tensor") for name, f in KERNELS.items()],
    ("meta temperature", lambda: K.ees_mask(_z(rows=2), torch.empty(2, device="meta")), TypeError, "temperature is a meta tensor"),
    # dynatemp: a temperature beyond the compute dtype's range (it was NaN)
    ("dynatemp float32 temp 1e39", lambda: K.dynatemp_temperature(_z(), 1e39, 1.0, 1.0), ValueError, "temp = 1e+39 is beyond the range of float32"),
    ("dynatemp float32 temp+delta", lambda: K.dynatemp_temperature(_z(), 3e38, 1e38, 1.0), ValueError, "temp + delta = 4e+38 is beyond the range of float32"),
    ("dynatemp float32 1e300", lambda: K.dynatemp_temperature(_z(), 1.0, 1e300, 1.0), ValueError, "beyond the range of float32"),
    ("dynatemp float16 input 1e40", lambda: K.dynatemp_temperature(_z(F16), 1e40, 1.0, 1.0, "input"), ValueError, "beyond the range of float16"),
    ("dynatemp float16 input 1e308", lambda: K.dynatemp_temperature(_z(F16), 1.0, 1e308, 1.0, "input"), ValueError, "beyond the range of float16"),
    ("dynatemp bfloat16 input 1e40", lambda: K.dynatemp_temperature(_z(BF16), 1e40, 1.0, 1.0, "input"), ValueError, "beyond the range of bfloat16"),
    ("dynatemp float32 input 1e308", lambda: K.dynatemp_temperature(_z(), 1.0, 1e308, 1.0, "input"), ValueError, "beyond the range of float32"),
    ("dynatemp 0 * inf", lambda: K.dynatemp_temperature(torch.tensor([0.0, -80.0]), 1e30, 1.0, -2.0), ValueError, "cannot be formed in float32"),
    ("DynaTempLogitsWarper 1e40", lambda: DynaTempLogitsWarper(1e40, 1.0)(None, _z()), ValueError, "beyond the range of float32"),
    ("edt float32 T0 1e39", lambda: K.edt_temperature(_z(), 1e39, 0.5), ValueError, "T0 = 1e+39 is beyond the range of float32"),
    ("edt float32 T0 1e39 theta 0", lambda: K.edt_temperature(_z(), 1e39, 0.0), ValueError, "T0 = 1e+39 is beyond the range of float32"),
    # the dynatemp warper on what is not a batch of rows
    ("DynaTempLogitsWarper 0-d", lambda: DynaTempLogitsWarper(1.0, 0.5)(None, torch.tensor(1.0)), ValueError, "scores must have at least one axis"),
    ("DynaTempLogitsWarper list", lambda: DynaTempLogitsWarper(1.0, 0.5)(None, [[1.0, 2.0]]), TypeError, "scores must be a torch.Tensor, got list"),
    # the reference's precision arguments
    ("entropy dps=0", lambda: reference.entropy([1.0, 0.0], dps=0), ValueError, "dps must be >= 1 and <= 10000, got 0"),
    ("entropy dps=-3", lambda: reference.entropy([1.0, 0.0], dps=-3), ValueError, "dps must be >= 1 and <= 10000, got -3"),
    ("entropy dps=2.5", lambda: reference.entropy([1.0, 0.0], dps=2.5), TypeError, "dps must be an int, got float"),
    ("softmax dps=0", lambda: reference.softmax([1.0, 0.0], dps=0), ValueError, "dps must be >= 1"),
    ("edt dps=0", lambda: reference.edt_temperature([1.0, 0.0], 1.0, 0.5, dps=0), ValueError, "dps must be >= 1"),
    ("dynatemp dps=0", lambda: reference.dynatemp_temperature([1.0, 0.0], 1.0, 0.5, 1.0, dps=0), ValueError, "dps must be >= 1"),
    ("ees max_prec=0", lambda: reference.ees([1.0, 0.0], max_prec=0), ValueError, "max_prec (bits) must be >= 64, got 0"),
    ("ees max_prec=-1", lambda: reference.ees([1.0, 0.0], max_prec=-1), ValueError, "max_prec (bits) must be >= 64, got -1"),
    ("ees max_prec=100.5", lambda: reference.ees([1.0, 0.0], max_prec=100.5), TypeError, "max_prec (bits) must be an int"),
    ("truncate max_prec=0", lambda: reference.truncate("top-k", [1.0, 0.0], k=1, max_prec=0), ValueError, "max_prec (bits) must be >= 64"),
    ("from_probs sum_tolerance=nan", lambda: reference.from_probs([0.5, 0.7], sum_tolerance=math.nan), ValueError, "sum_tolerance must be finite"),
    ("from_probs sum_tolerance=-1", lambda: reference.from_probs([0.5, 0.5], sum_tolerance=-1.0), ValueError, "sum_tolerance must be >= 0"),
    ("entropy dps=10**400", lambda: reference.entropy([1.0, 0.0], dps=10**400), ValueError, "dps must be >= 1 and <= 10000"),
    # integers beyond float64 (float() raises OverflowError on them)
    ("ees temperature=10**400", lambda: reference.ees([1.0, 0.0], temperature=10**400), ValueError, "temperature must be a finite number > 0"),
    ("edt T0=10**400", lambda: reference.edt_temperature([1.0, 0.0], 10**400, 0.5), ValueError, "T0 must be finite"),
    ("ees_mask temperature=-10**400", lambda: K.ees_mask(_z(), -10**400), ValueError, "temperature must be a finite number > 0"),
]


@pytest.mark.parametrize("call, error, says", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_bad_input_is_refused_clearly(call, error, says):
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value)


# (id, call, what it must give): inputs that are saturated, or must simply work
WORKS = [
    # top-n-sigma is scale-invariant: a huge temperature keeps what temperature 1 keeps, {0, 1}
    # (the squared deviations used to underflow to 0, keeping the top token only)
    *[(f"top-n-sigma float64 T={t:g}", (lambda t: lambda: K.truncate_mask("top-n-sigma", _z(F64)[0], t, n=1.0).tolist())(t),
       [True, True, False, False]) for t in (1e200, 1e300, 1e307)],
    # theta ln N beyond the dtype saturates: exp(c / H) is 0 for it as for the exact c, T = 0
    *[(f"edt theta=1e308 {d}", (lambda d: lambda: K.edt_temperature(_z(d), 1.0, 1e308).tolist())(d), [0.0]) for d in (F32, F16, BF16)],
    # a finite filter value beyond the dtype saturates at its most negative finite number
    ("EESLogitsWarper filter -1e300", lambda: EESLogitsWarper(filter_value=-1e300)(None, _z()).tolist(),
     [[0.0] + [-torch.finfo(F32).max] * 3]),
    ("EDTLogitsWarper greedy filter -1e300 float16", lambda: EDTLogitsWarper(1.0, 1e3, filter_value=-1e300)(None, _z(F16)).tolist(),
     [[0.0] + [-65504.0] * 3]),
    ("DynaTempLogitsWarper greedy filter -1e300", lambda: DynaTempLogitsWarper(0.0, 0.0, filter_value=-1e300)(None, _z()).tolist(),
     [[0.0] + [-torch.finfo(F32).max] * 3]),
    ("ees_logits filter -1e300 float16", lambda: K.ees_logits(_z(F16), filter_value=-1e300).tolist(), [[0.0] + [-65504.0] * 3]),
    ("EESLogitsWarper filter -10**400", lambda: EESLogitsWarper(filter_value=-10**400)(None, _z()).tolist(),
     [[0.0] + [-torch.finfo(F32).max] * 3]),
    # a count past the row keeps the whole row (past int64 it used to wrap around and keep nothing)
    ("top-k k=2**63", lambda: K.truncate_mask("top-k", _z(), k=2**63).tolist(), [[True] * 4]),
    ("top-k k=10**400 transformers", lambda: K.truncate_mask("top-k", _z(), k=10**400, policy="transformers").tolist(), [[True] * 4]),
    ("top-p min_tokens_to_keep=2**64", lambda: K.truncate_mask("top-p", _z(), p=0.1, min_tokens_to_keep=2**64).tolist(), [[True] * 4]),
    ("ees_mask min_tokens_to_keep=2**70", lambda: K.ees_mask(_z(), min_tokens_to_keep=2**70).tolist(), [[True] * 4]),
]


@pytest.mark.parametrize("call, expected", [r[1:] for r in WORKS], ids=[r[0] for r in WORKS])
def test_saturated_or_extreme_input_gives_the_answer(call, expected):
    assert call() == expected


def test_top_n_sigma_at_a_huge_temperature_agrees_with_the_reference():
    for t in (1e200, 1e300):
        kept = K.truncate_mask("top-n-sigma", _z(F64)[0], t, n=1.0).nonzero().flatten().tolist()
        assert tuple(kept) == reference.truncate("top-n-sigma", [2.0, 1.0, 0.0, -1.0], temperature=t, n=1.0).kept


@pytest.mark.parametrize("name", GRAD)
def test_gradient_tracking_logits_work_and_carry_no_gradient(name):
    z = _z(rows=2)
    z[1] = torch.tensor([0.0, 0.0, -0.5, -3.0])
    tracked = z.clone().requires_grad_(True)
    out = KERNELS[name](tracked)
    assert not out.requires_grad
    assert torch.equal(out, KERNELS[name](z))


@pytest.mark.parametrize("name", list(KERNELS))
def test_an_empty_batch_gives_an_empty_result(name):
    out = KERNELS[name](torch.empty(0, 4))
    assert out.numel() == 0 and out.shape[0] == 0


# ---- commands --------------------------------------------------------------------------------
def _cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "ees_theory", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "dir.jsonl").mkdir()
    (d / "zero.jsonl").symlink_to("/dev/zero")
    os.mkfifo(d / "fifo.jsonl")
    (d / "deep.jsonl").write_text("[" * 200_000 + "]" * 200_000 + "\n")
    (d / "binary.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)) * 8)
    (d / "not-json.jsonl").write_text("a results file? no\n")
    return d


CASE_NO_T = '{"logits": ["0x1p+0", "0x0p+0"], "params": {}}'
CASE_NAN = '{"logits": ["nan", "0x0p+0"], "params": {"temperature": "0x1p+0"}}'
# (id, arguments ({d}: the folder of bad files), exit status, piece of stderr)
COMMANDS = [
    ("vectors: a directory", ["check", "builtin", "--vectors", "{d}/dir.jsonl", "-n", "0"], 2, "dir.jsonl is a directory"),
    ("vectors: a link to /dev/zero", ["check", "builtin", "--vectors", "{d}/zero.jsonl", "-n", "0"], 2, "zero.jsonl is not a regular file"),
    ("vectors: a FIFO", ["check", "builtin", "--vectors", "{d}/fifo.jsonl", "-n", "0"], 2, "fifo.jsonl is not a regular file"),
    ("vectors: nested brackets", ["check", "builtin", "--vectors", "{d}/deep.jsonl", "-n", "0"], 2, "deep.jsonl:1: JSON nested too deeply"),
    ("vectors: a binary file", ["check", "builtin", "--vectors", "{d}/binary.jsonl", "-n", "0"], 2, "binary.jsonl:1: not UTF-8 text"),
    ("case without a temperature", ["check", "builtin", "--case", CASE_NO_T], 2, "--case has no parameter 'temperature'; ees takes temperature"),
    ("case with a NaN logit", ["check", "builtin", "--case", CASE_NAN], 2, "--case is outside the domain of ees: logits contain NaN at position 0"),
    ("engines --json a directory", ["engines", "-e", "transformers", "--json", "{d}/dir.jsonl", "-n", "0"], 2, "--json {d}/dir.jsonl is a directory"),
    ("engines --json not JSON", ["engines", "-e", "transformers", "--json", "{d}/not-json.jsonl", "-n", "0"], 2,
     "--json {d}/not-json.jsonl is not a results file of `ees-theory engines --json`"),
]


@pytest.mark.parametrize("args, status, says", [r[1:] for r in COMMANDS], ids=[r[0] for r in COMMANDS])
def test_bad_command_input_is_a_usage_error_before_any_work(bad_files, args, status, says):
    done = _cli(*[a.replace("{d}", str(bad_files)) for a in args])
    assert done.returncode == status, (done.stdout, done.stderr)
    assert says.replace("{d}", str(bad_files)) in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""  # refused before anything ran (the engine matrix prints its rows)


def test_an_in_process_port_that_exits_cannot_end_the_run_silently():
    done = _cli("check", "tests.ports.round3_ports:exit0", "--in-process", "--vectors", "none", "-n", "2", "--no-shrink", "--workers", "1")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "the port called os._exit(0)" in done.stdout
    verdict = done.stdout.strip().splitlines()[-1]
    assert verdict.startswith("DOES NOT CONFORM") and "no evidence against a hostile port" in verdict


def test_an_in_process_import_that_exits_is_a_load_error(tmp_path):
    bad = tmp_path / "exits_on_import.py"
    bad.write_text("import os\nos._exit(0)\n")
    done = _cli("check", f"{bad}:ees", "--in-process", "--vectors", "none", "-n", "1")
    assert done.returncode == 2 and "called os._exit(0)" in done.stderr, (done.returncode, done.stderr)


def test_a_process_ending_during_a_port_call_ends_nonzero_with_a_message():
    code = "from ees_theory.running.ports import _ExitGuard\n_ExitGuard().__enter__()\nraise SystemExit(0)\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 70 and "while a port called in it was running" in done.stderr, (done.returncode, done.stderr)


def test_the_in_process_verdict_line_says_what_it_is_not():
    c = Case("a", "ees", "hand", np.array([0.0, 0.0]), {"temperature": 1.0})
    port = open_port("tests.ports.round3_ports:keep_all", "ees", "float64", isolate=False)
    text = run_check(port, "ees", "float64", [c], shrink=False).text()
    assert text.splitlines()[-1].startswith("CONFORMS") and "no evidence against a hostile port" in text.splitlines()[-1]
    isolated = run_check(open_port("tests.ports.round3_ports:keep_all", "ees", "float64"), "ees", "float64", [c], shrink=False).text()
    assert "hostile" not in isolated


def _survivors() -> list[int]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if cmd[:2] == [b"sleep", SLEEP_MARK.encode()] and state != "Z":
            out.append(int(pid))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes through /proc")
@pytest.mark.parametrize("port", ["tests.ports.round3_ports:spawner", f"exec:{sys.executable} -m ees_theory.running.worker tests.ports.round3_ports:spawner"])
def test_no_process_a_port_started_outlives_the_run(port):
    psutil = pytest.importorskip("psutil")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    cases = [Case(f"c{i}", "ees", "hand", np.array([1.0, 0.0, float(i)]), {"temperature": 1.0}) for i in range(3)]
    try:
        run_check(open_port(port, "ees", "float64", timeout=60), "ees", "float64", cases, shrink=False)
        left = _survivors()
        assert left == [], f"{len(left)} processes started by the port survived the run"
        assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    finally:
        for pid in _survivors():  # only the sleeps this port started (their argument is the mark)
            os.kill(pid, 9)


# ---- journals --------------------------------------------------------------------------------
def _cases(n=3):
    return [Case(f"c{i}", "ees", "hand", np.array([2.0, 1.0, float(-i)]), {"temperature": 1.0}) for i in range(n)]


def test_a_journal_is_locked_while_its_run_writes_it(tmp_path):
    out = tmp_path / "r.jsonl"
    header = {"format": runner_mod.JOURNAL_FORMAT, "port": "builtin", "method": "ees", "dtype": "float64"}
    first = Journal(out, header)
    with pytest.raises(ValueError, match="is being written by another run"):
        Journal(out, header, resume=True)
    with pytest.raises(ValueError, match="is being written by another run"):
        run_check(open_port("builtin", "ees", "float64"), "ees", "float64", _cases(), journal=out)
    first.finish({"ok": True})
    assert run_check(open_port("builtin", "ees", "float64"), "ees", "float64", _cases(), journal=out).ok  # released


def test_resume_refuses_another_port_or_toolkit(tmp_path, monkeypatch):
    port_file = tmp_path / "myport.py"
    port_file.write_text("import numpy as np\ndef ees(z, t):\n    m = np.zeros(z.shape, bool); m[int(np.argmax(z))] = True; return m\n")
    spec = f"{port_file}:ees"
    out = tmp_path / "r.jsonl"
    run_check(open_port(spec, "ees", "float64", isolate=False), "ees", "float64", _cases(3)[:2], journal=out, shrink=False)
    header = json.loads(out.read_text().splitlines()[0])
    assert header["toolkit"] == runner_mod.toolkit_version() and len(header["port_identity"]) == 16
    port_file.write_text(port_file.read_text() + "# edited\n")
    with pytest.raises(ValueError, match="port_identity differ"):
        run_check(open_port(spec, "ees", "float64", isolate=False), "ees", "float64", _cases(3)[:2], journal=out, resume=True)
    monkeypatch.setattr(runner_mod, "toolkit_version", lambda: "0.0.0-other")
    run_check(open_port("builtin", "ees", "float64"), "ees", "float64", _cases(3)[:2], journal=tmp_path / "b.jsonl")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="toolkit differ"):
        run_check(open_port("builtin", "ees", "float64"), "ees", "float64", _cases(3)[:2], journal=tmp_path / "b.jsonl", resume=True)


# ---- workers ---------------------------------------------------------------------------------
def test_workers_are_capped_at_the_cases_and_the_cores(monkeypatch):
    assert runner_mod.judge_workers(1000, 40) == min(40, os.cpu_count() or 1)
    started = []
    monkeypatch.setattr(runner_mod, "_judge_pool", lambda n: started.append(n))
    run_check(InProcessPort(lambda z, t: z == z.max(), "argmax"), "ees", "float64", _cases(1), workers=1000, shrink=False)
    assert started == []  # one case: judged here, no pool at all

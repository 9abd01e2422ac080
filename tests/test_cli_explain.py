"""`ees-theory explain` and `ees-theory verify` end to end (in process and as a console script)."""

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ees_theory.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_explain_table_for_three_probabilities(capsys):
    status, out, _ = run(capsys, "explain", "--probs", "0.5,0.3,0.2")
    assert status == 0
    # k = 2: Hbar_2 = h(0.625)/ln 2, P_2 = 0.8 ; k = 3: Hbar_3 = H(0.5, 0.3, 0.2)/ln 3, P_3 = 1
    hbar2 = -(0.625 * math.log(0.625) + 0.375 * math.log(0.375)) / math.log(2)
    hbar3 = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2)) / math.log(3)
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()}
    assert float(lines["2"][1]) == pytest.approx(hbar2, abs=1e-9)
    assert float(lines["2"][2]) == pytest.approx(0.8, abs=1e-9)
    assert lines["2"][4] == ">=0"
    assert float(lines["3"][1]) == pytest.approx(hbar3, abs=1e-9)
    assert lines["3"][4] == "<0"
    assert "k* = 2" in out and "kept ids (sorted): 0, 1" in out and "certified: yes" in out


def test_explain_json_and_temperatures(capsys):
    status, out, _ = run(capsys, "explain", "--logits", "0,0", "--json", "--edt", f"1.0,{math.log(2)!r}",
                         "--dynatemp", "1,0.5,1")
    assert status == 0
    d = json.loads(out)
    assert d["k"] == 2 and d["certified"] and d["kept"] == [0, 1]
    assert float(d["edt"]["T"]) == pytest.approx(0.8, rel=1e-15)       # H = theta -> N T0
    assert float(d["dynatemp"]["T"]) == pytest.approx(1.5, rel=1e-15)   # uniform -> T_max


def test_explain_plot_and_files(capsys, tmp_path):
    z = np.random.default_rng(0).normal(0, 2, 300)
    npy = tmp_path / "z.npy"
    np.save(npy, z)
    png = tmp_path / "eq.png"
    status, out, _ = run(capsys, "explain", "--file", str(npy), "--plot", str(png))
    assert status == 0 and png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"probs": [0.25, 0.25, 0.5]}))
    status, out, _ = run(capsys, "explain", "--file", str(js), "--json")
    assert status == 0 and json.loads(out)["n"] == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["explain", "--logits", "1,nan"], "NaN at position 1"),
        (["explain", "--probs", "0.5,0.6"], "sum to 1.1"),
        (["explain", "--logits", "1,2", "-t", "0"], "temperature must be a finite number > 0"),
        (["explain", "--logits", "1,2", "--edt", "1,1,2"], "N must lie strictly between 0 and 1"),
        (["explain", "--logits", "1,2", "--edt", "1"], "--edt expects 2 or 3 numbers"),
        (["explain", "--file", "/nonexistent.npy"], "no such file"),
    ],
)
def test_explain_bad_input_exits_2_with_message(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2 and message in err


def test_verify_quick(capsys):
    status, out, _ = run(capsys, "verify", "--quick")
    assert status == 0 and "FAIL" not in out
    lines = out.splitlines()
    # one screen: a line per check group with its counts, then the verdict
    assert len(lines) <= 24
    assert [ln.split()[0] for ln in lines[1:4]] == ["reference", "claims", "conformance"]
    assert lines[-1] == "verify: all checks passed"


def test_verify_verbose_prints_every_claim(capsys):
    from ees_theory.ledger import claims

    status, out, _ = run(capsys, "verify", "--quick", "--verbose")
    assert status == 0
    for cid in claims.recorded_verdicts():
        assert f"[PASS] {cid} " in out
    assert len(out.splitlines()) > 24


def test_verify_summary_names_what_failed(capsys, monkeypatch):
    from ees_theory.cli import verify

    monkeypatch.setattr(verify, "reference_selfcheck", lambda quick: [("row x", False, "k* = 2 (expected 1)")])
    status, out, _ = run(capsys, "verify", "--quick")
    assert status == 1
    assert "reference      1 default rows: 0 passed, 1 failed" in out
    assert "FAIL reference row x: k* = 2 (expected 1)" in out
    assert out.splitlines()[-1] == "verify: 1 check(s) FAILED"


def test_console_script_is_installed():
    exe = shutil.which("ees-theory") or str(__import__("pathlib").Path(sys.executable).parent / "ees-theory")
    proc = subprocess.run([exe, "explain", "--probs", "0.5 0.3 0.2"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "k* = 2" in proc.stdout

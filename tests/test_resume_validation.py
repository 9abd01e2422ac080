"""``--resume`` trusts nothing in the journal it continues: foreign, forged, malformed or duplicated
lines and case ids outside the plan are refused, naming the file and the line; a recorded verdict is
judged again from the port's recorded answer; a finished run is not summarised twice. A forged
results file never yields CONFORMS."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ees_theory import harness as cf

ROOT = Path(__file__).resolve().parents[1]
GOOD = "tests.ports.numpy_port:ees"
BAD = "tests.meta.mutant_ports:ees_crossing_included"


def _run(port, out, resume=False, examples=6):
    return cf.check(port, "ees", "float64", vectors=False, examples=examples, isolate=False, journal=out, resume=resume, shrink=False)


def _lines(path):
    return [json.loads(ln) for ln in Path(path).read_text().splitlines() if ln.strip()]


def _write(path, objs):
    Path(path).write_text("".join(json.dumps(o) + "\n" for o in objs))


def test_a_finished_run_is_not_summarised_twice(tmp_path):
    out = tmp_path / "r.jsonl"
    first = _run(GOOD, out)
    assert first.ok
    before = Path(out).read_text()
    again = _run(GOOD, out, resume=True)
    assert again.ok and again.counts() == first.counts()
    assert Path(out).read_text() == before  # nothing appended: one summary


def test_forged_pass_records_are_refused_and_never_conform(tmp_path):
    out = tmp_path / "r.jsonl"
    real = _run(BAD, out)
    assert not real.ok
    lines = _lines(out)
    forged = [lines[0]] + [dict(ln, status="pass", fault=None) for ln in lines[1:] if ln["kind"] == "case"]
    _write(out, forged)
    with pytest.raises(ValueError, match=r"r\.jsonl line 2: .*recorded with status 'pass' but its recorded answer is judged 'fail'"):
        _run(BAD, out, resume=True)
    # the same records without the port's answers: nothing to judge, refused
    _write(out, [lines[0]] + [{k: v for k, v in ln.items() if k != "answer"} for ln in forged[1:]])
    with pytest.raises(ValueError, match="line 2: .*no recorded answer"):
        _run(BAD, out, resume=True)


def test_forged_answers_are_judged_again_not_trusted(tmp_path):
    # the answers replaced by the reference's own kept sets, statuses left as recorded: refused
    out = tmp_path / "r.jsonl"
    _run(BAD, out)
    lines = _lines(out)
    cases = {c.id: c for c in cf.plan("ees", "float64", vectors=False, examples=6)}
    from ees_theory import reference

    fixed = [lines[0]]
    for ln in lines[1:]:
        if ln["kind"] != "case":
            continue
        c = cases[ln["case"]]
        kept = list(reference.ees(c.logits, c.params["temperature"]).kept)
        fixed.append(dict(ln, answer={"value": {"kept": kept}}))
    _write(out, fixed)
    with pytest.raises(ValueError, match="recorded with status 'fail' but its recorded answer is judged 'pass'"):
        _run(BAD, out, resume=True)


@pytest.mark.parametrize("bad_line, says", [
    ("this is not json", "line 3: not a JSON line"),
    ("[1, 2]", "line 3: not a JSON object"),
    ('{"kind": "note", "text": "hi"}', "line 3: unknown line kind 'note'"),
    ('{"kind": "case", "case": "gen-from-another-plan-9999", "status": "pass"}', "line 3: case 'gen-from-another-plan-9999' is not in this run's plan"),
    ('{"kind": "case", "status": "pass"}', "line 3: a case record without a case id"),
])
def test_foreign_and_malformed_lines_are_refused_naming_the_line(tmp_path, bad_line, says):
    out = tmp_path / "r.jsonl"
    _run(GOOD, out)
    lines = Path(out).read_text().splitlines()
    text = "\n".join(lines[:2] + [bad_line] + lines[2:-1]) + "\n"  # summary dropped: an unfinished run
    Path(out).write_text(text)
    with pytest.raises(ValueError, match=str(out.name) + " " + says.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        _run(GOOD, out, resume=True)


def test_duplicates_lines_after_the_summary_and_early_summaries_are_refused(tmp_path):
    out = tmp_path / "r.jsonl"
    _run(GOOD, out)
    lines = Path(out).read_text().splitlines()
    Path(out).write_text("\n".join(lines[:2] + [lines[1]] + lines[2:-1]) + "\n")
    with pytest.raises(ValueError, match="line 3: case .* recorded twice"):
        _run(GOOD, out, resume=True)
    Path(out).write_text("\n".join(lines + [lines[1]]) + "\n")
    with pytest.raises(ValueError, match=f"line {len(lines) + 1}: a case record after the run.s summary"):
        _run(GOOD, out, resume=True)
    Path(out).write_text("\n".join(lines[:2] + [lines[-1]]) + "\n")  # a summary after 1 of 6 cases
    with pytest.raises(ValueError, match="line 3: a summary while 5 planned case"):
        _run(GOOD, out, resume=True)


def test_cli_refuses_a_forged_file_with_exit_2(tmp_path):
    out = tmp_path / "r.jsonl"
    args = [sys.executable, "-m", "ees_theory", "check", BAD, "--in-process", "--vectors", "none", "-n", "4", "--no-shrink", "--json", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr
    lines = _lines(out)
    _write(out, [lines[0]] + [dict(ln, status="pass", fault=None) for ln in lines[1:-1]])
    again = subprocess.run(args + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "CONFORMS" not in again.stdout
    assert "line 2" in again.stderr and "Traceback" not in again.stderr

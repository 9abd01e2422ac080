"""The engines chapter's grid, CSV and failure blocks, on the committed matrix results."""

from __future__ import annotations

import csv
import io

import pytest

from ees_theory.engines import matrix
from ees_theory.engines.registry import RowResult
from ees_theory.report import Download, engine_csv, engine_grid, engine_totals, failure_details, reason_in_words
from ees_theory.report.engines import MARKS


@pytest.fixture(scope="module")
def results():
    return [RowResult.from_json(r) for r in matrix.read_jsonl(matrix.RESULTS_PATH) if r["form"] != "draws"]


def test_grid_has_one_mark_per_row(results):
    grid = engine_grid(results)
    marks = "".join(str(c) for row in grid.rows for c in row[1:] if c is not None)
    assert sum(marks.count(m) for m in MARKS.values()) == len(results)
    for verdict, mark in MARKS.items():
        assert marks.count(mark) == sum(r.verdict == verdict for r in results), verdict


def test_grid_folds_rows_into_lines(results):
    # 57 CUDA rows and the rest fold into one line per method and policy
    grid = engine_grid(results)
    assert len(grid) == len({(r.method, r.policy) for r in results}) < len(results) / 4


def test_csv_holds_every_row_and_count(results):
    rows = list(csv.DictReader(io.StringIO(engine_csv(results))))
    assert len(rows) == len(results)
    for got, r in zip(rows, results):
        assert (got["engine"], got["method"], got["policy"], got["dtype"], got["verdict"]) == (r.engine, r.method, r.policy, r.dtype, r.verdict)
        assert [int(got[c]) for c in ("passed", "admissible", "failed", "skipped")] == [r.passed, r.admissible, r.failed, r.skipped]
    assert "data:text/csv" in Download(engine_csv(results), "m.csv", "counts")._repr_html_()


def test_totals_add_up(results):
    t = engine_totals(results)
    assert sum(row[2] + row[3] + row[4] for row in t.rows) == len(results)
    assert sum(row[7] for row in t.rows) == sum(r.failed for r in results if r.verdict != "not-run")


def test_every_failure_has_its_reproduce_folded(results):
    failing = [r for r in results if r.verdict == "fails"]
    html = failure_details(failing)._repr_html_()
    commands = [f["reproduce"] for r in failing for f in r.failures if f.get("reproduce")]
    assert commands and html.count("<details>") == len(commands)


def test_reasons_in_words_keep_no_code():
    for r in ("needs CUDA: torch.cuda.is_available() is False; not installed (pip install vllm)", "not run: needs CUDA"):
        words = reason_in_words(r)
        assert "torch.cuda" not in words and "pip install" not in words and "CUDA device" in words


def test_grid_refuses_a_dtype_it_cannot_show(results):
    with pytest.raises(ValueError, match="not among the grid's dtypes"):
        engine_grid(results, dtypes=("float32",))

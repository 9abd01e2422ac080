"""The committed engine matrix (``ees_theory/engines/results.jsonl``) is what the engines give now.

Every recorded row that can run here is run again with the same examples and seed, and its
verdict and counts must match the file: an engine upgrade, an adapter change or a reference
change that moves a verdict fails here, and ``ees-theory engines --json`` regenerates the file
(see ``notebooks/engines.md``). Rows that cannot run here are skipped with their reason (pytest
``-ra`` lists them); with ``EES_REQUIRE_ENGINES=1`` (set by ``.ci/test``) a missing llama.cpp or
transformers is a failure, not a skip.
"""

from __future__ import annotations

import os

import pytest

from ees_theory.engines import matrix
from ees_theory.engines.registry import not_run_reason, run_row
from ees_theory.engines.table import get_row, rows

RESULTS = matrix.RESULTS_PATH
RECORDED = matrix.read_jsonl(RESULTS)
REQUIRED = ("transformers", "llama.cpp")


def _id(rec: dict) -> str:
    return f"{rec['engine']}-{rec['method']}-{rec['policy']}-{rec['dtype']}"


def test_every_registered_row_is_recorded():
    recorded = {(r["engine"], r["method"], r["policy"], r["dtype"]) for r in RECORDED}
    missing = [(r.engine, r.method, r.policy, d) for r in rows() for d in r.dtypes if (r.engine, r.method, r.policy, d) not in recorded]
    assert not missing, f"rows missing from {RESULTS.name} (regenerate it with `ees-theory engines --json`): {missing}"


def test_required_engines_are_installed_when_asked():
    if os.environ.get("EES_REQUIRE_ENGINES") != "1":
        pytest.skip("EES_REQUIRE_ENGINES is not set: the engines extra is optional outside CI")
    for engine in REQUIRED:
        row = next(r for r in rows() if r.engine == engine)
        assert not_run_reason(row, row.dtypes[0]) is None, f"{engine} cannot run: {not_run_reason(row, row.dtypes[0])}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("rec", [r for r in RECORDED if r["verdict"] != "not-run"], ids=_id)
def test_recorded_verdict_holds(rec):
    if rec.get("form") == "draws":  # statistical rows take minutes each: benchmarks/draws_engines.py re-establishes them
        pytest.skip("a draws row: re-run by benchmarks/draws_engines.py, not in the unit suite")
    row = get_row(rec["engine"], rec["method"], rec["policy"])
    why = not_run_reason(row, rec["dtype"])
    if why:
        if os.environ.get("EES_REQUIRE_ENGINES") == "1" and rec["engine"] in REQUIRED:
            pytest.fail(f"{rec['engine']} must run in CI: {why}")
        pytest.skip(why)
    now = run_row(row, rec["dtype"], examples=rec["examples"], seed=rec["seed"], shrink=False).to_json()
    keys = ("verdict", "passed", "admissible", "failed", "skipped")
    assert {k: now[k] for k in keys} == {k: rec[k] for k in keys}, (
        f"{_id(rec)} changed (engine {now['engine_version']}, recorded {rec['engine_version']}); "
        f"first failure now: {now['first_failure']}"
    )
    if rec["first_failure"]:
        assert now["first_failure"]["fault"] == rec["first_failure"]["fault"]

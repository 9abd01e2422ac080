"""The book's committed campaign results are what the campaigns produce now.

The stress and precision chapters read ``notebooks/stress_results.json`` and
``notebooks/precision_results.json`` instead of running minutes of checks on every build
(``ees_theory.report.campaigns``). Each test runs its campaign again and compares it with the
committed file, field by field: a change to the kernels, the harness or the reference that moves a
count, a margin or a bound fails here until the file is regenerated
(``python -m ees_theory.report.campaigns stress notebooks/stress_results.json``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ees_theory.report import campaigns

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _differences(a, b, path="") -> list[str]:
    """Where two JSON values differ (floats compared exactly; inf equals inf)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only in the committed file" for k in a.keys() - b.keys()]
        out += [f"{path}/{k}: only in the new run" for k in b.keys() - a.keys()]
        for k in a.keys() & b.keys():
            out += _differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} entries committed, {len(b)} now"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b) else [f"{path}: committed {a!r}, now {b!r}"]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", sorted(campaigns.CAMPAIGNS))
def test_committed_results_match_a_fresh_run(name):
    committed = campaigns.load(NOTEBOOKS / f"{name}_results.json", name)
    # encoded and decoded as the committed file was (tuples become lists, inf stays inf)
    fresh = json.loads(json.dumps(campaigns.CAMPAIGNS[name]()))
    diffs = _differences(committed, fresh)
    assert not diffs, (f"{len(diffs)} difference(s) between notebooks/{name}_results.json and a fresh run "
                       f"(regenerate it with python -m ees_theory.report.campaigns {name} notebooks/{name}_results.json):\n  "
                       + "\n  ".join(diffs[:20]))


def test_a_file_of_another_campaign_is_refused(tmp_path):
    f = tmp_path / "x.json"
    campaigns.dump({"campaign": "precision", "records": []}, f)
    with pytest.raises(ValueError, match="holds campaign 'precision', not 'stress'"):
        campaigns.load(f, "stress")


def test_the_differences_helper_sees_a_moved_number():
    # the comparison must be able to fail: one count changed deep inside a record
    a = {"ees": {"float16:input": {"records": [{"got_k": 3, "bound": float("inf")}]}}}
    b = {"ees": {"float16:input": {"records": [{"got_k": 4, "bound": float("inf")}]}}}
    assert _differences(a, b) == ["/ees/float16:input/records[0]/got_k: committed 3, now 4"]
    assert _differences(a, a) == []

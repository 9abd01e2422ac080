"""The golden vectors: current, well-formed, covering every family and the tricky cases, and right
where hand arithmetic can say so."""

import json
import math

import numpy as np

from ees_theory.families import distributions
from ees_theory.running import vectors as v
from ees_theory.spec.formats import DTYPES, from_hex
from ees_theory.spec.methods import TRANSFORMS


def test_vectors_are_current():
    assert v.is_current(), "the golden vectors are stale: run `ees-theory vectors regen`"


def test_regen_is_deterministic(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    v.regen(a)
    v.regen(b)
    assert a.read_bytes() == b.read_bytes() == v.vectors_path().read_bytes()


def test_every_line_is_well_formed():
    lines = v.vectors_path().read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "ees-theory-golden" and header["version"] == v.VECTORS_VERSION
    cases = [json.loads(ln) for ln in lines[1:]]
    assert header["cases"] == len(cases) <= 320
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert set(c) >= {"id", "method", "family", "params", "logits", "expected", "comment", "dtypes"}
        assert c["comment"] and "\n" not in c["comment"]
        assert all(isinstance(x, str) for x in c["logits"])  # hex floats, never decimals
        z = np.array([from_hex(x) for x in c["logits"]])
        assert np.isfinite(z).any() and not np.isnan(z).any() and not np.isposinf(z).any()
        assert set(c["dtypes"]) <= set(DTYPES) and "float64" in c["dtypes"]
        assert "margin" in c["expected"] or c["method"] in TRANSFORMS  # a transform's answer is values, not decisions
        if c["method"] == "ees":
            e = c["expected"]
            assert e["certified"] and e["k"] == len(e["kept"]) >= 1
    assert sum(len(c["logits"]) >= 1000 for c in cases) >= 3  # a few large vocabularies
    assert np.median([len(c["logits"]) for c in cases]) <= 32  # mostly small


def test_coverage_of_families_and_tricky_cases():
    cases = v.load_vectors()
    for method in ("ees", "edt", "dynatemp"):
        fams = {c.family for c in cases if c.method == method}
        assert set(distributions.FAMILY_NAMES) <= fams, set(distributions.FAMILY_NAMES) - fams
    fams = {c.family for c in cases}
    assert {"uniform", "single", "masked", "tied_boundary", "fp16_extreme", "temperature", "head_flat_tail"} <= fams
    for d in DTYPES:
        assert sum(d in c.dtypes for c in cases) >= 100


def _find(method, comment_start):
    return next(c for c in v.load_vectors(method=method) if c.comment.startswith(comment_start))


def test_hand_arithmetic_cases():
    c = _find("ees", "uniform over 7")
    assert c.expected["kept"] == list(range(7))
    c = _find("ees", "uniform over the 3 unmasked")
    assert c.expected["kept"] == [0, 2, 4]
    c = _find("ees", "a tied top pair out of id order")
    assert c.expected["kept"] == [1, 2]  # logits (0, 3, 3, 1): the tie 1, 2 by id, then 3 crosses
    assert from_hex(_find("edt", "H = ln 2 = theta").expected["temperature"]) == 0.8  # N * T0
    assert math.isclose(from_hex(_find("edt", "uniform over 5").expected["temperature"]), 1.2, rel_tol=1e-15)
    assert from_hex(_find("edt", "one candidate: H = 0").expected["temperature"]) == 0.0
    assert _find("dynatemp", "a single entry").expected["temperature"] is None
    assert from_hex(_find("dynatemp", "uniform: H = ln n").expected["temperature"]) == 1.25  # T_max
    # H = ln 2 over n = 4 entries (two masked): 0.5 + (1.5 - 0.5) * ln 2 / ln 4 = 1.0
    assert from_hex(_find("dynatemp", "n counts -inf entries").expected["temperature"]) == 1.0
    assert from_hex(_find("dynatemp", "one finite of two").expected["temperature"]) == 0.5  # T_min


def test_cli_vectors_check_and_list(capsys):
    from ees_theory.cli import main

    assert main(["vectors", "check"]) == 0
    assert main(["vectors", "list"]) == 0
    out = capsys.readouterr().out
    assert "is current" in out and "by method:" in out

"""The one outward rounding, the one escalation loop, and a truncation bound that used to point inward."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
from mpmath import iv

import ees_theory as et
from ees_theory.core.certify import enclose, float_bounds, fraction_bounds, ladder


def _fraction(x: mpmath.mpf) -> Fraction:
    sign, man, exp, _ = x._mpf_
    return (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)


def test_float_bounds_enclose_negative_and_positive_values():
    rng = np.random.default_rng(0)
    with mpmath.workprec(200):
        values = [mpmath.mpf(int(rng.integers(-(2**62), 2**62))) / int(rng.integers(1, 2**62)) for _ in range(400)]
    for x in values:
        lo, hi = float_bounds(x, x)
        q = _fraction(x)
        assert Fraction(lo) <= q <= Fraction(hi)
        assert np.nextafter(lo, np.inf) >= hi  # tight: at most one float apart


def test_fraction_bounds_enclose():
    for q in (Fraction(1, 3), Fraction(-2, 7), Fraction(5, 8), Fraction(-10**40, 3)):
        lo, hi = fraction_bounds(q)
        assert Fraction(lo) <= q <= Fraction(hi)


def test_truncation_bounds_point_outward():
    # min-p on (2, 1, 0) with min_p = 0.3: index 2 fails by a negative gap whose float bounds were
    # once rounded toward zero, so that lo came out above hi
    r = et.reference.truncate("min-p", [2.0, 1.0, 0.0], min_p=0.3)
    assert r.kept == (0, 1)
    for c in r.decisions:
        assert c.lo <= c.hi
    failing = [c for c in r.decisions if c.index == 2]
    assert failing and failing[0].hi < 0
    # the gap is p_2 / p_0 - min_p = e**-2 - 0.3 (0.3 as the double it is)
    with mpmath.workprec(200):
        exact = mpmath.exp(-2) - mpmath.mpf(0.3)
    assert Fraction(failing[0].lo) <= _fraction(exact) <= Fraction(failing[0].hi)


def test_ladder_climbs_and_enclose_reports_failure():
    assert [r.prec for r in ladder(lambda prec: iv.mpf(1) / 7, 512)] == [128, 256, 512]
    value, ok = enclose(lambda prec: iv.mpf([-1, 1]), 10, 256)  # never narrows: no answer
    assert not ok
    value, ok = enclose(lambda prec: iv.log(iv.mpf(2)), 25)
    with mpmath.workdps(40):
        assert ok and abs(value - mpmath.log(2)) < mpmath.mpf(10) ** -25


def test_decisions_round_trip_through_the_ledger_file():
    # the gap tables hold Decisions; verdicts.json keeps its sign labels, read and written the same
    import json

    from ees_theory.ledger import registry

    data = json.loads(registry.LEDGER_PATH.read_text())["claims"]
    stored = [v["counterexample"] for v in data.values() if v.get("counterexample")]
    assert stored
    for c in stored:
        assert registry.Counterexample.from_json(c).to_json() == c


def test_check_and_comparison_carry_decisions():
    from ees_theory.core.certify import Decision

    r = et.reference.truncate("epsilon", [0.0, 0.0], epsilon=0.5)  # p = 0.5 = epsilon exactly
    c = r.decisions[0]
    assert c.zero is Decision.TRUE and c.passes(strict=True) is Decision.FALSE and c.passes(strict=False) is Decision.TRUE
    e = et.reference.ees([2.0, 1.0, 0.0])
    assert all(isinstance(d.decision, Decision) and d.crossing == d.decision.known() for d in e.decisions)

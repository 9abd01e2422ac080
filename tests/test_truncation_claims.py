"""The truncation claims: their ledger verdicts, and direct property checks behind each."""

import numpy as np
import pytest

from ees_theory.ledger import claims
from ees_theory.ledger import truncation_claims as tc
from ees_theory.reference import truncate

IDS = sorted(tc.TRUNCATION_CLAIMS)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.json"
    return {v.claim_id: v for v in claims.run_ledger(ids=IDS, path=path)}


def test_registered_with_the_ledger():
    assert set(IDS) <= set(claims.CLAIM_REGISTRY)


def test_topns_tau_invariance(verdicts):
    assert verdicts["TOPNS-TAU-INV"].verdict == "proved"
    z = [1.5, 0.25, -0.5, -3.0, 0.75]
    assert len({truncate("top-n-sigma", z, temperature=t, n=0.8).kept for t in (0.1, 1.0, 37.0)}) == 1


def test_pless_bounds(verdicts):
    assert verdicts["PLESS-BOUNDS"].verdict == "proved"
    # uniform over 4 of V = 4: sum p^2 = 1/4 = 1/V, the lower bound is met exactly (certified)
    ce = tc._threshold_checks(np.zeros(4))
    assert ce == (0, [])


def test_pless_keeps_top(verdicts):
    assert verdicts["PLESS-NONEMPTY"].verdict == "proved"


def test_minp_tau_monotone(verdicts):
    assert verdicts["MINP-TAU-MONO"].verdict == "proved"


def test_topp_tau_monotone(verdicts):
    assert verdicts["TOPP-TAU-MONO"].verdict == "proved"
    z = np.array([3.0, 1.0, 0.5, 0.0, -1.0, -4.0])
    ks = [truncate("top-p", z, temperature=t, p=0.9).k for t in (0.2, 0.5, 1.0, 2.0, 5.0)]
    assert ks == sorted(ks) and ks[0] < ks[-1]


def test_eta_superset(verdicts):
    assert verdicts["ETA-SUPERSET"].verdict == "proved"


def test_typical_can_drop_mode(verdicts):
    v = verdicts["TYPICAL-MODE"]
    assert v.verdict == "refuted" and v.counterexample.certified
    r = truncate("typical", v.counterexample.row, mass=0.5)
    # hand check: p_head = 1 / (1 + 100 e^-3.75) = 0.298; the tail tokens each 0.00702
    assert 0 not in r.kept and r.certified
    assert r.k == 72  # 71 * 0.00702 = 0.4985 < 0.5 <= 72 * 0.00702 = 0.5055

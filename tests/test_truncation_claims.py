"""The proved truncation claims, tested directly: each test draws rows with hypothesis, derives the
expected kept set or bound itself (60-digit mpmath from the definitions, not the ledger and not the
reference's own comparisons), and checks the certified reference against it and against the claim.

A comparison the test cannot decide at 60 digits (a gap under 1e-45: exact ties such as a uniform
row meeting its own p-less threshold) is left out of that example and reported as a hypothesis
event ("undecided ..."; run with ``--hypothesis-show-statistics`` to see the counts); so is a row
the reference did not certify. The written proofs are in ``proofs/<claim id>.md``.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from ees_theory.core.certify import Decision
from ees_theory.families import strategies as ets
from ees_theory.ledger import claims
from ees_theory.ledger import truncation_claims as tc
from ees_theory.reference import truncate

IDS = sorted(tc.TRUNCATION_CLAIMS)
ROWS = ets.logits(min_vocab=2, max_vocab=24, ties=True)
TEMPS = ets.temperatures(0.05, 20.0)
DPS = 60
EPS = mpmath.mpf(10) ** -45


def _probs(z, tau=1.0):
    """Candidate ids and their probabilities at 60 digits: softmax(z / tau) over the finite logits."""
    ids = [i for i, x in enumerate(z) if math.isfinite(x)]
    with mpmath.workdps(DPS):
        top = max(mpmath.mpf(float(z[i])) for i in ids)
        e = [mpmath.exp((mpmath.mpf(float(z[i])) - top) / mpmath.mpf(tau)) for i in ids]
        s = mpmath.fsum(e)
        return ids, [x / s for x in e]


def _top(z):
    """The most probable token (lowest id among ties: the canonical order)."""
    return int(np.argmax(z))


def _certified(r):
    if not r.certified:
        event(f"reference undecided: {r.method}")
    return r.certified


def _agree(kept, decide, ids):
    """``decide(i)`` is True/False/None (None: undecided here); every decided token must match ``kept``."""
    kept = set(kept)
    for i in ids:
        d = decide(i)
        if d is None:
            event("undecided comparison (gap < 1e-45), left out")
            continue
        assert (i in kept) == d, f"token {i}: expected {'kept' if d else 'dropped'}"


def _sign(x):
    return None if abs(x) < EPS else x > 0


# ---- TOPNS-TAU-INV --------------------------------------------------------------------------------


@given(z=ROWS, t1=TEMPS, t2=TEMPS, n=st.floats(0.0, 3.0))
def test_topns_tau_invariance(z, t1, t2, n):
    """top-n-sigma keeps l_i >= max l - n sigma(l) with l = z / tau: the same set at every tau,
    namely {i : z_i >= max z - n sigma(z)} (population sigma over the candidates)."""
    r1 = truncate("top-n-sigma", z, temperature=t1, n=n)
    r2 = truncate("top-n-sigma", z, temperature=t2, n=n)
    if not (_certified(r1) and _certified(r2)):
        return
    assert r1.kept == r2.kept
    ids = [i for i, x in enumerate(z) if math.isfinite(x)]
    with mpmath.workdps(DPS):
        v = [mpmath.mpf(float(z[i])) for i in ids]
        mean = mpmath.fsum(v) / len(v)
        sigma = mpmath.sqrt(mpmath.fsum((x - mean) ** 2 for x in v) / len(v))
        cut = max(v) - mpmath.mpf(n) * sigma
        gaps = {i: mpmath.mpf(float(z[i])) - cut for i in ids}
    _agree(r1.kept, lambda i: True if gaps[i] == 0 else _sign(gaps[i]), ids)


# ---- PLESS-BOUNDS / PLESS-NONEMPTY ---------------------------------------------------------------


@given(z=ROWS, tau=TEMPS)
def test_pless_bounds(z, tau):
    """1/V <= sum p^2 <= max p, and 0 <= (V sum p^2 - 1)/(V - 1) <= max p (V: the row length);
    p-less keeps exactly the tokens with p_i >= sum p^2."""
    ids, p = _probs(z, tau)
    V = len(z)
    with mpmath.workdps(DPS):
        s2 = mpmath.fsum(x * x for x in p)
        pmax = max(p)
        norm = (V * s2 - 1) / (V - 1)
        assert s2 >= mpmath.mpf(1) / V - EPS and s2 <= pmax + EPS
        assert norm >= -EPS and norm <= pmax + EPS
        if len(ids) == V and max(z) == min(z):
            assert abs(s2 - mpmath.mpf(1) / V) < EPS  # uniform over all V entries: the lower bound is met
        gaps = {i: pi - s2 for i, pi in zip(ids, p)}
    r = truncate("p-less", z, temperature=tau)
    if _certified(r):
        # equal logits give equal probabilities, hence equal decisions: a uniform row keeps everything
        _agree(r.kept, lambda i: True if len(set(z[ids])) == 1 else _sign(gaps[i]), ids)


@given(z=ROWS, tau=TEMPS)
def test_pless_keeps_top(z, tau):
    """Both thresholds are at most max p, so the most probable token always passes its comparison."""
    top = _top(z)
    ids, p = _probs(z, tau)
    V = len(z)
    with mpmath.workdps(DPS):
        s2 = mpmath.fsum(x * x for x in p)
        assert max(p) - s2 >= -EPS and max(p) - (V * s2 - 1) / (V - 1) >= -EPS
    for method in ("p-less", "p-less-norm"):
        r = truncate(method, z, temperature=tau)
        assert top in r.kept, method
        # not only through the keep-at-least-one floor: the top token's own comparison passes
        assert not any(c.negative is Decision.TRUE for c in r.decisions if c.index == 0), method


# ---- MINP-TAU-MONO -----------------------------------------------------------------------------


@given(z=ROWS, t1=TEMPS, t2=TEMPS, min_p=st.floats(1e-4, 1.0))
def test_minp_tau_monotone(z, t1, t2, min_p):
    """min-p keeps p_i >= min_p p_max, i.e. (z_i - z_max) / tau >= ln min_p: the kept set grows with tau."""
    t1, t2 = sorted((t1, t2))
    r1 = truncate("min-p", z, temperature=t1, min_p=min_p)
    r2 = truncate("min-p", z, temperature=t2, min_p=min_p)
    if not (_certified(r1) and _certified(r2)):
        return
    assert set(r1.kept) <= set(r2.kept)
    ids = [i for i, x in enumerate(z) if math.isfinite(x)]
    zmax = max(float(z[i]) for i in ids)
    for r, tau in ((r1, t1), (r2, t2)):
        with mpmath.workdps(DPS):
            gaps = {i: (mpmath.mpf(float(z[i])) - zmax) / mpmath.mpf(tau) - mpmath.log(mpmath.mpf(min_p)) for i in ids}
        _agree(r.kept, lambda i: True if float(z[i]) == zmax else _sign(gaps[i]), ids)


# ---- TOPP-TAU-MONO -----------------------------------------------------------------------------


@given(z=ROWS, t1=TEMPS, t2=TEMPS, p=st.floats(0.01, 1.0))
def test_topp_tau_monotone(z, t1, t2, p):
    """top-p keeps the smallest sorted prefix with mass >= p; that count is non-decreasing in tau."""
    t1, t2 = sorted((t1, t2))
    ks = []
    for tau in (t1, t2):
        r = truncate("top-p", z, temperature=tau, p=p)
        if not _certified(r):
            return
        _, q = _probs(z, tau)
        q = sorted(q, reverse=True)
        with mpmath.workdps(DPS):
            P = list(np.cumsum(np.array(q, dtype=object)))
            signs = [_sign(Pk - mpmath.mpf(p)) if Pk != mpmath.mpf(p) else True for Pk in P]
        if None in signs[: r.k]:
            event("undecided prefix mass (gap < 1e-45), left out")
        else:
            expected = next((k + 1 for k, s in enumerate(signs) if s), len(q))
            assert r.k == expected
        ks.append(r.k)
    assert ks[0] <= ks[1]


# ---- ETA-SUPERSET -------------------------------------------------------------------------------


@given(z=ROWS, tau=TEMPS, eps=st.floats(1e-4, 0.5))
def test_eta_superset(z, tau, eps):
    """eta's threshold min(eps, sqrt(eps) e^-H) is at most eps, so eta keeps what epsilon keeps."""
    a = truncate("epsilon", z, temperature=tau, epsilon=eps)
    b = truncate("eta", z, temperature=tau, epsilon=eps)
    if not (_certified(a) and _certified(b)):
        return
    assert set(a.kept) <= set(b.kept)
    ids, p = _probs(z, tau)
    with mpmath.workdps(DPS):
        H = -mpmath.fsum(x * mpmath.log(x) for x in p if x > 0)
        eta = min(mpmath.mpf(eps), mpmath.sqrt(mpmath.mpf(eps)) * mpmath.exp(-H))
        assert eta <= eps
        for r, thr in ((a, mpmath.mpf(eps)), (b, eta)):
            gaps = {i: pi - thr for i, pi in zip(ids, p)}
            if all(_sign(g) is False for g in gaps.values()):
                assert r.kept == (_top(z),)  # nothing passes: the keep-at-least-one floor keeps the top token
            else:
                _agree(r.kept, lambda i: _sign(gaps[i]), ids)


# ---- XTC-KEEPS-ABOVE ----------------------------------------------------------------------------


@given(z=ROWS, tau=TEMPS, thr=st.floats(1e-3, 0.6))
def test_xtc_keeps_one_above(z, tau, thr):
    """With the gate open, XTC keeps every token under the threshold and the last one reaching it."""
    r = truncate("xtc", z, temperature=tau, threshold=thr, probability=1.0, u=0.5)
    if not _certified(r):
        return
    ids, p = _probs(z, tau)
    with mpmath.workdps(DPS):
        gaps = {i: pi - mpmath.mpf(thr) for i, pi in zip(ids, p)}
    below = [i for i in ids if _sign(gaps[i]) is False]
    above = [i for i in ids if _sign(gaps[i]) is True]
    if len(below) + len(above) < len(ids):
        event("undecided comparison (gap < 1e-45), left out")
        return
    assert set(below) <= set(r.kept)  # nothing under the threshold is dropped
    reached = set(r.kept) & set(above)
    assert len(reached) == min(len(above), 1)  # exactly one survivor reaches the threshold, if any does
    if reached:  # and it is the least probable of them (canonical order: the highest id among ties)
        least = min(above, key=lambda i: (p[ids.index(i)], -i))
        assert reached == {least}


# ---- TYPICAL-MODE (refuted) and the ledger --------------------------------------------------------


def test_typical_can_drop_mode():
    z = np.array(tc.TYPICAL_COUNTEREXAMPLE_LOGITS)
    r = truncate("typical", z, mass=0.5)
    # hand check: p_head = 1 / (1 + 100 e^-3.75) = 0.298; the tail tokens each 0.00702
    assert 0 not in r.kept and r.certified
    assert r.k == 72  # 71 * 0.00702 = 0.4985 < 0.5 <= 72 * 0.00702 = 0.5055


def test_registered_with_the_ledger():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    toc = (root / "book" / "_toc.yml").read_text()
    assert set(IDS) <= set(claims.CLAIM_REGISTRY)
    for cid in IDS:
        claim = claims.CLAIM_REGISTRY[cid]
        assert claim.proof == f"proofs/{cid.lower()}.md" and (root / claim.proof).exists()
        assert f"file: proofs/{cid.lower()}\n" in toc  # the page is in the book
        test_file, name = claim.test.split("::")
        assert test_file == "tests/test_truncation_claims.py" and f"def {name}(" in Path(__file__).read_text()

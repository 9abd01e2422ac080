"""Property tests, one per EES claim of specification §5.

A proved claim is tested as a property over the families (with ``hypothesis.target`` steering
towards small margins); a refuted claim is tested as "this certified counterexample refutes it",
with the counterexample recomputed independently here (plain mpmath, not the reference).
"""

import math

import mpmath
import numpy as np
from hypothesis import assume, example, given, target
from hypothesis import strategies as st

import ees_theory as et
from ees_theory.ledger import claims, ees_claims
from ees_theory.families import strategies as ets

LEDGER = claims.recorded_verdicts()


def _stored(cid):
    return claims.Counterexample.from_json(LEDGER[cid]["counterexample"])


def _f_independent(z, tau=1.0, dps=50):
    """f(k) for k = 2..n straight from the definitions (specification §2), at ``dps`` digits."""
    with mpmath.workdps(dps):
        zs = sorted((mpmath.mpf(float(v)) for v in z if math.isfinite(v)), reverse=True)
        w = [mpmath.exp((v - zs[0]) / tau) for v in zs]
        total = mpmath.fsum(w)
        p = [x / total for x in w]
        out = []
        for k in range(2, len(p) + 1):
            Pk = mpmath.fsum(p[:k])
            Hk = -mpmath.fsum(x / Pk * mpmath.log(x / Pk) for x in p[:k])
            out.append(Hk / mpmath.log(k) - Pk)
        return out


# ---- refuted claims: the stored certified counterexamples ---------------------------------------


def test_mono_counterexample_refutes():
    c = _stored("EES-MONO")
    f = _f_independent(c.row)
    k = c.params["k"]
    assert f[k - 1] > f[k - 2]  # f(k+1) > f(k): not decreasing
    assert ees_claims._mono_certify(c.row) is not None  # and the reference certifies it


def test_unique_counterexample_refutes():
    c = _stored("EES-UNIQUE")
    f = _f_independent(c.row)
    assert f[c.params["k_negative"] - 2] < 0 < f[c.params["k_positive"] - 2]
    assert all(g.sign != "?" for g in c.gaps) and len(c.gaps) == c.n - 1
    fresh = claims.certified_gaps(c.row)
    assert [g.sign for g in fresh] == [g.sign for g in c.gaps]
    # the rules disagree on it: first crossing keeps 1, the last non-negative gap is at k = 3
    assert et.reference.ees(c.row).k == 1 and et.reference.ees(c.row, rule="last").k == 3


def test_tau_inv_counterexample_refutes():
    c = _stored("EES-TAU-INV")
    t1, t2 = c.temperatures
    r1, r2 = et.reference.ees(c.row, t1), et.reference.ees(c.row, t2)
    assert r1.certified and r2.certified and r1.k != r2.k


# ---- proved claims: properties over the families --------------------------------------------------


@given(ets.logits(min_vocab=2, max_vocab=40, ties=True))
@example(np.array([0.0, 0.0, 0.0, -1.0]))
def test_exist_drops_least_likely(z):
    r = et.reference.ees(z)
    assume(r.certified and r.n >= 2 and not r.row.all_tied)
    target(-r.margin, label="margin of the decisive comparisons")
    assert r.k <= r.n - 1


@given(st.lists(st.floats(1e-6, 1.0), min_size=2, max_size=30))
def test_incremental_update_identity(w):
    inc, direct = claims.incremental_entropies(sorted(w, reverse=True), dps=60)
    assert max(abs(a - b) for a, b in zip(inc, direct)) < mpmath.mpf(10) ** -50


@given(ets.logits(min_vocab=3, max_vocab=30, families=["head_tail", "normal", "zipf", "tied_top", "bimodal"]), ets.temperatures(0.05, 20.0), ets.temperatures(0.05, 20.0))
@example(_stored("EES-UNIQUE").row, 0.5, 2.0)
def test_tau_mono(z, t1, t2):
    t1, t2 = min(t1, t2), max(t1, t2)
    r1, r2 = et.reference.ees(z, t1), et.reference.ees(z, t2)
    assume(r1.certified and r2.certified)
    target(float(r1.k - r2.k), label="k*(low tau) - k*(high tau)")
    assert r1.k <= r2.k


@given(ets.logits(min_vocab=2, max_vocab=20, families=["normal", "tied_top", "head_tail", "zipf", "masked"]))
def test_tau_limits(z):
    row = et.reference.as_row(z)
    assume(row.n >= 2 and not row.all_tied)
    small, big = ees_claims._tau_limits(z)
    r0, rinf = et.reference.ees(z, small), et.reference.ees(z, big)
    assume(r0.certified and rinf.certified)
    assert r0.k == row.top_ties
    assert rinf.k == row.n - 1


@given(ets.logits(min_vocab=2, max_vocab=30, ties=True), st.permutations(range(30)), st.integers(-8, 8))
def test_shift_permutation_ties(z, perm, shift):
    z = np.where(np.isfinite(z), np.round(z * 2.0**30) / 2.0**30, z)  # dyadic, so z + shift is exact
    perm = [i for i in perm if i < len(z)]
    ks = [et.reference.ees(v) for v in (z, z + shift, z[perm], z[::-1])]
    assume(all(r.certified for r in ks))
    assert len({r.k for r in ks}) == 1
    # the kept *values* agree too; only which of several tied tokens is kept may differ
    vals = [sorted(v[list(r.kept)].tolist()) for v, r in zip((z, z, z[perm], z[::-1]), ks)]
    assert vals[0] == vals[2] == vals[3]


@given(ets.logits(min_vocab=2, max_vocab=30, ties=True), st.lists(st.floats(0.0, 5.0), min_size=1, max_size=20), ets.temperatures(0.1, 10.0))
@example(_stored("EES-UNIQUE").row, [0.0], 1.0)
def test_tail_never_decreases(z, drops, tau):
    lowest = float(np.min(z[np.isfinite(z)]))
    longer = np.concatenate([z, lowest - np.array(drops)])
    r0, r1 = et.reference.ees(z, tau), et.reference.ees(longer, tau)
    assume(r0.certified and r1.certified)
    target(float(r0.k - r1.k), label="decrease of k*")
    assert r1.k >= r0.k

"""Minimal counterexamples: the EES-UNIQUE reduction against the certified reference, the committed
certificate re-verified by the independent checker, and the checker's refusal of broken certificates."""

import copy
import gzip
import json
import math

import mpmath
import numpy as np
import pytest

from ees_theory.ledger import certificate_check as cc
from ees_theory.ledger import claims
from ees_theory.ledger import minimality as M
from ees_theory.reference import exact_curve
from ees_theory.reference.truncation import truncate


@pytest.fixture(scope="module")
def certificate():
    return M.load_certificate()


@pytest.fixture(scope="module")
def stored_row():
    return claims.from_hex(claims.recorded_verdicts()["EES-UNIQUE"]["counterexample"]["logits"])


def _certified_signs(z, ks):
    return {g.k: g.sign for g in claims.certified_gaps(z, ks=ks)}


# ---- the reduction, checked against the certified reference --------------------------------------


def _h_W(w, k):
    """Normalised entropy and mass of w_1..w_k, at 60 digits (the definition, written out here)."""
    W = mpmath.fsum(w[:k])
    return -mpmath.fsum(x / W * mpmath.log(x / W) for x in w[:k]) / mpmath.log(k), W


def test_f_is_h_minus_p1_times_W_on_random_rows():
    # f(k) = Hbar_k - P_k with Hbar_k = h_k(w) and P_k = p_1 W_k: the identity the reduction rests on
    rng = np.random.default_rng(7)
    for _ in range(20):
        z = np.sort(rng.normal(0, 2, int(rng.integers(3, 10))))[::-1]
        curve = exact_curve(z, dps=40)
        with mpmath.workdps(60):
            e = [mpmath.exp(mpmath.mpf(float(x)) - mpmath.mpf(float(z[0]))) for x in z]
            p1 = 1 / mpmath.fsum(e)
            for rec in curve:
                h, W = _h_W(e, rec.k)
                assert abs((h - p1 * W) - rec.f) < mpmath.mpf(10) ** -25


def test_stored_counterexample_satisfies_both_inequalities(stored_row):
    assert _certified_signs(stored_row, [2, 3]) == {2: "-", 3: "+"}
    I1, I2 = M.row_inequalities(stored_row, 2, 3)
    assert I1.a > 0 and I2.a > 0  # certified, mpmath.iv


def _row_from(w, p1, n):
    """Probabilities p_1 w_1..p_1 w_j, then the rest spread evenly over n - j tail tokens."""
    j = len(w)
    head = [p1 * x for x in w]
    rest = (1 - sum(head)) / (n - j)
    return np.log(np.array(head + [rest] * (n - j)))


def test_reduction_both_directions_on_random_shapes():
    """For random w near the feasible region: when (I1) and (I2) hold, a row built from w (p_1 in the
    middle of its interval, an even tail) has f(i) < 0 < f(j) by the reference; when one fails, rows
    built with random p_1 and tails never do. Both sides decided with certainty."""
    rng = np.random.default_rng(3)
    hits = misses = 0
    for t in range(60):
        n = int(rng.integers(7, 11))
        j, i = 3, 2
        a = float(rng.uniform(0.10, 0.22))
        w = [1.0, a, a * float(rng.uniform(0.9, 1.0))]
        with mpmath.workdps(50):
            wm = [mpmath.mpf(x) for x in w]
            hi_, Wi = _h_W(wm, i)
            hj, Wj = _h_W(wm, j)
            I1 = hj * Wi - hi_ * Wj
            I2 = hj * (Wj + (n - j) * wm[-1]) - Wj
            low = max(hi_ / Wi, 1 / (Wj + (n - j) * wm[-1]))
            high = hj / Wj
        if I1 > 1e-6 and I2 > 1e-6:
            z = _row_from(w, float((low + high) / 2), n)
            assert _certified_signs(z, [i, j]) == {i: "-", j: "+"}, (n, w)
            Ia, Ib = M.row_inequalities(z, i, j)
            assert Ia.a > 0 and Ib.a > 0
            hits += 1
        elif I1 < -1e-6 or I2 < -1e-6:
            for _ in range(3):
                p1 = float(rng.uniform(0.3, 1.0)) / float(sum(w))
                tail_max = p1 * w[-1]
                rest = 1 - p1 * sum(w)
                if not 0 < rest <= (n - j) * tail_max * (1 - 1e-9):
                    continue
                z = _row_from(w, p1, n)
                s = _certified_signs(z, [i, j])
                assert "?" not in s.values()
                assert not (s[i] == "-" and s[j] == "+"), (n, w, p1)
            misses += 1
    assert hits >= 5 and misses >= 5  # both directions were exercised


def test_survival_at_n8_contains_the_stored_row(stored_row):
    sv = M.survival(stored_row, 2, 3, only_pair=True)
    (p,) = sv.pairs
    assert p["feasible"] > 0 and sv.row_box in ("feasible", "survivor")
    assert sv.row_I1[0] > 0 and sv.row_I2[0] > 0


def test_no_certificate_at_n8():
    r = M.search_pair(8, 2, 3, min_width=2.0**-8)
    assert r.feasible > 0
    with pytest.raises(ValueError, match="not refuted on every box"):
        M._encode(r)


def test_search_refutes_small_sizes_quickly():
    for r in M.search_size(5):
        assert r.complete and r.survivors == 0 and r.feasible == 0


# ---- the committed certificate and its independent checker ----------------------------------------


def test_committed_certificate_checks(certificate):
    report = cc.check_certificate()
    assert report.ok and report.sizes == (4, 5, 6, 7) and report.pairs == 20
    assert report.boxes == certificate["search"]["boxes"]
    assert report.leaves["I1"] + report.leaves["I2"] + report.leaves["outside"] == sum(
        p["leaves"]["I1"] + p["leaves"]["I2"] + p["leaves"]["outside"] for p in certificate["pairs"])


def test_certificate_matches_a_fresh_search(certificate):
    # the committed tree is what the search writes today (for the sizes cheap enough here)
    fresh = {(p["n"], p["i"], p["j"]): p for p in (M._encode(r) for r in M.search_size(5))}
    for p in certificate["pairs"]:
        if p["n"] == 5:
            assert p == fresh[(5, p["i"], p["j"])]


def _entry(certificate, n, i, j):
    return copy.deepcopy(next(p for p in certificate["pairs"] if (p["n"], p["i"], p["j"]) == (n, i, j)))


def test_checker_rejects_a_truncated_tree(certificate):
    e = _entry(certificate, 4, 2, 3)
    e["tree"] = e["tree"][:-1]
    with pytest.raises(cc.CertificateError, match="unaccounted|left over|fewer margins"):
        cc.check_pair(e)


def test_checker_rejects_an_overstated_margin(certificate):
    e = _entry(certificate, 4, 2, 3)
    e["fails_by_2_pow"][0] += 12  # claims the bound is below -4096 * 2**e: false
    with pytest.raises(cc.CertificateError, match="only known to be"):
        cc.check_pair(e)


@pytest.mark.parametrize("was, now", [("1", "2"), ("2", "1")])
def test_checker_rejects_a_wrong_inequality(certificate, was, now):
    e = _entry(certificate, 4, 2, 3)
    k = e["tree"].index(was)  # the first leaf of that kind: the other inequality does not fail there
    e["tree"] = e["tree"][:k] + now + e["tree"][k + 1:]
    with pytest.raises(cc.CertificateError, match=f"\\(I{now}\\) is only known to be <= 0"):
        cc.check_pair(e)


def test_checker_rejects_a_false_outside_mark(certificate):
    e = _entry(certificate, 4, 2, 3)
    k = e["tree"].index("1")
    e["tree"] = e["tree"][:k] + "o" + e["tree"][k + 1:]
    with pytest.raises(cc.CertificateError, match="not empty|margins left over"):
        cc.check_pair(e)


def test_checker_rejects_n7_tree_relabelled_n8(certificate):
    # the n = 7 proof for (2, 3) does not prove n = 8, where the stored counterexample lives
    e = _entry(certificate, 7, 2, 3)
    e["n"] = 8
    with pytest.raises(cc.CertificateError):
        cc.check_pair(e)


def test_checker_rejects_missing_pairs(tmp_path, certificate):
    cert = copy.deepcopy(certificate)
    cert["pairs"] = [p for p in cert["pairs"] if (p["n"], p["i"], p["j"]) != (6, 2, 4)]
    path = tmp_path / "c.json.gz"
    path.write_bytes(gzip.compress(json.dumps(cert).encode()))
    with pytest.raises(cc.CertificateError, match="not every"):
        cc.check_certificate(path)


# ---- minimality in the ledger ----------------------------------------------------------------------


def test_every_refuted_claim_states_its_minimality():
    verdicts = claims.run_ledger()
    refuted = [v for v in verdicts if v.verdict == "refuted"]
    assert refuted
    for v in refuted:
        m = v.minimality
        assert m is not None and m["status"] in ("minimal size proved", "smallest found")
        assert m["size"] <= v.counterexample.n
        assert v.to_json()["minimality"] == m
    unique = next(v for v in refuted if v.claim_id == "EES-UNIQUE")
    assert unique.minimality["status"] == "minimal size proved" and unique.minimality["size"] == 8 == unique.counterexample.n
    assert "minimal size proved, n = 8" in claims.format_detail(unique)


def test_typical_minimal_witness_and_two_token_rows():
    r = truncate("typical", M.TYPICAL_MINIMAL_LOGITS, mass=0.5)
    assert r.certified and 0 not in r.kept and len(M.TYPICAL_MINIMAL_LOGITS) == 3
    # the n = 2 argument: the mode comes first in typical order, so it is kept, at any mass
    rng = np.random.default_rng(11)
    for _ in range(40):
        z = [0.0, -float(rng.uniform(0.0, 6.0))]
        for mass in (0.1, 0.5, 0.9, 0.999):
            r = truncate("typical", z, mass=mass)
            assert r.certified and 0 in r.kept


def test_tau_inv_two_token_rows_are_invariant():
    # the EES-TAU-INV argument: with two candidates k* is the same at every temperature
    from ees_theory.reference import ees

    rng = np.random.default_rng(5)
    for _ in range(20):
        z = [0.0, -float(rng.choice([0.0, rng.uniform(0.0, 8.0)]))]
        ks = {ees(z, t).k for t in (0.05, 0.5, 1.0, 7.0, 300.0)}
        assert len(ks) == 1 and ks == {1 if z[1] != 0 else 2}


def test_cli_json_marks_unique_minimal(capsys):
    from ees_theory.cli import main

    assert main(["claims", "--claim", "EES-UNIQUE", "--json", "-"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out[out.index("\n["):])
    m = data[0]["minimality"]
    assert m["status"] == "minimal size proved" and m["size"] == 8 and m["certificate"].endswith(".json.gz")
    assert "re-verified now: 20 pairs" in out

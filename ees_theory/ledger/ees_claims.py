"""Claims of specification §5 about the EES rule (``EES-*``), with their certified gap tables.

>>> [(g.k, g.sign) for g in certified_gaps([0.0, -3.0, -3.0])]
[(2, '-'), (3, '-')]
"""

from __future__ import annotations

from typing import Any, Iterable

import mpmath
import numpy as np

from .. import spec
from ..core.certify import Decision, decide_negative
from ..reference import curve_enclosure, ees, softmax
from ..reference.rows import as_row
from .registry import Counterexample, GapRow, register_claim, to_hex
from .search import proof_verdict, refutation_verdict, check_rows, search_counterexample

__all__ = ["certified_gaps", "incremental_entropies"]


# ---- certified gap tables ----------------------------------------------------------------------


def certified_gaps(logits: Any, temperature: float = 1.0, ks: Iterable[int] | None = None, max_prec: int = 4096) -> tuple[GapRow, ...]:
    """Certified signs of ``f(k)`` for ``k`` in ``ks`` (default ``2..n``).

    The reference's float64 enclosure decides most ``k``; each remaining one is escalated by the
    reference itself (``ees(..., min_tokens_to_keep=k - 1)`` makes ``k`` its first decisive
    comparison, decided by structure or by ``mpmath`` interval arithmetic).

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite.
    temperature : float
        Finite and ``> 0`` (default 1).
    ks : iterable of int or None
        The indices to decide, each in ``2..n`` (default: all of them, increasing).
    max_prec : int
        The highest ``mpmath`` precision in bits (``>= 64``, default 4096); a sign still
        undecided there is reported as ``"?"``.

    Returns
    -------
    tuple of GapRow
        One row per ``k``, in the order of ``ks``; empty for a single candidate.

    Raises
    ------
    ValueError
        A bad row, or ``temperature`` / ``max_prec`` out of range.

    Examples
    --------
    >>> [(g.k, g.sign) for g in certified_gaps([0.0, -3.0, -3.0])]
    [(2, '-'), (3, '-')]
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    if row.n < 2:
        return ()
    enc = curve_enclosure(row, tau)
    out = []
    for k in range(2, row.n + 1) if ks is None else ks:
        lo, hi = float(enc.f_lo[k - 1]), float(enc.f_hi[k - 1])
        if lo > 0 or hi < 0:
            out.append(GapRow.of_comparison(k, decide_negative(lo, hi), lo, hi, "float64"))
            continue
        r = ees(row, tau, min_tokens_to_keep=k - 1, max_prec=max_prec)
        c = r.decisions[0]
        if c.k != k:  # cannot happen: k is the first comparison the reference makes
            raise AssertionError(f"expected the comparison at k={k}, got {c.k}")
        out.append(GapRow.of_comparison(k, c.decision, c.f_lo, c.f_hi, c.method))
    return tuple(out)


def _float_f(z: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Search heuristic only: float64 midpoints of the reference's curve enclosure, ``k = 2..n``."""
    return curve_enclosure(as_row(z), tau).f_mid[1:]



def _k(z, tau=1.0, **kw):
    r = ees(z, tau, **kw)
    return r.k if r.certified else None



def _signs(gaps) -> str:
    return "".join({Decision.TRUE: "-", Decision.FALSE: "+", Decision.UNDECIDED: "?"}[g.negative] for g in gaps)



# EES-MONO ---------------------------------------------------------------------------------------


def _mono_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    tau = stored.temperatures[0] if stored else 1.0
    gaps = certified_gaps(z, tau)
    rises = [(a.k, b.k) for a, b in zip(gaps, gaps[1:]) if a.f_hi < b.f_lo]
    if not rises:
        return None
    k, k1 = rises[0]
    return Counterexample(to_hex(z), len(z), [tau], {"k": k}, f"f({k1}) > f({k}) (certified disjoint enclosures); signs {_signs(gaps)}", list(gaps), True)


@register_claim("EES-MONO", test="tests/test_property_ees.py::test_mono_counterexample_refutes")
def _check_mono(ctx):
    def score(z):
        f = _float_f(z)
        return float(np.max(np.diff(f))) if len(f) > 1 else -1.0

    return refutation_verdict(ctx, _mono_certify, lambda: search_counterexample(score, _mono_certify, ctx, range(3, 9), 40, 4, 200))


# EES-UNIQUE -------------------------------------------------------------------------------------


def _unique_score(z: np.ndarray) -> float:
    """max over k1 < k2 of min(-f(k1), f(k2)): > 0 when f goes negative and then positive again."""
    f = _float_f(z)
    best_neg = np.maximum.accumulate(-f)[:-1]
    return float(np.max(np.minimum(best_neg, f[1:]))) if len(f) > 1 else -1.0


def _unique_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    gaps = certified_gaps(z)
    neg = [g.k for g in gaps if g.negative is Decision.TRUE]
    pos = [g.k for g in gaps if g.positive is Decision.TRUE and neg and g.k > neg[0]]
    if not pos:
        return None
    r_first, r_last = ees(z), ees(z, rule="last")
    summary = (f"f({neg[0]}) < 0 < f({pos[0]}); sign pattern {_signs(gaps)}; first-exclusive keeps {r_first.k}, 'last' keeps {r_last.k}")
    return Counterexample(to_hex(z), len(z), [1.0], {"k_negative": neg[0], "k_positive": pos[0]}, summary, list(gaps), all(g.negative is not Decision.UNDECIDED for g in gaps))


@register_claim("EES-UNIQUE", test="tests/test_property_ees.py::test_unique_counterexample_refutes")
def _check_unique(ctx):
    return refutation_verdict(ctx, _unique_certify, lambda: search_counterexample(_unique_score, _unique_certify, ctx, range(3, 13), 80, 6, 2500))


# EES-EXIST --------------------------------------------------------------------------------------


@register_claim("EES-EXIST", test="tests/test_property_ees.py::test_exist_drops_least_likely")
def _check_exist(ctx):
    checked = und = 0
    bad = []
    for fam, z in check_rows(ctx):
        r = ees(z)
        if r.row.all_tied or r.n < 2:
            continue
        if not r.certified:
            und += 1
            continue
        checked += 1
        if r.k >= r.n:
            bad.append((fam, f"k*={r.k} = n"))
    return proof_verdict("non-uniform rows keep k* <= n-1", checked, und, bad)


# EES-INCR ---------------------------------------------------------------------------------------


def incremental_entropies(p: list, dps: int = 60) -> tuple[list, list]:
    """``H_k`` by the paper's incremental update and by the direct formula, at ``dps`` digits.

    Parameters
    ----------
    p : list of float
        Positive weights in the order the top sets grow (usually descending); renormalised first.
    dps : int
        The ``mpmath`` working precision in decimal digits (default 60).

    Returns
    -------
    tuple of list
        ``(incremental, direct)``: ``H_k`` for ``k = 1..len(p)`` in nats (``H_1 = 0``), each
        list of ``mpmath.mpf``.

    Examples
    --------
    >>> inc, direct = incremental_entropies([0.5, 0.25, 0.25])
    >>> float(abs(inc[-1] - direct[-1])) < 1e-50
    True
    """
    with mpmath.workdps(dps):
        q = [mpmath.mpf(x) for x in p]
        total = mpmath.fsum(q)
        q = [x / total for x in q]
        inc = [mpmath.mpf(0)]
        P = q[0]
        for pk in q[1:]:
            Pn = P + pk
            inc.append((P / Pn) * inc[-1] + (P / Pn) * mpmath.log(Pn / P) - (pk / Pn) * mpmath.log(pk / Pn))
            P = Pn
        direct = []
        for k in range(1, len(q) + 1):
            Pk = mpmath.fsum(q[:k])
            direct.append(-mpmath.fsum(x / Pk * mpmath.log(x / Pk) for x in q[:k]))
    return inc, direct


@register_claim("EES-INCR", test="tests/test_property_ees.py::test_incremental_update_identity")
def _check_incr(ctx):
    checked = 0
    bad = []
    for fam, z in check_rows(ctx, max_vocab=24):
        p = [x for x in softmax(z) if x > 0]
        p.sort(reverse=True)
        inc, direct = incremental_entropies(p)
        worst = max(abs(a - b) for a, b in zip(inc, direct))
        checked += 1
        if worst > mpmath.mpf(10) ** -45:
            bad.append((fam, f"|incremental - direct| = {float(worst):.3g}"))
    verdict, evidence, _, und = proof_verdict("rows where both agree to 45 digits", checked, 0, bad)
    return verdict, evidence.replace("certified spot checks", "60-digit spot checks"), None, und


# EES-TAU-INV / EES-TAU-MONO / EES-TAU-LIM --------------------------------------------------------

_SWEEP = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0, 100.0)


def _tau_inv_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    taus = stored.temperatures if stored else list(_SWEEP)
    results = [(t, ees(z, t)) for t in taus]
    ks = {t: r.k for t, r in results if r.certified}
    if len(set(ks.values())) < 2:
        return None
    (t1, k1), (t2, k2) = min(ks.items(), key=lambda kv: kv[1]), max(ks.items(), key=lambda kv: kv[1])
    gaps = [GapRow.of_comparison(c.k, c.decision, c.f_lo, c.f_hi, f"tau={t}: {c.method}") for t, r in results if t in (t1, t2) for c in r.decisions]
    return Counterexample(to_hex(z), len(z), sorted({t1, t2}), {"k_star": {str(t): k for t, k in ks.items()}}, f"k*(tau={t1}) = {k1} but k*(tau={t2}) = {k2}", gaps, True)


@register_claim("EES-TAU-INV", test="tests/test_property_ees.py::test_tau_inv_counterexample_refutes")
def _check_tau_inv(ctx):
    def score(z):
        return 1.0 if len({int(np.argmax(_float_f(z, t) < 0)) if (_float_f(z, t) < 0).any() else -1 for t in (0.25, 4.0)}) > 1 else -1.0

    return refutation_verdict(ctx, _tau_inv_certify, lambda: search_counterexample(score, _tau_inv_certify, ctx, range(3, 6), 20, 4, 50))


@register_claim("EES-TAU-MONO", test="tests/test_property_ees.py::test_tau_mono")
def _check_tau_mono(ctx):
    checked = und = 0
    bad = []
    for fam, z in check_rows(ctx, families=("head_tail", "normal", "zipf", "bimodal", "tied_top", "peaked")):
        ks = [_k(z, t) for t in _SWEEP]
        if None in ks:
            und += ks.count(None)
        known = [(t, k) for t, k in zip(_SWEEP, ks) if k is not None]
        checked += 1
        for (t1, k1), (t2, k2) in zip(known, known[1:]):
            if k2 < k1:
                bad.append((fam, f"k*({t1}) = {k1} > k*({t2}) = {k2}"))
    return proof_verdict(f"rows x {len(_SWEEP)}-point temperature sweeps non-decreasing", checked, und, bad)


def _tau_limits(z: np.ndarray) -> tuple[float, float]:
    """A small and a large temperature at which the limits have set in (see the proof page)."""
    v = np.unique(z[np.isfinite(z)])
    gaps = np.diff(v)
    small = float(gaps.min()) / 200.0 if len(gaps) else 1.0
    big = 1e3 * len(v) * float(v[-1] - v[0]) * max(1, int(np.isfinite(z).sum())) if len(v) > 1 else 1.0
    return small, big


@register_claim("EES-TAU-LIM", test="tests/test_property_ees.py::test_tau_limits")
def _check_tau_lim(ctx):
    checked = und = 0
    bad = []
    for fam, z in check_rows(ctx, max_vocab=30, families=("normal", "tied_top", "head_tail", "zipf", "peaked", "bimodal", "masked")):
        row = as_row(z)
        if row.all_tied or row.n < 2:
            continue
        small, big = _tau_limits(z)
        k0, kinf = _k(z, small), _k(z, big)
        if k0 is None or kinf is None:
            und += 1
            continue
        checked += 1
        if k0 != row.top_ties:
            bad.append((fam, f"k*(tau={small:.3g}) = {k0}, top ties {row.top_ties}"))
        if kinf != row.n - 1:
            bad.append((fam, f"k*(tau={big:.3g}) = {kinf}, n - 1 = {row.n - 1}"))
    return proof_verdict("rows at a tiny and a huge temperature", checked, und, bad)


# EES-SHIFT ---------------------------------------------------------------------------------------


@register_claim("EES-SHIFT", test="tests/test_property_ees.py::test_shift_permutation_ties")
def _check_shift(ctx):
    checked = und = splits = 0
    bad = []
    for fam, z in check_rows(ctx, families=("normal", "tied_boundary", "tied_top", "zipf", "head_tail", "masked")):
        z = np.where(np.isfinite(z), np.round(z * 2.0**30) / 2.0**30, z)  # dyadic: z + 8 is exact
        perm = ctx.rng.permutation(len(z))
        variants = [z, z + 8.0, z[perm], z[::-1]]
        ks = [_k(v) for v in variants]
        if None in ks:
            und += 1
            continue
        checked += 1
        if len(set(ks)) > 1:
            bad.append((fam, f"k* = {ks} for shift/permutation/reversal"))
        r = ees(z)
        vals = r.row.values
        splits += bool(r.k < r.n and vals[r.k - 1] == vals[r.k])
    verdict, evidence, _, und = proof_verdict("rows with shift, permutation and reversed tie order", checked, und, bad)
    return verdict, evidence + f"; {splits} rows had a tie block split by the boundary (kept set depends on tie order, k* does not)", None, und


# EES-TAIL ----------------------------------------------------------------------------------------


@register_claim("EES-TAIL", test="tests/test_property_ees.py::test_tail_never_decreases")
def _check_tail(ctx):
    checked = und = 0
    bad = []
    for fam, z in check_rows(ctx, families=("head_tail", "normal", "zipf", "uniform", "tied_top", "peaked")):
        zmin = float(np.min(z[np.isfinite(z)]))
        extra = zmin - ctx.rng.uniform(0.0, 3.0, int(ctx.rng.integers(1, 20)))
        tau = float(ctx.rng.choice(_SWEEP))
        k0, k1 = _k(z, tau), _k(np.concatenate([z, extra]), tau)
        if k0 is None or k1 is None:
            und += 1
            continue
        checked += 1
        if k1 < k0:
            bad.append((fam, f"k* fell from {k0} to {k1} at tau={tau}"))
    return proof_verdict("rows with 1-19 less likely tokens appended", checked, und, bad)

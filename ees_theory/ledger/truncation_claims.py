"""Claims about the truncation family, registered with the claims ledger (:mod:`ees_theory.ledger.claims`).

Each check returns a verdict with the evidence: **proved** claims carry their proof (in
``proofs/<claim id>.md``, tested directly by ``tests/test_truncation_claims.py``) and certified spot checks on every distribution
family that would contradict the proof if it were wrong; **refuted** claims carry a counterexample
whose every decision is certified.

=================  ==========================================================================
id                 claim
=================  ==========================================================================
TOPNS-TAU-INV      the top-n-sigma kept set does not depend on the temperature
PLESS-BOUNDS       the p-less threshold sum p^2 lies in [1/V, max p]; p-less-norm's in [0, max p]
PLESS-NONEMPTY     p-less and p-less-norm always keep the most probable token
MINP-TAU-MONO      the min-p kept set grows (weakly) with the temperature
TOPP-TAU-MONO      the top-p kept count is non-decreasing in the temperature
ETA-SUPERSET       eta keeps every token epsilon keeps (``eta <= epsilon``)
TYPICAL-MODE       locally typical sampling always keeps the most probable token
XTC-KEEPS-ABOVE    XTC (gate open) keeps every token below the threshold and one that reaches it
=================  ==========================================================================

>>> sorted(TRUNCATION_CLAIMS)[:2]
['ETA-SUPERSET', 'MINP-TAU-MONO']
>>> TYPICAL_COUNTEREXAMPLE_LOGITS[:2]
[0.0, -3.75]
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Iterator

import numpy as np
from mpmath import iv

from ..core.certify import Decision
from ..families import distributions as dist
from ..spec.claims import TRUNCATION_CLAIMS
from .registry import CheckContext, Counterexample, register_claim, to_hex
from ..reference.rows import as_row
from ..reference.trunc_exact import ExactContext
from ..reference.truncation import truncate

__all__ = ["TRUNCATION_CLAIMS", "TYPICAL_COUNTEREXAMPLE_LOGITS"]

TEST = "tests/test_truncation_claims.py"
TEMPERATURES = (0.25, 0.7, 1.0, 3.0, 10.0)

#: One head token with p = 0.30 over 100 tied tokens: H = 3.8 nats puts the head farther from H
#: (``|1.2 - 3.8|``) than the tail (``|5.0 - 3.8|``), and the tail alone carries mass 0.70 >= 0.5.
TYPICAL_COUNTEREXAMPLE_LOGITS = [0.0] + [-3.75] * 100


def _rows(ctx: CheckContext, max_vocab: int = 24) -> Iterator[tuple[str, np.ndarray]]:
    families = dist.FAMILY_NAMES
    for i in range(min(ctx.rows, 3 * len(families))):
        fam = families[i % len(families)]
        yield fam, dist.sample(fam, ctx.rng, int(ctx.rng.integers(2, max_vocab + 1)))


def _spot(ctx: CheckContext, what: str, check_row: Callable[[np.ndarray], tuple[int, list]]) -> tuple:
    """Run ``check_row`` (-> (undecided count, violations)) over family rows; report a verdict."""
    checked = undecided = 0
    violations: list = []
    for fam, z in _rows(ctx):
        und, bad = check_row(z)
        checked += 1
        undecided += und
        violations += [(fam, b) for b in bad]
    if violations:
        fam, detail = violations[0]
        return "refuted", f"proof contradicted on a {fam} row: {detail}", None, undecided
    extra = f", {undecided} undecided comparisons (not counted)" if undecided else ""
    return "proved", f"proof; {what}: {checked} rows, certified, 0 violations{extra}", None, undecided


def _kept(method: str, z, tau: float, **kw):
    r = truncate(method, z, temperature=tau, **kw)
    return r.kept, len(r.undecided)


@register_claim("TOPNS-TAU-INV", TRUNCATION_CLAIMS["TOPNS-TAU-INV"], test=f"{TEST}::test_topns_tau_invariance")
def _check_topns(ctx: CheckContext):
    def row(z):
        sets = [_kept("top-n-sigma", z, t, n=1.0) for t in TEMPERATURES]
        und = sum(u for _, u in sets)
        first = sets[0][0]
        return und, [f"tau={t}: {s} != {first}" for t, (s, _) in zip(TEMPERATURES, sets) if s != first]

    return _spot(ctx, f"kept sets equal at tau in {TEMPERATURES} (n = 1)", row)


def _threshold_checks(z) -> tuple[int, list]:
    r = as_row(z)
    ctx = ExactContext(r, 1.0)
    V = r.size
    checks = [
        ctx.decide("sum p^2 - 1/V", 0, lambda prec: ctx.S2(prec) / ctx.S(prec) ** 2 - iv.mpf(1) / V,
                   lambda: [(Fraction(V), (j, j)) for j in range(r.n)] + [(Fraction(-1), (j, l)) for j in range(r.n) for l in range(r.n)]),
        ctx.decide("max p - sum p^2", 0, lambda prec: ctx.p(0, prec) - ctx.S2(prec) / ctx.S(prec) ** 2,
                   lambda: [(Fraction(1), (0, j)) for j in range(r.n)] + [(Fraction(-1), (j, j)) for j in range(r.n)]),
    ]
    und = sum(not c.certified for c in checks)
    return und, [f"{c.what} < 0 (certified, {c.method})" for c in checks if c.negative is Decision.TRUE]


@register_claim("PLESS-BOUNDS", TRUNCATION_CLAIMS["PLESS-BOUNDS"], test=f"{TEST}::test_pless_bounds")
def _check_pless_bounds(ctx: CheckContext):
    return _spot(ctx, "both bounds certified per row (uniform rows meet 1/V exactly)", _threshold_checks)


@register_claim("PLESS-NONEMPTY", TRUNCATION_CLAIMS["PLESS-NONEMPTY"], test=f"{TEST}::test_pless_keeps_top")
def _check_pless_nonempty(ctx: CheckContext):
    def row(z):
        top = as_row(z).order[0]
        bad, und = [], 0
        for m in ("p-less", "p-less-norm"):
            r = truncate(m, z)
            und += len(r.undecided)
            # the certified decision at position 0 must pass on its own (not only via the floor)
            d0 = [c for c in r.decisions if c.index == 0]
            if top not in r.kept or any(c.negative is Decision.TRUE for c in d0):
                bad.append(f"{m} drops the top token")
        return und, bad

    return _spot(ctx, "top token kept by both", row)


@register_claim("MINP-TAU-MONO", TRUNCATION_CLAIMS["MINP-TAU-MONO"], test=f"{TEST}::test_minp_tau_monotone")
def _check_minp(ctx: CheckContext):
    def row(z):
        sets = [_kept("min-p", z, t, min_p=0.1) for t in TEMPERATURES]
        und = sum(u for _, u in sets)
        bad = [f"tau {a} -> {b} loses tokens" for (a, (s1, _)), (b, (s2, _)) in zip(zip(TEMPERATURES, sets), zip(TEMPERATURES[1:], sets[1:])) if not set(s1) <= set(s2)]
        return und, bad

    return _spot(ctx, f"nested kept sets over tau in {TEMPERATURES} (min_p = 0.1)", row)


@register_claim("TOPP-TAU-MONO", TRUNCATION_CLAIMS["TOPP-TAU-MONO"], test=f"{TEST}::test_topp_tau_monotone")
def _check_topp(ctx: CheckContext):
    def row(z):
        sets = [_kept("top-p", z, t, p=0.9) for t in TEMPERATURES]
        und = sum(u for _, u in sets)
        ks = [len(s) for s, _ in sets]
        return und, [f"k = {ks} over tau = {TEMPERATURES}"] if any(a > b for a, b in zip(ks, ks[1:])) else []

    return _spot(ctx, f"k non-decreasing over tau in {TEMPERATURES} (p = 0.9)", row)


@register_claim("ETA-SUPERSET", TRUNCATION_CLAIMS["ETA-SUPERSET"], test=f"{TEST}::test_eta_superset")
def _check_eta(ctx: CheckContext):
    def row(z):
        bad, und = [], 0
        for eps in (1e-3, 0.05, 0.3):
            a, ua = _kept("epsilon", z, 1.0, epsilon=eps)
            b, ub = _kept("eta", z, 1.0, epsilon=eps)
            und += ua + ub
            if not set(a) <= set(b):
                bad.append(f"epsilon={eps}: {a} not within {b}")
        return und, bad

    return _spot(ctx, "epsilon's kept set within eta's for epsilon in (1e-3, 0.05, 0.3)", row)


@register_claim("TYPICAL-MODE", TRUNCATION_CLAIMS["TYPICAL-MODE"], test=f"{TEST}::test_typical_can_drop_mode")
def _check_typical(ctx: CheckContext):
    z = np.array(TYPICAL_COUNTEREXAMPLE_LOGITS)
    r = truncate("typical", z, mass=0.5)
    if 0 in r.kept or not r.certified:
        return "open", f"the stored row no longer drops the mode (kept {r.k} tokens, certified={r.certified})", None, len(r.undecided)
    ce = Counterexample(
        logits=to_hex(z),
        n=len(z),
        temperatures=[1.0],
        params={"method": "typical", "mass": 0.5, "policy": "paper"},
        summary=f"p_max = 0.30 over 100 tied tokens: typical (mass 0.5) keeps {r.k} tail tokens and drops the mode; "
        f"every decision certified (margin {r.margin:.3g})",
        certified=True,
    )
    return "refuted", "certified counterexample (the mode is the token farthest from the entropy)", ce, 0


@register_claim("XTC-KEEPS-ABOVE", TRUNCATION_CLAIMS["XTC-KEEPS-ABOVE"], test=f"{TEST}::test_xtc_keeps_one_above")
def _check_xtc(ctx: CheckContext):
    def row(z):
        bad, und = [], 0
        for thr in (0.02, 0.1, 0.3):
            r = truncate("xtc", z, threshold=thr, probability=1.0, u=0.5)
            und += len(r.undecided)
            above = r.extras["above"]  # certified count of tokens with p_i >= threshold
            order = as_row(z).order
            want = order[max(above - 1, 0):]  # every token below, and the last that reaches it
            if tuple(r.kept) != tuple(want):
                bad.append(f"threshold={thr}: kept {r.kept}, expected {tuple(want)}")
        return und, bad

    return _spot(ctx, "kept = the tokens below the threshold and the last above it, thresholds (0.02, 0.1, 0.3)", row)

"""Claim statements: what the ledger checks, by claim id (specification §5 and the truncation samplers).

The verdicts and the checks live in ``ees_theory.ledger``; only the statements are normative.

>>> CLAIMS["EES-MONO"]
'f(k) = Hbar_k - P_k is strictly decreasing in k'
>>> sorted(TRUNCATION_CLAIMS)[:2]
['ETA-SUPERSET', 'MINP-TAU-MONO']
"""

from __future__ import annotations

__all__ = ["CLAIMS", "TRUNCATION_CLAIMS", "STATEMENTS"]

#: Claim ids of specification §5 with their statements. The verdicts live in ``ees_theory.ledger``.
CLAIMS: dict[str, str] = {
    "EES-MONO": "f(k) = Hbar_k - P_k is strictly decreasing in k",
    "EES-UNIQUE": "the equilibrium crossing is unique: f changes sign exactly once",
    "EES-EXIST": "for every non-uniform distribution a strict crossing exists, so the least likely token is always dropped",
    "EES-INCR": "the incremental update equals the direct entropy of the renormalised top-k set",
    "EES-TAU-INV": "the kept-set size k* does not depend on the temperature",
    "EES-TAU-MONO": "k* is non-decreasing in the temperature",
    "EES-TAU-LIM": "tau -> 0 gives k* -> 1 (or t for a t-way tie at the top); tau -> inf with non-constant logits gives k* -> n - 1",
    "EES-SHIFT": "k* is invariant to adding a constant to all logits, to permuting token ids, and to how ties are broken",
    "EES-TAIL": "appending tokens less likely than every present token never decreases k*",
    "EDT-RANGE": "0 <= T < T0 and T is strictly increasing in H (for theta > 0)",
    "EDT-POINTS": "T(H = theta) = N*T0; T -> T0 as H -> inf; T -> 0 (greedy) as H -> 0; T(c*theta, c*H) = T(theta, H)",
    "DYN-RANGE": "T_min <= T <= T_max, and T is non-decreasing in H for exponent > 0",
    "SEED-TAU": "as tau -> inf the highest-ranked token probability approaches 1",
}

#: Statements of the truncation-sampler claims (their checks: ``ees_theory.ledger.truncation_claims``).
TRUNCATION_CLAIMS: dict[str, str] = {
    "TOPNS-TAU-INV": "the top-n-sigma kept set does not depend on the temperature",
    "PLESS-BOUNDS": "the p-less threshold sum p^2 lies in [1/V, max p]; the p-less-norm threshold lies in [0, max p]",
    "PLESS-NONEMPTY": "p-less and p-less-norm always keep the most probable token",
    "MINP-TAU-MONO": "the min-p kept set grows (weakly) with the temperature",
    "TOPP-TAU-MONO": "the top-p kept count is non-decreasing in the temperature",
    "ETA-SUPERSET": "eta sampling keeps every token epsilon sampling keeps with the same epsilon (eta <= epsilon)",
    "TYPICAL-MODE": "locally typical sampling always keeps the most probable token",
    "XTC-KEEPS-ABOVE": "with its gate open, XTC drops no token below the threshold and keeps exactly one token that reaches it "
    "(the least probable of them) whenever one does",
}

#: Every statement, by claim id.
STATEMENTS: dict[str, str] = {**CLAIMS, **TRUNCATION_CLAIMS}

"""The one tolerance table: every float-vs-reference comparison in the toolkit reads it here.

Each entry carries a one-line justification. The derivations are in ``proofs/float-error-analysis.md``.

>>> ees_gap_bound("float64", "input", n=10, logit_range=5.0) < 1e-12
True
"""

from __future__ import annotations

import math

__all__ = ["UNIT_ROUNDOFF", "ACCUMULATE", "ees_gap_bound", "temperature_rtol", "unit_roundoff"]

#: Unit roundoff u = eps/2 of each floating dtype.
UNIT_ROUNDOFF = {
    "float64": 2.0**-53,
    "float32": 2.0**-24,
    "float16": 2.0**-11,
    "bfloat16": 2.0**-8,
}

#: Accumulation modes of the float kernels: reductions in the input dtype, or in float32.
ACCUMULATE = ("input", "float32")


def unit_roundoff(dtype: str, accumulate: str = "input") -> float:
    """The unit roundoff that governs the reductions (``float32`` mode never does worse than fp32)."""
    if dtype not in UNIT_ROUNDOFF:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(UNIT_ROUNDOFF)}")
    if accumulate not in ACCUMULATE:
        raise ValueError(f"accumulate must be one of {ACCUMULATE}, got {accumulate!r}")
    u = UNIT_ROUNDOFF[dtype]
    return min(u, UNIT_ROUNDOFF["float32"]) if accumulate == "float32" else u


def ees_gap_bound(dtype: str, accumulate: str, n: int, logit_range: float) -> float:
    """An upper bound on ``|f_computed(k) - f(k)|`` for the float EES kernels, for every ``k <= n``.

    ``logit_range`` is ``(max - min)`` of the finite scaled logits ``z / tau``. The leading term is
    the recursive-sum bound ``n u`` on ``P_k`` and ``H_k``, plus the rounding of the scaled logits
    (``u * range``) propagated through ``exp`` and the entropy sum; the factor 8 covers the
    constant of each step (see the error-analysis page).
    """
    u = unit_roundoff(dtype, accumulate)
    u_in = UNIT_ROUNDOFF[dtype]  # the logits themselves are rounded to the input dtype
    return 8.0 * (n * u + u_in * (1.0 + abs(logit_range)) * (1.0 + math.log(max(n, 2))))


def temperature_rtol(dtype: str) -> float:
    """Relative tolerance for EDT/dynatemp temperatures computed in ``dtype`` (64 units of roundoff)."""
    return 64.0 * UNIT_ROUNDOFF[dtype]

"""epsilon and eta sampling: ``p_i > epsilon`` (eta: ``p_i > min(epsilon, sqrt(epsilon) e^-H)``);
the band is ``epsilon (1 +- r)^2`` with ``r`` the probabilities' relative error (eta: plus the
entropy's).

>>> Epsilon().rational, Eta().rational, Eta().needs_entropy
(True, False, True)
"""

from __future__ import annotations

from .base import NON_STRICT, THRESHOLD_STRICTNESS, SMALLEST_SUBNORMAL, SamplerJudge

__all__ = ["Epsilon", "Eta"]


class Epsilon(SamplerJudge):
    name = "epsilon"
    rational = True
    threshold = True
    misreadings = NON_STRICT
    strictness = THRESHOLD_STRICTNESS

    def relative_error(self, b: dict, u: float) -> float:
        """Relative error of the compared quantities."""
        return b["prob"]

    def band(self, st, row, params, ref, b, options):
        eps = params["epsilon"]
        r = self.relative_error(b, self.unit_roundoff(st, options))
        if r >= 0.5:
            return None
        tiny = b["underflow"]
        lo = max(eps * (1 - r) ** 2 - tiny, SMALLEST_SUBNORMAL)
        hi = min(eps * (1 + r) ** 2 + tiny, 1.0 - 2.0**-53)
        return [{"epsilon": lo}, {"epsilon": hi}]


class Eta(Epsilon):
    name = "eta"
    rational = False
    needs_entropy = True

    def relative_error(self, b: dict, u: float) -> float:
        return b["prob"] + (b["entropy"] + 6 * u)

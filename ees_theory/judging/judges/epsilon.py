"""epsilon and eta sampling: ``p_i > epsilon`` (eta: ``p_i > min(epsilon, sqrt(epsilon) e^-H)``);
the band is ``epsilon (1 +- r)^2`` with ``r`` the probabilities' relative error (eta: plus the
entropy's).

>>> Epsilon().rational, Eta().rational, Eta().needs_entropy, sorted(Eta().misreadings)
(True, False, True, ['entropy-in-bits', 'min-keep-ignored', 'non-strict', 'temperature-ignored'])
"""

from __future__ import annotations

import numpy as np

from ...core.ctx import FLOAT
from ...core.truncation import eta
from .base import LN2, NON_STRICT, THRESHOLD_STRICTNESS, SMALLEST_SUBNORMAL, SamplerJudge

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
    misreadings = {**NON_STRICT, "entropy-in-bits": "the entropy in sqrt(epsilon) exp(-H) taken in bits (log2); eta's H is in nats"}

    def relative_error(self, b: dict, u: float) -> float:
        return b["prob"] + (b["entropy"] + 6 * u)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        # the threshold with H / ln 2 for H: more tokens kept wherever the entropy term decides
        if st.n < 2:
            return []
        x = st.values / st.tau
        p = np.exp(x - x[0])
        p /= p.sum()
        H = float(-np.sum(p[p > 0] * np.log(p[p > 0])))
        thr = float(eta.threshold(params["epsilon"], H / LN2, FLOAT))
        m = min(max(int(params.get("min_tokens_to_keep", 1)), 1), st.n)
        for count in {int(np.count_nonzero(p > thr)), int(np.count_nonzero(p >= thr))}:
            if kept == {int(i) for i in st.order[: max(count, m)]} != {int(i) for i in ref.kept}:
                return ["entropy-in-bits"]
        return []

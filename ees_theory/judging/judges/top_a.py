"""top-a: ``p_i >= a * p_max^2``; the band is ``a`` times the relative error of ``p_i / p_max^2``.

>>> j = TopA()
>>> j.name, j.rational, j.threshold, sorted(j.misreadings)
('top-a', True, True, ['linear-threshold', 'min-keep-ignored', 'non-strict', 'temperature-ignored'])
"""

from __future__ import annotations

import numpy as np

from ... import reference
from .base import NON_STRICT, THRESHOLD_STRICTNESS, SamplerJudge

__all__ = ["TopA"]


class TopA(SamplerJudge):
    name = "top-a"
    rational = True
    threshold = True
    misreadings = {**NON_STRICT, "linear-threshold": "threshold a * p_max (min-p's) used instead of a * p_max^2"}
    strictness = THRESHOLD_STRICTNESS

    def band(self, st, row, params, ref, b, options):
        a = params["a"]
        if a <= 0:
            return []
        r = b["prob"]
        if r >= 0.25:
            return None
        u = self.unit_roundoff(st, options)
        x = st.values / st.tau
        p_max = 1.0 / float(np.sum(np.exp(x - x[0])))
        # p_i / p_max^2 is off by at most a factor ((1 + r) / (1 - r))^3 (and a rounding of the product)
        f = ((1 + r) / (1 - r)) ** 3 * (1 + 4 * u)
        under = b["underflow"] / (p_max * p_max)  # an underflowed p_i moves by the absolute floor
        return [{"a": max(a / f - under, 0.0)}, {"a": min(a * f + under, 1.0)}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        m = int(params.get("min_tokens_to_keep", 1))
        lin = reference.truncate("min-p", row, st.tau, "paper", min_p=params["a"], min_tokens_to_keep=m)
        return ["linear-threshold"] if set(int(i) for i in lin.kept) == kept != set(int(i) for i in ref.kept) else []

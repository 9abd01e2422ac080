"""min-p: ``p_i >= min_p * p_max``; the band is ``min_p e^(+-d)`` with ``d`` the logit bound.

>>> j = MinP()
>>> j.name, j.threshold, sorted(j.misreadings)
('min-p', True, ['min-keep-ignored', 'strict-comparison'])
"""

from __future__ import annotations

import math

import mpmath

from ... import reference
from .base import STRICT_COMPARISON, SamplerJudge

__all__ = ["MinP"]


class MinP(SamplerJudge):
    name = "min-p"
    rational = True
    threshold = True
    misreadings = STRICT_COMPARISON

    def band(self, st, row, params, ref, b, options):
        u = self.unit_roundoff(st, options)
        mp = params["min_p"]
        if mp <= 0:
            return []
        d = max(b["logit"] + 4 * u * abs(math.log(mp)) + u, 2 * b["prob"])
        lo, hi = mp * math.exp(-d), mp * math.exp(d)
        if mp <= 1.0:
            hi = min(hi, 1.0)
        return [{"min_p": lo}, {"min_p": hi}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        ref_set = set(int(i) for i in ref.kept)
        if not kept < ref_set:
            return []
        p = reference.softmax(row, st.tau)
        top = max(p)
        lost = ref_set - kept
        exact = all(p[i] == top * mpmath.mpf(params["min_p"]) or p[i] == top and params["min_p"] == 1.0 for i in lost)
        return ["strict-comparison"] if exact else []

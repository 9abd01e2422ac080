"""min-p: ``p_i >= min_p * p_max``; the band is ``min_p e^(+-d)`` with ``d`` the logit bound.

>>> j = MinP()
>>> j.name, j.threshold, sorted(j.misreadings)
('min-p', True, ['min-keep-ignored', 'non-strict', 'temperature-ignored'])
"""

from __future__ import annotations

import math

from .base import NON_STRICT, THRESHOLD_STRICTNESS, SamplerJudge

__all__ = ["MinP"]


class MinP(SamplerJudge):
    name = "min-p"
    rational = True
    threshold = True
    misreadings = NON_STRICT
    strictness = THRESHOLD_STRICTNESS

    def band(self, st, row, params, ref, b, options):
        u = self.unit_roundoff(st, options)
        mp = params["min_p"]
        if mp <= 0:
            return []
        d = max(b["logit"] + 4 * u * abs(math.log(mp)) + u, 2 * b["prob"])
        if d > 700:  # the band spans every threshold a float can hold: no claim on this row
            return None
        lo, hi = mp * math.exp(-d), mp * math.exp(d)
        if mp <= 1.0:
            hi = min(hi, 1.0)
        return [{"min_p": lo}, {"min_p": hi}]

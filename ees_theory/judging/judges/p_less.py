"""p-less and p-less-norm: ``p_i >= sum p^2`` (normalised: ``(V sum p^2 - 1) / (V - 1)``). They
have no parameter: the admissible counts are the flips of their deciding comparisons.

>>> PLess().rational, PLessNorm().norm, sorted(PLessNorm().misreadings)
(True, True, ['min-keep-ignored', 'non-strict', 'temperature-ignored', 'v-finite-only'])
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ... import reference
from ...core.truncation import p_less
from .base import NON_STRICT, THRESHOLD_STRICTNESS, SamplerJudge

__all__ = ["PLess", "PLessNorm"]


class PLess(SamplerJudge):
    name = "p-less"
    rational = True
    threshold = True
    misreadings = NON_STRICT
    strictness = THRESHOLD_STRICTNESS
    #: the threshold is the normalised one (p-less-norm)
    norm = False

    def admissible(self, st, row, params, ref, b, options):
        """Every count whose kept tokens have ``p_i - threshold >= -bound`` and whose dropped ones
        ``<= bound`` (exact gaps from the 30-digit probabilities), on exact-tie blocks."""
        if st.dyadic() or st.n <= 1:
            return {ref.k}, []
        if not math.isfinite(b["prob"]):
            return None, []
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            p = [p[int(i)] for i in st.order]
            s2 = mpmath.fsum(x * x for x in p)
            V = st.size
            thr = p_less.threshold(s2, V, self.norm)
            gaps = np.array([float(x - thr) for x in p])
        scale = float(s2) * p_less.threshold_scale(V, self.norm)
        bound = (3 * b["prob"] + b["sum"] + 4 * self.unit_roundoff(st, options)) * 1.01 * scale + b["underflow"]
        counts = {ref.k}
        for c in st.blocks():
            c = int(c)
            if np.all(gaps[:c] >= -bound) and np.all(gaps[c:] <= bound):
                counts.add(max(c, 1))
        return counts, []


class PLessNorm(PLess):
    name = "p-less-norm"
    norm = True
    misreadings = {**PLess.misreadings, "v-finite-only": "V counts only the finite entries; p-less-norm's V is the row length, masked entries included"}

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if st.n < st.size:
            finite = np.asarray(row, dtype=np.float64)[np.isfinite(row)]
            alt = reference.truncate("p-less-norm", finite, st.tau)
            ids = np.flatnonzero(np.isfinite(row))
            if {int(ids[i]) for i in alt.kept} == kept:
                return ["v-finite-only"]
        return []

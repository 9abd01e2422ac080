"""top-k: the ``k`` most probable tokens, decided on logits (no parameter band).

>>> j = TopK()
>>> j.name, j.rational, sorted(j.misreadings)
('top-k', True, ['min-keep-ignored', 'ties-dropped', 'ties-kept'])
"""

from __future__ import annotations

import numpy as np

from ... import tolerances
from .base import RowStats, SamplerJudge

__all__ = ["TopK"]


class TopK(SamplerJudge):
    name = "top-k"
    reads_temperature = False  # the same kept set at every temperature
    rational = True
    misreadings = {"ties-dropped": "ties at the k-th value dropped; transformers keeps every token tied with the k-th",
                   "ties-kept": "every token tied with the k-th kept; this policy keeps exactly k"}

    def admissible(self, st: RowStats, row, params, ref, b, options):
        # a comparison of logits: exact, but for transformers' division by the temperature
        if options.policy != "transformers" or st.tau == 1.0:
            return {ref.k}, []
        # z / tau may round two close logits onto one value, which transformers then keeps as a
        # tie. Rounding is monotone, so it can merge values but never split or reorder them: every
        # token the exact rule keeps (all those tied with the k-th) stays kept, and only tokens
        # within the rounding tolerance below the k-th value may join. The counts run from ref.k up.
        u = self.unit_roundoff(st, options)
        kk = min(max(int(params["k"]), int(params["min_tokens_to_keep"])), st.size)
        if kk > st.n:
            return {ref.k}, []
        x = st.values / st.tau
        tol = self._merge_tolerance(st, options)
        return set(range(ref.k, max(ref.k, int(np.count_nonzero(x >= x[kk - 1] - tol))) + 1)), []

    def _merge_tolerance(self, st, options) -> float:
        """How far apart two scaled logits ``z / tau`` may be and still round onto one value: half a
        unit of roundoff each (relative), or, below the normal range of the input dtype, where
        the division may be done, half its smallest subnormal each (absolute)."""
        return 2 * self.unit_roundoff(st, options) * st.X + tolerances.SMALLEST_SUBNORMAL[st.dtype]

    def member_tolerance(self, st, b, dtype, options) -> float:
        return 0.0 if st.tau == 1.0 else self._merge_tolerance(st, options) * st.tau

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        pol = options.policy
        if pol == "transformers" and len(kept) < ref.k:
            return ["ties-dropped"]
        if pol != "transformers" and self.truncate(row, params, "transformers").k == len(kept) > ref.k:
            return ["ties-kept"]
        return []

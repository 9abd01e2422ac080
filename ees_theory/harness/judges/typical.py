"""typical sampling: the shortest prefix of the order by ``|-ln p_i - H|`` whose mass reaches
``mass``; the band is ``mass +- cum``, and near-ties in the score (within the error of ``ln p``
and ``H``) may swap.

>>> j = Typical()
>>> j.name, j.tie_order, j.needs_entropy
('typical', False, True)
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ... import reference
from .base import TINY, MassJudge, RowStats

__all__ = ["Typical"]


class Typical(MassJudge):
    name = "typical"
    mass_param = "mass"
    rational = True
    needs_entropy = True
    tie_order = False  # ties in the typicality score have no token-id order to follow

    def domain(self, policy):
        return None if policy == "llama.cpp" else (TINY, 1.0 if policy == "paper" else 1.0 - 2.0**-53)

    def scores(self, st: RowStats, row) -> dict[int, float]:
        """Every candidate's typicality score ``|-ln p_i - H|`` (30 digits, then float)."""
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            H = reference.entropy(row, st.tau)
            return {int(i): float(abs(-mpmath.log(p[int(i)]) - H)) for i in st.order}

    def score_tolerance(self, st: RowStats, b: dict) -> float:
        """How far two scores may be computed out of order."""
        return 0.0 if st.dyadic() else 2 * (b["logp"] + b["entropy"])

    def reach(self, st, row, refs, b, options, hi):
        """transformers keeps every token whose score ties the boundary's: near-ties count too."""
        if options.policy != "transformers":
            return hi
        if st.dyadic() or not math.isfinite(b["logp"]):
            return max(hi, max(r.k for r in refs))
        score = self.scores(st, row)
        tol = 2 * (b["logp"] + b["entropy"])
        worst = max(max(score[int(i)] for i in r.kept) for r in refs)
        return max(hi, sum(1 for v in score.values() if v <= worst + tol))

    def members(self, st, row, ref, b, kept, dtype, options) -> str | None:
        """Typical keeps a prefix of the order by |-ln p_i - H|: near-ties in that score may swap."""
        if not math.isfinite(b["logp"]) or not math.isfinite(b["entropy"]):
            return None
        score = self.scores(st, row)
        tol = self.score_tolerance(st, b)
        worst_kept = max(score[i] for i in kept)
        dropped = [score[i] for i in score if i not in kept]
        if not dropped or min(dropped) >= worst_kept - tol:
            return None
        return f"kept set is not a prefix of the typicality order |-ln p - H| (expected {list(ref.extras.get('order', ref.kept))[:8]} first)"

    def may_keep(self, st, row, ref, b, kmax, dtype, options):
        order = np.asarray(ref.extras.get("order", ref.kept), dtype=np.int64)
        scores = self.scores(st, row)
        sc = np.array([scores[int(i)] for i in order])
        return order, np.asarray(row, dtype=np.float64)[order], sc <= sc[kmax - 1] + self.score_tolerance(st, b)

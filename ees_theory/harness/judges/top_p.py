"""top-p: the smallest sorted prefix whose mass reaches ``p``; the band is ``p +- cum``.

>>> j = TopP()
>>> j.name, j.rational, j.threshold, sorted(j.misreadings)
('top-p', True, False, ['crossing-excluded', 'min-keep-ignored'])
"""

from __future__ import annotations

from .base import TINY, MassJudge

__all__ = ["TopP"]


class TopP(MassJudge):
    name = "top-p"
    mass_param = "p"
    rational = True
    misreadings = {"crossing-excluded": "the crossing token (whose mass reaches p) is dropped; top-p keeps it"}

    def domain(self, policy):
        return None if policy == "llama.cpp" else (0.0 if policy == "transformers" else TINY, 1.0)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if len(kept) == ref.k - 1 and kept < set(int(i) for i in ref.kept):
            return ["crossing-excluded"]
        return []

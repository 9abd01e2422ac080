"""top-p: the smallest sorted prefix whose mass reaches ``p``; the band is ``p +- cum``.

>>> j = TopP()
>>> j.name, j.rational, j.threshold, sorted(j.misreadings)
('top-p', True, False, ['crossing-excluded', 'min-keep-ignored', 'non-strict'])
"""

from __future__ import annotations

from .base import NON_STRICT, TINY, MassJudge

__all__ = ["TopP"]


class TopP(MassJudge):
    name = "top-p"
    mass_param = "p"
    rational = True
    misreadings = {**NON_STRICT, "crossing-excluded": "the crossing token (whose mass reaches p) is dropped; top-p keeps it"}
    strictness = (
        "the prefix grows until its mass exceeds p ('> p') instead of reaching it ('>= p'): the token whose preceding mass "
        "equals p exactly was kept",
        "the token whose preceding mass equals p exactly was dropped by a comparison of the other strictness",
    )

    def flipped_count(self, st, ref, check):
        # the check "p - P_before" at position i is 0: the mass before token i is exactly p, so
        # the policy drops token i and a port comparing '<=' keeps it
        return check.index + 1 if 0 <= check.index < st.n and int(st.order[check.index]) not in ref.kept else None

    def domain(self, policy):
        return None if policy == "llama.cpp" else (0.0 if policy == "transformers" else TINY, 1.0)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if len(kept) == ref.k - 1 and kept < set(int(i) for i in ref.kept):
            return ["crossing-excluded"]
        return []

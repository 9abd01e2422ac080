"""top-p: the smallest sorted prefix whose mass reaches ``p``; the band is ``p +- cum``.

>>> j = TopP()
>>> j.name, j.rational, j.threshold, sorted(j.misreadings)
('top-p', True, False, ['crossing-excluded', 'min-keep-ignored', 'non-strict', 'temperature-ignored', 'tie-block-kept'])
"""

from __future__ import annotations

from .base import NON_STRICT, SMALLEST_SUBNORMAL, MassJudge

__all__ = ["TopP"]


class TopP(MassJudge):
    name = "top-p"
    mass_param = "p"
    rational = True
    misreadings = {
        **NON_STRICT,
        "crossing-excluded": "the crossing token (whose mass reaches p) is dropped; top-p keeps it",
        "tie-block-kept": ("every token tied with the crossing token is kept: a search for a probability pivot that keeps each "
                           "token at or above it (no sort) keeps a tie block at the crossing whole, where the policy keeps the "
                           "smallest prefix and breaks the tie, so the kept mass can be far above p"),
    }
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
        return None if policy == "llama.cpp" else (0.0 if policy == "transformers" else SMALLEST_SUBNORMAL, 1.0)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        ref_set = set(int(i) for i in ref.kept)
        if len(kept) == ref.k - 1 and kept < ref_set:
            return ["crossing-excluded"]
        if len(kept) > ref.k and 0 < ref.k <= st.n:
            tied = {int(i) for i in st.order[st.values == st.values[ref.k - 1]]}  # the crossing token's exact-tie block
            if len(tied) > 1 and kept == ref_set | tied:
                return ["tie-block-kept"]
        return []

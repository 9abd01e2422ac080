"""top-p: the smallest sorted prefix whose mass reaches ``p``; the band is ``p +- cum``.

>>> j = TopP()
>>> j.name, j.rational, j.threshold, sorted(j.misreadings)
('top-p', True, False, ['crossing-excluded', 'min-keep-ignored'])
"""

from __future__ import annotations

from .base import MIN_KEEP_IGNORED, TINY, SamplerJudge

__all__ = ["TopP"]


class TopP(SamplerJudge):
    name = "top-p"
    rational = True
    misreadings = {"crossing-excluded": "the crossing token (whose mass reaches p) is dropped; top-p keeps it", **MIN_KEEP_IGNORED}

    def band(self, st, row, params, ref, b, options):
        return self._edges(*self.mass_edges(st, params["p"], options), b["cum"] + b["underflow"], options)

    def dyadic_band(self, st, params, options):
        lo, hi = self.mass_edges(st, params["p"], options)
        return [] if lo == hi else self._edges(lo, hi, 0.0, options)

    def _edges(self, p_lo: float, p_hi: float, d: float, options):
        pol = options.policy
        lo_dom = 0.0 if pol == "transformers" else TINY
        lo, hi = p_lo - d, p_hi + d
        if pol != "llama.cpp":
            lo, hi = max(lo, lo_dom), min(hi, 1.0)
        return [{"p": lo}, {"p": hi}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if len(kept) == ref.k - 1 and kept < set(int(i) for i in ref.kept):
            return ["crossing-excluded"]
        return []

"""top-n-sigma: ``l_i >= max l - n sigma(l)``; the band is ``n +- d`` with ``d`` the logit and
standard-deviation errors over ``sigma``.

>>> j = TopNSigma()
>>> j.threshold, sorted(j.misreadings)
(True, ['masked-as-zero', 'min-keep-ignored', 'population-std', 'sample-std'])
"""

from __future__ import annotations

import numpy as np

from ...core.truncation import top_n_sigma
from .base import MASKED_AS_ZERO, SMALLEST_SUBNORMAL, SamplerJudge

__all__ = ["TopNSigma"]


class TopNSigma(SamplerJudge):
    name = "top-n-sigma"
    reads_temperature = False  # the same kept set at every temperature
    threshold = True
    misreadings = {
        "sample-std": "sigma is the sample standard deviation (divide by N - 1); this policy uses the population one (divide by N)",
        "population-std": "sigma is the population standard deviation; the sample-std policy divides by N - 1",
        **MASKED_AS_ZERO,
    }

    def band(self, st, row, params, ref, b, options):
        pol = options.policy
        u = self.unit_roundoff(st, options)
        nn = params["n"]
        if st.n <= 1 or st.uniform or (pol == "llama.cpp" and nn <= 0):
            return []
        x = st.values / st.tau
        sigma = float(np.std(x, ddof=1 if pol == "sample-std" else 0))
        d_sigma = b["logit"] + 2 * (b["sum"] + 3 * u) * (st.X + sigma)
        d = (b["logit"] + abs(nn) * d_sigma) / sigma
        lo = max(nn - d, SMALLEST_SUBNORMAL if pol == "llama.cpp" else 0.0)  # n <= 0 is llama.cpp's no-op, not an error
        return [{"n": lo}, {"n": nn + d}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        found: list[str] = []
        if params["n"] > 0:
            pol = options.policy
            other = "paper" if pol == "sample-std" else "sample-std"
            other_std = "population-std" if pol == "sample-std" else "sample-std"
            # first: it can only show on a row with masked entries, the other std on any row
            if self.masked_as_zero(row, params, kept, options) or self._spread_of_filled(st, row, params, kept, top_n_sigma.ddof(pol)):
                found.append("masked-as-zero")
            elif self._spread_of_filled(st, row, params, kept, top_n_sigma.ddof(other)):
                found += ["masked-as-zero", other_std]  # both (text-generation-webui's torch.std after masked_fill)
            if other_std not in found and set(int(i) for i in self.truncate(row, params, other).kept) == kept:
                found.append(other_std)
        return found

    @staticmethod
    def _spread_of_filled(st, row, params, kept, ddof: int) -> bool:
        """Kept set of a port whose sigma (``ddof``) runs over every entry, masked ones as 0,
        while the maximum is the true one (float64: a best-effort diagnosis)."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if finite.all() or finite.sum() < 2:
            return False
        x = np.where(finite, z / st.tau, 0.0)
        cut = x[finite].max() - params["n"] * float(np.std(x, ddof=ddof))
        return kept == {int(i) for i in np.flatnonzero(finite & (x >= cut))}

"""top-n-sigma: ``l_i >= max l - n sigma(l)``; the band is ``n +- d`` with ``d`` the logit and
standard-deviation errors over ``sigma``.

>>> j = TopNSigma()
>>> j.threshold, sorted(j.misreadings)
(True, ['min-keep-ignored', 'population-std', 'sample-std'])
"""

from __future__ import annotations

import numpy as np

from .base import TINY, SamplerJudge

__all__ = ["TopNSigma"]


class TopNSigma(SamplerJudge):
    name = "top-n-sigma"
    threshold = True
    misreadings = {
        "sample-std": "sigma is the sample standard deviation (divide by N - 1); this policy uses the population one (divide by N)",
        "population-std": "sigma is the population standard deviation; the sample-std policy divides by N - 1",
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
        lo = max(nn - d, TINY if pol == "llama.cpp" else 0.0)  # n <= 0 is llama.cpp's no-op, not an error
        return [{"n": lo}, {"n": nn + d}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if params["n"] > 0:
            pol = options.policy
            other = "paper" if pol == "sample-std" else "sample-std"
            if set(int(i) for i in self.truncate(row, params, other).kept) == kept:
                return ["population-std" if pol == "sample-std" else "sample-std"]
        return []

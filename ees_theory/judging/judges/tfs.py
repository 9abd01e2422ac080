"""tail-free sampling: the kept prefix ends where the normalised cumulative ``|second difference|``
of the sorted probabilities passes ``z``. The second differences cancel: their absolute error is
about ``4 r`` in all (``r`` the probabilities' relative error), so the band on ``z`` is that error
over the row's total curvature; a row too flat for its dtype has no claim.

>>> j = Tfs()
>>> j.name, j.threshold, sorted(j.misreadings)
('tfs', False, ['min-keep-ignored', 'non-strict', 'tail-index', 'temperature-ignored'])
"""

from __future__ import annotations

import math

import numpy as np

from ... import tolerances
from ...core.truncation import tfs
from .base import NON_STRICT, SamplerJudge

__all__ = ["Tfs"]

_CUT = "z sum|d2| - cdf_j sum|d2|"


class Tfs(SamplerJudge):
    name = "tfs"
    misreadings = {
        **NON_STRICT,
        "tail-index": "the cut index of the other convention: llama.cpp keeps the tokens before the first cdf_j > z, "
        "the original (text-generation-webui) one token more",
    }
    strictness = (
        "'<' used instead of '<=' at a cumulative second difference exactly equal to z: a token was kept that this policy drops",
        "'<' used instead of '<=' at a cumulative second difference exactly equal to z: a token was dropped that this policy keeps",
    )

    def band(self, st, row, params, ref, b, options):
        z, n = params["z"], st.n
        if z >= 1.0 or n < 3:
            return []
        x = st.values / st.tau
        p = np.exp(x - x[0])
        p = p / p.sum()
        T = float(np.abs(tfs.second_differences(p)).sum())
        u = max(self.unit_roundoff(st, options), tolerances.unit_roundoff(st.dtype, "input"))
        E = 4 * b["prob"] + 4 * (n - 2) * b["underflow"]  # absolute error of sum |d2| (and of any partial sum)
        dz = n * u + u * abs(z)  # the running sum and z as the port holds it
        if st.uniform:  # equal probabilities: every second difference is exactly 0 in any dtype
            if options.policy != "llama.cpp":
                return []
        elif options.policy == "llama.cpp" and T + E <= tfs.FLAT:
            pass  # uniform weights 1 / (n - 2) on both sides
        elif T <= 4 * E or (options.policy == "llama.cpp" and T - E <= tfs.FLAT):
            return None  # too flat for this dtype, or the uniform fallback may go either way
        else:
            dz += 2 * E / (T - E)
        lo = z - dz if options.policy == "llama.cpp" else max(z - dz, 0.0)
        return [{"z": lo}, {"z": min(z + dz, math.nextafter(1.0, 0.0))}]

    def flipped_count(self, st, ref, check):
        # cdf_j equals z exactly: the other strictness counts j as past z
        if check.what != _CUT:
            return None
        m = int(ref.params.get("min_tokens_to_keep", 1))
        return int(tfs.kept(check.index, st.n, m, ref.policy))

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        other = "paper" if options.policy == "llama.cpp" else "llama.cpp"
        alt = self.truncate(row, params, other)
        return ["tail-index"] if set(int(i) for i in alt.kept) == kept != set(int(i) for i in ref.kept) else []

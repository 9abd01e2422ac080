"""XTC: with its gate open, every token with ``p_i >= threshold`` but the least probable of them
is dropped, so the kept set is a *suffix* of the canonical order (the least probable tokens).

The gate compares two parameters (the draw ``u`` with ``probability``), exactly: it is the
reference's. A token sampler draws its own gate: its draws are judged against the mixture, the
kept set with chance ``probability`` (:meth:`Xtc.gate`), every candidate otherwise. The count of tokens reaching the threshold carries the error of the probabilities,
so the band is ``threshold (1 +- r)^2`` as for epsilon; the kept count is ``n - (above - 1)``
(or ``n``), monotone in the threshold.

>>> j = Xtc()
>>> j.name, j.tie_order, sorted(j.misreadings)
('xtc', False, ['gate-comparison', 'least-above-dropped', 'min-keep-ignored', 'min-keep-partial', 'non-strict', 'temperature-ignored'])
"""

from __future__ import annotations

import math

from ... import tolerances
from ...core.truncation import xtc
from .base import NON_STRICT, SMALLEST_SUBNORMAL, SamplerJudge

__all__ = ["Xtc"]


class Xtc(SamplerJudge):
    name = "xtc"
    rational = True
    #: ties at the drop boundary are broken by the canonical order, which a suffix does not check
    tie_order = False
    misreadings = {
        **NON_STRICT,
        "gate-comparison": "the gate opened (or stayed shut) by the other convention: u < probability (text-generation-webui) "
        "versus u <= probability (llama.cpp)",
        "least-above-dropped": "every token reaching the threshold was dropped; XTC keeps the least probable of them",
        "min-keep-partial": "min_tokens_to_keep applied as a floor (fewer tokens dropped) where XTC drops none",
    }

    def band(self, st, row, params, ref, b, options):
        if not ref.extras.get("gate"):
            return []  # a shut gate keeps every token: nothing in the row is compared
        thr = params["threshold"]
        # the probabilities' error, and the threshold as the port holds it (rounded to its dtype)
        u = max(self.unit_roundoff(st, options), tolerances.unit_roundoff(st.dtype, "input"))
        r = b["prob"] + u
        if r >= 0.5:
            return None
        tiny = b["underflow"]
        lo = max(thr * (1 - r) ** 2 - tiny, SMALLEST_SUBNORMAL)
        hi = thr * (1 + r) ** 2 + tiny
        if options.policy != "llama.cpp":
            hi = min(hi, 1.0)
        return [{"threshold": lo}, {"threshold": hi}]

    def members(self, st, row, ref, b, kept, dtype, options):
        """None when ``kept`` is the ``|kept|`` least probable tokens up to ties and near-ties."""
        k = len(kept)
        if k > st.n:
            return None
        tol = self.member_tolerance(st, b, dtype, options)
        vk = st.values[st.n - k]  # the most probable kept token
        must = {int(st.order[j]) for j in range(st.n) if st.values[j] < vk - tol}
        may = {int(st.order[j]) for j in range(st.n) if st.values[j] <= vk + tol}
        if must <= kept <= may:
            return None
        return (f"kept set is not the {k} least probable tokens (XTC drops the most probable ones): expected "
                f"{[int(i) for i in st.order[st.n - k:]][:8]}")

    def may_keep(self, st, row, ref, b, kmax, dtype, options):
        # the draws judge's support, in the order XTC's kept sets are prefixes of (least probable
        # first): the kmax least probable tokens, near-ties included
        order, values = st.order[::-1], st.values[::-1]
        tol = self.member_tolerance(st, b, dtype, options)
        return order, values, values <= values[kmax - 1] + tol

    def gate(self, params, policy):
        # a uniform draw u opens it with chance probability (u < p and u <= p differ on a null set)
        return min(max(float(params["probability"]), 0.0), 1.0)

    def acting(self, params):
        return dict(params, probability=1.0, u=0.0)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        found = []
        n, m = st.n, max(int(params.get("min_tokens_to_keep", 1)), 1)
        size = st.size if options.policy == "llama.cpp" else n
        suffix = lambda count: {int(i) for i in st.order[n - count:]} if count > 0 else set()  # noqa: E731
        other = "paper" if options.policy == "llama.cpp" else "llama.cpp"
        if xtc.gate_open(params["u"], params["probability"], other) != bool(ref.extras.get("gate")):
            if kept == set(int(i) for i in self.truncate(row, params, other).kept):
                found.append("gate-comparison")
        above = ref.extras.get("above")
        if above:
            if above < n and kept == suffix(n - above):
                found.append("least-above-dropped")
            d = (above - 1) * (above > 0)
            if d > 0 and size - d < m and kept == suffix(min(max(n - d, m - (size - n)), n)) and len(kept) != ref.k:
                found.append("min-keep-partial")
            nudged = self.truncate(row, params, options.policy, threshold=math.nextafter(params["threshold"], math.inf))
            if set(int(i) for i in nudged.kept) == kept != set(int(i) for i in ref.kept):
                found.append("non-strict")
        return found

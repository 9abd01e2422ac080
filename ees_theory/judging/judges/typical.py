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
from .base import MASKED_AS_ZERO, NON_STRICT, SMALLEST_SUBNORMAL, MassJudge, RowStats

__all__ = ["Typical"]


class Typical(MassJudge):
    name = "typical"
    mass_param = "mass"
    rational = True
    needs_entropy = True
    tie_order = False  # ties in the typicality score have no token-id order to follow
    misreadings = {
        **NON_STRICT, **MASKED_AS_ZERO,
        "nan-entropy": ("a token has probability 0 in float32 (masked, or underflowed), and the entropy sums -p ln p over every "
                        "token without a p > 0 guard: 0 * ln 0 is NaN, so H and every score |-ln p - H| are NaN, the sort by "
                        "score compares nothing and leaves the tokens in whatever order it ends with, and the cut keeps a prefix "
                        "of that order (llama.cpp's typical sampler does this)"),
    }
    strictness = (
        "the prefix grows until its mass exceeds mass ('>') instead of reaching it ('>='): the prefix whose mass equals "
        "mass exactly was extended by one token",
        "the prefix stops once its mass reaches mass ('>='); this policy (llama.cpp's) needs it to exceed mass ('>')",
    )

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        if self.masked_as_zero(row, params, kept, options) or self._entropy_of_filled(st, row, params, kept, options):
            return ["masked-as-zero"]
        return ["nan-entropy"] if self._nan_entropy(st, row, params, kept, options) else []

    @staticmethod
    def _nan_entropy(st, row, params, kept, options) -> bool:
        """A port whose entropy is NaN (see ``misreadings``): the row has a token of probability 0
        in float32, and the kept set is a cut of *some* order by the policy's comparison -- its
        mass passes ``mass`` and, without one of its tokens (the last one the cut took), does not
        (a best-effort diagnosis: the order a sort by NaN keys leaves is the sort's own)."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if not kept or not finite.any():
            return False
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            x = z.astype(np.float32) / np.float32(st.tau)
            zero32 = np.exp(x - x[finite].max()) == 0  # masked, or underflowed in float32
            if not zero32.any():
                return False
            p = np.exp(z / st.tau - np.max(z[finite] / st.tau))
        p = p / p.sum()
        ids = np.fromiter(kept, dtype=np.int64)
        mass, total = float(params["mass"]), float(p[ids].sum())
        reached = (lambda m: m > mass) if options.policy == "llama.cpp" else (lambda m: m >= mass)
        return reached(total) and not reached(total - float(p[ids].max()))

    @staticmethod
    def _entropy_of_filled(st, row, params, kept, options) -> bool:
        """Kept set of a port whose entropy ``H`` is that of the row with its masked entries as
        logits of 0, the probabilities its own (30 digits: a best-effort diagnosis)."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if finite.all() or finite.sum() < 2:
            return False
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            H = reference.entropy(np.where(finite, z, 0.0), st.tau)
            score = {int(i): abs(-mpmath.log(p[int(i)]) - H) for i in st.order}
            order = sorted(score, key=lambda i: score[i])  # stable: ties stay in canonical order
            mass, total, k = mpmath.mpf(params["mass"]), mpmath.mpf(0), 0
            for i in order:
                total += p[i]
                k += 1
                if (total > mass) if options.policy == "llama.cpp" else (total >= mass):
                    break
        k = max(k, min(int(params["min_tokens_to_keep"]), len(order)))
        return kept == set(order[:k])

    def kept_order(self, st, ref):
        return np.asarray(ref.extras.get("order", ref.kept), dtype=np.int64)

    def flipped_count(self, st, ref, check):
        # the cut check "C_r - mass" is 0 for the prefix of check.index tokens: a non-strict
        # policy stops there, a strict one goes on; the other strictness does the opposite
        if not check.what.endswith("C_r") and not check.what.startswith("C_r"):
            return None
        r = check.index
        return r + 1 if ref.k == r else r

    def domain(self, policy):
        return None if policy == "llama.cpp" else (SMALLEST_SUBNORMAL, 1.0 if policy == "paper" else 1.0 - 2.0**-53)

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

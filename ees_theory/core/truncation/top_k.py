"""Top-k: the ``k`` most probable tokens (ties at the k-th value broken by the canonical order).

Policies (``POLICIES``):

* ``paper``: ``min(max(k, m), n)`` tokens (``m = min_tokens_to_keep`` raises ``k``);
* ``transformers``: ``k`` raised to ``m`` likewise, and every token tied with the k-th value is
  kept too (it may keep more than ``k``);
* ``llama.cpp``: ``k <= 0`` is a no-op; no ``min_keep`` (``m`` stays 1); llama.cpp's unstable
  partial sort picks any member of a tie, the reference the canonical ones.

>>> width(3, 1, 5), width(2, 4, 5), width(9, 1, 5)
(3, 4, 5)
>>> POLICIES["llama.cpp"].noop({"k": 0}), POLICIES["transformers"].ties
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import tolerances
from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, whole
from .policy import Policy


__all__ = ["width", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-k": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 10


def _k(v: Any, policy: str) -> int:
    k = whole("k", v)
    if policy != "llama.cpp" and k < 1:
        raise ValueError(f"k must be >= 1 under policy {policy!r} (llama.cpp reads k <= 0 as a no-op), got {k}")
    return k


#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "top-k": MethodSpec(
        "top-k",
        {"k": Param(REQUIRED, _k, (1, 2, 3, 5, 10, 40), integer=True, help="tokens kept"), **MIN_KEEP_PARAM},
        ("paper", "transformers", "llama.cpp"),
        "the k most probable tokens",
        fixed={"llama.cpp": {"min_tokens_to_keep": 1}},  # llama.cpp's top-k has no min_keep
    ),
}

POLICIES = {
    "paper": Policy(min_keep="raises-k"),
    "transformers": Policy(ties=True, min_keep="raises-k"),
    "llama.cpp": Policy(noop=lambda prm: prm["k"] <= 0, noop_text="k <= 0", min_keep="fixed", off={"k": 0}),
}


def width(k: Any, m: Any, size: Any) -> Any:
    """The number of sorted positions kept, ``min(max(k, m), size)`` (``m`` raises ``k``; a row of
    ``size`` tokens caps it).

    Parameters
    ----------
    k : int or tensor
        top-k's ``k`` (a policy's no-op ``k`` is handled before this).
    m : int or tensor
        ``min_tokens_to_keep``, ``>= 1``.
    size : int or tensor
        The cap: the number of candidates (or the row length, for the tie rule).

    Returns
    -------
    int
        ``min(max(k, m), size)``.
    """
    return min(max(k, m), size)


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row, in exact arithmetic (comparisons of values only: no check
    to certify); see :mod:`ees_theory.core.truncation` for the arguments."""
    n, k, m = row.n, prm["k"], prm["min_tokens_to_keep"]
    if pol.noop(prm):
        return n, []
    if pol.ties:  # every token tied with the k-th value
        kk = width(k, m, row.size)
        if kk > n:  # the k-th value is -inf: every candidate is kept
            return n, []
        return int(np.count_nonzero(row.values >= row.values[kk - 1])), []
    return int(width(k, m, n)), []


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    if noop:
        return r.all()
    kk = width(prm["k"], r.m, r.V)
    if pol.ties:  # every token tied with the kk-th value
        s = r.values()
        return s >= s[..., kk - 1 : kk]
    return r.pos < kk


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What top-k's judge states (``ees_theory.judging.judges`` assembles it): the ``k`` most
    probable tokens, decided on logits (no parameter band); its kept set is the same at every temperature.

    >>> Judge.rational, Judge.reads_temperature, sorted(Judge.misreadings)
    (True, False, ['ties-dropped', 'ties-kept'])
    """

    reads_temperature = False  # the same kept set at every temperature
    rational = True
    misreadings = {"ties-dropped": "ties at the k-th value dropped; transformers keeps every token tied with the k-th",
                   "ties-kept": "every token tied with the k-th kept; this policy keeps exactly k"}

    def admissible(self, st, row, params, ref, b, options):
        # a comparison of logits: exact, but for transformers' division by the temperature
        if options.policy != "transformers" or st.tau == 1.0:
            return {ref.k}, []
        # z / tau may round two close logits onto one value, which transformers then keeps as a
        # tie. Rounding is monotone, so it can merge values but never split or reorder them: every
        # token the exact rule keeps (all those tied with the k-th) stays kept, and only tokens
        # within the rounding tolerance below the k-th value may join. The counts run from ref.k up.
        u = self.unit_roundoff(st, options)
        kk = min(max(int(params["k"]), int(params["min_tokens_to_keep"])), st.size)
        if kk > st.n:
            return {ref.k}, []
        x = st.values / st.tau
        tol = self._merge_tolerance(st, options)
        return set(range(ref.k, max(ref.k, int(np.count_nonzero(x >= x[kk - 1] - tol))) + 1)), []

    def _merge_tolerance(self, st, options) -> float:
        """How far apart two scaled logits ``z / tau`` may be and still round onto one value: half a
        unit of roundoff each (relative), or, below the normal range of the input dtype, where
        the division may be done, half its smallest subnormal each (absolute)."""
        return 2 * self.unit_roundoff(st, options) * st.X + tolerances.SMALLEST_SUBNORMAL[st.dtype]

    def member_tolerance(self, st, b, dtype, options) -> float:
        return 0.0 if st.tau == 1.0 else self._merge_tolerance(st, options) * st.tau

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        pol = options.policy
        if pol == "transformers" and len(kept) < ref.k:
            return ["ties-dropped"]
        if pol != "transformers" and self.truncate(row, params, "transformers").k == len(kept) > ref.k:
            return ["ties-kept"]
        return []

"""Tail-free sampling (Bricken 2019; text-generation-webui, llama.cpp until late 2024).

On the sorted probabilities ``p_0 >= p_1 >= ...`` of the ``n`` candidates, the curvature weights
``w_j = |p_j - 2 p_(j+1) + p_(j+2)|`` (``j = 0 .. n-3``) are normalised to sum 1 and accumulated,
``cdf_j = (w_0 + ... + w_j) / sum w``. With ``count = #{j : cdf_j <= z}`` (a prefix, ``cdf``
being non-decreasing) the kept prefix is, by policy (:func:`kept`):

* ``paper`` (the original, as text-generation-webui ships it): ``count + 1`` tokens, the
  distribution "centred around the cut-off" (token ``j + 1`` is dropped when ``cdf_j > z``, the
  first token is always kept); at least ``min_tokens_to_keep``. A row without curvature
  (``sum w = 0``) has no tail: everything is kept.
* ``llama.cpp``: the tokens before the first ``j >= min_keep`` with ``cdf_j > z`` (``count``
  tokens, one fewer than the paper), everything when there is no such ``j``; ``sum w <= 1e-6``
  (float32) takes uniform weights ``1 / (n - 2)``; fewer than 3 candidates is a no-op.

``z >= 1`` keeps everything under both.

>>> kept(2, 6, 1, "paper"), kept(2, 6, 1, "llama.cpp"), kept(0, 6, 1, "llama.cpp"), kept(4, 6, 1, "llama.cpp")
(3, 2, 1, 6)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any
from typing import Optional

import numpy as np

from ... import tolerances
from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, real, unit
from .faults import NON_STRICT
from .policy import Policy


_P = Policy(noop=lambda prm: prm["z"] >= 1, noop_text="z >= 1", off={"z": 1.0})
POLICIES = {"paper": _P, "llama.cpp": _P}

__all__ = ["second_differences", "kept", "flat_means_uniform", "short_rows_untouched", "FLAT", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"tfs": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 120

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "tfs": MethodSpec(
        "tfs",
        {
            # llama.cpp: z >= 1 is a no-op
            "z": Param(REQUIRED, {"paper": unit("z", False, False), "llama.cpp": real("z")}, (0.25, 0.5, 0.9, 0.95, 0.99), plain=0.9,
                       help="mass of the normalised second differences"),
            **MIN_KEEP_PARAM,
        },
        ("paper", "llama.cpp"),
        "cut where the normalised |second difference| of the sorted p passes z",
    ),
}
#: the arithmetic choices of a careful port (``kernels._numerics``) that its kernel reads beyond the
#: probabilities and their order (see ``registry.numerics_read``)
NUMERICS_READ = frozenset({"running-sum"})

#: llama.cpp's normalisation floor: ``1e-6f``, a sum of weights at or below it is "flat"
FLAT = float(np.float32(1e-6))

# the name of the certified check of ``cdf_j <= z`` (its judge reads it to flip the cut)
_CUT = "z sum|d2| - cdf_j sum|d2|"


def flat_means_uniform(policy: str) -> bool:
    """What a row without curvature means: uniform weights ``1 / (n - 2)`` below
    :data:`FLAT` (llama.cpp), or no tail at all, everything kept (the paper).

    Parameters
    ----------
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``True`` under ``llama.cpp``.
    """
    return policy == "llama.cpp"


def short_rows_untouched(policy: str) -> bool:
    """Whether fewer than 3 candidates is a no-op (llama.cpp); the paper keeps the first token and
    ``min_keep`` there.

    Parameters
    ----------
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``True`` under ``llama.cpp``.
    """
    return policy == "llama.cpp"


def second_differences(p: Any) -> Any:
    """``p_j - 2 p_(j+1) + p_(j+2)`` along the last axis of sorted probabilities (arrays, tensors).

    Parameters
    ----------
    p : array or tensor
        Probabilities sorted in decreasing order along the last axis (length ``n >= 2``).

    Returns
    -------
    array or tensor
        The ``n - 2`` second differences along the last axis.
    """
    return p[..., :-2] - 2 * p[..., 1:-1] + p[..., 2:]


def kept(count: Any, n: Any, min_keep: Any, policy: str) -> Any:
    """The kept prefix length from ``count = #{j : cdf_j <= z}`` of ``n`` candidates (integers or
    integer tensors: ``+ - *`` and comparisons only; ``min_keep >= 1``).

    Parameters
    ----------
    count : int or integer tensor
        ``#{j : cdf_j <= z}``, ``0 <= count <= n - 2``.
    n : int or integer tensor
        The number of candidates.
    min_keep : int or integer tensor
        ``min_tokens_to_keep``, ``>= 1``.
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    int or integer tensor
        The number of tokens kept, at most ``n``.
    """
    if policy == "llama.cpp":
        i = count + (min_keep - count) * (min_keep > count)  # max(count, min_keep)
        return i + (n - i) * (i > n - 3)  # no j qualifies: everything
    k = count + 1 + (min_keep - count - 1) * (min_keep > count + 1)  # max(count + 1, min_keep)
    return k + (n - k) * (k > n)


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row, the checks that decide it and whether a flat row read as
    uniform (see :mod:`ees_theory.core.truncation` for the arguments)."""
    iv = ctx.iv
    z, n, m = prm["z"], row.n, prm["min_tokens_to_keep"]
    if pol.noop(prm) or (short_rows_untouched(policy) and n < 3):
        return n, [], {}
    if n < 3:  # no second difference: the first token and min_tokens_to_keep
        return int(kept(0, n, m, policy)), [], {}
    w = n - 2
    checks: list = []

    def d2(i, prec):  # the second difference of the weights e (p times S)
        return ctx.e(i, prec) - 2 * ctx.e(i + 1, prec) + ctx.e(i + 2, prec)

    def d2_form(i):
        return [(Fraction(1), (i,)), (Fraction(-2), (i + 1,)), (Fraction(1), (i + 2,))]

    signs: dict = {}

    def sign(i) -> Optional[int]:
        if i not in signs:
            signs[i] = ctx.decide("second difference", i, lambda prec: d2(i, prec), lambda: d2_form(i))
        return signs[i].sign

    def abs_form(coef):
        """``sum_i coef(i) |D_i|`` as a form; ``None`` where a sign is not certified."""
        out = []
        for i in range(w):
            s_i = sign(i)
            if s_i is None:
                return None
            if s_i and coef(i):
                out += [(c * s_i * coef(i), idx) for c, idx in d2_form(i)]
        return out

    def form_or_nonzero(coef):
        f = abs_form(coef)
        # an uncertified sign only happens on logits rows, where a single e^0 term reads "nonzero"
        return f if f is not None else [(Fraction(1), ())]

    def total(prec):
        return ctx.total("tfs-w", prec, lambda i: abs(d2(i, prec)) if i < w else iv.mpf(0))

    est_w = np.abs(second_differences(ctx.est_e))
    est_total = float(est_w.sum())
    uniform = False
    if flat_means_uniform(policy):
        ff = Fraction(FLAT)
        c = ctx.decide("sum|d2| - 1e-6", 0, lambda prec: total(prec) / ctx.S(prec) - iv.mpf(FLAT),
                       lambda: form_or_nonzero(lambda i: Fraction(1)) + [(-ff, (j,)) for j in range(n)])
        checks.append(c)
        uniform = not c.outcome(True)
    else:
        flat = all(sign(i) == 0 for i in range(w))
        checks += list(signs.values()) if flat else []
        if flat:
            return n, checks, {}
    if uniform:  # cdf_j = (j + 1) / (n - 2), exactly
        count = sum(1 for j in range(w) if Fraction(j + 1, w) <= Fraction(z))
        return int(kept(count, n, m, policy)), checks, {"uniform": True}
    zf = Fraction(z)
    est = z * est_total - np.cumsum(est_w)

    def decide(j):  # cdf_j <= z:  z sum|D| - sum_{i<=j} |D_i| >= 0
        return ctx.decide(
            _CUT,
            j,
            lambda prec: iv.mpf(z) * total(prec) - sum((abs(d2(i, prec)) for i in range(j + 1)), iv.mpf(0)),
            lambda: form_or_nonzero(lambda i: zf - (1 if i <= j else 0)),
        )

    count, cut = ctx.prefix_cut(est, False, decide, n=w)
    return int(kept(count, n, m, policy)), checks + cut, {}


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    if noop:
        return r.all()
    t, sp, pos, n, z, m = r.t, r.sp, r.pos, r.n, prm["z"], r.m
    if z >= 1 or sp.shape[-1] < 3:
        count = t.zeros_like(n)
        flat = t.zeros_like(n, dtype=t.bool)
    else:
        j = pos[..., :-2]
        valid = j < n - 2  # second differences of candidates only (masked entries sort last)
        w = t.where(valid, second_differences(sp).abs(), t.zeros_like(sp[..., :-2]))
        total = r.total(w)  # the sums in the current numerics' order (a style's, or torch's)
        cdf = r.cumsum(w) / t.where(total > 0, total, t.ones_like(total))
        uniform = flat_means_uniform(policy)
        flat = total <= (FLAT if uniform else 0.0)
        if uniform:  # uniform weights 1 / (n - 2) on a flat row
            uni = (j + 1).to(sp.dtype) / t.clamp(n - 2, min=1).to(sp.dtype)
            cdf = t.where(flat, uni, cdf)
        count = ((cdf <= z) & valid).sum(dim=-1, keepdim=True)
    k = kept(count, n, m, policy)
    if short_rows_untouched(policy):
        off = (n < 3) | (z >= 1)
    else:  # a flat row of 3 or more has no tail; 1 or 2 candidates keep the first
        off = (flat & (n >= 3)) | (z >= 1)
    return pos < t.where(off, n, k)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What tail-free sampling's judge states (``ees_theory.judging.judges`` assembles it): the kept
    prefix ends where the normalised cumulative ``|second difference|`` of the sorted probabilities
    passes ``z``. The second differences cancel: their absolute error is about ``4 r`` in all (``r``
    the probabilities' relative error), so the band on ``z`` is that error over the row's total
    curvature; a row too flat for its dtype has no claim.

    >>> sorted(Judge.misreadings), Judge.strictness[0][:24]
    (['non-strict', 'tail-index'], "'<' used instead of '<='")
    """

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
        T = float(np.abs(second_differences(p)).sum())
        u = max(self.unit_roundoff(st, options), tolerances.unit_roundoff(st.dtype, "input"))
        E = 4 * b["prob"] + 4 * (n - 2) * b["underflow"]  # absolute error of sum |d2| (and of any partial sum)
        dz = n * u + u * abs(z)  # the running sum and z as the port holds it
        if st.uniform:  # equal probabilities: every second difference is exactly 0 in any dtype
            if options.policy != "llama.cpp":
                return []
        elif options.policy == "llama.cpp" and T + E <= FLAT:
            pass  # uniform weights 1 / (n - 2) on both sides
        elif T <= 4 * E or (options.policy == "llama.cpp" and T - E <= FLAT):
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
        return int(kept(check.index, st.n, m, ref.policy))

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        other = "paper" if options.policy == "llama.cpp" else "llama.cpp"
        alt = self.truncate(row, params, other)
        return ["tail-index"] if set(int(i) for i in alt.kept) == kept != set(int(i) for i in ref.kept) else []

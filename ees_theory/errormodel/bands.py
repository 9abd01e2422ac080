"""Per-row error bands: what a careful float port can compute for *this* row.

The a-priori bounds of :mod:`ees_theory.tolerances` hold for every row of a given size and logit
range, and go infinite where a first-order analysis stops being valid (every bfloat16 row in
input mode). The bands here are computed for the row at hand: the port's float computation is
evaluated in float64 interval arithmetic, each elementary operation perturbed by the compute
dtype's unit roundoff ``u``, each ``exp``/``log`` by that dtype's libm accuracy, each sum by the
rounding a sum of those very terms can suffer. The result is an enclosure ``[lo, hi]`` of every
value a port of the *evaluation class* below can compute for the EES gap ``f(k)``; a decision
whose band contains 0 may go either way (admissible), any other is decided.

**Evaluation class** (stated in ``proofs/float-error-analysis.md``, section "Per-row bands"):

* every step in the compute dtype (``accumulate="input"``: the logits' dtype; ``"float32"``: at
  least float32), correctly rounded ``+ - * /``; ``exp``/``log`` within 2 ulps (half precision:
  float32 libm, then one rounding); gradual underflow;
* the temperature rounded once into the compute dtype; scaled differences ``a_i`` formed either
  by shifting first, ``(z_max - z_i) / tau``, or by dividing first, ``z_max / tau - z_i / tau``;
* weights normalised by the top token (``e_i = exp(-a_i)``, entropy ``ln S_k + A_k / S_k``) or by
  the total (``p_i = e_i / T``, entropy ``ln P_k + S_k / P_k`` with ``-ln p_i`` as ``log p_i`` or as
  ``a_i + ln T``); ``Hbar_k = H_k / ln k``; ``P_k = S_k / T``; the gap ``Hbar_k - P_k``; the row
  entropy also as ``log1p`` of the sum without the top weight (``ln S`` then, inside form 1's
  enclosure) or as ``-sum p ln p`` summed directly (form 3);
* every sum accumulated in any order by a running sum (a loop, ``cumsum``) in the compute dtype,
  by a pairwise tree of depth ``ceil(log2 m)`` in the compute dtype, or in a float32 accumulator
  rounded once (torch's half-precision reductions);
* tokens ordered by their logits or by their computed probabilities (near-ties may swap).

>>> b = ees_band([2.0, 1.0, 0.0], 1.0, "float64", "input")
>>> round(float(b.lo[1]), 6), bool(b.hi[1] - b.lo[1] < 1e-10)   # f(2) = -0.070028: float64 is tight
(-0.070028, True)
>>> b = ees_band([0.0, 0.0], 0.7, "bfloat16", "input")   # two tied tokens: f(2) = 0 exactly
>>> float(b.lo[1]), float(b.hi[1])
(0.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

import mpmath
from mpmath import iv

from .. import tolerances
from ..core.certify import LIBM_REL_ERROR, down, float_bounds, iv_bounds, iv_precision, up
from ..core.ctx import IV, MP, Context, bounded_exp
from ..core.temperatures import dynatemp_from_ratio, dynatemp_range, edt_from_entropy, edt_log_factor
from ..spec.formats import cast

__all__ = [
    "EESBand",
    "ees_band",
    "entropy_band",
    "entropy_error",
    "edt_band",
    "dynatemp_band",
    "libm_error",
    "sum_error",
    "truncation_row_bounds",
]


def libm_error(cd: str) -> float:
    """Relative error of ``exp``/``log`` results in compute dtype ``cd``.

    float64/float32: 2 ulps (``4u``). Half precision: float32 libm (2 float32 ulps, ``2**-22``)
    then one rounding into ``cd`` (``u``); the float32 error is relative to the unrounded value.

    Parameters
    ----------
    cd : str
        The compute dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.

    Returns
    -------
    float
        The bound, relative to the exact result.

    Raises
    ------
    KeyError
        An unknown dtype.

    Examples
    --------
    >>> libm_error("bfloat16") == 2.0**-8 + 2.0**-21
    True
    """
    u = tolerances.UNIT_ROUNDOFF[cd]
    if cd in ("float16", "bfloat16"):
        return u + 2.0**-21
    return 4.0 * u


def _half_ulp(x: np.ndarray, cd: str) -> np.ndarray:
    """Largest rounding error of a result of magnitude at most ``x`` in ``cd``: ``u 2**floor(log2 x)``
    (half an ulp of the binade), at least half the smallest subnormal."""
    u = tolerances.UNIT_ROUNDOFF[cd]
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m, e = np.frexp(np.where(np.isfinite(x) & (x > 0), x, 1.0))
        h = np.ldexp(u, e - 1)  # x = m 2**e with 0.5 <= m < 1: binade 2**(e-1)
    h = np.where(np.isfinite(x), h, np.inf)
    h = np.where(x > 0, h, 0.0)
    return np.maximum(h, tolerances.SMALLEST_SUBNORMAL[cd] / 2)


def _gamma(m: np.ndarray, u: float) -> np.ndarray:
    mu = np.asarray(m, dtype=np.float64) * u
    with np.errstate(divide="ignore"):
        return np.where(mu < 0.5, up(mu / (1.0 - mu)), np.inf)


def sum_error(t_hi: np.ndarray, cd: str) -> np.ndarray:
    """Bounds on the rounding error of every prefix sum ``t_1 + ... + t_k`` of non-negative terms
    ``t_j <= t_hi[j]``, for every summation of the evaluation class (array, one entry per ``k``).

    * running sum, any order, in ``cd``: each addition errs by at most ``min(t_j, half ulp of the
      partial sum)`` (the addend itself is a candidate result), so ``E <= sum_j min(t_j, h)`` with
      ``h`` half an ulp of the largest partial sum (at most ``2 S``: each step errs by at most its
      addend);
    * pairwise tree of depth ``d = ceil(log2 k)`` in ``cd``: ``gamma_d S`` (Higham, section 4.2), and
      also ``d (1 + gamma_d) sum_j min(t_j, h)``: a node errs by at most its smaller operand (at
      most ``(1 + gamma_d)`` times the sum of its leaves) or half an ulp, and a leaf lies below at
      most ``d`` nodes;
    * float32 accumulator, then one rounding into ``cd``: ``gamma_{k-1}(2**-24) S`` + half an ulp.

    Parameters
    ----------
    t_hi : numpy.ndarray
        Upper bounds on the terms, in the order summed (negative entries count as 0).
    cd : str
        The compute dtype of the sums.

    Returns
    -------
    numpy.ndarray
        float64, one bound per prefix length ``k`` (0 for ``k = 1``; ``inf`` where the analysis
        gives none).

    Examples
    --------
    >>> e = sum_error(np.array([1.0, 2.0**-10, 2.0**-10]), "bfloat16")
    >>> float(e[0]) < 1e-300, float(e[2]) < 2.0**-6   # the sum is about 1: a bf16 rounding there is 2**-8
    (True, True)
    """
    t = np.maximum(np.asarray(t_hi, dtype=np.float64), 0.0)
    u = tolerances.UNIT_ROUNDOFF[cd]
    k = np.arange(1, t.size + 1, dtype=np.float64)
    S = up(np.cumsum(t) * (1.0 + 4.0 * k * 2.0**-53))
    smax = np.minimum(S * (1.0 + _gamma(k - 1, u)), 2.0 * S)
    h = _half_ulp(smax, cd)
    # sum_{j <= k} min(t_j, h_k): h_k takes few distinct values (powers of two)
    seq = np.zeros_like(S)
    for hv in np.unique(h):
        sel = h == hv
        c = np.cumsum(np.minimum(t, hv))
        seq[sel] = c[sel]
    seq = up(seq * (1.0 + 4.0 * k * 2.0**-53))
    depth = np.ceil(np.log2(np.maximum(k, 1.0)))
    pair = np.minimum(_gamma(depth, u) * smax, depth * (1.0 + _gamma(depth, u)) * seq)
    out = np.maximum(seq, pair)
    if cd in ("float16", "bfloat16"):
        f32 = _gamma(k - 1, 2.0**-24) * S + _half_ulp(S * (1.0 + _gamma(k - 1, 2.0**-24)), cd)
        out = np.maximum(out, f32)
    out[0] = 0.0  # one term: no addition
    return up(out)


def _representable(x: np.ndarray, cd: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        back = cast(x, cd).astype(np.float64)
    return back == x


def _sums(lo: np.ndarray, hi: np.ndarray, cd: str) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of every computed prefix sum of terms enclosed by ``[lo, hi]`` (any signs: an
    addition errs by at most its smaller operand's magnitude or half an ulp, as for non-negative
    terms, with the magnitudes in place of the terms)."""
    k = np.arange(1, lo.size + 1, dtype=np.float64)
    e = sum_error(np.maximum(np.abs(lo), np.abs(hi)), cd)
    grow = 4.0 * k * 2.0**-53  # float64 evaluation of the cumulative sums themselves
    c_lo, c_hi = np.cumsum(lo), np.cumsum(hi)
    m = up(np.cumsum(np.maximum(np.abs(lo), np.abs(hi))) * grow)
    return down(c_lo - m - e), up(c_hi + m + e)


def _rnd(lo, hi, u):
    """One correctly rounded operation applied to a value enclosed by ``[lo, hi]``."""
    return down(lo - np.abs(lo) * u), up(hi + np.abs(hi) * u)


def _log(lo, hi, ul):
    """``log`` with relative error ``ul`` of the result, for arguments in ``[lo, hi]``, ``lo > 0``."""
    with np.errstate(divide="ignore"):
        a, b = np.log(lo), np.log(hi)
    a = a - np.abs(a) * LIBM_REL_ERROR
    b = b + np.abs(b) * LIBM_REL_ERROR
    return _rnd(a, b, ul)


def _div(alo, ahi, blo, bhi):
    """Enclosure of ``a / b`` for ``a`` in ``[alo, ahi]`` and ``b`` in ``[blo, bhi]``, ``blo > 0``
    (``blo = 0`` gives an unbounded side)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = [alo / blo, alo / bhi, ahi / blo, ahi / bhi]
    lo = np.nan_to_num(np.minimum.reduce(q), nan=-np.inf)
    hi = np.nan_to_num(np.maximum.reduce(q), nan=np.inf)
    return down(lo), up(hi)


def _position_hull(key_box_lo, key_box_hi, tok_key_lo, tok_key_hi, val_lo, val_hi):
    """Hull of ``[val_lo_j, val_hi_j]`` over the tokens ``j`` that can sit at each position: those
    whose key box ``[tok_key_lo_j, tok_key_hi_j]`` meets the position's box."""
    o = np.argsort(-tok_key_hi, kind="stable")  # tokens by key_hi descending
    pref_max = np.maximum.accumulate(val_hi[o])
    cnt = np.searchsorted(-tok_key_hi[o], -key_box_lo, side="right")  # tokens with key_hi >= box lo
    hi = pref_max[np.maximum(cnt - 1, 0)]
    o2 = np.argsort(tok_key_lo, kind="stable")  # tokens by key_lo ascending
    pref_min = np.minimum.accumulate(val_lo[o2])
    cnt2 = np.searchsorted(tok_key_lo[o2], key_box_hi, side="right")  # tokens with key_lo <= box hi
    lo = pref_min[np.maximum(cnt2 - 1, 0)]
    return np.minimum(lo, val_lo), np.maximum(hi, val_hi)


@dataclass(frozen=True)
class EESBand:
    """Enclosures, per canonical position ``k = 1..n`` (index ``k - 1``), of what a port of the
    evaluation class computes: the gap ``f(k)`` (``lo``, ``hi``; index 0 unused) and the
    weight ``e_k = p_(k) / p_(1)`` of the token at that position (``e_lo``, ``e_hi``).

    Parameters
    ----------
    lo, hi : numpy.ndarray
        Bounds on the computed ``f(k)``, float64, length ``n`` (index 0 unused).
    e_lo, e_hi : numpy.ndarray
        Bounds on the computed weights ``e_k``.
    dtype : str
        The port's input dtype.
    accumulate : str
        ``"input"`` or ``"float32"``.
    entropy_lo, entropy_hi : float
        Bounds on the computed entropy of the row, nats (default 0).
    stats : dict
        Per-row quantities the truncation bounds read.
    """

    lo: np.ndarray
    hi: np.ndarray
    e_lo: np.ndarray
    e_hi: np.ndarray
    dtype: str
    accumulate: str
    #: enclosure of the computed entropy of the whole row (nats), forms 1-3
    entropy_lo: float = 0.0
    entropy_hi: float = 0.0
    #: per-row quantities the truncation bounds read (largest a_hat error, sums' enclosures, ...)
    stats: dict = field(default_factory=dict, repr=False)

    def width(self, k: int) -> float:
        """Half the width of the band of ``f(k)``.

        Parameters
        ----------
        k : int
            A canonical position, ``2 <= k <= n`` (the band of ``f(1)``, index 0, is unused).

        Returns
        -------
        float
            ``(hi - lo) / 2`` at index ``k - 1``, ``>= 0``; ``inf`` where the band is unbounded.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return float(self.hi[k - 1] / 2 - self.lo[k - 1] / 2)


def ees_band(values, temperature: float, dtype: str, accumulate: str = "input") -> EESBand:
    """The band of every EES gap ``f(k)`` of a row, for ports computing in ``dtype`` / ``accumulate``.

    ``values`` are the finite logits in canonical order (descending; exact values of ``dtype``),
    ``temperature`` the float64 temperature the port receives. See the module docstring for the
    evaluation class the band covers. Overflowing intermediate bounds become infinite sides.

    Parameters
    ----------
    values : sequence of float or numpy.ndarray
        The finite logits, 1-D, non-empty, in descending order.
    temperature : float
        The temperature the port receives, finite and ``> 0``.
    dtype : str
        The port's input dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    accumulate : str
        ``"input"`` (default: every step in ``dtype``) or ``"float32"`` (at least float32).

    Returns
    -------
    EESBand
        The band of each ``f(k)`` and weight, and of the row entropy.

    Raises
    ------
    ValueError
        ``values`` empty, not 1-D, not finite or not descending; a bad temperature; an unknown
        dtype or accumulation mode.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _ees_band(values, temperature, dtype, accumulate)


def _ees_band(values, temperature: float, dtype: str, accumulate: str) -> EESBand:
    z = np.asarray(values, dtype=np.float64)
    if z.ndim != 1 or z.size == 0 or not np.all(np.isfinite(z)):
        raise ValueError("values must be a non-empty 1-D array of finite logits")
    if np.any(np.diff(z) > 0):
        raise ValueError("values must be in canonical (descending) order")
    tau = float(temperature)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}")
    cd = tolerances.compute_dtype_name(dtype, accumulate)
    u = tolerances.UNIT_ROUNDOFF[cd]
    ul = libm_error(cd)
    eta = tolerances.SMALLEST_SUBNORMAL[cd]
    n = z.size
    big = float(np.finfo(np.float32 if cd == "bfloat16" else cd).max)

    # temperature and the division by it
    tau_rep = bool(_representable(np.array([tau]), cd)[0])
    # below the normal range tau rounds with an absolute error of half a subnormal, not u relative
    eps_tau = 0.0 if tau_rep else max(u, eta / 2 / tau)
    if eps_tau >= 0.5:  # tau may round to 0 (or lose its magnitude) in cd: no claim
        inf = np.full(z.size, np.inf)
        nostats = {"delta_max": np.inf, "a_hat_max": np.inf, "e_rel": np.inf, "T_lo": 1.0, "T_hi": np.inf, "E_p": np.inf, "eta": eta}
        return EESBand(-inf, inf, np.zeros(z.size), np.full(z.size, np.inf), dtype, accumulate, 0.0, np.inf, nostats)
    pow2 = tau_rep and math.frexp(tau)[0] == 0.5
    eps_q = 0.0 if pow2 else u

    # exact scaled differences a_i >= 0, enclosed
    with np.errstate(over="ignore"):
        d = z[0] - z
        d_exact = ((z[0] - d) == z) & np.isfinite(d)  # the float64 difference is exact
        d_lo = np.where(d_exact, d, down(d))
        d_hi = np.where(d_exact, d, up(d))
        a_lo = np.maximum(down(d_lo / tau), 0.0)
        a_hi = up(d_hi / tau)
    tied = d == 0
    a_lo[tied] = a_hi[tied] = 0.0

    # |a_hat - a|: shift first, or divide first (when z / tau stays finite in cd)
    eps_d = np.where(_representable(d, cd) & d_exact, 0.0, u)
    delta = a_hi * ((1 + eps_d) * (1 + eps_q) / (1 - eps_tau) - 1)
    x_abs = np.abs(z) / tau
    if float(np.max(x_abs)) * (1 + 2 * u) < big:
        div = (a_hi * eps_tau / (1 - eps_tau) + (x_abs[0] + x_abs) * eps_q / (1 - eps_tau)) * (1 + u) + u * a_hi
        delta = np.maximum(delta, div)
    delta = up(delta * (1 + 2.0**-40) + 2 * eta)  # a difference or quotient in the subnormal range
    delta[tied] = 0.0
    ah_lo = np.maximum(down(a_lo - delta), 0.0)
    ah_hi = up(a_hi + delta)

    # e_i = exp(-a_hat_i) rounded into cd: exact 1 at a_hat = 0
    with np.errstate(under="ignore", over="ignore"):
        e_lo = np.maximum(np.exp(-ah_hi) * (1 - LIBM_REL_ERROR) * (1 - ul) - eta, 0.0)
        e_hi = np.exp(-ah_lo) * (1 + LIBM_REL_ERROR) * (1 + ul) + eta
    e_lo[tied] = e_hi[tied] = 1.0

    # a port ordering by computed probabilities: position k holds the k-th largest computed weight
    # (order statistics are monotone in each argument), and that token's a_hat
    s_lo, s_hi = np.sort(e_lo)[::-1], np.sort(e_hi)[::-1]
    pe_lo, pe_hi = np.minimum(e_lo, s_lo), np.maximum(e_hi, s_hi)
    pa_lo, pa_hi = _position_hull(pe_lo, pe_hi, e_lo, e_hi, ah_lo, ah_hi)
    pe_lo[tied], pe_hi[tied], pa_lo[tied], pa_hi[tied] = 1.0, 1.0, 0.0, 0.0

    ks = np.arange(1, n + 1, dtype=np.float64)
    L_lo, L_hi = _log(ks, ks, ul)  # ln k in cd
    L_lo[0] = L_hi[0] = 1.0  # k = 1 is never compared
    S_lo, S_hi = _sums(pe_lo, pe_hi, cd)  # computed prefix sums of the weights
    S_lo = np.maximum(S_lo, 1.0)  # the top weight is exactly 1, the others >= 0: rounding keeps S >= 1
    T_lo, T_hi = S_lo[-1], S_hi[-1]
    E_S = sum_error(pe_hi, cd)
    E_T = E_S[-1]

    # P_k = S_k / T: the exact-term ratio is monotone in each weight (up in the head, down in the
    # tail), so its range over the weight boxes is attained at the corners; then the sums' errors
    head_lo, head_hi = down(np.cumsum(pe_lo)), up(np.cumsum(pe_hi))
    tail_lo = np.append(np.maximum(down(np.cumsum(pe_lo[::-1])[::-1][1:]), 0.0), 0.0)
    tail_hi = np.append(up(np.cumsum(pe_hi[::-1])[::-1][1:]), 0.0)
    r_lo = down(head_lo / up(head_lo + tail_hi))
    r_hi = np.minimum(up(head_hi / down(head_hi + tail_lo)), 1.0)
    th1 = up(E_S / head_lo)
    th2 = up(E_T / T_lo)
    P_lo = down(r_lo * down((1 - th1) / (1 + th2)))
    P_hi = up(r_hi * up((1 + th1) / (1 - th2))) if th2 < 1 else np.full(n, np.inf)
    P_lo, P_hi = _rnd(P_lo, P_hi, u)

    def gap(H_lo, H_hi, M_lo, M_hi):
        hb_lo, hb_hi = _rnd(*_div(H_lo, H_hi, L_lo, L_hi), u)
        return _rnd(down(hb_lo - M_hi), up(hb_hi - M_lo), u)

    # form 1: weights e_i, H = ln S + A / S
    pr_lo, pr_hi = _rnd(down(pe_lo * pa_lo), up(pe_hi * pa_hi), u)
    pr_lo, pr_hi = np.maximum(pr_lo - eta, 0.0), pr_hi + eta
    A_lo, A_hi = _sums(pr_lo, pr_hi, cd)
    lS_lo, lS_hi = _log(S_lo, S_hi, ul)
    q_lo, q_hi = _rnd(*_div(A_lo, A_hi, S_lo, S_hi), u)
    H_lo, H_hi = _rnd(down(lS_lo + q_lo), up(lS_hi + q_hi), u)
    f1_lo, f1_hi = gap(H_lo, H_hi, P_lo, P_hi)

    # form 2: probabilities p_i = fl(e_i / T), H = ln P_k + (-sum p ln p) / P_k with -ln p_i as
    # -log p_i or as a_i + ln T. Writing w_i = e_i (1 + delta_i) (the quotient's rounding), W = sum w_i,
    # lambda = ln T: the computed H equals ln W + (sum w_i a_i) / W + D, with D bounded below
    # (proof: proofs/float-error-analysis.md, "Per-row bands"); ln W + sum w a / W is form 1's
    # expression without its roundings, over the widened weights.
    w_lo, w_hi = down(pe_lo * (1 - u)), up(pe_hi * (1 + u))
    w_lo[0], w_hi[0] = down(1 - u), up(1 + u)  # p_1 = fl(1 / T) = (1 + delta_1) / T
    W_lo, W_hi = down(np.cumsum(w_lo)), up(np.cumsum(w_hi))
    Aw_lo, Aw_hi = down(np.cumsum(down(w_lo * pa_lo))), up(np.cumsum(up(w_hi * pa_hi)))
    lW_lo, lW_hi = _log(W_lo, W_hi, 0.0)
    m_lo, m_hi = _div(Aw_lo, Aw_hi, W_lo, W_hi)
    lam_hi = float(up(np.log(T_hi) * (1 + LIBM_REL_ERROR)))
    p_lo, p_hi = _rnd(*_div(pe_lo, pe_hi, np.full(n, T_lo), np.full(n, T_hi)), u)
    p_lo, p_hi = np.maximum(p_lo - eta, 0.0), p_hi + eta
    ell_hi = up(pa_hi + lam_hi)  # exact a_i + lambda, bounded above
    eps = np.maximum(ul * lam_hi + u * ell_hi * (1 + ul), 1.01 * (ul + u) + ul * ell_hi * 1.01)  # |error of -ln p_i|
    t_hi = up(p_hi * up((ell_hi + eps) * (1 + u))) + eta  # the products p_i (-ln p_i), rounded
    E_B = sum_error(t_hi, cd)
    R1 = up(np.cumsum(up(p_hi * up(u * ell_hi + eps * (1 + u)))) + np.arange(1, n + 1) * eta)
    E_p = sum_error(p_hi, cd)
    M_lo = np.maximum(down(P_lo * (1 - u) - E_p), 0.0)  # the sum of the rounded p_i
    M_hi = up(P_hi * (1 + u) + E_p)
    Wt_lo = down(W_lo / T_hi)  # sum p_i before its sum's rounding
    thM = up(E_p / Wt_lo)  # relative rounding of that sum
    kap = u
    lnM = np.maximum(np.abs(np.log(np.maximum(M_lo, 1e-320))), np.abs(np.log(M_hi))) * (1 + LIBM_REL_ERROR)
    mean_hi = m_hi
    D = (
        up(-np.log1p(-np.minimum(thM, 0.5)) * 1.01)
        + ul * lnM
        + up((mean_hi + lam_hi) * up((1 + kap) / (1 - np.minimum(thM, 0.5)) - 1))
        + up((R1 + E_B) * T_hi / W_lo * (1 + u) / (1 - thM))
    )
    H2c_lo, H2c_hi = down(lW_lo + m_lo), up(lW_hi + m_hi)
    D = up(D + u * np.maximum(np.abs(H2c_lo), np.abs(H2c_hi) + D))
    D = np.where(thM < 0.5, D, np.inf)
    H2_lo, H2_hi = down(H2c_lo - D), up(H2c_hi + D)
    f2_lo, f2_hi = gap(H2_lo, H2_hi, M_lo, M_hi)

    # form 3, the row entropy only (k = n): H = -sum p ln p summed directly. With omega the relative
    # error of sum p_i = W / T and lambda = ln T = ln W - ln(W / T), the computed value is
    # ln W + sum w a / W + D3, |D3| <= -ln(1 - omega) + (sum w a / W + lambda) omega + R1 + E_B.
    th_T = float(up(E_T / T_lo))
    omega = float(up((1 + u) / (1 - th_T) - 1)) if th_T < 1 else math.inf
    D3 = up(-math.log1p(-min(omega, 0.5)) * 1.01 + (m_hi[-1] + lam_hi) * omega + R1[-1] + E_B[-1]) if omega < 0.5 else math.inf
    H3_lo, H3_hi = float(down(H2c_lo[-1] - D3)), float(up(H2c_hi[-1] + D3))
    ent_lo = float(min(H_lo[-1], H2_lo[-1], H3_lo)) if n > 1 else 0.0
    ent_hi = float(max(H_hi[-1], H2_hi[-1], H3_hi)) if n > 1 else 0.0

    lo = np.nan_to_num(np.minimum(f1_lo, f2_lo), nan=-np.inf)
    hi = np.nan_to_num(np.maximum(f1_hi, f2_hi), nan=np.inf)
    if n == 2 and tied[1]:
        lo[1] = hi[1] = 0.0  # Hbar_2 = ln 2 / ln 2 and P_2 = 2 / 2: exact in every form and dtype
    lo[0] = hi[0] = np.nan
    stats = {
        "delta_max": float(np.max(delta)),
        "a_hat_max": float(np.max(ah_hi)),
        "e_rel": float(np.max(up(np.exp(delta) * (1 + LIBM_REL_ERROR) * (1 + ul) - 1))),
        "T_lo": float(T_lo),
        "T_hi": float(T_hi),
        "E_p": float(E_p[-1]),
        "eta": eta,
    }
    return EESBand(lo, hi, pe_lo, pe_hi, dtype, accumulate, ent_lo, ent_hi, stats)


def entropy_band(logits, temperature: float, dtype: str, accumulate: str = "input") -> tuple[float, float]:
    """Enclosure of the row entropy (nats) of ``softmax(logits / temperature)`` as a port of the
    evaluation class computes it in ``dtype`` / ``accumulate`` (``-inf`` entries are masked).

    Parameters
    ----------
    logits : sequence of float or numpy.ndarray
        One row, 1-D, in any order; ``-inf`` masks a token, at least one finite.
    temperature : float
        The temperature, finite and ``> 0``.
    dtype : str
        The port's input dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    accumulate : str
        ``"input"`` (default: every step in ``dtype``) or ``"float32"`` (at least float32).

    Returns
    -------
    tuple of float
        ``(lo, hi)`` in nats, ``lo >= 0``; ``(0, 0)`` for a single candidate.

    Raises
    ------
    ValueError
        Not 1-D, NaN or ``+inf`` in the row, no finite logit, or a bad temperature, dtype or mode.

    Examples
    --------
    >>> lo, hi = entropy_band([0.0, 0.0], 1.0, "bfloat16")
    >>> lo <= 0.6931 <= hi and hi - lo < 0.1
    True
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 1 or np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits must be a 1-D array without NaN or +inf")
    v = np.sort(z[np.isfinite(z)])[::-1]
    if v.size == 0:
        raise ValueError("a row needs at least one finite logit")
    if v.size == 1:
        return 0.0, 0.0
    b = ees_band(v, temperature, dtype, accumulate)
    return max(b.entropy_lo, 0.0), b.entropy_hi


def entropy_error(logits, temperature: float, entropy: float, dtype: str, accumulate: str = "input") -> float:
    """The largest distance from the exact ``entropy`` to what such a port can compute.

    Parameters
    ----------
    logits : sequence of float or numpy.ndarray
        One row, 1-D; ``-inf`` masks a token.
    temperature : float
        The temperature, finite and ``> 0``.
    entropy : float
        The exact entropy of the row, nats (the reference's).
    dtype : str
        The port's input dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    accumulate : str
        ``"input"`` (default: every step in ``dtype``) or ``"float32"`` (at least float32).

    Returns
    -------
    float
        ``max(entropy - lo, hi - entropy, 0)`` over :func:`entropy_band`, rounded up.

    Raises
    ------
    ValueError
        As for :func:`entropy_band`.

    Examples
    --------
    >>> entropy_error([0.0, -1.0, -2.0], 1.0, 0.8324, "float32") < 1e-5
    True
    """
    lo, hi = entropy_band(logits, temperature, dtype, accumulate)
    H = float(entropy)
    return float(up(max(H - lo, hi - H, 0.0)))


def truncation_row_bounds(logits, temperature: float, dtype: str, accumulate: str = "input", entropy: float = 0.0) -> tolerances.TruncationBounds:
    """Per-row versions of :func:`ees_theory.tolerances.truncation_bounds` (same keys, same
    meaning), for the evaluation class of this module: every value is computed from this row's
    weight boxes and sums (Lemmas 1-2 of the error-analysis page) instead of the worst case of
    its size and range, so bfloat16 and float16 rows get finite bounds.

    * ``logit``: two scaled logits' difference errs by at most ``2 max_i delta_i``;
    * ``prob``: ``p_i = e_i / T`` errs relatively by ``(1 + r_e)(1 + u) / (1 - r_T) - 1``, ``r_e`` the
      weights' and ``r_T`` the total's relative error (its enclosure's width over its lower end);
    * ``cum``: a mass errs by ``prob`` plus the sum's own error (Lemma 1 on the ``p_i``);
    * ``logp``: ``log_softmax`` errs by ``max delta + |ln T_hat - ln T| + u_l ln T + u |ln p|``, the log of a
      computed ``p_i`` by ``prob / (1 - prob) + u_l |ln p|``: the larger;
    * ``entropy``: the distance from ``entropy`` (the exact row entropy) to the entropy band;
    * ``sum``: the relative error of the sums behind a standard deviation (Lemma 1 on ``|x|`` and
      on ``(x - mean)**2``); ``underflow``: ``n eta``.

    Parameters
    ----------
    logits : sequence of float or numpy.ndarray
        One row, 1-D; ``-inf`` masks a token, at least one finite.
    temperature : float
        The temperature, finite and ``> 0``.
    dtype : str
        The port's input dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    accumulate : str
        ``"input"`` (default: every step in ``dtype``) or ``"float32"`` (at least float32).
    entropy : float
        The exact row entropy in nats that the ``entropy`` bound is measured from (default 0).

    Returns
    -------
    dict
        ``{"logit", "prob", "underflow", "sum", "cum", "logp", "entropy"}``, floats (``inf``
        where no bound holds).

    Raises
    ------
    ValueError
        No finite logit, or an unknown dtype or accumulation mode.

    Examples
    --------
    >>> b = truncation_row_bounds([0.0, -1.0, -2.0, -8.0], 0.7, "bfloat16", "input")
    >>> 0 < b["prob"] < 0.25 and b["cum"] < 0.25 and sorted(b) == sorted(tolerances.truncation_bounds("float32", "input", 4, 1.0, 1.0))
    True
    """
    z = np.asarray(logits, dtype=np.float64)
    v = np.sort(z[np.isfinite(z)])[::-1]
    if v.size == 0:
        raise ValueError("a row needs at least one finite logit")
    cd = tolerances.compute_dtype_name(dtype, accumulate)
    u = tolerances.UNIT_ROUNDOFF[cd]
    ul = libm_error(cd)
    eta = tolerances.SMALLEST_SUBNORMAL[cd]
    if v.size == 1:  # one candidate: p = 1 exactly, nothing to compare
        return {"logit": 0.0, "prob": 0.0, "underflow": eta, "sum": 0.0, "cum": 0.0, "logp": 0.0, "entropy": 0.0}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        b = ees_band(v, temperature, dtype, accumulate)
        st = b.stats
        logit = float(up(2.0 * st["delta_max"]))
        r_T = float(up((st["T_hi"] - st["T_lo"]) / st["T_lo"]))
        r_e = st["e_rel"]
        prob = float(up((1 + r_e) * (1 + u) / (1 - r_T) - 1)) if r_T < 1 else math.inf
        cum = float(up(prob + st["E_p"] + 2 * u))
        lnT = float(up(math.log(st["T_hi"]) * (1 + LIBM_REL_ERROR)))
        lnp = st["a_hat_max"] + lnT  # largest |ln p_i|
        lse = st["delta_max"] - math.log1p(-min(r_T, 0.5)) * 1.01 + ul * lnT + u * lnp if r_T < 0.5 else math.inf
        logp = float(up(max(lse, prob / (1 - prob) + ul * lnp if prob < 1 else math.inf)))
        H = float(entropy)
        ent = float(up(max(H - b.entropy_lo, b.entropy_hi - H, 0.0)))
        x = v / float(temperature)
        t1 = np.abs(x)
        t2 = (x - x.mean()) ** 2
        rel = [float(sum_error(t, cd)[-1] / t.sum()) for t in (t1, t2) if t.sum() > 0]
        ssum = float(up(max(rel, default=0.0)))
    return {"logit": logit, "prob": prob, "underflow": v.size * eta, "sum": ssum, "cum": cum, "logp": logp, "entropy": ent}


# ---- temperatures (EDT, dynatemp) ---------------------------------------------------------------
class _Rounded:
    """A value a port computes in a compute dtype: an ``mpmath.iv`` enclosure of every value the
    port can hold there. Each operation on such values is one correctly rounded operation of the
    dtype: the exact result over the operands' enclosures, widened by the rounding."""

    __slots__ = ("x", "fmt")

    def __init__(self, x, fmt: "_Format"):
        self.x = x
        self.fmt = fmt

    def _v(self, o):
        return o.x if isinstance(o, _Rounded) else iv.mpf(o)

    def __add__(self, o):
        return self.fmt.rounded(self.x + self._v(o))

    __radd__ = __add__

    def __sub__(self, o):
        return self.fmt.rounded(self.x - self._v(o))

    def __rsub__(self, o):
        return self.fmt.rounded(self._v(o) - self.x)

    def __mul__(self, o):
        return self.fmt.rounded(self.x * self._v(o))

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self.fmt.rounded(self.x / self._v(o))

    def __rtruediv__(self, o):
        return self.fmt.rounded(self._v(o) / self.x)

    def __neg__(self):
        return _Rounded(-self.x, self.fmt)

    def bounds(self) -> tuple[float, float]:
        """Floats enclosing every value (outward)."""
        return float_bounds(*iv_bounds(self.x))


@dataclass(frozen=True)
class _Format:
    """The rounding of a compute dtype: ``u`` relative; absolute, the smallest normal number ``tiny``
    (a result below the normal range: gradual underflow errs by half a subnormal, a flush to zero,
    as vectorised ``exp`` does, by less than ``tiny``); past the largest finite number up to
    ``inf``; ``exp``/``log``/``pow`` within :func:`libm_error`."""

    u: float
    ul: float
    tiny: float
    big: float

    def widened(self, x, rel: float):
        with mpmath.workprec(iv.prec + 16):
            w = iv.mpf([1 - mpmath.mpf(rel), 1 + mpmath.mpf(rel)])
        y = x * w + iv.mpf([-self.tiny, self.tiny])
        lo, hi = iv_bounds(y)
        if hi > self.big:
            hi = mpmath.inf
        if lo < -self.big:
            lo = -mpmath.inf
        return iv.mpf([lo, hi])

    def rounded(self, x) -> _Rounded:
        return _Rounded(self.widened(x, self.u), self)

    def exact(self, x) -> _Rounded:
        """A value the port holds exactly (an enclosure already of what it computed)."""
        return _Rounded(iv.mpf(x), self)

    def num(self, v) -> _Rounded:
        """A float64 parameter rounded into the dtype."""
        return self.rounded(iv.mpf(v))

    def libm(self, x) -> _Rounded:
        return _Rounded(self.widened(x, self.ul), self)

    def exp(self, a: _Rounded) -> _Rounded:
        return self.libm(bounded_exp(a.x))

    def log(self, a: _Rounded) -> _Rounded:
        return self.libm(iv.log(a.x))

    def pow(self, a: _Rounded, y: float) -> _Rounded:
        """``a**y`` for ``a >= 0`` and a float64 exponent ``y != 0`` (``0**y``: 0, or ``inf`` for ``y < 0``)."""
        lo, hi = iv_bounds(a.x)
        lo = max(lo, mpmath.mpf(0))
        if hi <= 0:
            return _Rounded(iv.mpf(0 if y > 0 else mpmath.inf), self)
        pos = iv.mpf([max(lo, mpmath.mpf(2) ** -2000), hi])
        r = iv_bounds(bounded_exp(iv.mpf(y) * iv.log(pos)))
        if lo == 0:  # the power's limit at 0
            r = (mpmath.mpf(0), r[1]) if y > 0 else (r[0], mpmath.inf)
        return self.libm(iv.mpf(list(r)))

    def context(self) -> Context:
        unsupported = _unsupported
        return Context("rounded", self.num, self.exp, self.log, unsupported, unsupported, self.pow)


def _unsupported(*_):  # pragma: no cover - the temperature formulas use num, exp, log and pow only
    raise NotImplementedError("log1p and sqrt are not modelled for the temperature bands")


def _format(dtype: str, accumulate: str) -> _Format:
    cd = tolerances.compute_dtype_name(dtype, accumulate)
    big = float(np.finfo(np.float32 if cd == "bfloat16" else cd).max)
    return _Format(tolerances.UNIT_ROUNDOFF[cd], libm_error(cd), tolerances.SMALLEST_NORMAL[cd], big)


def _float64_of(x, fmt: _Format) -> _Rounded:
    """A quantity a port forms from its parameters in float64 (``log`` within ``LIBM_REL_ERROR``,
    one rounding) and then rounds once into the compute dtype."""
    f64 = _format("float64", "input")
    return fmt.rounded(f64.widened(x, LIBM_REL_ERROR + 2.0**-52))


def _entropy_of(logits, temperature: float, dtype: str, accumulate: str, entropy) -> tuple[float, float]:
    return entropy_band(logits, temperature, dtype, accumulate) if entropy is None else (float(entropy[0]), float(entropy[1]))


def edt_band(logits, T0: float, theta: float, N: float, dtype: str, accumulate: str = "input", entropy=None) -> tuple[float, float]:
    """Enclosure of every EDT temperature ``T0 N**(theta / H)`` a port of the evaluation class
    returns for this row (``proofs/float-error-analysis.md``, "Per-row bands"): ``H`` anywhere in
    the row's :func:`entropy_band` (or the given ``entropy`` pair), ``c = theta ln N`` formed in
    float64 and rounded into the compute dtype, then ``T0 exp(c / H)`` with one rounding per
    operation (``exp`` within :func:`libm_error`); ``H = 0`` gives the greedy 0.

    Parameters
    ----------
    logits : sequence of float or numpy.ndarray
        One row, 1-D; ``-inf`` masks a token.
    T0, theta, N : float
        EDT's parameters (``T0 > 0``, ``theta >= 0``, ``0 < N < 1``; not checked here).
    dtype : str
        The port's input dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    accumulate : str
        ``"input"`` (default: every step in ``dtype``) or ``"float32"`` (at least float32).
    entropy : tuple of float or None
        ``(lo, hi)``: an entropy enclosure to use instead of the row's :func:`entropy_band`.

    Returns
    -------
    tuple of float
        ``(lo, hi)``, ``lo >= 0``.

    Raises
    ------
    ValueError
        A bad row, dtype or accumulation mode.

    Examples
    --------
    >>> lo, hi = edt_band([0.0, 0.0], 1.0, math.log(2), 0.8, "float32")   # H = ln 2 = theta: T = 0.8
    >>> lo < 0.8 < hi and hi - lo < 1e-5
    True
    >>> lo, hi = edt_band([0.0, 0.0], 1.0, math.log(2), 0.8, "bfloat16")
    >>> 0.77 < lo < 0.8 < hi < 0.83   # bfloat16 arithmetic: the entropy is within 0.05
    True
    """
    fmt = _format(dtype, accumulate)
    if theta == 0:
        return fmt.num(T0).bounds()
    H_lo, H_hi = _entropy_of(logits, 1.0, dtype, accumulate, entropy)
    if H_hi <= 0:
        return 0.0, 0.0
    with iv_precision(113):
        c = _float64_of(edt_log_factor(theta, N, IV), fmt)
        H = fmt.exact(iv.mpf([max(H_lo, 2.0**-1074), H_hi]))
        lo, hi = edt_from_entropy(H, T0, c, fmt.context()).bounds()
    return (0.0 if H_lo <= 0 else max(lo, 0.0)), hi


def dynatemp_band(
    logits, temp: float, delta: float, exponent: float, dtype: str, accumulate: str = "input", entropy=None, size: int | None = None
) -> tuple[float, float]:
    """Enclosure of every dynatemp temperature a port of the evaluation class returns for this
    row (``delta > 0``, ``size >= 2`` entries, ``-inf`` ones included; ``size`` overrides it):
    ``H`` anywhere in the row's :func:`entropy_band` (or the given ``entropy`` pair), ``ln n`` in
    float64 or in the compute dtype, ``T_min`` and ``T_max`` formed in float64, each rounded into the compute dtype, then
    ``T_min + (T_max - T_min) (H / ln n)**exponent`` with one rounding per operation (``pow``
    within :func:`libm_error`); a port may clamp the result to ``[T_min, T_max]`` (``exponent < 0``:
    to at least ``T_max``) as llama.cpp's range promises, or not.

    Parameters
    ----------
    logits : sequence of float or numpy.ndarray
        One row, 1-D; ``-inf`` masks a token.
    temp, delta, exponent : float
        dynatemp's parameters (finite; ``delta <= 0`` gives ``temp``, ``exponent = 0`` ``T_max``).
    dtype : str
        The port's input dtype: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    accumulate : str
        ``"input"`` (default: every step in ``dtype``) or ``"float32"`` (at least float32).
    entropy : tuple of float or None
        ``(lo, hi)``: an entropy enclosure to use instead of the row's :func:`entropy_band`.
    size : int or None
        The ``n`` of ``ln n`` (default: the row's length, masked entries included).

    Returns
    -------
    tuple of float
        ``(lo, hi)``.

    Raises
    ------
    ValueError
        A bad row, dtype or accumulation mode.

    Examples
    --------
    >>> lo, hi = dynatemp_band([0.0, 0.0, 0.0, 0.0], 1.0, 0.25, 2.0, "float32")   # H = ln n: T_max
    >>> lo < 1.25 < hi and hi - lo < 1e-5
    True
    """
    fmt = _format(dtype, accumulate)
    if delta <= 0:  # no dynamic range: temp itself
        return fmt.num(temp).bounds()
    n = int(np.asarray(logits).shape[-1]) if size is None else int(size)
    H_lo, H_hi = _entropy_of(logits, 1.0, dtype, accumulate, entropy)
    with iv_precision(113):
        t_min, t_max = (_float64_of(iv.mpf(t), fmt) for t in dynatemp_range(temp, delta, MP))
        if exponent == 0:
            return t_max.bounds()
        # ln n in float64 rounded once, or in the compute dtype (llama.cpp: -log(1/n) in float32, where
        # 1/n rounds by u and moves the log by u / ln 2 at most): within u_l + 1.5u relative
        ln_n = _Rounded(fmt.widened(IV.log(IV.num(n)), fmt.ul + 1.5 * fmt.u + LIBM_REL_ERROR), fmt)
        ratio = fmt.exact(iv.mpf([max(H_lo, 0.0), H_hi])) / ln_n
        T = iv_bounds(dynatemp_from_ratio(ratio, t_min, t_max, exponent, fmt.context()).x)
        # a port that clamps as llama.cpp's range promises: clamp is monotone in T and the bounds
        (a, b), (c, d) = iv_bounds(t_min.x), iv_bounds(t_max.x)
        clamped = (max(T[0], c), max(T[1], d)) if exponent < 0 else (min(max(T[0], a), c), min(max(T[1], b), d))
        return float_bounds(min(T[0], clamped[0]), max(T[1], clamped[1]))

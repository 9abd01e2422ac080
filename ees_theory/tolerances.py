"""The one tolerance table: every float-vs-reference comparison in the toolkit reads it here.

Each bound is derived in ``proofs/float-error-analysis.md`` for the algorithms of
:mod:`ees_theory.torch` (and any port that computes the same formulas): a first-order rounding
analysis, doubled to cover the second-order terms, valid while every first-order quantity is at
most 1/16. Outside that regime a bound is ``math.inf`` -- no claim is made, and callers count the
case as "inside the bound" instead of asserting anything.

Error model (stated once, used by every bound):

* ``+ - * /`` are correctly rounded in the compute dtype (unit roundoff ``u``);
* ``exp``, ``log1p``, ``pow`` err by at most 2 ulps (``4u``);
* a result below the normal range carries an absolute error of at most the smallest subnormal
  ``eta`` (gradual underflow; flush-to-zero is not assumed);
* a reduction of ``n`` terms accumulates in ``accumulator`` (default: the compute dtype; torch's
  ``sum``/``cumsum`` accumulate half precision in float32) and its result is stored in the
  compute dtype.

>>> ees_gap_bound("float64", "input", n=10, logit_range=5.0) < 1e-12
True
>>> ees_gap_bound("bfloat16", "input", n=64, logit_range=30.0)   # bf16 arithmetic: no claim
inf
"""

from __future__ import annotations

import math
from typing import TypedDict

from .core.ctx import FLOAT
from .core.temperatures import dynatemp_range

__all__ = [
    "UNIT_ROUNDOFF",
    "SMALLEST_SUBNORMAL",
    "SMALLEST_NORMAL",
    "ACCUMULATE",
    "unit_roundoff",
    "compute_dtype_name",
    "ees_gap_bound",
    "entropy_error_bound",
    "edt_temperature_bound",
    "dynatemp_temperature_bound",
    "temperature_rtol",
    "truncation_bounds",
    "TruncationBounds",
]

#: Unit roundoff u = eps/2 of each floating dtype.
UNIT_ROUNDOFF = {
    "float64": 2.0**-53,
    "float32": 2.0**-24,
    "float16": 2.0**-11,
    "bfloat16": 2.0**-8,
}

#: Smallest positive subnormal: the absolute error of a result that underflows.
SMALLEST_SUBNORMAL = {
    "float64": 2.0**-1074,
    "float32": 2.0**-149,
    "float16": 2.0**-24,
    "bfloat16": 2.0**-133,
}

#: Smallest positive normal number: below it relative error bounds no longer hold.
SMALLEST_NORMAL = {
    "float64": 2.0**-1022,
    "float32": 2.0**-126,
    "float16": 2.0**-14,
    "bfloat16": 2.0**-126,
}

#: Accumulation modes of the float kernels: reductions in the input dtype, or in float32.
ACCUMULATE = ("input", "float32")

#: Validity limit of the first-order analysis: each first-order quantity at most this.
_FIRST_ORDER_LIMIT = 1.0 / 16


def compute_dtype_name(dtype: str, accumulate: str = "input") -> str:
    """The dtype the kernels compute in: ``dtype`` itself, or at least float32.

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        ``"input"`` (the default: compute in ``dtype``) or ``"float32"`` (at least float32).

    Returns
    -------
    str
        ``dtype``, or ``"float32"`` for a narrower ``dtype`` under ``"float32"``.

    Raises
    ------
    ValueError
        An unknown ``dtype`` or ``accumulate``.

    Examples
    --------
    >>> compute_dtype_name("float16", "float32"), compute_dtype_name("float64", "float32")
    ('float32', 'float64')
    """
    if dtype not in UNIT_ROUNDOFF:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(UNIT_ROUNDOFF)}")
    if accumulate not in ACCUMULATE:
        raise ValueError(f"accumulate must be one of {ACCUMULATE}, got {accumulate!r}")
    if accumulate == "input" or dtype == "float64":
        return dtype
    return "float32"


def unit_roundoff(dtype: str, accumulate: str = "input") -> float:
    """The unit roundoff that governs the computation (``float32`` mode never does worse than fp32).

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        ``"input"`` (the default) or ``"float32"``.

    Returns
    -------
    float
        ``u`` of the compute dtype (:func:`compute_dtype_name`).

    Raises
    ------
    ValueError
        An unknown ``dtype`` or ``accumulate``.
    """
    return UNIT_ROUNDOFF[compute_dtype_name(dtype, accumulate)]


def _summation_error(n: int, u: float, accumulator: str | None) -> float:
    """Relative error of a stored sum (or prefix sum) of ``<= n`` non-negative terms.

    ``gamma_n = n u_acc / (1 - n u_acc)`` for any summation order (Higham, *Accuracy and
    Stability of Numerical Algorithms*, 2nd ed., section 4.2), plus one rounding ``u`` when the
    accumulator is wider than the stored result.
    """
    u_acc = u if accumulator is None else min(u, UNIT_ROUNDOFF[accumulator])
    nu = n * u_acc
    if nu >= 0.5:
        return math.inf
    return nu / (1 - nu) + (u if u_acc < u else 0.0)


def _setup(dtype: str, accumulate: str, n: int, logit_range: float, accumulator: str | None):
    cd = compute_dtype_name(dtype, accumulate)
    if accumulator is not None and accumulator not in UNIT_ROUNDOFF:
        raise ValueError(f"unknown accumulator dtype {accumulator!r}")
    u = UNIT_ROUNDOFF[cd]
    n = max(int(n), 2)
    R = abs(float(logit_range))
    alpha = 3.01 * u  # a_i = (z_max - z_i) / tau: rounding of tau, the difference, the quotient
    gamma = _summation_error(n, u, accumulator)
    return cd, u, n, R, alpha, gamma, SMALLEST_SUBNORMAL[cd]


def ees_gap_bound(dtype: str, accumulate: str, n: int, logit_range: float, *, accumulator: str | None = None) -> float:
    """An upper bound on ``|f_computed(k) - f(k)|`` for the float EES kernels, for every ``k <= n``.

    ``dtype`` is the logits' dtype, ``accumulate`` the kernel's mode, ``n`` the number of
    candidates, ``logit_range`` the range ``(max - min)`` of the finite scaled logits ``z / tau``
    (``R`` below), ``accumulator`` the dtype reductions accumulate in (default: the compute dtype,
    the portable worst case). With ``alpha = 3.01 u``, ``gamma`` the summation error and ``eta``
    the smallest subnormal of the compute dtype::

        sigma = 1.1 alpha ln n + 5u + gamma + n eta          (relative error of S_k and of T)
        bound = 2 (4.45 sigma + 1.1 alpha R + alpha + 15u + gamma + 1.46 n eta R)

    ``inf`` when ``alpha R``, ``gamma`` or ``sigma`` exceeds 1/16 (no claim).

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        The kernel's mode, one of :data:`ACCUMULATE`: ``"input"`` (reductions in ``dtype``) or
        ``"float32"`` (at least float32).
    n : int
        The number of candidates (read as at least 2).
    logit_range : float
        ``R``, the range ``max - min`` of the finite scaled logits ``z / tau``.
    accumulator : str or None
        The dtype reductions accumulate in (default ``None``: the compute dtype, the portable worst
        case).

    Returns
    -------
    float
        The bound (an absolute error of ``f``, which lies in ``[-1, 1]``), or ``inf``.

    Raises
    ------
    ValueError
        An unknown ``dtype``, ``accumulate`` or ``accumulator``.

    Examples
    --------
    >>> b = ees_gap_bound("float32", "input", n=64, logit_range=10.0)
    >>> 1e-5 < b < 1e-4
    True
    >>> ees_gap_bound("float16", "input", 64, 10.0, accumulator="float32") < ees_gap_bound("float16", "input", 64, 10.0)
    True
    """
    cd, u, n, R, alpha, gamma, eta = _setup(dtype, accumulate, n, logit_range, accumulator)
    sigma = 1.1 * alpha * math.log(n) + 5 * u + gamma + n * eta
    if max(alpha * R, gamma, sigma) > _FIRST_ORDER_LIMIT:
        return math.inf
    return 2.0 * (4.45 * sigma + 1.1 * alpha * R + alpha + 15 * u + gamma + 1.46 * n * eta * R)


def entropy_error_bound(
    dtype: str, accumulate: str, n: int, logit_range: float, entropy: float, *, accumulator: str | None = None
) -> float:
    """An upper bound on ``|H_computed - H|`` (nats) for the row entropy of the float kernels.

    ``H = log1p(C) + A / (1 + C)`` computed from unsorted sums; the bound is relative to ``H``
    plus an absolute underflow term::

        bound = 2 (2.2 alpha R + alpha + 12u + 2 gamma) H + 2 n eta (2 + ln n + 1.01 R)

    ``inf`` when ``alpha R`` or ``gamma`` exceeds 1/16.

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        The kernel's mode, one of :data:`ACCUMULATE`: ``"input"`` (reductions in ``dtype``) or
        ``"float32"`` (at least float32).
    n : int
        The number of candidates (read as at least 2).
    logit_range : float
        ``R``, the range ``max - min`` of the finite scaled logits ``z / tau``.
    entropy : float
        The exact row entropy ``H`` in nats, ``>= 0``.
    accumulator : str or None
        The dtype reductions accumulate in (default ``None``: the compute dtype, the portable worst
        case).

    Returns
    -------
    float
        The bound in nats, or ``inf``.

    Raises
    ------
    ValueError
        An unknown ``dtype``, ``accumulate`` or ``accumulator``.

    Examples
    --------
    >>> entropy_error_bound("float32", "float32", 100, 5.0, entropy=2.0) < 1e-4
    True
    """
    cd, u, n, R, alpha, gamma, eta = _setup(dtype, accumulate, n, logit_range, accumulator)
    if max(alpha * R, gamma) > _FIRST_ORDER_LIMIT:
        return math.inf
    rho = 2.0 * (2.2 * alpha * R + alpha + 12 * u + 2 * gamma)
    return rho * abs(float(entropy)) + 2.0 * n * eta * (2 + math.log(n) + 1.01 * R)


def edt_temperature_bound(
    dtype: str,
    accumulate: str,
    n: int,
    logit_range: float,
    entropy: float,
    temperature: float,
    T0: float,
    *,
    accumulator: str | None = None,
    entropy_error: float | None = None,
) -> float:
    """An upper bound on ``|T_computed - T|`` for the EDT kernel ``T = T0 exp(theta ln N / H)``.

    ``entropy`` and ``temperature`` are the exact ``H`` and ``T`` (from the reference), and
    ``logit_range`` the range of the logits the entropy is taken of. With ``x = ln(T / T0)`` and
    ``dH`` the :func:`entropy_error_bound`::

        |T_computed - T| <= T (expm1(|x| (dH / (H - dH) + 3u)) (1 + 7u) + 7u) + smallest normal

    ``inf`` when ``dH >= H``. ``H = 0`` (one candidate) is exact: the kernel returns 0.
    ``entropy_error``, when given, is ``dH`` (a per-row bound, e.g.
    :func:`ees_theory.errormodel.bands.entropy_error`) instead of :func:`entropy_error_bound`.

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        The kernel's mode, one of :data:`ACCUMULATE`: ``"input"`` (reductions in ``dtype``) or
        ``"float32"`` (at least float32).
    n : int
        The number of candidates (read as at least 2).
    logit_range : float
        ``R``, the range ``max - min`` of the finite scaled logits ``z / tau``.
    entropy : float
        The exact entropy ``H`` in nats (``0``: one candidate, exact).
    temperature : float
        The exact temperature ``T``, ``>= 0``.
    T0 : float
        The base temperature, ``> 0``.
    accumulator : str or None
        The dtype reductions accumulate in (default ``None``: the compute dtype, the portable worst
        case).
    entropy_error : float or None
        A bound on the entropy's error to use instead of :func:`entropy_error_bound` (default
        ``None``).

    Returns
    -------
    float
        The bound (absolute, in temperature units), or ``inf``.

    Raises
    ------
    ValueError
        An unknown ``dtype``, ``accumulate`` or ``accumulator``.

    Examples
    --------
    >>> edt_temperature_bound("float32", "float32", 10, 3.0, entropy=1.0, temperature=0.8, T0=1.0) < 1e-5
    True
    """
    cd = compute_dtype_name(dtype, accumulate)
    u = UNIT_ROUNDOFF[cd]
    H = float(entropy)
    if H == 0:
        return 0.0
    dH = entropy_error if entropy_error is not None else entropy_error_bound(dtype, accumulate, n, logit_range, H, accumulator=accumulator)
    if not dH < H:
        return math.inf
    x = abs(math.log(float(temperature) / float(T0))) if temperature > 0 else math.inf
    rel = math.expm1(x * (dH / (H - dH) + 3 * u)) * (1 + 7 * u) + 7 * u
    return float(temperature) * rel + SMALLEST_NORMAL[cd]


def dynatemp_temperature_bound(
    dtype: str,
    accumulate: str,
    n: int,
    logit_range: float,
    entropy: float,
    size: int,
    temp: float,
    delta: float,
    exponent: float,
    *,
    accumulator: str | None = None,
    entropy_error: float | None = None,
) -> float:
    """An upper bound on ``|T_computed - T|`` for the dynatemp kernel (``delta > 0``, ``size >= 2``).

    ``T = T_min + D p`` with ``D = T_max - T_min``, ``p = (H / ln size)**exponent``. With
    ``rho = dH / H + 2u`` the relative error of the ratio and
    ``dp = expm1(|exponent| (-log1p(-rho))) + 4u`` that of the power::

        |T_computed - T| <= 2 (u T_min + 3u T_max p + D p (dp + u) + u T) + smallest normal

    ``inf`` when ``rho >= 1``; ``H = 0`` with ``exponent > 0`` is exact (``T = T_min``).
    ``entropy_error``, when given, replaces :func:`entropy_error_bound` as ``dH``.

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        The kernel's mode, one of :data:`ACCUMULATE`: ``"input"`` (reductions in ``dtype``) or
        ``"float32"`` (at least float32).
    n : int
        The number of candidates (read as at least 2).
    logit_range : float
        ``R``, the range ``max - min`` of the finite scaled logits ``z / tau``.
    entropy : float
        The exact entropy ``H`` in nats, ``>= 0``.
    size : int
        The ``n`` of ``ln n`` in the formula, ``>= 2``.
    temp : float
        The centre temperature.
    delta : float
        The half-width of the range, ``> 0``.
    exponent : float
        The power applied to ``H / ln size``.
    accumulator : str or None
        The dtype reductions accumulate in (default ``None``: the compute dtype, the portable worst
        case).
    entropy_error : float or None
        A bound on the entropy's error to use instead of :func:`entropy_error_bound` (default
        ``None``).

    Returns
    -------
    float
        The bound (absolute, in temperature units), or ``inf``.

    Raises
    ------
    ValueError
        An unknown ``dtype``, ``accumulate`` or ``accumulator``.

    Examples
    --------
    >>> dynatemp_temperature_bound("float32", "float32", 4, 1.0, 1.0, 4, 1.0, 0.5, 1.0) < 1e-5
    True
    """
    cd = compute_dtype_name(dtype, accumulate)
    u = UNIT_ROUNDOFF[cd]
    t_min, t_max = dynatemp_range(temp, delta, FLOAT)
    D = t_max - t_min
    H = float(entropy)
    if exponent == 0:
        return 2 * u * t_max + SMALLEST_NORMAL[cd]
    if H == 0:
        return 2 * u * t_min + SMALLEST_NORMAL[cd]
    dH = entropy_error if entropy_error is not None else entropy_error_bound(dtype, accumulate, n, logit_range, H, accumulator=accumulator)
    rho = dH / H + 2 * u
    if not rho < 1:
        return math.inf
    p = min(1.0, H / math.log(size)) ** exponent
    dp = math.expm1(abs(exponent) * -math.log1p(-rho)) + 4 * u
    T = t_min + D * p
    return 2.0 * (u * t_min + 3 * u * t_max * p + D * p * (dp + u) + u * T) + SMALLEST_NORMAL[cd]


def temperature_rtol(dtype: str) -> float:
    """Relative tolerance for EDT/dynatemp temperatures computed in ``dtype`` (64 units of roundoff).

    A well-conditioned row (``|ln(T/T0)|`` and the entropy bound small) meets it; the per-row
    bounds :func:`edt_temperature_bound` and :func:`dynatemp_temperature_bound` hold always. The
    port harness judges EDT and dynatemp ports with the tighter per-row bands of
    :func:`ees_theory.errormodel.bands.edt_band` and :func:`~ees_theory.errormodel.bands.dynatemp_band`.

    Parameters
    ----------
    dtype : str
        A key of :data:`UNIT_ROUNDOFF`.

    Returns
    -------
    float
        ``64 u`` of ``dtype``.

    Raises
    ------
    KeyError
        An unknown ``dtype``.

    Examples
    --------
    >>> temperature_rtol("bfloat16")
    0.25
    """
    return 64.0 * UNIT_ROUNDOFF[dtype]


class TruncationBounds(TypedDict):
    """The error bounds a truncation sampler's comparisons are judged with, one key per kind of
    computed quantity (absolute unless said; ``inf`` where no bound holds). Produced for a size and
    range by :func:`truncation_bounds` and per row by
    ``ees_theory.errormodel.bands.truncation_row_bounds``; read by the sampler judges.

    >>> sorted(TruncationBounds.__annotations__)
    ['cum', 'entropy', 'logit', 'logp', 'prob', 'sum', 'underflow']
    """

    #: the difference of two scaled logits
    logit: float
    #: a probability, relative
    prob: float
    #: a probability that underflows: ``n`` times the smallest subnormal
    underflow: float
    #: the relative error of a sum (a standard deviation's, a normaliser's)
    sum: float
    #: a cumulative mass (top-p, typical)
    cum: float
    #: a log-probability
    logp: float
    #: the entropy of the row, in nats
    entropy: float


def truncation_bounds(
    dtype: str,
    accumulate: str,
    n: int,
    logit_range: float,
    logit_scale: float,
    entropy: float = 0.0,
    *,
    accumulator: str | None = None,
) -> TruncationBounds:
    """Error bounds for the comparisons of the truncation samplers (top-k ... mirostat).

    ``logit_range`` is ``R`` as above (range of the finite scaled logits ``z / tau``),
    ``logit_scale`` ``X = max |z / tau|`` over the finite entries (a port that divides before it
    shifts rounds ``z / tau`` with an error ``u X``), ``entropy`` the exact row entropy (nats; only
    ``eta``, ``typical`` and the mirostat surprise read it). Returns, each ``inf`` where the
    first-order analysis makes no claim::

        logit  = 2 (alpha R + 2u X + u)                        difference of two scaled logits
        prob   = 2 (logit + 5u + gamma + u) + n eta / p        relative error of p_i = softmax
        cum    = 2 (prob + gamma + 2u)                         absolute error of a mass sum_{i<k} p_i
        logp   = max(logit + 2 (gamma + 5u + 4u ln n), prob / (1 - prob))
                                                               absolute error of ln p_i (log_softmax, or log of p)
        entropy = entropy_error_bound(...) + 2 prob H          absolute error of H (nats)

    (``n eta / p`` is carried as ``underflow = n eta`` absolute; the judge adds it where a probability
    is compared.) A comparison whose certified margin, measured in the gap's units, exceeds the
    bound is decided the same way in float; inside the bound either outcome is admissible.

    Parameters
    ----------
    dtype : str
        The logits' dtype, a key of :data:`UNIT_ROUNDOFF`.
    accumulate : str
        The kernel's mode, one of :data:`ACCUMULATE`: ``"input"`` (reductions in ``dtype``) or
        ``"float32"`` (at least float32).
    n : int
        The number of candidates (read as at least 2).
    logit_range : float
        ``R``, the range ``max - min`` of the finite scaled logits ``z / tau``.
    logit_scale : float
        ``X = max |z / tau|`` over the finite entries.
    entropy : float
        The exact row entropy in nats (default 0; read for ``entropy`` only).
    accumulator : str or None
        The dtype reductions accumulate in (default ``None``: the compute dtype, the portable worst
        case).

    Returns
    -------
    TruncationBounds
        ``logit``, ``prob``, ``cum``, ``logp``, ``entropy`` (each ``inf`` where no claim is made),
        ``underflow`` (``n eta``) and ``sum`` (``gamma``).

    Raises
    ------
    ValueError
        An unknown ``dtype``, ``accumulate`` or ``accumulator``.

    Examples
    --------
    >>> b = truncation_bounds("float32", "float32", n=100, logit_range=10.0, logit_scale=10.0)
    >>> 1e-6 < b["prob"] < 1e-4 and b["cum"] > b["prob"]
    True
    >>> truncation_bounds("float16", "input", n=4096, logit_range=5.0, logit_scale=5.0)["prob"]   # fp16 sums of 4096
    inf
    """
    cd, u, n, R, alpha, gamma, eta = _setup(dtype, accumulate, n, logit_range, accumulator)
    X = abs(float(logit_scale))
    logit = 2.0 * (alpha * R + 2 * u * X + u)
    prob = 2.0 * (logit + 5 * u + gamma + u)
    out = {"logit": logit, "prob": prob, "underflow": n * eta, "sum": gamma}
    if max(alpha * R + 2 * u * X, gamma) > _FIRST_ORDER_LIMIT or prob >= 0.5:
        return {k: (v if k in ("underflow", "sum") else math.inf) for k, v in out.items()} | {"cum": math.inf, "logp": math.inf, "entropy": math.inf}
    out["cum"] = 2.0 * (prob + gamma + 2 * u)
    out["logp"] = max(logit + 2.0 * (gamma + 5 * u + 4 * u * math.log(n)), prob / (1 - prob))
    H = abs(float(entropy))
    out["entropy"] = entropy_error_bound(dtype, accumulate, n, logit_range, H, accumulator=accumulator) + 2 * prob * H + 2 * n * eta
    return out

"""Certified three-valued comparisons and precision escalation.

Two tiers decide every sign the reference needs:

1. **float64 interval arithmetic** (vectorised numpy). Every value is carried as an enclosure
   ``[lo, hi]``. Results of correctly rounded operations (``+ - * /``) are widened outward by four
   units of roundoff (:func:`down`, :func:`up`); recursive sums of ``k`` non-negative terms are widened by the classical bound
   ``gamma_k = k u / (1 - k u)`` (Higham, *Accuracy and Stability*, section 4.2); ``exp`` and
   ``log`` are widened by :data:`LIBM_REL_ERROR`, a relative error far above what any libm in use
   commits (they are accurate to a few ulps, i.e. ~1e-15), plus :data:`SUBNORMAL_SLACK` absolutely for
   subnormal results. A comparison whose enclosure excludes 0 is decided.
2. **mpmath interval arithmetic** (``mpmath.iv``, directed rounding at every step), at precisions
   from :data:`PRECISION_LADDER`, for the comparisons the first tier could not decide. Whatever is
   still undecided at ``max_prec`` bits is reported as :attr:`Decision.UNDECIDED`, never guessed.

Everything that turns an ``mpmath`` bound into a float goes through :func:`float_bounds` (lower
bounds toward ``-inf``, upper bounds toward ``+inf``), and everything that raises the precision
until an answer is certain goes through :func:`ladder` (or :func:`enclose`, built on it).

>>> decide_negative(-2.0, -1.0), decide_negative(-1.0, 1.0), decide_negative(0.0, 3.0)
(<Decision.TRUE: 'true'>, <Decision.UNDECIDED: 'undecided'>, <Decision.FALSE: 'false'>)
"""

from __future__ import annotations

import contextlib
import functools
import enum
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, Callable, NamedTuple

import mpmath
import numpy as np
from mpmath import iv

from ..spec.inputs import check_int

__all__ = [
    "Decision",
    "decide_negative",
    "decide_negative_codes",
    "FLOAT64_UNIT_ROUNDOFF",
    "LIBM_REL_ERROR",
    "SUBNORMAL_SLACK",
    "PRECISION_LADDER",
    "DEFAULT_MAX_PREC",
    "down",
    "up",
    "exp_enclosure",
    "log_enclosure",
    "cumsum_enclosure",
    "iv_precision",
    "iv_bounds",
    "iv_exp",
    "precisions",
    "float_down",
    "float_up",
    "float_bounds",
    "fraction_bounds",
    "fraction_to_float",
    "Rung",
    "ladder",
    "enclose",
]

#: Unit roundoff of IEEE binary64 (round to nearest).
FLOAT64_UNIT_ROUNDOFF = 2.0**-53
#: Relative error allowed for numpy's float64 ``exp``/``log``: 2**-40 is about 8000 ulps, a safety
#: factor of more than 1000 over the documented accuracy of the implementations numpy ships.
LIBM_REL_ERROR = 2.0**-40
#: Absolute slack for results in the subnormal range, where relative bounds do not hold.
SUBNORMAL_SLACK = 1e-300
#: Bits of precision tried in turn by the mpmath tier.
PRECISION_LADDER = (128, 256, 512, 1024, 2048, 4096, 8192)
#: Default precision limit (bits) beyond which a comparison is reported undecided.
DEFAULT_MAX_PREC = 4096


class Decision(enum.Enum):
    """The value of a predicate: certainly true, certainly false, or undecided.

    The one type of every certified comparison. Arrays of decisions (numpy, for the vectorised
    tiers) hold :attr:`code`: 1 true, 0 false, -1 undecided (:func:`decide_negative_codes`).

    >>> Decision.of(True), ~Decision.TRUE, Decision.UNDECIDED.known()
    (<Decision.TRUE: 'true'>, <Decision.FALSE: 'false'>, None)
    >>> Decision.from_code(-1) is Decision.UNDECIDED, Decision.FALSE.code
    (True, 0)
    """

    TRUE = "true"
    FALSE = "false"
    UNDECIDED = "undecided"

    def __bool__(self) -> bool:  # an undecided comparison has no truth value
        if self is Decision.UNDECIDED:
            raise ValueError("an undecided comparison has no truth value; handle Decision.UNDECIDED explicitly")
        return self is Decision.TRUE

    def __invert__(self) -> "Decision":
        """Negation: not TRUE is FALSE, not FALSE is TRUE, not UNDECIDED is UNDECIDED."""
        return _NOT[self]

    @classmethod
    def of(cls, value: bool | None) -> "Decision":
        """A decision from a certain boolean, or ``None`` for undecided."""
        return cls.UNDECIDED if value is None else (cls.TRUE if value else cls.FALSE)

    def known(self) -> bool | None:
        """``True`` or ``False`` when decided, ``None`` when not."""
        return None if self is Decision.UNDECIDED else self is Decision.TRUE

    @property
    def code(self) -> int:
        """The decision in an integer array: 1 true, 0 false, -1 undecided."""
        return _CODE[self]

    @classmethod
    def from_code(cls, code: int) -> "Decision":
        """The inverse of :attr:`code`."""
        return _FROM_CODE[int(code)]


_NOT = {Decision.TRUE: Decision.FALSE, Decision.FALSE: Decision.TRUE, Decision.UNDECIDED: Decision.UNDECIDED}
_CODE = {Decision.TRUE: 1, Decision.FALSE: 0, Decision.UNDECIDED: -1}
_FROM_CODE = {v: k for k, v in _CODE.items()}


def decide_negative_codes(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:func:`decide_negative` element by element, as :attr:`Decision.code` values.

    Parameters
    ----------
    lo, hi : numpy.ndarray of float64
        Elementwise bounds of the values, same shape.

    Returns
    -------
    numpy.ndarray of int
        ``1`` (true), ``0`` (false) or ``-1`` (undecided) for each element.

    Examples
    --------
    >>> decide_negative_codes(np.array([-2.0, -1.0, 0.0]), np.array([-1.0, 1.0, 3.0])).tolist()
    [1, -1, 0]
    """
    return np.where(hi < 0, Decision.TRUE.code, np.where(lo >= 0, Decision.FALSE.code, Decision.UNDECIDED.code))


def decide_negative(lo, hi) -> Decision:
    """Decide ``x < 0`` for ``x`` known to lie in ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : number
        Bounds of ``x``, ``lo <= hi`` (floats, ``Fraction`` or ``mpf``).

    Returns
    -------
    Decision
        ``TRUE`` when ``hi < 0``, ``FALSE`` when ``lo >= 0``, else ``UNDECIDED``.
    """
    if hi < 0:
        return Decision.TRUE
    if lo >= 0:
        return Decision.FALSE
    return Decision.UNDECIDED


#: Relative widening used by :func:`down` and :func:`up` (4 units of roundoff) and the absolute
#: widening that covers results in the subnormal range (whose absolute error is below 2**-1075).
_WIDEN_REL = 2.0**-51
_WIDEN_ABS = 2.0**-1070


def down(x):
    """A lower bound for the exact value ``r`` of an operation whose correctly rounded result is ``x``.

    ``|r - x| <= u |x|`` (plus ``2**-1075`` in the subnormal range); subtracting ``4u |x|`` leaves a
    margin of ``2u |x|`` for the rounding of this subtraction itself. Cheaper than ``nextafter``.

    Parameters
    ----------
    x : float or numpy.ndarray of float64
        A correctly rounded float64 result (finite).

    Returns
    -------
    float or numpy.ndarray of float64
        ``x - (|x| 2**-51 + 2**-1070)``, at most the exact value; an array result is written into a
        new buffer, ``x`` is left as it is.
    """
    if np.ndim(x) == 0:
        return x - (np.abs(x) * _WIDEN_REL + _WIDEN_ABS)
    # x - (|x| * REL + ABS), the same operations in one buffer (fresh temporaries cost more)
    w = np.abs(x)
    w *= _WIDEN_REL
    w += _WIDEN_ABS
    return np.subtract(x, w, out=w)


def up(x):
    """An upper bound for the exact value of an operation whose correctly rounded result is ``x``.

    Parameters
    ----------
    x : float or numpy.ndarray of float64
        A correctly rounded float64 result (finite).

    Returns
    -------
    float or numpy.ndarray of float64
        ``x + (|x| 2**-51 + 2**-1070)``, at least the exact value (see :func:`down`).
    """
    if np.ndim(x) == 0:
        return x + (np.abs(x) * _WIDEN_REL + _WIDEN_ABS)
    w = np.abs(x)
    w *= _WIDEN_REL
    w += _WIDEN_ABS
    return np.add(x, w, out=w)


def exp_enclosure(x_lo: np.ndarray, x_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of ``exp(x)`` for ``x`` in ``[x_lo, x_hi]``, with ``x <= 0``.

    Parameters
    ----------
    x_lo, x_hi : numpy.ndarray of float64
        Bounds of the exponent, ``x_lo <= x_hi <= 0`` (``-inf`` allowed).

    Returns
    -------
    tuple of numpy.ndarray of float64
        ``(lo, hi)`` with ``0 <= lo <= exp(x) <= hi <= 1``; ``LIBM_REL_ERROR`` relative and
        ``SUBNORMAL_SLACK`` absolute allowed for the library ``exp``.
    """
    with np.errstate(under="ignore", over="ignore"):
        # max(exp(x_lo) (1 - R) - SUBNORMAL_SLACK, 0) and min(exp(x_hi) (1 + R) + SUBNORMAL_SLACK, 1), computed in place
        lo = np.exp(x_lo)
        lo *= 1.0 - LIBM_REL_ERROR
        lo -= SUBNORMAL_SLACK
        np.maximum(lo, 0.0, out=lo)
        hi = np.exp(x_hi)
        hi *= 1.0 + LIBM_REL_ERROR
        hi += SUBNORMAL_SLACK
        np.minimum(hi, 1.0, out=hi)
    return lo, hi


def log_enclosure(y_lo: np.ndarray, y_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure of ``log(y)`` for ``y`` in ``[y_lo, y_hi]``, ``y > 0`` (``y_lo`` may be 0).

    Parameters
    ----------
    y_lo, y_hi : float or numpy.ndarray of float64
        Bounds of ``y``, ``0 <= y_lo <= y_hi``.

    Returns
    -------
    tuple
        ``(lo, hi)`` enclosing ``log(y)`` (``lo = -inf`` where ``y_lo = 0``), with ``LIBM_REL_ERROR``
        relative and ``SUBNORMAL_SLACK`` absolute allowed for the library ``log``.
    """
    with np.errstate(divide="ignore"):
        a = np.log(y_lo)
        b = np.log(y_hi)
    if np.ndim(a) == 0:
        return a - np.abs(a) * LIBM_REL_ERROR - SUBNORMAL_SLACK, b + np.abs(b) * LIBM_REL_ERROR + SUBNORMAL_SLACK
    # a - |a| R - SUBNORMAL_SLACK and b + |b| R + SUBNORMAL_SLACK, the same operations in place
    lo = np.abs(a)
    lo *= LIBM_REL_ERROR
    np.subtract(a, lo, out=lo)
    lo -= SUBNORMAL_SLACK
    hi = np.abs(b)
    hi *= LIBM_REL_ERROR
    np.add(b, hi, out=hi)
    hi += SUBNORMAL_SLACK
    return lo, hi


def _gamma(k: np.ndarray) -> np.ndarray:
    # gamma_k = k u / (1 - k u); the extra 2 absorbs the rounding of (1 -/+ gamma) itself.
    ku = (k + 2.0) * FLOAT64_UNIT_ROUNDOFF
    return up(ku / (1.0 - ku))


@functools.lru_cache(maxsize=8)
def _prefix_factors(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(1 - g_k, 1 + 2 g_k)`` for ``k = 1..n`` (read-only; every row of one length shares them)."""
    g = _gamma(np.arange(1, n + 1, dtype=np.float64))
    lo, hi = 1.0 - g, 1.0 + 2.0 * g
    lo.flags.writeable = hi.flags.writeable = False
    return lo, hi


def cumsum_enclosure(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Enclosures of the prefix sums of non-negative terms enclosed by ``[lo, hi]``.

    The computed recursive sum ``s_k`` of ``k`` non-negative floats satisfies
    ``|s_k - S_k| <= gamma_{k-1} S_k``, hence ``S_k`` lies in ``[s_k / (1 + g), s_k / (1 - g)]``,
    which ``[s_k (1 - g), s_k (1 + 2g)]`` contains for the tiny ``g`` that occur here.

    Parameters
    ----------
    lo, hi : numpy.ndarray of float64
        Lower and upper bounds of non-negative terms, same shape; the prefix sums run along the
        last axis.

    Returns
    -------
    tuple of numpy.ndarray of float64
        ``(s_lo, s_hi)``: bounds of each prefix sum, ``s_lo >= 0``.
    """
    f_lo, f_hi = _prefix_factors(lo.shape[-1])
    with np.errstate(over="ignore"):
        s_lo = np.cumsum(lo, axis=-1).astype(np.float64, copy=False)  # (the factors are float64)
        s_lo *= f_lo
        s_lo = down(s_lo)
        s_hi = np.cumsum(hi, axis=-1).astype(np.float64, copy=False)
        s_hi *= f_hi
        s_hi = up(s_hi)
    return np.maximum(s_lo, 0.0, out=s_lo), s_hi


@contextlib.contextmanager
def iv_precision(prec: int) -> Iterator[None]:
    """Run a block with ``mpmath.iv`` at ``prec`` bits, restoring the previous precision after.

    Parameters
    ----------
    prec : int
        The working precision of ``mpmath.iv`` inside the block, in bits.

    Yields
    ------
    None
    """
    old = iv.prec
    iv.prec = int(prec)
    try:
        yield
    finally:
        iv.prec = old


def iv_exp(x):
    """``mpmath.iv.exp(x)`` widened outward by ``2**-(iv.prec - 8)`` relative.

    mpmath's interval ``exp`` is not always an enclosure: at 1024 bits,
    ``iv.exp(-1.677e-253)`` returns the upper end ``1 - d`` although ``exp(-d) = 1 - d + d**2/2 - ...``
    lies above it (its series drops the ``d**2/2`` term, 2**-1680 relative, without rounding
    up). The error is far below one unit in the last place; a widening of 256 units covers it.

    Parameters
    ----------
    x : mpmath.iv.mpf
        An interval, evaluated at the current ``iv.prec``.

    Returns
    -------
    mpmath.iv.mpf
        An interval containing ``exp(t)`` for every ``t`` in ``x``.

    Examples
    --------
    >>> d = mpmath.mpf(1.6770104908394905e-253)
    >>> with iv_precision(1024):
    ...     lo, hi = iv_bounds(iv_exp(iv.mpf(-d)))
    >>> with mpmath.workprec(4096):
    ...     bool(lo <= mpmath.exp(-d) <= hi)
    True
    """
    with mpmath.workprec(iv.prec + 16):  # 1 -/+ 2**-(prec-8) are exact at this precision
        r = mpmath.ldexp(mpmath.mpf(1), -(iv.prec - 8))
        widen = iv.mpf([1 - r, 1 + r])
    return iv.exp(x) * widen


def iv_bounds(x) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The endpoints of an ``mpmath.iv`` interval as ``mpmath.mpf`` numbers (exactly).

    Parameters
    ----------
    x : mpmath.iv.mpf
        An interval.

    Returns
    -------
    tuple of mpmath.mpf
        ``(lo, hi)``, its two ends.
    """
    a, b = x._mpi_
    return mpmath.mp.make_mpf(a), mpmath.mp.make_mpf(b)


def precisions(max_prec: int = DEFAULT_MAX_PREC) -> tuple[int, ...]:
    """The escalation ladder up to ``max_prec`` bits (always at least one rung).

    Parameters
    ----------
    max_prec : int
        The largest precision, in bits, ``>= 64`` (default 4096).

    Returns
    -------
    tuple of int
        The rungs of ``PRECISION_LADDER`` up to ``max_prec``, or ``(max_prec,)`` when it is below
        the first rung.

    Raises
    ------
    ValueError
        ``max_prec`` below 64.
    TypeError
        ``max_prec`` not an integer.

    Examples
    --------
    >>> precisions(600)
    (128, 256, 512)
    """
    max_prec = check_int(max_prec, "max_prec (bits)", 64)
    rungs = tuple(p for p in PRECISION_LADDER if p <= max_prec)
    return rungs or (int(max_prec),)


# ---- mpf -> float, outward ----------------------------------------------------------------------
def _exact(x) -> tuple:
    # an mpf is read as it is: mpmath.mpf(x) would round it to the working precision first
    return x._mpf_ if isinstance(x, mpmath.mpf) else mpmath.mpf(x)._mpf_


def float_down(x: mpmath.mpf) -> float:
    """The largest float ``<= x`` (mpmath's rounding ``"f"``, floor; its ``"d"`` rounds toward zero,
    which for a negative ``x`` would give a float above it).

    Parameters
    ----------
    x : mpmath.mpf
        Any ``mpf``, infinities included.

    Returns
    -------
    float
        The largest float64 ``<= x`` (the largest finite float for an ``x`` beyond it).

    Examples
    --------
    >>> with mpmath.workprec(80):
    ...     third = mpmath.mpf(-1) / 3
    >>> float_down(third) < third < float_up(third)
    True
    """
    v = _exact(x)
    f = float(mpmath.libmp.to_float(v, rnd="f"))
    if f == math.inf and v != mpmath.libmp.finf:  # beyond the range: the largest float is below x
        return float(np.finfo(np.float64).max)
    # below the normal range mpmath rounds to 53 bits first and the float conversion rounds
    # again, to nearest: a subnormal result may land above x; step down until it does not
    while math.isfinite(f) and mpmath.libmp.mpf_gt(mpmath.libmp.from_float(f), v):
        f = float(np.nextafter(f, -np.inf))
    return f


def float_up(x: mpmath.mpf) -> float:
    """The smallest float ``>= x`` (mpmath's rounding ``"c"``, ceiling; corrected in the
    subnormal range as :func:`float_down` is).

    Parameters
    ----------
    x : mpmath.mpf
        Any ``mpf``, infinities included.

    Returns
    -------
    float
        The smallest float64 ``>= x`` (minus the largest finite float for an ``x`` below it).

    Examples
    --------
    >>> x = mpmath.mpf("6.1610648966287791395e-311")
    >>> float_down(x) <= x <= float_up(x)
    True
    """
    v = _exact(x)
    f = float(mpmath.libmp.to_float(v, rnd="c"))
    if f == -math.inf and v != mpmath.libmp.fninf:
        return -float(np.finfo(np.float64).max)
    while math.isfinite(f) and mpmath.libmp.mpf_lt(mpmath.libmp.from_float(f), v):
        f = float(np.nextafter(f, np.inf))
    return f


def float_bounds(lo: mpmath.mpf, hi: mpmath.mpf) -> tuple[float, float]:
    """Floats enclosing ``[lo, hi]``: ``lo`` rounded toward ``-inf``, ``hi`` toward ``+inf``.

    Parameters
    ----------
    lo, hi : mpmath.mpf
        The ends of an interval, ``lo <= hi``.

    Returns
    -------
    tuple of float
        ``(float_down(lo), float_up(hi))``.

    Examples
    --------
    >>> with mpmath.workprec(100):
    ...     x = mpmath.mpf(-1) / 10
    >>> float_bounds(x, x)        # -0.1 as a float lies below -1/10; rounding toward 0 would not
    (-0.1, -0.09999999999999999)
    """
    return float_down(lo), float_up(hi)


def fraction_to_float(q: Fraction) -> float:
    """``float(q)``, saturating to ``+-inf`` beyond the float range instead of raising.

    Parameters
    ----------
    q : fractions.Fraction
        A rational number.

    Returns
    -------
    float
        The nearest float64, ``+-inf`` beyond the largest finite float.

    Examples
    --------
    >>> fraction_to_float(Fraction(10) ** 400), fraction_to_float(Fraction(1, 3))
    (inf, 0.3333333333333333)
    """
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def fraction_bounds(q: Fraction) -> tuple[float, float]:
    """Floats enclosing the rational ``q`` (equal when ``q`` is a float); beyond the float range
    one side is the largest finite float and the other infinite.

    Parameters
    ----------
    q : fractions.Fraction
        A rational number.

    Returns
    -------
    tuple of float
        ``(lo, hi)`` with ``lo <= q <= hi``, adjacent floats (or equal when ``q`` is one).

    Examples
    --------
    >>> fraction_bounds(Fraction(1, 3))
    (0.3333333333333333, 0.33333333333333337)
    >>> fraction_bounds(-Fraction(10) ** 400)
    (-inf, -1.7976931348623157e+308)
    """
    f = fraction_to_float(q)
    if math.isinf(f):
        big = float(np.finfo(np.float64).max)
        return (big, math.inf) if f > 0 else (-math.inf, -big)
    lo = f if Fraction(f) <= q else float(np.nextafter(f, -np.inf))
    hi = f if Fraction(f) >= q else float(np.nextafter(f, np.inf))
    return lo, hi


# ---- the escalation loop ------------------------------------------------------------------------
class Rung(NamedTuple):
    """One evaluation on the ladder: the precision (bits) and the exact ``mpf`` bounds found.

    Parameters
    ----------
    prec : int
        The working precision of the evaluation, in bits.
    lo, hi : mpmath.mpf
        The bounds it found, ``lo <= hi`` (either may be infinite).
    """

    prec: int
    lo: mpmath.mpf
    hi: mpmath.mpf


def ladder(compute: Callable[[int], Any], max_prec: int = DEFAULT_MAX_PREC) -> Iterator[Rung]:
    """Evaluate ``compute(prec)`` at each precision of :func:`precisions` in turn (the one
    escalation loop); the caller stops as soon as a rung answers its question.

    ``compute`` runs inside :func:`iv_precision` and returns an ``mpmath.iv`` interval or a pair of
    ``mpf`` bounds.

    Parameters
    ----------
    compute : callable
        ``compute(prec)`` returns an ``mpmath.iv`` interval or a ``(lo, hi)`` pair of ``mpf``.
    max_prec : int
        The largest precision tried, in bits (default ``DEFAULT_MAX_PREC``, 4096).

    Yields
    ------
    Rung
        One per precision, in increasing order.

    Raises
    ------
    ValueError
        ``max_prec`` below 64 bits.

    Examples
    --------
    >>> [r.prec for r in ladder(lambda prec: iv.mpf(1) / 3, 300)]
    [128, 256]
    """
    for prec in precisions(max_prec):
        with iv_precision(prec):
            x = compute(prec)
            lo, hi = x if isinstance(x, tuple) else iv_bounds(x)
        yield Rung(prec, lo, hi)


def enclose(compute: Callable[[int], Any], dps: int, max_prec: int = PRECISION_LADDER[-1], floor: float = 0.0) -> tuple[mpmath.mpf, bool]:
    """The value of ``compute(prec)`` (an interval) to ``dps`` digits: climb the :func:`ladder` until
    the width is at most ``10**-(dps+2) * max(|mid|, floor)``; return ``(midpoint, True)``, or the
    last finite midpoint and ``False`` when the ladder ends first (the caller reports it; never a
    silent guess). An unbounded enclosure is no answer.

    Parameters
    ----------
    compute : callable
        ``compute(prec)`` returns an ``mpmath.iv`` interval or a pair of ``mpf`` bounds that enclose
        the value, computed at ``prec`` bits (see :func:`ladder`).
    dps : int
        Correct decimal digits wanted, ``>= 1``.
    max_prec : int
        The largest precision tried, in bits (default 8192).
    floor : float
        A magnitude below which the width is compared with ``floor`` instead of ``|mid|`` (default
        0: relative accuracy throughout); lets a value near 0 be settled absolutely.

    Returns
    -------
    tuple
        ``(value, ok)``: the midpoint rounded to ``dps`` digits and ``True``, or the last finite
        midpoint (NaN when there was none) and ``False``.

    Raises
    ------
    ValueError
        ``max_prec`` below 64 bits.

    Examples
    --------
    >>> value, ok = enclose(lambda prec: iv.mpf(2) / 3, 20)
    >>> ok, mpmath.nstr(value, 20)
    (True, '0.66666666666666666667')
    """
    rel = mpmath.mpf(10) ** (-dps - 2)
    mid = None
    for rung in ladder(compute, max_prec):
        lo, hi = rung.lo, rung.hi
        if not (mpmath.isfinite(lo) and mpmath.isfinite(hi)):
            continue
        with mpmath.workprec(rung.prec):
            mid = (lo + hi) / 2
            if hi - lo <= rel * max(abs(mid), floor):
                with mpmath.workdps(dps):
                    return +mid, True
    with mpmath.workdps(dps):
        return (mpmath.nan if mid is None else +mid), False

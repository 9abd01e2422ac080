"""One row of input, read exactly, in canonical sorted order.

An :class:`ExactRow` holds either logits or probabilities exactly as the binary floats they are,
the canonical order (weight descending, ties by id ascending), and the structural facts the
certified algorithms use (how many candidates, how many tie with the maximum). It produces, for a
temperature ``tau``, the relative weights ``e_i = p_(i) / p_(1)`` and their negative logs
``a_i = -ln e_i >= 0`` either as float64 enclosures or as ``mpmath.iv`` intervals.

>>> row = from_probs([0.2, 0.5, 0.3])
>>> row.order, row.n, row.top_ties
((1, 2, 0), 3, 1)
>>> row = as_row([2.0, -float("inf"), 2.0, 0.5])
>>> row.order, row.n, row.size, row.top_ties
((0, 2, 3), 3, 4, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import mpmath
import numpy as np
from mpmath import iv

from .. import spec
from ..core.certify import down, exp_enclosure, iv_exp, log_enclosure, up

__all__ = ["ExactRow", "as_row", "from_probs"]


@dataclass(frozen=True)
class ExactRow:
    """A validated row: ``kind`` is ``"logits"`` or ``"probs"``.

    ``values`` are the candidates' values (finite logits or positive probabilities) as float64 in
    canonical order, ``ids`` their token ids (``order`` is the same as a tuple), ``size`` the length of the original row (masked
    entries included), ``dtype`` the dtype the row came in. Build one with :func:`as_row` or
    :func:`from_probs`, which validate the input.

    Parameters
    ----------
    kind : str
        ``"logits"`` or ``"probs"``.
    values : numpy.ndarray
        The candidates' values, float64, in canonical order.
    ids : numpy.ndarray
        Their token ids, same length.
    size : int
        Length of the original row, masked entries included.
    dtype : str
        The dtype the row came in (``"float16"``, ``"float32"``, ``"float64"``, ``"bfloat16"``).
    original : numpy.ndarray
        The row as given, in its own dtype.
    """

    kind: str
    values: np.ndarray
    ids: np.ndarray = field(repr=False)
    size: int
    dtype: str
    original: np.ndarray = field(repr=False, compare=False)

    @cached_property
    def order(self) -> tuple[int, ...]:
        """Candidate token ids in canonical order."""
        return tuple(self.ids.tolist())

    @property
    def n(self) -> int:
        """Number of candidates (tokens with positive probability)."""
        return len(self.ids)

    @cached_property
    def top_ties(self) -> int:
        """How many candidates share the largest value."""
        return int(np.count_nonzero(self.values == self.values[0]))

    @property
    def all_tied(self) -> bool:
        """True when every candidate has the same value (the distribution is uniform over them)."""
        return self.top_ties == self.n

    # ---- float64 enclosures -------------------------------------------------------------------
    def float_weights(self, temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Enclosures ``(e_lo, e_hi, a_lo, a_hi)`` of ``e_i = p_i/p_1`` and ``a_i = -ln e_i``.

        Parameters
        ----------
        temperature : float
            ``tau > 0``: the weights are those of ``softmax(z / tau)`` (of ``p ** (1 / tau)``,
            renormalised, for a row of probabilities).

        Returns
        -------
        tuple of numpy.ndarray
            Four float64 arrays, one entry per candidate in canonical order, with
            ``e_lo <= e_i <= e_hi`` and ``a_lo <= a_i <= a_hi`` rigorously (outward rounding);
            the candidates tied with the top have exactly ``e = 1``, ``a = 0``.

        Examples
        --------
        >>> lo, hi, _, _ = as_row([0.0, -1.0]).float_weights(1.0)
        >>> bool(lo[1] <= 0.36787944117144233 <= hi[1])
        True
        """
        v = self.values
        tau = float(temperature)
        tied = v == v[0]
        if self.kind == "logits":
            with np.errstate(over="ignore", invalid="ignore"):
                d = v - v[0]  # <= 0; rounded, so enclosed by its neighbours
                x_lo = down(down(d) / tau)
                x_hi = np.minimum(_up_finite(_up_finite(d) / tau), 0.0)
        else:
            with np.errstate(under="ignore"):
                r = v / v[0]
            r_lo, r_hi = down(r), np.minimum(up(r), 1.0)
            if tau == 1.0:
                e_lo, e_hi = r_lo, r_hi
                e_lo[tied], e_hi[tied] = 1.0, 1.0
                l_lo, l_hi = log_enclosure(e_lo, e_hi)
                return e_lo, e_hi, np.maximum(-l_hi, 0.0), -l_lo
            l_lo, l_hi = log_enclosure(r_lo, r_hi)
            with np.errstate(over="ignore", invalid="ignore"):
                x_lo = down(l_lo / tau)
                x_hi = np.minimum(_up_finite(l_hi / tau), 0.0)
        x_lo[tied], x_hi[tied] = 0.0, 0.0
        e_lo, e_hi = exp_enclosure(x_lo, x_hi)
        e_lo[tied], e_hi[tied] = 1.0, 1.0
        return e_lo, e_hi, -x_hi, -x_lo

    def mp_weights(self, temperature: float) -> list:
        """``e_i = p_i / p_1`` as ``mpmath.mpf`` at the current ``mp`` precision (not certified).

        Parameters
        ----------
        temperature : float
            ``tau > 0``, as in :meth:`float_weights`.

        Returns
        -------
        list of mpmath.mpf
            One weight per candidate, in canonical order (the first is 1).
        """
        top = mpmath.mpf(self.values[0])
        if self.kind == "logits":
            return [mpmath.exp((mpmath.mpf(v) - top) / temperature) for v in self.values]
        return [(mpmath.mpf(v) / top) ** (1 / mpmath.mpf(temperature)) for v in self.values]

    # ---- mpmath interval weights -----------------------------------------------------------------
    def iv_weights(self, temperature: float, count: int | None = None) -> tuple[list, list]:
        """``mpmath.iv`` intervals for ``e_i`` and ``a_i`` of the first ``count`` candidates.

        Uses the current ``iv.prec`` (set it with :func:`~ees_theory.core.certify.iv_precision`).

        Parameters
        ----------
        temperature : float
            ``tau > 0``, as in :meth:`float_weights`.
        count : int or None
            How many candidates, from the top (default ``None``: all ``n``).

        Returns
        -------
        tuple of list
            ``(e, a)``: ``mpmath.iv.mpf`` intervals enclosing ``e_i`` and ``a_i = -ln e_i``.
        """
        m = self.n if count is None else count
        v = self.values
        tau = iv.mpf(float(temperature))
        es, as_ = [], []
        if self.kind == "logits":
            top = iv.mpf(float(v[0]))
            for i in range(m):
                x = (iv.mpf(float(v[i])) - top) / tau
                es.append(iv_exp(x))
                as_.append(-x)
        else:
            top = iv.mpf(float(v[0]))
            for i in range(m):
                r = iv.mpf(float(v[i])) / top
                if float(temperature) == 1.0:
                    es.append(r)
                    as_.append(-iv.log(r))
                else:
                    x = iv.log(r) / tau
                    es.append(iv_exp(x))
                    as_.append(-x)
        return es, as_


_FLOAT64_MAX = float(np.finfo(np.float64).max)


def _up_finite(x: np.ndarray) -> np.ndarray:
    """:func:`~.certify.up` for a non-positive result that may have overflowed to ``-inf``: the
    exact value is then below ``-max``, so ``-max`` bounds it from above (``up(-inf)`` is NaN).

    >>> _up_finite(np.array([-np.inf, -1.0])).tolist()[0] == -_FLOAT64_MAX
    True
    """
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(x), -_FLOAT64_MAX, up(x))


def _check_row(arr: np.ndarray, name: str) -> None:
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one row (1-D) here, got shape {arr.shape}; pass rows one at a time")


def as_row(logits: Any) -> ExactRow:
    """Validate one row of logits (or pass an :class:`ExactRow` through unchanged).

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray, torch.Tensor or ExactRow
        One row (1-D) in float16/32/64 (or a bfloat16 tensor); ``-inf`` masks a token, at least
        one entry finite. Values are read exactly, never rounded.

    Returns
    -------
    ExactRow
        ``kind="logits"``, candidates sorted by logit descending, ties by id ascending.

    Raises
    ------
    ValueError
        An empty row, ``+inf`` or NaN, no finite logit, or more than one axis.
    TypeError
        A string, a scalar, a non-numeric or boolean array, or an unsupported dtype.

    Examples
    --------
    >>> as_row([1.0, 3.0, -float("inf")]).order
    (1, 0)
    """
    if isinstance(logits, ExactRow):
        return logits
    arr = spec.as_logits(logits)
    _check_row(arr, "logits")
    v64 = arr.astype(np.float64)  # exact: float16/32 embed in float64
    order = spec.sorted_order(arr)  # in the input dtype: same order, cheaper keys
    order = order[: int(np.count_nonzero(np.isfinite(arr)))]  # -inf sorts last
    return ExactRow("logits", v64[order], order, int(arr.shape[0]), str(arr.dtype), arr)


def from_probs(probs: Any, sum_tolerance: float | None = None) -> ExactRow:
    """The exact-reference entry for probabilities given directly (specification §1).

    Entries must be finite and ``>= 0`` and sum to 1 within ``sum_tolerance``; they are then used
    exactly as given and renormalised. Zero entries are masked tokens. The result can be passed
    wherever the reference takes logits.

    Parameters
    ----------
    probs : sequence of float or numpy.ndarray
        One row (1-D) of float16/32/64 probabilities, finite and ``>= 0``, summing to 1.
    sum_tolerance : float or None
        The largest ``|sum - 1|`` accepted (``>= 0``); ``None`` (default) scales it with the
        row's length and dtype (:func:`~ees_theory.spec.inputs.probs_sum_tolerance`).

    Returns
    -------
    ExactRow
        ``kind="probs"``, candidates (positive entries) sorted descending, ties by id.

    Raises
    ------
    ValueError
        An empty row, a non-finite or negative entry, a sum off 1 by more than the tolerance, a
        negative ``sum_tolerance``, or more than one axis.
    TypeError
        A row that is not numeric.

    Examples
    --------
    >>> import ees_theory as et
    >>> et.reference.ees(et.reference.from_probs([0.5, 0.3, 0.2])).kept
    (0, 1)
    """
    arr = spec.as_probs(probs, sum_tolerance=sum_tolerance)
    _check_row(arr, "probs")
    v64 = arr.astype(np.float64)
    order = spec.sorted_order(v64)
    order = order[: int(np.count_nonzero(v64 > 0))]  # zeros sort last
    return ExactRow("probs", v64[order], order, int(arr.shape[0]), str(arr.dtype), arr)


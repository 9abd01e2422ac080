"""Entropy and softmax of a row, to a requested number of correct digits (specification §1).

Entropy is in nats with ``0 ln 0 = 0``: ``H = ln S + A / S`` with ``S = sum e_i``,
``A = sum e_i a_i``, ``e_i = p_i / p_max = exp(-a_i)``; masked tokens contribute nothing.
Values are enclosed with ``mpmath.iv`` and the precision is raised until the enclosure is
narrower than the digits asked for, so every digit returned is correct up to the last one.

>>> float(entropy([0.0, 0.0]))                 # ln 2
0.6931471805599453
>>> float(entropy([1.0, -float("inf")]))       # one candidate
0.0
>>> [float(p) for p in softmax(from_probs([0.25, 0.75]))]
[0.25, 0.75]
"""

from __future__ import annotations

import math
from typing import Any, Callable

import mpmath
import numpy as np
from mpmath import iv

from .. import spec
from ..core.certify import PRECISION_LADDER, iv_bounds, iv_exp, iv_precision
from ..core.certify import enclose as core_enclose
from ..core.ctx import IV
from ..core.entropy import entropy_from_weights
from .rows import ExactRow, as_row, from_probs

__all__ = ["entropy", "softmax", "entropy_interval", "enclose", "from_probs"]

def entropy_interval(row: ExactRow, temperature: float, prec: int):
    """An ``mpmath.iv`` enclosure of the entropy (nats) of ``softmax(values / temperature)``.

    The far tail is bounded in bulk rather than summed, which is rigorous because ``e`` and
    ``e*a`` are both decreasing along the sorted tail once ``a > 1``. The tail's slack is
    *relative* to the entropy: with ``r`` the first token below the tied top block, ``H >= e_r a_r / n``
    (``S <= n``), and every tail token has ``e (1 + a) <= 2**-(prec+40) e_r min(a_r, 1) / n**2``, so
    the bulk bound moves ``H`` by less than ``2**-(prec+40) H`` even when ``H`` is astronomically
    small (the row ``(0, -7000, -7002)``, ``H ~ 1e-3036``).

    Parameters
    ----------
    row : ExactRow
        The validated row (:func:`~ees_theory.reference.rows.as_row`).
    temperature : float
        The temperature ``> 0`` the logits are divided by (not checked here).
    prec : int
        The working precision in bits of the interval arithmetic.

    Returns
    -------
    mpmath.iv.mpf
        An interval holding the entropy; ``[0, 0]`` for a single candidate.
    """
    n = row.n
    if n == 1:
        return iv.mpf(0)
    a_lo = row.float_weights(temperature)[2]
    t0 = row.top_ties
    head = n
    if t0 < n:
        a_ref = float(a_lo[t0])
        if a_ref > 0:
            # a - ln(1 + a) is increasing: tokens past the cutoff satisfy the bound above
            need = a_ref + (prec + 40) * math.log(2) + 2 * math.log(n) + max(0.0, -math.log(min(a_ref, 1.0))) + 1.0
            with np.errstate(over="ignore", invalid="ignore"):
                key = a_lo - np.log1p(np.maximum(a_lo, 0.0))
            head = int(np.searchsorted(key, need, side="left")) if np.all(np.isfinite(key)) else n
    head = min(n, max(t0, 2, head))
    t = row.top_ties  # e_i = 1 exactly for the tied top block
    with iv_precision(prec):
        es, as_ = row.iv_weights(temperature, head)
        R = iv.mpf(0)  # S = t + R: the t tied top weights are 1 exactly
        A = iv.mpf(0)
        for e, a in zip(es[t:], as_[t:]):
            R += e
            A += e * a
        if head < n:
            a0 = iv.mpf(float(a_lo[head]))
            e0 = iv_exp(-a0)
            R += iv.mpf([0, 1]) * (n - head) * e0
            A += iv.mpf([0, 1]) * (n - head) * e0 * a0
        H = entropy_from_weights(iv.mpf(t - 1) + R, A, IV)  # C = the t - 1 other top weights + R
        if H.a < 0:
            H = iv.mpf([0, iv_bounds(H)[1]])
        return H


def enclose(compute: Callable[[int], Any], dps: int) -> mpmath.mpf:
    """Evaluate ``compute(prec)`` (an ``iv`` interval) at rising precision until its width is
    below ``10**-dps`` relative to its magnitude; return the midpoint rounded to ``dps`` digits.

    Parameters
    ----------
    compute : callable
        ``compute(prec)`` returns an ``mpmath.iv`` interval holding the value at ``prec`` bits.
    dps : int
        The decimal digits wanted.

    Returns
    -------
    mpmath.mpf
        The midpoint of the last enclosure, to ``dps`` digits.

    Raises
    ------
    ArithmeticError
        Even the top of the precision ladder does not give ``dps`` digits (never a guess).
    """
    value, ok = core_enclose(compute, dps)
    if not ok:
        raise ArithmeticError(f"could not enclose the value to {dps} digits within {PRECISION_LADDER[-1]} bits")
    return value


def entropy(logits: Any, temperature: float = 1.0, dps: int = 30) -> mpmath.mpf:
    """Entropy in nats of ``softmax(logits / temperature)``, correct to ``dps`` digits.

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite;
        or probabilities through :func:`~ees_theory.reference.rows.from_probs`.
    temperature : float
        Finite and ``> 0`` (default 1).
    dps : int
        Correct decimal digits, 1 to 10000 (default 30).

    Returns
    -------
    mpmath.mpf
        The entropy, ``>= 0``; exactly 0 for a single candidate.

    Raises
    ------
    ValueError
        A bad row (empty, ``+inf`` or NaN, no finite logit, not 1-D) or ``temperature`` / ``dps`` out of range.
    TypeError
        A row that is not numeric, or ``temperature`` / ``dps`` of the wrong type.
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    dps = spec.check_dps(dps)
    if row.n == 1:
        return mpmath.mpf(0)
    return enclose(lambda prec: entropy_interval(row, tau, prec), dps)


def softmax(logits: Any, temperature: float = 1.0, dps: int = 30) -> list[mpmath.mpf]:
    """``softmax(logits / temperature)`` in token-id order, each entry to ``dps`` digits.

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite.
    temperature : float
        Finite and ``> 0`` (default 1).
    dps : int
        Digits of each entry, 1 to 10000 (default 30); computed with 20 guard digits, not certified.

    Returns
    -------
    list of mpmath.mpf
        One probability per entry of the row (0 for a masked token).

    Raises
    ------
    ValueError
        A bad row or ``temperature`` / ``dps`` out of range.
    TypeError
        A row that is not numeric, or ``temperature`` / ``dps`` of the wrong type.
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    dps = spec.check_dps(dps)
    out = [mpmath.mpf(0)] * row.size
    with mpmath.workdps(dps + 20):
        e = row.mp_weights(tau)
        total = mpmath.fsum(e)
        for tok, w in zip(row.order, e):
            out[tok] = w / total
    with mpmath.workdps(dps):
        return [+x for x in out]

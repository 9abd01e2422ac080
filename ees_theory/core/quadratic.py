"""Quadratic ("smoothing") sampling: a logit transform around the largest logit ``m``.

    ``l'_i = m - k f d_i^2 + s f d_i^3``,  ``d_i = l_i - m <= 0``,  ``k = (3 - c) / 2``,  ``s = (c - 1) / 2``

with ``f`` the smoothing factor and ``c`` the smoothing curve (text-generation-webui's
``QuadraticSamplingLogitsWarper``; KoboldCpp's smoothing factor). ``c = 1`` is the plain
quadratic ``m - f d^2``; the largest logit keeps its value, every other one moves down (for
``1 <= c <= 3``) faster the farther it lies from the top. The transform replaces each logit (as
``f -> 0`` every logit tends to ``m``); ``f = 0`` is "off", the row unchanged
(text-generation-webui applies the warper only for ``f > 0``): :func:`logits`.
Written with ``+ - *`` only: exact with :class:`fractions.Fraction`, and on tensors alike.

>>> from fractions import Fraction
>>> transform(Fraction(-2), Fraction(5), Fraction(1, 2), Fraction(1))    # 5 - 0.5 * 4
Fraction(3, 1)
>>> transform(-2.0, 5.0, 0.5, 3.0)                                       # k = 0, s = 1: 5 + 0.5 * -8
1.0
>>> logits(4.0, 5.0, 0.0, 1.0), logits(4.0, 5.0, 1.0, 1.0)
(4.0, 4.0)
"""

from __future__ import annotations

from typing import Any

__all__ = ["transform", "coefficients", "logits"]


def coefficients(factor: Any, curve: Any) -> tuple[Any, Any]:
    """``(k f, s f)``: the weights of ``-d^2`` and ``d^3``.

    Parameters
    ----------
    factor : number, interval or tensor
        The smoothing factor ``f >= 0`` (0: off).
    curve : number, interval or tensor
        The smoothing curve ``c`` (1: the plain quadratic; the transform is monotone for
        ``1 <= c <= 3``).

    Returns
    -------
    tuple
        ``((3 - c) / 2 * f, (c - 1) / 2 * f)``, in the arithmetic of the arguments.

    Examples
    --------
    >>> coefficients(2.0, 1.0)
    (2.0, 0.0)
    """
    return (3 - curve) / 2 * factor, (curve - 1) / 2 * factor


def transform(d: Any, m: Any, factor: Any, curve: Any) -> Any:
    """``m - k f d^2 + s f d^3`` for the offsets ``d = l - m`` from the largest logit ``m``.

    Parameters
    ----------
    d : number, interval or tensor
        Offsets ``l_i - m <= 0`` of the logits from the largest one.
    m : number, interval or tensor
        The largest logit of the row (finite).
    factor, curve : number, interval or tensor
        The smoothing factor ``f > 0`` and curve ``c`` (see :func:`coefficients`).

    Returns
    -------
    number, interval or tensor
        The transformed logits, shaped like ``d``.
    """
    kf, sf = coefficients(factor, curve)
    return m - kf * d * d + sf * d * d * d


def logits(z: Any, m: Any, factor: Any, curve: Any) -> Any:
    """The transformed logits of ``z`` (largest ``m``): ``z`` itself when ``factor`` is 0 (off).

    Parameters
    ----------
    z : number, interval or tensor
        The logits (a ``-inf`` entry is a masked token).
    m : number, interval or tensor
        The largest logit of the row (finite).
    factor, curve : number, interval or tensor
        The smoothing factor ``f >= 0`` (0: off, ``z`` returned unchanged) and curve ``c`` (see
        :func:`coefficients`).

    Returns
    -------
    number, interval or tensor
        The transformed logits, shaped like ``z``.
    """
    return z if factor == 0 else transform(z - m, m, factor, curve)

"""Entropy in nats, with ``0 ln 0 = 0`` (specification §1), written once for every arithmetic.

Two forms, for the two ways a caller holds a distribution:

* from **relative weights** ``e_i = p_i / p_max = exp(-a_i)`` (one maximum has ``e = 1``): with
  ``C`` the sum of the other weights (``S = 1 + C``) and ``A = sum e_i a_i``,
  ``H = ln S + A / S``, evaluated as ``log1p(C) + A / (1 + C)``: two non-negative terms, no
  cancellation, and ``log1p`` keeps ``H`` relatively accurate for a peaked row (``C`` tiny);
* from **probabilities** and their logarithms: ``H = -sum p_i ln p_i`` over ``p_i > 0``.

>>> from ees_theory.core.ctx import FLOAT, MP
>>> round(float(entropy_from_weights(1.0, 0.0, FLOAT)), 12)      # two equal weights: ln 2
0.69314718056
>>> float(entropy_of_probs(np.array([0.5, 0.5, 0.0]), FLOAT)) == float(np.log(2))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ctx import Context

__all__ = ["entropy_from_weights", "entropy_from_log_probs", "entropy_of_probs"]


def entropy_from_weights(C: Any, A: Any, ctx: Context) -> Any:
    """``H = log1p(C) + A / (1 + C)`` (see the module docstring for ``C`` and ``A``).

    Parameters
    ----------
    C : number or array
        The sum of the relative weights other than the maximum's, ``>= 0``.
    A : number or array
        ``sum e_i a_i``, ``>= 0``.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    number or array
        The entropy in nats, in the context's arithmetic.
    """
    return ctx.log1p(C) + A / (1 + C)


def entropy_from_log_probs(p: Any, log_p: Any, ctx: Context) -> Any:
    """``H = -sum p ln p`` over the last axis (array contexts), a zero ``p`` contributing 0 whatever
    its ``log_p`` (``-inf``, or NaN from ``0 * -inf``, never enters).

    Parameters
    ----------
    p : array
        Probabilities (the last axis one distribution), each ``>= 0``.
    log_p : array
        Their natural logarithms, same shape; where ``p = 0`` its value is not used.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).
        An array context (float64 or torch): ``where`` and ``sum`` are needed.

    Returns
    -------
    array or number
        The entropy in nats of each distribution (the last axis summed away).
    """
    return -ctx.sum(ctx.where(p > 0, p * log_p, 0.0))


def entropy_of_probs(p: Any, ctx: Context) -> Any:
    """``H = -sum p ln p`` of probabilities over the last axis (array contexts).

    Parameters
    ----------
    p : array
        Probabilities (the last axis one distribution), each ``>= 0``; zeros contribute 0.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).
        An array context (float64 or torch): ``where`` and ``sum`` are needed.

    Returns
    -------
    array or number
        The entropy in nats of each distribution (the last axis summed away).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return entropy_from_log_probs(p, ctx.log(ctx.where(p > 0, p, 1.0)), ctx)

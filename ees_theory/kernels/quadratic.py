"""Quadratic ("smoothing") sampling as a batched logit transform (specification §7; the formula is
:func:`ees_theory.core.quadratic.transform`).

The work runs in float32 (float64 for float64 logits): ``d^3`` of a half-precision row leaves the
float16 range long before the transformed logit does. Masked tokens stay ``-inf``; the answer has
the logits' dtype and shape.

>>> import torch
>>> quadratic_logits(torch.tensor([[3.0, 1.0, -float("inf")]]), 0.5).tolist()      # 3 - 0.5 * 2^2
[[3.0, 1.0, -inf]]
>>> quadratic_logits(torch.tensor([3.0, 2.0, 0.0]), 1.0, 3.0).tolist()             # 3 + d^3
[3.0, 2.0, -24.0]
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..core import quadratic
from ..spec.methods import check_transform_params
from ._core import check_logits

__all__ = ["quadratic_logits"]


def quadratic_logits(logits: Any, smoothing_factor: float, smoothing_curve: float = 1.0) -> torch.Tensor:
    """``m - k f d^2 + s f d^3`` per row, ``m`` the row's largest finite logit and ``d = l - m``
    (the row unchanged for ``smoothing_factor = 0``).

    Parameters
    ----------
    logits : torch.Tensor
        Logits ``(..., V)`` of a floating dtype; ``-inf`` entries are masked tokens and stay
        ``-inf``; each row needs a finite entry.
    smoothing_factor : float
        The factor ``f >= 0`` (0: off, the row returned unchanged).
    smoothing_curve : float
        The curve ``c``, a real number (1: the plain quadratic ``m - f d^2``; the transform keeps
        the order of the logits for ``1 <= c <= 3``).

    Returns
    -------
    torch.Tensor
        The transformed logits, same shape and dtype as ``logits`` (computed in float64 for float64
        input, else in float32).

    Examples
    --------
    >>> import torch
    >>> quadratic_logits(torch.tensor([[2.0, 1.0, float("-inf")]]), 0.5).tolist()
    [[2.0, 1.5, -inf]]
    """
    x = check_logits(logits)
    prm = check_transform_params("quadratic", {"smoothing_factor": smoothing_factor, "smoothing_curve": smoothing_curve})
    cd = torch.float64 if x.dtype == torch.float64 else torch.float32
    masked = torch.isneginf(x)
    z = x.to(cd)
    m = z.masked_fill(masked, -math.inf).amax(dim=-1, keepdim=True)
    z = torch.where(masked, m, z)  # d = 0 there: no infinity enters the arithmetic
    out = quadratic.logits(z, m, prm["smoothing_factor"], prm["smoothing_curve"])
    return out.masked_fill(masked, -math.inf).to(x.dtype)

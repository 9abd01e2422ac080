"""p-less sampling (arXiv 2509.23234): keep ``p_i >= threshold``.

* ``p-less``: ``threshold = sum p^2``;
* ``p-less-norm``: ``threshold = (V sum p^2 - 1) / (V - 1)``, ``V`` the row length with masked
  entries included (``V = 1``: the plain ``sum p^2``).

>>> threshold(0.5, 2, norm=False), threshold(0.5, 2, norm=True)   # two equal tokens
(0.5, 0.0)
"""

from __future__ import annotations

from typing import Any

from .policy import Policy

POLICIES = {"paper": Policy(min_keep="none")}

__all__ = ["threshold", "threshold_scale", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"p-less": {"norm": False}, "p-less-norm": {"norm": True}}


def threshold(s2: Any, V: int, norm: bool) -> Any:
    """The threshold from ``s2 = sum p^2`` (any number type, or a tensor).

    Parameters
    ----------
    s2 : number, interval or tensor
        ``sum p^2`` over the row.
    V : int
        The row length, masked entries included, ``>= 1``.
    norm : bool
        ``True`` for p-less-norm, ``False`` for p-less.

    Returns
    -------
    number, interval or tensor
        ``(V s2 - 1) / (V - 1)`` for p-less-norm with ``V > 1``, else ``s2``.
    """
    return (V * s2 - 1) / (V - 1) if norm and V > 1 else s2


def threshold_scale(V: int, norm: bool) -> float:
    """``d threshold / d s2`` (1, or ``V / (V - 1)`` for p-less-norm): how an error in ``sum p^2``
    reaches the threshold.

    Parameters
    ----------
    V : int
        The row length, masked entries included, ``>= 1``.
    norm : bool
        ``True`` for p-less-norm, ``False`` for p-less.

    Returns
    -------
    float
        ``V / (V - 1)`` for p-less-norm with ``V > 1``, else 1.
    """
    return V / (V - 1) if norm and V > 1 else 1.0

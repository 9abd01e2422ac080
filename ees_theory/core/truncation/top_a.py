"""Top-a sampling (BlinkDL; text-generation-webui, KoboldCpp): keep ``p_i >= a * p_max^2``.

The threshold is quadratic in ``p_max``: a peaked row is cut hard, a flat one hardly at all.
With ``e_i = p_i / p_max`` and ``S = sum e`` the test is ``e_i S >= a`` (both sides times
``S / p_max``), a form the certified reference decides exactly.

>>> threshold(0.5, 0.5)
0.125
"""

from __future__ import annotations

from typing import Any

from .policy import Policy

POLICIES = {"paper": Policy(noop=lambda prm: prm["a"] <= 0, noop_text="a <= 0", off={"a": 0.0})}

__all__ = ["threshold", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-a": {}}


def threshold(a: Any, p_max: Any) -> Any:
    """``a * p_max^2`` (any number type, intervals, tensors).

    Parameters
    ----------
    a : number
        top-a's ``a``, ``>= 0``.
    p_max : number, interval, array or tensor
        The largest probability of the row.

    Returns
    -------
    number, interval, array or tensor
        ``a * p_max**2``.
    """
    return a * p_max * p_max

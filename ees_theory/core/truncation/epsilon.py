"""Epsilon sampling (Hewitt et al. 2022): keep ``p_i > epsilon``.

Policies: ``paper`` keeps ``p_i > epsilon`` (strict) with the ``min_tokens_to_keep`` floor;
``transformers`` keeps ``p_i >= epsilon`` and, at the floor, every token tied with the
``min_tokens_to_keep``-th largest. Eta sampling (:mod:`.eta`) is the same comparison against its
own threshold, under the same policies.

>>> POLICIES["paper"].holds(*sides(0.5, 0.5)), POLICIES["transformers"].holds(*sides(0.5, 0.5))
(False, True)
"""

from __future__ import annotations

from typing import Any

from .policy import Policy

__all__ = ["sides", "gap", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"epsilon": {}}

POLICIES = {
    "paper": Policy(strict=True),
    "transformers": Policy(min_keep="floor-ties"),
}


def sides(p: Any, threshold: Any) -> tuple[Any, Any]:
    """``p_i`` against the threshold (``epsilon``, or eta's).

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    threshold : number, interval, array or tensor
        ``epsilon`` (epsilon sampling) or eta's threshold.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (p, threshold)``.
    """
    return p, threshold


def gap(p: Any, threshold: Any) -> Any:
    """``p_i - threshold`` (what the reference certifies).

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    threshold : number, interval, array or tensor
        ``epsilon`` (epsilon sampling) or eta's threshold.

    Returns
    -------
    number, interval, array or tensor
        ``p - threshold``; the token is kept when the policy's comparison holds.
    """
    lhs, rhs = sides(p, threshold)
    return lhs - rhs

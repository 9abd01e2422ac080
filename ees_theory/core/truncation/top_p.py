"""Top-p (nucleus): keep the smallest sorted prefix whose mass reaches ``p``.

Token ``i`` (sorted) is kept when the mass before it is below ``p``: ``p > P_before(i)``
(:func:`sides`; the crossing token is kept). All three engines agree on the cut in exact
arithmetic; they differ in the domain (:mod:`ees_theory.spec.methods`). ``p >= 1`` keeps every
candidate; ``p <= 0`` keeps only the ``min_tokens_to_keep`` floor. The same comparison from the
bottom of the order is ``P_from_bottom(i) > 1 - p`` (:func:`sides_from_bottom`), the mass from the
least probable token up to and with token ``i``.

>>> POLICIES["paper"].holds(*sides(0.9, 0.88)), POLICIES["paper"].holds(*sides(0.9, 0.97))
(True, False)
>>> POLICIES["paper"].holds(*sides_from_bottom(0.9, 0.12))
True
"""

from __future__ import annotations

from typing import Any

from .policy import Policy

__all__ = ["sides", "gap", "sides_from_bottom", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-p": {}}

_P = Policy(strict=True, noop=lambda prm: prm["p"] >= 1, noop_text="p >= 1", off={"p": 1.0})
POLICIES = {"paper": _P, "transformers": _P, "llama.cpp": _P}


def sides(p: Any, mass_before: Any) -> tuple[Any, Any]:
    """The comparison ``p`` against the mass before the token: kept when ``p > mass_before``.

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    mass_before : number, interval, array or tensor
        The probability of the tokens before it in decreasing order.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (p, mass_before)``.
    """
    return p, mass_before


def gap(p: Any, mass_before: Any) -> Any:
    """``p - P_before``: the token is kept when it is > 0 (what the reference certifies).

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    mass_before : number, interval, array or tensor
        The probability of the tokens before it in decreasing order.

    Returns
    -------
    number, interval, array or tensor
        ``p - mass_before``.
    """
    lhs, rhs = sides(p, mass_before)
    return lhs - rhs


def sides_from_bottom(p: Any, mass_from_bottom: Any) -> tuple[Any, Any]:
    """The same comparison on ``P_from_bottom = 1 - P_before``: kept when it is > ``1 - p``.

    Parameters
    ----------
    p : number, interval, array or tensor
        The token's probability.
    mass_from_bottom : number, interval, array or tensor
        The probability of the token and every one after it, ``1 - P_before``.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (mass_from_bottom, 1 - p)``.
    """
    return mass_from_bottom, 1 - p

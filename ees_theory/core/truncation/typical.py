"""Locally typical sampling (Meister et al. 2022).

Tokens are ordered by the score ``|-ln p_i - H|`` ascending (:func:`score`; ties keep the
canonical order) and the shortest prefix of that order whose mass reaches ``mass`` is kept: the
prefix grows while the mass so far has not reached ``mass`` (:func:`not_reached_sides`), and the
crossing token is kept. Policies:

* ``paper``: not reached while ``C_r < mass``;
* ``transformers``: the same cut, plus every later token whose score ties the boundary token's;
* ``llama.cpp``: not reached while ``C_r <= mass`` (the cut needs a mass strictly above
  ``mass``); ``mass >= 1`` is a no-op.

>>> score(-1.0, 1.0), score(-0.5, 1.0)
(0.0, 0.5)
>>> POLICIES["paper"].holds(*not_reached_sides(0.5, 0.5)), POLICIES["llama.cpp"].holds(*not_reached_sides(0.5, 0.5))
(False, True)
"""

from __future__ import annotations

from typing import Any

from .policy import Policy

__all__ = ["score", "not_reached_sides", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"typical": {}}

POLICIES = {
    "paper": Policy(strict=True),
    "transformers": Policy(strict=True, ties=True),
    "llama.cpp": Policy(noop=lambda prm: prm["mass"] >= 1, noop_text="mass >= 1", off={"mass": 1.0}),
}


def score(log_p: Any, H: Any) -> Any:
    """``|-ln p_i - H|`` (numbers, intervals, tensors).

    Parameters
    ----------
    log_p : number, interval, array or tensor
        ``ln p_i``.
    H : number, interval, array or tensor
        The entropy of the row in nats.

    Returns
    -------
    number, interval, array or tensor
        ``|-ln p_i - H|``.
    """
    return abs(-log_p - H)


def not_reached_sides(mass: Any, mass_so_far: Any) -> tuple[Any, Any]:
    """``mass`` against the mass ``C_r`` of the first ``r`` tokens in score order: the prefix has
    not reached ``mass`` while ``mass > C_r`` (``>=`` under a non-strict policy).

    Parameters
    ----------
    mass : number
        typical's ``mass``, in ``[0, 1]``.
    mass_so_far : number, interval, array or tensor
        ``C_r``, the mass of the first ``r`` tokens in score order.

    Returns
    -------
    tuple
        ``(lhs, rhs) = (mass, C_r)``.
    """
    return mass, mass_so_far

"""Mirostat (Basu et al. 2020): the Zipf estimate of v1 and the ``mu`` update of both versions.

* v1 fits a Zipf exponent to the top ``m`` tokens,
  ``s_hat = sum_i t_i b_i / sum_i t_i^2`` with ``t_i = ln((i + 2)/(i + 1))`` and
  ``b_i = ln p_(i+1) - ln p_(i+2)`` (0-based ``i``), then keeps
  ``k_hat = (eps 2**mu / (1 - N**-eps))**(1/s_hat)`` tokens, ``eps = s_hat - 1``, ``N`` the
  vocabulary size. With ``phi(y) = (1 - e**-y) / y`` (``phi(0) = 1``):
  ``ln k_hat = (mu ln 2 - ln ln N - ln phi(eps ln N)) / s_hat``;
* after the draw: ``mu <- mu - eta (surprise - tau)``, the surprise ``-log2 p`` in bits.

>>> from ees_theory.core.ctx import MP
>>> round(mu_update(2.0, 0.1, 1.0, 3.0), 12)     # surprise 1 bit under a target of 3
2.2
>>> round(float(log_k_hat(MP.num(1.0), 3.0, MP.log(100), MP.num(1), MP)), 6)   # s = 1: phi(0) = 1
0.552262
"""

from __future__ import annotations

from typing import Any

from ..ctx import Context
from .policy import Policy

#: v2 keeps ``-log2 p_i <= mu``; paper: surprise under the untruncated distribution, v1's ``k``
#: rounded half up; llama.cpp: surprise under the renormalised kept set, ``k`` truncated
POLICIES = {"paper": Policy(min_keep="none"), "llama.cpp": Policy(min_keep="none")}

__all__ = ["rounds_half_up", "renormalised_surprise", "zipf_weight", "log_k_hat", "mu_update", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"mirostat-v1": {"version": 1}, "mirostat-v2": {"version": 2}}


def rounds_half_up(policy: str) -> bool:
    """Whether v1 rounds ``k_hat`` to nearest, half up (the paper), or truncates it (llama.cpp).

    Parameters
    ----------
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``True`` under ``paper``.
    """
    return policy == "paper"


def renormalised_surprise(policy: str) -> bool:
    """Whether the surprise of the drawn token is taken under the renormalised kept set
    (llama.cpp), or under the untruncated distribution (the paper).

    Parameters
    ----------
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``True`` under ``llama.cpp``.
    """
    return policy == "llama.cpp"


def zipf_weight(i: Any, ctx: Context) -> Any:
    """``t_i = ln((i + 2) / (i + 1))``, the weight of the ``i``-th (0-based) log-ratio in ``s_hat``.

    Parameters
    ----------
    i : int or array of int
        The 0-based index of the log-ratio, ``>= 0``.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    number or array
        ``ln((i + 2) / (i + 1))``.
    """
    return ctx.log(ctx.num(i + 2) / (i + 1))


def log_k_hat(s_hat: Any, mu: Any, ln_n: Any, phi: Any, ctx: Context) -> Any:
    """``ln k_hat = (mu ln 2 - ln ln N - ln phi) / s_hat`` with ``phi = phi((s_hat - 1) ln N)``.

    Parameters
    ----------
    s_hat : number, interval, array or tensor
        The estimated Zipf exponent, ``> 0``.
    mu : number
        The current ``mu`` (bits).
    ln_n : number
        ``ln N``, ``N`` the vocabulary size.
    phi : number, interval, array or tensor
        ``phi((s_hat - 1) ln N)``, ``> 0``.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    number, interval, array or tensor
        ``ln k_hat``.
    """
    return (ctx.num(mu) * ctx.log(ctx.num(2)) - ctx.log(ln_n) - ctx.log(phi)) / s_hat


def mu_update(mu: Any, eta: Any, surprise: Any, tau: Any) -> Any:
    """``mu - eta (surprise - tau)`` (the surprise in bits).

    Parameters
    ----------
    mu : number or tensor
        The current ``mu`` (bits).
    eta : number
        The learning rate.
    surprise : number or tensor
        The drawn token's surprise ``-log2 p``, in bits.
    tau : number
        The target surprise, in bits.

    Returns
    -------
    number or tensor
        The next ``mu``.
    """
    return mu - eta * (surprise - tau)

"""The entropy-based temperatures, each written once (specification §3 and §4).

* EDT (Zhang et al. 2024): ``T = T0 * N**(theta / H)``, evaluated as ``T0 * exp((theta ln N) / H)``;
  ``theta = 0`` gives ``T0`` and ``H = 0`` the greedy limit ``T = 0``.
* llama.cpp dynatemp: ``T = T_min + (T_max - T_min) * (H / ln n)**exponent`` with
  ``T_min = max(0, temp - delta)``, ``T_max = temp + delta``; ``exponent = 0`` gives ``T_max``.

Every function takes the arithmetic context (:mod:`ees_theory.core.ctx`) last; the drivers add
what is theirs (the reference its entropy enclosure, the kernels their dtype and clamps).

>>> from ees_theory.core.ctx import FLOAT, MP
>>> float(edt_temperature(MP.log(2), 1.0, MP.log(2), 0.8, MP))     # H = theta: N * T0
0.8
>>> dynatemp_range(1.0, 1.5, FLOAT)
(0.0, 2.5)
>>> dynatemp_temperature(0.0, 1.0, 0.5, 1.5, 1.0, FLOAT)          # H = 0, exponent > 0: T_min
0.5
"""

from __future__ import annotations

from typing import Any

from .ctx import Context

__all__ = [
    "edt_log_factor",
    "edt_from_entropy",
    "edt_temperature",
    "dynatemp_range",
    "dynatemp_from_ratio",
    "dynatemp_temperature",
]


def edt_log_factor(theta: Any, N: Any, ctx: Context) -> Any:
    """``theta ln N`` (``<= 0`` for ``0 < N < 1``): ``T = T0 exp(theta ln N / H)``.

    Parameters
    ----------
    theta : number
        The EDT exponent's scale, ``>= 0``.
    N : number
        The base of the power, ``0 < N < 1``.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    number
        ``theta * ln N``, in the context's arithmetic.
    """
    return ctx.num(theta) * ctx.log(ctx.num(N))


def edt_from_entropy(H: Any, T0: Any, c: Any, ctx: Context) -> Any:
    """``T0 exp(c / H)`` with ``c`` from :func:`edt_log_factor`, for ``H > 0``.

    Parameters
    ----------
    H : number or array
        The entropy in nats, ``> 0``.
    T0 : number
        The base temperature, ``> 0``.
    c : number
        ``theta ln N`` from :func:`edt_log_factor`.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    number or array
        The temperature ``T0 exp(c / H)``.
    """
    return ctx.num(T0) * ctx.exp(c / H)


def edt_temperature(H: Any, T0: Any, theta: Any, N: Any, ctx: Context) -> Any:
    """The EDT temperature of a distribution of entropy ``H`` (a number, not an array), limits
    included: ``theta = 0`` gives ``T0``, ``H <= 0`` the greedy ``0``.

    Parameters
    ----------
    H : number
        The entropy in nats (``<= 0`` is read as a single candidate).
    T0 : number
        The base temperature, ``> 0``.
    theta : number
        The exponent's scale, ``>= 0``.
    N : number
        The base of the power, ``0 < N < 1``.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    number
        ``T0 * N**(theta / H)``; ``T0`` for ``theta = 0``, else ``0`` for ``H <= 0``.
    """
    if theta == 0:
        return ctx.num(T0)
    if H <= 0:
        return ctx.num(0)
    return edt_from_entropy(H, T0, edt_log_factor(theta, N, ctx), ctx)


def dynatemp_range(temp: Any, delta: Any, ctx: Context) -> tuple[Any, Any]:
    """``(T_min, T_max) = (max(0, temp - delta), temp + delta)``, in the context's arithmetic (exact
    for two doubles in :data:`~ees_theory.core.ctx.MP` at 200 bits).

    Parameters
    ----------
    temp : number
        The centre temperature, ``>= 0``.
    delta : number
        The half-width of the range, ``>= 0``.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    tuple
        ``(T_min, T_max)``, in the context's arithmetic.
    """
    t_min = max(ctx.num(0), ctx.num(temp) - ctx.num(delta))
    return t_min, ctx.num(temp) + ctx.num(delta)


def dynatemp_from_ratio(ratio: Any, t_min: Any, t_max: Any, exponent: Any, ctx: Context) -> Any:
    """``T_min + (T_max - T_min) * ratio**exponent`` with ``ratio = H / ln n``.

    Parameters
    ----------
    ratio : number or array
        ``H / ln n``, the normalised entropy, in ``[0, 1]``.
    t_min, t_max : number
        The ends of the temperature range (from :func:`dynatemp_range`).
    exponent : number
        The power applied to ``ratio``.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    number or array
        The temperature ``T_min + (T_max - T_min) * ratio**exponent``.
    """
    return t_min + (t_max - t_min) * ctx.pow(ratio, exponent)


def dynatemp_temperature(H: Any, ln_n: Any, t_min: Any, t_max: Any, exponent: Any, ctx: Context) -> Any:
    """The dynatemp temperature of a distribution of entropy ``H`` over ``n`` entries (a number),
    limits included: ``exponent = 0`` gives ``T_max``; ``H <= 0`` gives ``T_min`` for
    ``exponent > 0`` and ``+inf`` for ``exponent < 0`` (the power grows without bound).

    Parameters
    ----------
    H : number
        The entropy in nats.
    ln_n : number
        ``ln n``, ``n`` the number of entries (``n >= 2`` where ``H > 0``).
    t_min, t_max : number
        The ends of the temperature range (from :func:`dynatemp_range`).
    exponent : number
        The power applied to ``H / ln n``; ``0`` gives ``T_max``.
    ctx : Context
        The arithmetic (:data:`~ees_theory.core.ctx.FLOAT`, :data:`~ees_theory.core.ctx.MP`,
        :data:`~ees_theory.core.ctx.IV` or :func:`~ees_theory.core.ctx.torch_context`).

    Returns
    -------
    number
        The temperature, ``+inf`` for ``H <= 0`` with ``exponent < 0``.
    """
    if exponent == 0:
        return t_max
    if H <= 0:
        return t_min if exponent > 0 else ctx.num("inf")
    return dynatemp_from_ratio(H / ln_n, t_min, t_max, exponent, ctx)

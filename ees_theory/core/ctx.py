"""Arithmetic contexts: the formulas of ``ees_theory.core`` are written once, against one of these.

A context names the elementary operations a formula needs (``num`` turns a parameter into a number
of the arithmetic; ``exp``, ``log``, ``log1p``, ``sqrt``, ``pow``). ``+ - * /`` are the operators of
the numbers themselves. As in mpmath, the context decides the arithmetic; a precision or a dtype is
a parameter, not a copy of the formula:

* :data:`FLOAT`: float64 (numpy; scalars or arrays), round to nearest;
* :data:`MP`: ``mpmath`` at the working precision (set it with ``mpmath.workprec``);
* :data:`IV`: ``mpmath.iv`` interval arithmetic, every result an enclosure; ``exp`` of an argument
  beyond ``2**2048`` in magnitude is bounded, not evaluated (:func:`bounded_exp`);
* :func:`torch_context`: torch tensors, in their dtype (torch is imported only when asked for).

The array contexts (float64 and torch) also have ``where`` and ``sum`` (over the last axis).

>>> float(FLOAT.exp(0.0)), MP.log(MP.num(1)), IV.exp(IV.num(0))
(1.0, mpf('0.0'), mpi('1.0', '1.0'))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import mpmath
import numpy as np
from mpmath import iv

from .certify import iv_bounds, iv_exp

__all__ = ["Context", "FLOAT", "MP", "IV", "torch_context", "bounded_exp", "EXP_LIMIT"]


@dataclass(frozen=True)
class Context:
    """The elementary operations of one arithmetic (see the module docstring).

    Parameters
    ----------
    name : str
        The arithmetic's name, shown by ``repr``.
    num : callable
        Turns a parameter (a Python number or a string such as ``"inf"``) into a number of the
        arithmetic.
    exp, log, log1p, sqrt : callable
        The elementary functions of one argument.
    pow : callable
        ``pow(x, y) = x**y``.
    where : callable or None
        ``where(cond, a, b)``, elementwise; array contexts only (default ``None``).
    sum : callable or None
        The sum over the last axis; array contexts only (default ``None``).
    """

    name: str
    num: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    log: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    pow: Callable[[Any, Any], Any]
    #: array contexts only: ``where(cond, a, b)`` and the sum over the last axis
    where: Callable[[Any, Any, Any], Any] | None = None
    sum: Callable[[Any], Any] | None = None

    def __repr__(self) -> str:
        return f"Context({self.name!r})"


#: Beyond ``|x| > EXP_LIMIT`` an interval ``exp(x)`` is bounded, not evaluated: evaluating it would
#: need ``log2|x|`` extra bits for the argument reduction (``|x|`` reaches 10**43423 for EDT on the
#: row (0, -1e5), and overflows mpmath for (0, -1e300)); ``exp(-2**2048)`` is far below every float
#: format, and up to that size mpmath evaluates quickly.
EXP_LIMIT = mpmath.mpf(2) ** 2048


def bounded_exp(x):
    """An ``iv`` enclosure of ``exp(x)``; parts of ``x`` beyond ``-EXP_LIMIT`` are enclosed by
    ``[0, exp(-EXP_LIMIT)]`` and parts beyond ``+EXP_LIMIT`` by ``[exp(EXP_LIMIT), +inf]``.

    Parameters
    ----------
    x : mpmath.iv.mpf
        An interval (or a number ``mpmath.iv`` converts to one); either end may be infinite.

    Returns
    -------
    mpmath.iv.mpf
        An interval that contains ``exp(t)`` for every ``t`` in ``x``.

    Examples
    --------
    >>> lo, hi = iv_bounds(bounded_exp(iv.mpf(-(2**3000))))
    >>> lo == 0, 0 < hi < mpmath.mpf(10) ** -1000
    (True, True)
    """
    lo, hi = iv_bounds(x)
    if -EXP_LIMIT <= lo and hi <= EXP_LIMIT:
        return iv_exp(x)
    lo_c = min(max(lo, -EXP_LIMIT), EXP_LIMIT)
    hi_c = min(max(hi, -EXP_LIMIT), EXP_LIMIT)
    core = iv_exp(iv.mpf([lo_c, hi_c]))
    a, b = iv_bounds(core)
    if lo < -EXP_LIMIT:
        a = mpmath.mpf(0)
    if hi > EXP_LIMIT:
        b = mpmath.inf
    return iv.mpf([a, b])


def _float_num(x: Any) -> Any:
    return x if isinstance(x, np.ndarray) else float(x)


#: float64 arithmetic (numpy; scalars or arrays), round to nearest.
FLOAT = Context("float64", _float_num, np.exp, np.log, np.log1p, np.sqrt, np.power, np.where, lambda x: np.sum(x, axis=-1))
#: ``mpmath`` at the working precision.
MP = Context("mpmath", mpmath.mpf, mpmath.exp, mpmath.log, mpmath.log1p, mpmath.sqrt, mpmath.power)
#: ``mpmath.iv`` intervals; ``x**y = exp(y ln x)`` for ``x > 0``, through :func:`bounded_exp`.
IV = Context("mpmath.iv", iv.mpf, bounded_exp, iv.log, iv.log1p, iv.sqrt, lambda x, y: bounded_exp(y * iv.log(x)))


def _torch_pow(x, y):
    # 0**y = 0 for y > 0, even where y rounds to 0 in a narrow dtype (0**0 would be 1)
    import torch

    if isinstance(y, (int, float)) and y > 0:
        return torch.where(x > 0, x.pow(y), 0.0)
    return x.pow(y)


def _either(tensor_fn: Callable, float_fn: Callable) -> Callable:
    # a Python number (a parameter) is computed in float64, a tensor in its own dtype
    import torch

    return lambda x: tensor_fn(x) if isinstance(x, torch.Tensor) else float_fn(x)


def torch_context() -> Context:
    """The torch context: tensors in their own dtype; Python numbers (parameters) stay float64
    numbers (``num`` leaves them as they are, ``exp``/``log``/``sqrt`` of them use ``math``).

    >>> import torch
    >>> ctx = torch_context()
    >>> ctx.pow(torch.tensor([0.0, 4.0]), 0.5).tolist(), ctx.log(1.0)
    ([0.0, 2.0], 0.0)
    """
    import torch

    return Context(
        "torch",
        lambda x: x,
        _either(torch.exp, math.exp),
        _either(torch.log, math.log),
        _either(torch.log1p, math.log1p),
        _either(torch.sqrt, math.sqrt),
        _torch_pow,
        torch.where,
        lambda x: x.sum(dim=-1),
    )

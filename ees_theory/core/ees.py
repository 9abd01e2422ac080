"""The EES curve and its selection rules (specification §2), written once.

For the sorted distribution ``p_(1) >= p_(2) >= ...`` with prefix mass ``P_k`` and ``H_k`` the
entropy of the renormalised top-``k`` set, the equilibrium gap is

    ``f(k) = Hbar_k - P_k``,  ``Hbar_k = H_k / ln k``  (``k >= 2``),

and ``k`` is a *crossing* when ``f(k) < 0``. The rules turn the crossings into the kept count
``k*``, never below ``min(m, n)`` for ``m = min_tokens_to_keep``:

* ``first-exclusive`` (the authors' code): ``i*`` the first crossing with ``i* >= max(2, m + 1)``,
  ``k* = i* - 1``; none: ``k* = n``;
* ``first-inclusive``: the same ``i*``, ``k* = i*``;
* ``last``: ``k* = max{k >= 2 : f(k) >= 0}``, or 1 when there is none.

>>> from ees_theory.core.ctx import MP
>>> hbar, P, f = curve_point(MP.num(2), MP.num(0), MP.log(2), MP.num(2), MP)   # two equal tokens
>>> float(hbar), float(P), float(f)
(1.0, 1.0, 0.0)
>>> count_first(3, "first-exclusive", 5), count_first(None, "first-inclusive", 5), count_last(1, 5, 2)
(2, 5, 2)
"""

from __future__ import annotations

from typing import Any

from .ctx import Context
from .entropy import entropy_from_weights

__all__ = ["curve_point", "gap", "count_first", "count_last", "first_candidate"]


def gap(hbar: Any, P: Any) -> Any:
    """``f(k) = Hbar_k - P_k``.

    Parameters
    ----------
    hbar : number or array
        The normalised entropy ``Hbar_k``.
    P : number or array
        The probability mass ``P_k``.

    Returns
    -------
    number or array
        ``Hbar_k - P_k``.
    """
    return hbar - P


def curve_point(S_k: Any, A_k: Any, ln_k: Any, total: Any, ctx: Context, C_k: Any = None) -> tuple[Any, Any, Any]:
    """``(Hbar_k, P_k, f(k))`` from prefix sums of the relative weights ``e_i = p_(i) / p_(1)``:
    ``S_k = e_1 + ... + e_k``, ``A_k = sum e_i a_i`` (``a_i = -ln e_i``), ``total = S_n``.

    ``C_k = e_2 + ... + e_k = S_k - 1``, when the caller accumulates it apart (float arithmetic:
    ``log1p(C_k)`` then stays accurate on a peaked row, where ``S_k - 1`` would cancel).

    Parameters
    ----------
    S_k : number or array
        The prefix sum ``e_1 + ... + e_k`` of the relative weights (``e_1 = 1``).
    A_k : number or array
        The prefix sum ``e_1 a_1 + ... + e_k a_k``.
    ln_k : number or array
        ``ln k``, ``k >= 2``.
    total : number or array
        ``S_n``, the sum of all ``n`` weights.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).
    C_k : number, array or None
        ``e_2 + ... + e_k`` accumulated apart, or ``None`` (the default) for ``S_k - 1``.

    Returns
    -------
    tuple
        ``(Hbar_k, P_k, f(k))``: the normalised entropy of the top ``k``, their probability mass
        and the gap ``Hbar_k - P_k``.
    """
    H = entropy_from_weights(S_k - 1 if C_k is None else C_k, A_k, ctx)
    hbar = H / ln_k
    P = S_k / total
    return hbar, P, gap(hbar, P)


def first_candidate(m: int) -> int:
    """The first ``k`` the "first" rules compare: ``max(2, m + 1)``.

    Parameters
    ----------
    m : int
        ``min_tokens_to_keep``, ``>= 1``.

    Returns
    -------
    int
        ``max(2, m + 1)``.
    """
    return max(2, m + 1)


def count_first(i_star: Any, rule: str, n: Any) -> Any:
    """``k*`` of a "first" rule from the first crossing ``i*`` (``None``: no crossing, keep ``n``);
    works for ints and, element by element, for tensors (``i_star`` never ``None`` there).

    Parameters
    ----------
    i_star : int, tensor or None
        The first ``k`` (1-based) where the curve crosses, ``None`` when it never does.
    rule : str
        ``"first-exclusive"`` (keep ``i* - 1``) or ``"first-inclusive"`` (keep ``i*``).
    n : int or tensor
        The number of candidates.

    Returns
    -------
    int or tensor
        ``k*``, the number of tokens kept.
    """
    if i_star is None:
        return n
    return i_star - 1 if rule == "first-exclusive" else i_star


def count_last(k_last: Any, n: Any, m: int, maximum: Any = max, minimum: Any = min) -> Any:
    """``k*`` of the ``last`` rule from the largest non-crossing ``k_last >= 2`` (or anything
    smaller when there is none, giving 1), at least ``min(m, n)``: ``max(k_last, 1, min(n, m))``
    for integers. Arrays pass their elementwise ``maximum(a, b)`` / ``minimum(a, b)`` (the
    kernels: ``torch.clamp`` with ``min=`` / ``max=``).

    Parameters
    ----------
    k_last : int or tensor
        The largest ``k >= 2`` where the curve does not cross (anything below 2 when none).
    n : int or tensor
        The number of candidates.
    m : int
        ``min_tokens_to_keep``, ``>= 1``.
    maximum, minimum : callable
        Elementwise ``max(a, b)`` and ``min(a, b)`` (default: the builtins, for integers).

    Returns
    -------
    int or tensor
        ``k*``, the number of tokens kept.

    Examples
    --------
    >>> count_last(0, 5, 2), count_last(4, 5, 2), count_last(1, 1, 3)
    (2, 4, 1)
    """
    return maximum(maximum(k_last, 1), minimum(n, m))

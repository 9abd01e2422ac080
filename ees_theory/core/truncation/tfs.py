"""Tail-free sampling (Bricken 2019; text-generation-webui, llama.cpp until late 2024).

On the sorted probabilities ``p_0 >= p_1 >= ...`` of the ``n`` candidates, the curvature weights
``w_j = |p_j - 2 p_(j+1) + p_(j+2)|`` (``j = 0 .. n-3``) are normalised to sum 1 and accumulated,
``cdf_j = (w_0 + ... + w_j) / sum w``. With ``count = #{j : cdf_j <= z}`` (a prefix, ``cdf``
being non-decreasing) the kept prefix is, by policy (:func:`kept`):

* ``paper`` (the original, as text-generation-webui ships it): ``count + 1`` tokens, the
  distribution "centred around the cut-off" (token ``j + 1`` is dropped when ``cdf_j > z``, the
  first token is always kept); at least ``min_tokens_to_keep``. A row without curvature
  (``sum w = 0``) has no tail: everything is kept.
* ``llama.cpp``: the tokens before the first ``j >= min_keep`` with ``cdf_j > z`` (``count``
  tokens, one fewer than the paper), everything when there is no such ``j``; ``sum w <= 1e-6``
  (float32) takes uniform weights ``1 / (n - 2)``; fewer than 3 candidates is a no-op.

``z >= 1`` keeps everything under both.

>>> kept(2, 6, 1, "paper"), kept(2, 6, 1, "llama.cpp"), kept(0, 6, 1, "llama.cpp"), kept(4, 6, 1, "llama.cpp")
(3, 2, 1, 6)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .policy import Policy

_P = Policy(noop=lambda prm: prm["z"] >= 1, noop_text="z >= 1", off={"z": 1.0})
POLICIES = {"paper": _P, "llama.cpp": _P}

__all__ = ["second_differences", "kept", "flat_means_uniform", "short_rows_untouched", "FLAT", "POLICIES", "RULES"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"tfs": {}}

#: llama.cpp's normalisation floor: ``1e-6f``, a sum of weights at or below it is "flat"
FLAT = float(np.float32(1e-6))


def flat_means_uniform(policy: str) -> bool:
    """What a row without curvature means: uniform weights ``1 / (n - 2)`` below
    :data:`FLAT` (llama.cpp), or no tail at all, everything kept (the paper).

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


def short_rows_untouched(policy: str) -> bool:
    """Whether fewer than 3 candidates is a no-op (llama.cpp); the paper keeps the first token and
    ``min_keep`` there.

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


def second_differences(p: Any) -> Any:
    """``p_j - 2 p_(j+1) + p_(j+2)`` along the last axis of sorted probabilities (arrays, tensors).

    Parameters
    ----------
    p : array or tensor
        Probabilities sorted in decreasing order along the last axis (length ``n >= 2``).

    Returns
    -------
    array or tensor
        The ``n - 2`` second differences along the last axis.
    """
    return p[..., :-2] - 2 * p[..., 1:-1] + p[..., 2:]


def kept(count: Any, n: Any, min_keep: Any, policy: str) -> Any:
    """The kept prefix length from ``count = #{j : cdf_j <= z}`` of ``n`` candidates (integers or
    integer tensors: ``+ - *`` and comparisons only; ``min_keep >= 1``).

    Parameters
    ----------
    count : int or integer tensor
        ``#{j : cdf_j <= z}``, ``0 <= count <= n - 2``.
    n : int or integer tensor
        The number of candidates.
    min_keep : int or integer tensor
        ``min_tokens_to_keep``, ``>= 1``.
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    int or integer tensor
        The number of tokens kept, at most ``n``.
    """
    if policy == "llama.cpp":
        i = count + (min_keep - count) * (min_keep > count)  # max(count, min_keep)
        return i + (n - i) * (i > n - 3)  # no j qualifies: everything
    k = count + 1 + (min_keep - count - 1) * (min_keep > count + 1)  # max(count + 1, min_keep)
    return k + (n - k) * (k > n)

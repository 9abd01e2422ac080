"""The row entropy and log-normaliser in one reduction over each row (a running maximum).

:func:`~ees_theory.kernels._core.row_entropy` (the reference of the float kernels, and their
default) reads each row twice: once for its maximum, once for the weights relative to it. Here
the row is cut into blocks of :data:`BLOCK` tokens; each block is reduced in its own frame (its
own maximum ``m_b``), and the blocks' results are merged by the running-maximum rule of online
softmax. Every reduction is over one block, so a compiler (``torch.compile``) fuses them into a
single pass over the logits; without one, the same formulas run as plain torch operations (the
fallback, and what the tests pin).

Per block, with ``t = (x - m_b) / tau <= 0`` (masked tokens capped at the most negative finite
value, as in :func:`~ees_theory.kernels._core.log_relative_weights`) and ``e = exp(t)``:

* ``C_b`` = the sum of ``e`` over the tokens below ``m_b``, plus (ties at ``m_b``) - 1: the block's
  weights with one maximum left out, without a scatter (a token whose ``t`` rounds to 0 has
  ``e = 1`` either way);
* ``A_b = -sum e t >= 0``.

Merged at the row maximum ``M`` (the first block that holds it keeps its ``C_b`` and ``A_b``):
block ``b`` lies ``d_b = (M - m_b) / tau >= 0`` below, so its weights scale by ``s_b = exp(-d_b)``
and its ``a`` grow by ``d_b``: it adds ``S_b s_b`` to ``C`` and ``s_b (A_b + d_b S_b)`` to ``A``
(``S_b = 1 + C_b``; a block without a finite logit has ``S_b = 0`` and adds nothing). Every term
is non-negative: no cancellation, as in the reference. Then
``H = log1p(C) + A / (1 + C)`` (:func:`ees_theory.core.entropy.entropy_from_weights`) and
``ln Z = M / tau + log1p(C)``.

The merge adds a rounding to each ``a`` (``a_i = a_i^b + d_b``) and to each block's scale; the
result stays inside the error band of :func:`ees_theory.tolerances.entropy_error_bound`
(``tests/test_capture.py`` checks it against the certified reference).

>>> import math, torch
>>> z = torch.tensor([[0.0, 0.0, 0.0, 0.0], [2.0, -float("inf"), 2.0, -float("inf")]], dtype=torch.float64)
>>> r = fused_entropy(z, block=2)
>>> [round(h, 12) for h in r.entropy.tolist()] == [round(math.log(4), 12), round(math.log(2), 12)]
True
>>> [round(v, 12) for v in r.log_normaliser.tolist()] == [round(math.log(4), 12), round(2 + math.log(2), 12)]
True
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..core.ctx import torch_context
from ..core.entropy import entropy_from_weights

__all__ = ["BLOCK", "FusedEntropy", "fused_entropy", "fused_row_entropy", "compiled_fused_entropy"]

#: Tokens per block: the blocks of a row are reduced side by side (a row of ``V`` tokens has
#: ``ceil(V / BLOCK)`` of them; the merge is over that few numbers per row).
BLOCK = 4096


class FusedEntropy(NamedTuple):
    """``entropy``: ``H`` of ``softmax(x / tau)`` (nats); ``log_normaliser``: ``ln sum exp(x / tau)``."""

    entropy: torch.Tensor
    log_normaliser: torch.Tensor


def _block_sums(xb: torch.Tensor, m_b: torch.Tensor, tau) -> tuple[torch.Tensor, torch.Tensor]:
    """``(C_b, A_b)`` of the blocks ``xb`` (shape ``(B, nb, L)``) in the frames ``m_b`` (``(B, nb)``)."""
    t = torch.sub(xb, m_b.unsqueeze(-1))
    if not (isinstance(tau, (int, float)) and tau == 1):  # x / 1 = x: skipped
        t = t / tau
    t = t.clamp(min=-torch.finfo(t.dtype).max)
    e = torch.exp(t)
    below = t < 0
    C = torch.where(below, e, 0.0).sum(dim=-1) + ((~below).sum(dim=-1) - 1).to(e.dtype)
    A = -(e * t).sum(dim=-1)
    return C, A


def fused_entropy(x: torch.Tensor, tau: torch.Tensor | float = 1.0, block: int = BLOCK) -> FusedEntropy:
    """Entropy and log-normaliser of ``softmax(x / tau)`` along the last axis of the 2-D ``x``
    (validated: no NaN or ``+inf``, a finite logit in each row), in ``x``'s dtype; ``tau`` a
    number or a ``(B, 1)`` tensor in that dtype. No host read, no data-dependent branch.

    >>> import torch
    >>> x = torch.tensor([[3.0, 1.0, 0.5, -2.0, 0.0]], dtype=torch.float64)
    >>> from ees_theory.kernels._core import row_entropy
    >>> abs(fused_entropy(x, block=2).entropy.item() - row_entropy(x).item()) < 1e-15
    True
    """
    if block < 1:
        raise ValueError(f"block must be a positive number of tokens, got {block}")
    B, V = x.shape
    whole, rest = divmod(V, block)
    parts = []
    if whole:
        parts.append(x[:, : whole * block].reshape(B, whole, block))
    if rest:
        parts.append(x[:, whole * block :].reshape(B, 1, rest))
    m_parts = [p.amax(dim=-1) for p in parts]
    m = torch.cat(m_parts, dim=-1) if len(m_parts) > 1 else m_parts[0]  # (B, nb) block maxima
    M = m.amax(dim=-1, keepdim=True)
    # a block with no finite logit is reduced in the row's frame: S_b = 0 there, d_b = 0
    m_safe = torch.where(torch.isfinite(m), m, M)
    sums, lo = [], 0
    for p in parts:
        nb = p.shape[1]
        sums.append(_block_sums(p, m_safe[:, lo : lo + nb], tau))
        lo += nb
    C_b = torch.cat([c for c, _ in sums], dim=-1) if len(sums) > 1 else sums[0][0]
    A_b = torch.cat([a for _, a in sums], dim=-1) if len(sums) > 1 else sums[0][1]
    d = M - m_safe
    if not (isinstance(tau, (int, float)) and tau == 1):
        d = d / tau
    s = torch.exp(-d)
    S_b = C_b + 1
    first = torch.zeros_like(m, dtype=torch.bool).scatter_(-1, m_safe.argmax(dim=-1, keepdim=True), True)
    C = torch.where(first, C_b, S_b * s).sum(dim=-1)
    A = torch.where(first, A_b, s * (A_b + d * S_b)).sum(dim=-1)
    H = entropy_from_weights(C, A, torch_context())
    top = M.squeeze(-1) if isinstance(tau, (int, float)) and tau == 1 else (M / tau).squeeze(-1)
    return FusedEntropy(H, top + torch.log1p(C))


def fused_row_entropy(x: torch.Tensor, tau: torch.Tensor | float = 1.0) -> torch.Tensor:
    """The ``entropy`` of :func:`fused_entropy`: a drop-in for ``_core.row_entropy``.

    >>> import torch
    >>> fused_row_entropy(torch.tensor([[3.0, -float("inf")]])).tolist()
    [0.0]
    """
    return fused_entropy(x, tau).entropy


_COMPILED: dict = {}


def compiled_fused_entropy(x: torch.Tensor, tau: torch.Tensor | float = 1.0) -> FusedEntropy:
    """:func:`fused_entropy` compiled by ``torch.compile`` (inductor; one compilation per shape,
    dtype and device, the first call pays it). Where compiling fails (no C++ compiler, an
    unsupported device), the plain function answers, and keeps answering for that key.
    """
    key = (tuple(x.shape), x.dtype, x.device.type, isinstance(tau, torch.Tensor))
    fn = _COMPILED.get(key)
    if fn is None:
        fn = torch.compile(fused_entropy, fullgraph=True, dynamic=False)
        try:
            out = fn(x, tau)
        except Exception:  # noqa: BLE001 - any compiler failure falls back to the plain formulas
            fn = fused_entropy
            out = fn(x, tau)
        _COMPILED[key] = fn
        return out
    return fn(x, tau)

"""Row values in descending order, without token ids, by the fastest exact sort at hand.

The EES curve ``f(k)`` depends on the sorted *values* only: tokens tied in value contribute the
same terms whichever order the tie is broken in. The kernels therefore sort values alone and
recover the one token id the tie rule needs (the ``k*``-th in canonical order) afterwards, from
the logits themselves, in the rare rows where a tie straddles the cut.

On CPU the sort is numpy's (vectorised with SIMD where the build has it, about ten times faster
than ``torch.sort`` on float32 rows); elsewhere ``torch.sort`` (values are what is needed, so its
unstable order is fine). Half-precision rows are sorted as float32 (an exact widening) and
narrowed back (exact again, the values being half-precision numbers).

The rows are kept as ``neg``: the negated values in *ascending* order, so that
``torch.searchsorted`` counts how many entries are ``>= v`` (``count_at_least``).

>>> import torch
>>> s = sort_rows_descending(torch.tensor([[1.0, 3.0, 3.0, -float("inf"), 2.0]]))
>>> s.values.tolist(), s.top_ties.tolist()
([[3.0, 3.0, 2.0, 1.0, -inf]], [2])
>>> s.count_at_least(torch.tensor([[2.0]])).tolist()
[3]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ._core import tracing
from ._workspace import scratch

__all__ = ["SortedRows", "sort_rows_descending"]

_NUMPY_SORTS = (torch.float32, torch.float64)


class SortedRows(NamedTuple):
    """``values``: each row in descending order (input dtype); ``neg``: ``-values`` ascending.

    On CPU both live in scratch buffers (:mod:`._workspace`): valid until the next sort.
    """

    values: torch.Tensor
    neg: torch.Tensor

    @property
    def top_ties(self) -> torch.Tensor:
        """How many entries of each row equal its maximum, shape ``(B,)``."""
        return self.count_at_least(self.values[:, :1])

    def count_at_least(self, v: torch.Tensor) -> torch.Tensor:
        """How many entries of each row are ``>= v`` (``v`` of shape ``(B, 1)``), shape ``(B,)``."""
        return torch.searchsorted(self.neg, (-v).to(self.neg.dtype), right=True).squeeze(-1)


def sort_rows_descending(x: torch.Tensor) -> SortedRows:
    """Sort each row of the 2-D tensor ``x`` (no NaN) in descending order, values only.

    Under ``torch.compile`` every device takes ``torch.sort`` (numpy leaves torch, and
    ``fullgraph=True`` cannot trace it); the same values.
    """
    x = x.detach()
    wide = x if x.dtype in _NUMPY_SORTS else x.float()  # exact widening
    if x.device.type == "cpu" and not tracing():
        neg = scratch("sort_neg", wide.shape, wide.dtype, "cpu")
        neg_np = neg.numpy()
        np.negative(wide.numpy(), out=neg_np)  # negation is exact; -inf becomes +inf and sorts last
        neg_np.sort(axis=-1)
        values = torch.neg(neg, out=scratch("sort_values", wide.shape, wide.dtype, "cpu"))
    else:
        neg = torch.sort(torch.neg(wide), dim=-1).values
        values = torch.neg(neg)
    return SortedRows(values if values.dtype == x.dtype else values.to(x.dtype), neg)

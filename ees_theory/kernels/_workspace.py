"""Reusable scratch buffers for the CPU kernels' intermediate arrays.

A fresh multi-megabyte tensor on CPU is mapped page by page on first touch: for the kernels'
elementwise passes that costs more than the arithmetic (measured at 8 x 131072 float32: an
out-of-place ``exp`` about 3x an in-place one). The kernels therefore write their intermediates
into buffers kept per thread and per named slot, and allocate only what they return.

Rules that keep this safe: a slot's contents live only within one kernel call; nothing backed by
a slot is ever returned to the caller; each thread has its own buffers. CUDA tensors are left to
torch's caching allocator (``scratch`` allocates normally there), and so are buffers larger than
:data:`MAX_ELEMENTS`. :func:`release` drops the buffers of the calling thread.

>>> import torch
>>> a = scratch("doc", (2, 3), torch.float32, "cpu")
>>> b = scratch("doc", (3,), torch.float32, "cpu")
>>> a.shape, b.shape, a.data_ptr() == b.data_ptr()
(torch.Size([2, 3]), torch.Size([3]), True)
>>> release()
"""

from __future__ import annotations

import math
import threading

import torch

__all__ = ["scratch", "release", "MAX_ELEMENTS"]

#: Buffers above this many elements are not kept (allocated per call instead).
MAX_ELEMENTS = 1 << 23

_local = threading.local()


def scratch(slot: str, shape, dtype: torch.dtype, device) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` and ``dtype`` for intermediate results, reused
    between calls in the same thread under the name ``slot``."""
    numel = math.prod(shape)
    dev = torch.device(device)
    if dev.type != "cpu" or numel > MAX_ELEMENTS:
        return torch.empty(shape, dtype=dtype, device=dev)
    cache = getattr(_local, "buffers", None)
    if cache is None:
        cache = _local.buffers = {}
    key = (slot, dtype)
    buf = cache.get(key)
    if buf is None or buf.numel() < numel:
        buf = cache[key] = torch.empty(numel, dtype=dtype)
    return buf[:numel].view(shape)


def release() -> None:
    """Drop the calling thread's scratch buffers."""
    _local.buffers = {}

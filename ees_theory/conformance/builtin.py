"""Built-in ports: the toolkit's float variants (``ees_theory.torch``) as ports, per dtype and
accumulation mode, so the harness checks them exactly as it checks anyone else's port.

Rows arrive as numpy arrays of the dtype under test (bfloat16 as float32 arrays of exact bf16
values, converted to ``torch.bfloat16`` here). A dynatemp row of at most one entry is a no-op in
llama.cpp; the wrapper answers ``None`` for it, as the port protocol asks.

>>> BUILTIN_DTYPES
('float64', 'float32', 'float16', 'bfloat16')
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import tolerances
from .codec import check_dtype

__all__ = ["builtin_functions", "builtin_port", "BUILTIN_DTYPES"]

#: dtypes the built-in variants are checked in
BUILTIN_DTYPES = ("float64", "float32", "float16", "bfloat16")


def _tensor(rows: np.ndarray, dtype: str):
    import torch

    t = torch.from_numpy(np.ascontiguousarray(rows))
    return t.to(torch.bfloat16) if dtype == "bfloat16" else t


def builtin_functions(method: str, dtype: str, accumulate: str) -> tuple[Callable, Callable]:
    """One-row and batched callables for ``method`` wrapping ``ees_theory.torch``.

    >>> one, batched = builtin_functions("ees", "bfloat16", "float32")
    >>> one(np.array([2.0, 1.0, 0.0], dtype=np.float32), 1.0).tolist()
    [True, False, False]
    """
    check_dtype(dtype)
    if accumulate not in tolerances.ACCUMULATE:
        raise ValueError(f"accumulate must be one of {', '.join(tolerances.ACCUMULATE)}; got {accumulate!r}")
    try:
        import torch

        from .. import torch as kernels
    except ImportError as exc:
        raise ImportError(f"the built-in float variants need ees_theory.torch (and torch): {exc}") from None

    if method == "ees":
        def batched(rows, temperature):
            temps = np.unique(temperature)
            out = np.zeros(rows.shape, dtype=bool)
            for t in temps:  # the kernel takes one temperature per call
                sel = temperature == t
                out[sel] = kernels.ees_mask(_tensor(rows[sel], dtype), float(t), accumulate=accumulate).cpu().numpy()
            return out

        def one(row, temperature):
            return kernels.ees_mask(_tensor(row, dtype), temperature, accumulate=accumulate).cpu().numpy()

    elif method == "edt":
        def one(row, T0, theta, N):
            return float(kernels.edt_temperature(_tensor(row, dtype), T0, theta, N, accumulate=accumulate).to(torch.float64).item())

        def batched(rows, T0, theta, N):
            return [one(r, a, b, c) for r, a, b, c in zip(rows, T0, theta, N)]

    elif method == "dynatemp":
        def one(row, temp, delta, exponent):
            if delta > 0 and row.shape[-1] <= 1:
                return None  # llama.cpp applies nothing to a single-entry array
            return float(kernels.dynatemp_temperature(_tensor(row, dtype), temp, delta, exponent, accumulate=accumulate).to(torch.float64).item())

        def batched(rows, temp, delta, exponent):
            return [one(r, a, b, c) for r, a, b, c in zip(rows, temp, delta, exponent)]

    else:
        raise ValueError(f"no built-in variant for method {method!r}")
    return one, batched


def builtin_port(method: str, dtype: str, accumulate: str = "float32", timeout: float | None = None):
    """The built-in variant of ``method`` as an in-process port named ``builtin:<dtype>:<accumulate>``.

    >>> builtin_port("dynatemp", "float16", "input").name
    'builtin:float16:input'
    """
    from .ports import InProcessPort

    one, batched = builtin_functions(method, dtype, accumulate)
    return InProcessPort(one, f"builtin:{dtype}:{accumulate}", batched, timeout)

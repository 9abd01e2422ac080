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
from ..spec.formats import DTYPES, check_dtype
from ..core.records import record
from ..running.ports import InProcessPort, register_scheme
from ..judging.truncation import TRUNCATION_METHODS

__all__ = ["builtin_functions", "builtin_port", "BUILTIN_DTYPES", "register"]

#: dtypes the built-in variants are checked in
BUILTIN_DTYPES = DTYPES


def _tensor(rows: np.ndarray, dtype: str, device: str = "cpu"):
    import torch

    t = torch.from_numpy(np.ascontiguousarray(rows))
    if device != "cpu":
        t = t.to(device)
    return t.to(torch.bfloat16) if dtype == "bfloat16" else t


def builtin_functions(method: str, dtype: str, accumulate: str, policy: str = "paper", device: str = "cpu") -> tuple[Callable, Callable]:
    """One-row and batched callables for ``method`` wrapping ``ees_theory.torch``; a truncation
    sampler follows ``policy`` (``truncate_mask``; mirostat: ``mirostat_step``). The rows go to
    the torch ``device`` (``"cuda"`` checks the GPU kernels) and the answers come back to the host.

    >>> one, batched = builtin_functions("ees", "bfloat16", "float32")
    >>> one(np.array([2.0, 1.0, 0.0], dtype=np.float32), 1.0).tolist()
    [True, False, False]
    >>> one, _ = builtin_functions("top-k", "float16", "input", "transformers")
    >>> one(np.array([1.0, 3.0, 3.0, 0.0], dtype=np.float16), 1.0, k=1, min_tokens_to_keep=1).tolist()
    [False, True, True, False]
    """
    check_dtype(dtype)
    if accumulate not in tolerances.ACCUMULATE:
        raise ValueError(f"accumulate must be one of {', '.join(tolerances.ACCUMULATE)}; got {accumulate!r}")
    try:
        import torch

        from .. import torch as kernels
    except ImportError as exc:
        raise ImportError(f"the built-in float variants need ees_theory.torch (and torch): {exc}") from None

    if method in TRUNCATION_METHODS:
        return _truncation_functions(kernels, method, dtype, accumulate, policy, device)
    if method not in _BUILDERS:
        raise ValueError(f"no built-in variant for method {method!r}")
    return _BUILDERS[method](kernels, torch, dtype, accumulate, policy, device)


def _ees_functions(kernels, torch, dtype, accumulate, policy, device):
    def batched(rows, temperature):
        temps = np.unique(temperature)
        out = np.zeros(rows.shape, dtype=bool)
        for t in temps:  # the kernel takes one temperature per call
            sel = temperature == t
            out[sel] = kernels.ees_mask(_tensor(rows[sel], dtype, device), float(t), accumulate=accumulate).cpu().numpy()
        return out

    def one(row, temperature):
        return kernels.ees_mask(_tensor(row, dtype, device), temperature, accumulate=accumulate).cpu().numpy()

    return one, batched


def _edt_functions(kernels, torch, dtype, accumulate, policy, device):
    def one(row, T0, theta, N):
        return float(kernels.edt_temperature(_tensor(row, dtype, device), T0, theta, N, accumulate=accumulate).to(torch.float64).item())

    def batched(rows, T0, theta, N):
        return [one(r, a, b, c) for r, a, b, c in zip(rows, T0, theta, N)]

    return one, batched


def _dynatemp_functions(kernels, torch, dtype, accumulate, policy, device):
    def one(row, temp, delta, exponent):
        if delta > 0 and row.shape[-1] <= 1:
            return None  # llama.cpp applies nothing to a single-entry array
        return float(kernels.dynatemp_temperature(_tensor(row, dtype, device), temp, delta, exponent, accumulate=accumulate,
                                                  policy=policy).to(torch.float64).item())

    def batched(rows, temp, delta, exponent):
        return [one(r, a, b, c) for r, a, b, c in zip(rows, temp, delta, exponent)]

    return one, batched


def _quadratic_functions(kernels, torch, dtype, accumulate, policy, device):
    # computed in float32 (float64 for float64 rows) whatever the mode
    def one(row, smoothing_factor, smoothing_curve):
        return kernels.quadratic_logits(_tensor(row, dtype, device), smoothing_factor, smoothing_curve).to(torch.float64).cpu().numpy()

    def batched(rows, smoothing_factor, smoothing_curve):
        return [one(r, f, c) for r, f, c in zip(rows, smoothing_factor, smoothing_curve)]

    return one, batched


#: the built-in variants of the methods that are not truncation samplers
_BUILDERS = {"ees": _ees_functions, "edt": _edt_functions, "dynatemp": _dynatemp_functions, "quadratic": _quadratic_functions}


def _truncation_functions(kernels, method: str, dtype: str, accumulate: str, policy: str, device: str) -> tuple[Callable, Callable]:
    mirostat = record(method).stateful  # the port also returns the token and the new mu

    def one(row, temperature, **params):
        t = _tensor(row, dtype, device)
        if mirostat:
            mask, token, mu = kernels.mirostat_step(method, t, temperature, policy, accumulate, **params)
            return mask.cpu().numpy(), int(token), float(mu)
        return kernels.truncate_mask(method, t, temperature, policy, accumulate, **params).cpu().numpy()

    def batched(rows, temperature, **params):
        # the kernel takes scalar sampler parameters: one call per distinct parameter set
        # (mirostat's mu and u, and the temperature, go in as per-row tensors)
        import torch

        per_row = ("mu", "u") if mirostat else ()
        keys = [k for k in params if k not in per_row]
        groups: dict[tuple, list[int]] = {}
        for i in range(len(rows)):
            groups.setdefault(tuple(params[k][i].item() for k in keys), []).append(i)
        out = np.zeros(rows.shape, dtype=bool)
        tokens = np.zeros(len(rows), dtype=np.int64)
        mus = np.zeros(len(rows), dtype=np.float64)
        for values, idx in groups.items():
            sel = np.array(idx)
            scalar = dict(zip(keys, values))
            temp = torch.from_numpy(np.ascontiguousarray(temperature[sel])).to(device)
            t = _tensor(rows[sel], dtype, device)
            if mirostat:
                extra = {k: torch.from_numpy(np.ascontiguousarray(params[k][sel])).to(device) for k in per_row}
                mask, token, mu = kernels.mirostat_step(method, t, temp, policy, accumulate, **scalar, **extra)
                tokens[sel] = token.cpu().numpy()
                mus[sel] = mu.to(torch.float64).cpu().numpy()
            else:
                mask = kernels.truncate_mask(method, t, temp, policy, accumulate, **scalar)
            out[sel] = mask.cpu().numpy()
        return (out, tokens, mus) if mirostat else out

    return one, batched


def builtin_port(method: str, dtype: str, accumulate: str = "float32", timeout: float | None = None, policy: str = "paper"):
    """The built-in variant of ``method`` as an in-process port named ``builtin:<dtype>:<accumulate>``.

    >>> builtin_port("dynatemp", "float16", "input").name
    'builtin:float16:input'
    """
    one, batched = builtin_functions(method, dtype, accumulate, policy)
    return InProcessPort(one, f"builtin:{dtype}:{accumulate}", batched, timeout)


def _open_builtin(rest: str, spec: str, method: str, dtype: str, *, isolate: bool, timeout: float | None, policy: str):
    # a built-in variant runs in process: it is the toolkit's own code, there is nothing to isolate
    return builtin_port(method, dtype, rest or "float32", timeout=timeout, policy=policy)


def register() -> None:
    """Register the port scheme ``builtin`` (``builtin:ACCUMULATE``): the toolkit's own kernels as a
    port. Idempotent; ``ees_theory.harness``, ``ees_theory.engines`` and the command line call it.

    >>> from ees_theory.running.ports import PORT_SCHEMES
    >>> register(); "builtin" in PORT_SCHEMES
    True
    """
    register_scheme("builtin", _open_builtin)

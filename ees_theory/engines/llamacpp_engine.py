"""llama.cpp's samplers, driven through llama-cpp-python's C API on a hand-built candidate array.

No model is loaded: the filter samplers are pure CPU code on a ``llama_token_data_array`` (as
llama.cpp's own ``test-sampling`` drives them). Each call fills one ``llama_token_data`` per
token (``id = i``, ``logit`` = the float32 logit, ``p = 0``), builds a sampler *chain*
(``llama_sampler_chain_init``) and applies it with ``llama_sampler_apply``:

* truncation samplers (``top-k``, ``top-p``, ``min-p``, ``typical``, ``top-n-sigma``): the chain is
  ``temp(T) -> sampler``. llama.cpp's default chain puts temperature *last*; the harness defines
  truncation on ``softmax(logits / T)``, which is the chain a user gets with the sampler order
  ``temperature`` first (``--samplers`` puts it anywhere); at ``T = 1`` ``llama_sampler_init_temp``
  is a no-op. *Kept* = the tokens left in ``data[0:size]`` whose logit is not ``-inf``
  (``top-n-sigma`` masks with ``-inf`` instead of shrinking ``size``; ``-inf`` tokens have
  probability 0 under ``dist``).
* ``temperature``: the chain ``temp(T)``; the answer is each token's logit read back by id.
* ``dynatemp``: the chain ``temp_ext(temp, delta, exponent)``. The temperature it chose is not
  returned by the C API; the adapter reads it back as ``T = l_i / out_i`` from the token with the
  largest finite ``|l_i|`` (llama.cpp divides each logit by ``T`` in float). Where that is not
  observable it says so instead of guessing: a row with at most one finite logit gives the same
  array for every ``T`` (those cases are skipped and counted, see :func:`unobservable`); a row
  whose finite logits are all 0 is handed over as all 1 (the same distribution, exactly) so the
  division shows. ``delta > 0`` on a single-entry array is a no-op (answer ``None``); a greedy
  result (``T <= 0``: one finite logit left where there were several) reads as ``0.0``.

Logits are float32 in llama.cpp, so a row runs in float32, float16 or bfloat16 (all exact in
float32), never float64.

>>> fn = adapter("top-k", "float32")
>>> fn(np.array([0.0, 2.0, 1.0], dtype=np.float32), 1.0, k=2, min_tokens_to_keep=1).tolist()
[False, True, True]
>>> adapter("dynatemp", "float32")(np.zeros(2, dtype=np.float32), 1.0, 0.5, 1.0)   # H = ln 2 = H_max: T = 1.5
1.5
"""

from __future__ import annotations

import ctypes
import math
from typing import Callable

import numpy as np

from .registry import table_entry

__all__ = ["adapter", "version", "available", "unobservable", "SUPPORTED_METHODS", "SAMPLERS", "DTYPES"]

#: harness method -> llama.cpp sampler constructor and its arguments from the harness parameters
SAMPLERS = {
    "top-k": ("llama_sampler_init_top_k", lambda p: (int(p["k"]),)),
    "top-p": ("llama_sampler_init_top_p", lambda p: (float(p["p"]), int(p["min_tokens_to_keep"]))),
    "min-p": ("llama_sampler_init_min_p", lambda p: (float(p["min_p"]), int(p["min_tokens_to_keep"]))),
    "typical": ("llama_sampler_init_typical", lambda p: (float(p["mass"]), int(p["min_tokens_to_keep"]))),
    "top-n-sigma": ("llama_sampler_init_top_n_sigma", lambda p: (float(p["n"]),)),
    # the gate draws from the sampler's own generator (seed 0): only cases it cannot change run
    "xtc": ("llama_sampler_init_xtc", lambda p: (float(p["probability"]), float(p["threshold"]), int(p["min_tokens_to_keep"]), 0)),
}
SUPPORTED_METHODS = tuple(SAMPLERS) + ("temperature", "dynatemp")
#: dtypes whose values are exact in llama.cpp's float32 logits
DTYPES = ("float32", "float16", "bfloat16")

TOKEN_DTYPE = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")], align=True)


def version() -> str | None:
    try:
        import llama_cpp
    except ImportError:
        return None
    return f"llama-cpp-python {llama_cpp.__version__}"


def available() -> str | None:
    if version() is None:
        return ("not installed: pip install 'ees_theory[engines]' (llama-cpp-python compiles llama.cpp, "
                "about 10 minutes on 2 cores)")
    return None


def unobservable(row: np.ndarray, params: dict) -> str | None:
    """Why the answer to a case cannot be observed (the dynatemp temperature of ``row``, XTC's
    gate), or None.

    >>> unobservable(np.zeros(3), {"threshold": 0.1, "probability": 0.5, "u": 0.2})[:30]
    "XTC's gate draws from llama.cp"
    """
    if "probability" in params and 0 < params["probability"] < 1:
        return "XTC's gate draws from llama.cpp's own generator: only probability <= 0 or >= 1 fixes its outcome"
    if np.isfinite(row).sum() <= 1 and len(row) > 1 and params.get("delta", 0) > 0:
        return "dynatemp temperature unobservable: a row with one finite logit comes back the same for every T"
    return None


def _apply(row32: np.ndarray, samplers: list) -> np.ndarray:
    """Apply the chain of ``samplers`` (already constructed) to the row; the surviving
    ``data[0:size]`` as a structured array (ids and logits)."""
    import llama_cpp as L

    if TOKEN_DTYPE.itemsize != ctypes.sizeof(L.llama_token_data):  # pragma: no cover - ABI guard
        raise RuntimeError("llama_token_data layout differs from (int32 id, float logit, float p)")
    buf = np.zeros(len(row32), dtype=TOKEN_DTYPE)
    buf["id"] = np.arange(len(row32), dtype=np.int32)
    buf["logit"] = row32
    arr = L.llama_token_data_array(
        data=buf.ctypes.data_as(ctypes.POINTER(L.llama_token_data)), size=len(row32), selected=-1, sorted=False
    )
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    try:
        for s in samplers:
            L.llama_sampler_chain_add(chain, s)  # the chain owns (and frees) its samplers
        L.llama_sampler_apply(chain, ctypes.byref(arr))
        start = (ctypes.cast(arr.data, ctypes.c_void_p).value - buf.ctypes.data) // TOKEN_DTYPE.itemsize
        if not 0 <= start <= len(buf) or start + arr.size > len(buf):
            raise RuntimeError(f"llama.cpp left data[{start}:{start + arr.size}] outside the {len(buf)}-token array")
        return buf[start:start + arr.size].copy()
    finally:
        L.llama_sampler_free(chain)


def exact_float32(logits: np.ndarray) -> np.ndarray:
    """``logits`` as llama.cpp's float32 logits; ``ValueError`` when a value is not exact in float32.

    >>> exact_float32(np.array([0.5, -2.0])).dtype
    dtype('float32')
    """
    z = np.asarray(logits)
    out = z.astype(np.float32)
    if not np.array_equal(out.astype(np.float64), z.astype(np.float64)):
        raise ValueError("llama.cpp holds float32 logits; this row is not exact in float32")
    return out


def adapter(method: str, dtype: str, policy: str = "llama.cpp") -> Callable:
    """The port callable for ``method`` in ``dtype`` (see the module docstring)."""
    import llama_cpp as L

    if dtype not in DTYPES:
        raise ValueError(f"llama.cpp takes float32 logits: dtype {dtype} is not exact there (use {', '.join(DTYPES)})")

    def temp(t: float) -> list:
        return [] if t == 1.0 else [L.llama_sampler_init_temp(float(t))]

    if method in _OTHER_PORTS:
        return _OTHER_PORTS[method](L, dtype)
    init, args = table_entry(SAMPLERS, method, L, "llama.cpp adapter has no sampler", SUPPORTED_METHODS)

    def truncate(logits, temperature, **params):
        row = exact_float32(logits)
        left = _apply(row, temp(temperature) + [init(*args(params))])
        mask = np.zeros(len(row), dtype=bool)
        mask[left["id"][np.isfinite(left["logit"])]] = True
        return mask

    return truncate


def _temperature_port(L, dtype: str) -> Callable:
    """llama.cpp's temperature sampler alone: the scaled logits it leaves."""
    def scale(logits, temperature):
        row = exact_float32(logits)
        left = _apply(row, [L.llama_sampler_init_temp(float(temperature))])
        out = np.full(len(row), -np.inf)
        out[left["id"]] = left["logit"].astype(np.float64)
        return out

    return scale


def _dynatemp_port(L, dtype: str) -> Callable:
    """llama.cpp's ``temp_ext`` (dynamic temperature): the temperature it applied, read back from the logits."""
    def dynatemp(logits, temp_, delta, exponent):
        row = exact_float32(logits)
        finite = np.isfinite(row)
        if delta > 0 and len(row) <= 1:
            return None  # llama.cpp's temp_ext leaves a single candidate alone
        if finite.any() and not row[finite].any():
            row = np.where(finite, np.float32(1.0), row)  # all-zero logits: same distribution, T visible
        left = _apply(row, [L.llama_sampler_init_temp_ext(float(temp_), float(delta), float(exponent))])
        out = np.full(len(row), -np.inf)
        out[left["id"]] = left["logit"].astype(np.float64)
        alive = np.isfinite(out) & finite
        if finite.sum() > 1 and alive.sum() == 1 and row[finite].min() != row[finite].max():
            return 0.0  # greedy: every token but the first maximum set to -inf
        cand = np.flatnonzero(alive & (row != 0))
        if cand.size == 0:
            raise ValueError("dynatemp temperature unobservable for this row (no finite non-zero logit left)")
        i = int(cand[np.argmax(np.abs(row[cand]))])
        return float(row[i]) / float(out[i])

    return dynatemp


#: The methods llama.cpp runs through an entry point other than a truncation sampler.
_OTHER_PORTS = {"temperature": _temperature_port, "dynatemp": _dynatemp_port}

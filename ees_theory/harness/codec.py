"""Exact float I/O for the harness: hex floats, dtype names, casting into a dtype under test.

Every float that crosses a file or a pipe is written as a C99 hex float (``float.hex``), so a value
read back is the same binary number. ``inf``/``-inf``/``nan`` are spelled out.

>>> to_hex(0.1), from_hex("0x1.999999999999ap-4") == 0.1
('0x1.999999999999ap-4', True)
>>> from_hex("-inf"), to_hex(float("-inf"))
(-inf, '-inf')
>>> cast(np.array([1.0 + 2.0**-10, 70000.0]), "bfloat16").tolist()   # bf16 keeps 8 bits
[1.0, 70144.0]
>>> exact_in(np.array([0.5, -np.inf]), "float16"), exact_in(np.array([0.1]), "float16")
(True, False)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["DTYPES", "to_hex", "from_hex", "hex_list", "from_hex_list", "numpy_dtype", "cast", "exact_in"]

#: Dtypes a port can be checked in. bfloat16 rows travel as float32 arrays of exact bf16 values.
DTYPES = ("float64", "float32", "float16", "bfloat16")


def to_hex(x: float) -> str:
    """A float as a hex string that reads back bit for bit (``inf``, ``-inf``, ``nan`` spelled out).

    >>> to_hex(1.5), to_hex(float("nan"))
    ('0x1.8000000000000p+0', 'nan')
    """
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x.hex()


def from_hex(s: Any) -> float:
    """Read a hex float string, a decimal string, ``inf``/``-inf``/``nan``, or a JSON number.

    >>> from_hex("0x1.8p+1"), from_hex(2), from_hex("0.5")
    (3.0, 2.0, 0.5)
    """
    if isinstance(s, bool):
        raise TypeError("a boolean is not a float")
    if isinstance(s, numbers.Real):
        return float(s)
    if not isinstance(s, str):
        raise TypeError(f"expected a hex float string or a number, got {type(s).__name__}")
    t = s.strip().lower()
    try:
        return float.fromhex(t) if "0x" in t else float(t)
    except ValueError:
        raise ValueError(f"{s!r} is not a float (expected e.g. '0x1.8p+0', '-inf')") from None


def hex_list(values: Any) -> list[str]:
    """A 1-D array as a list of hex strings.

    >>> hex_list(np.array([0.5, -np.inf], dtype=np.float16))
    ['0x1.0000000000000p-1', '-inf']
    """
    return [to_hex(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def from_hex_list(items: Any) -> np.ndarray:
    """The inverse of :func:`hex_list`, as a float64 array.

    >>> from_hex_list(["0x1p-1", "-inf", 2]).tolist()
    [0.5, -inf, 2.0]
    """
    return np.array([from_hex(v) for v in items], dtype=np.float64)


def check_dtype(dtype: str) -> str:
    """Validate a dtype name (one of :data:`DTYPES`).

    >>> check_dtype("float8")
    Traceback (most recent call last):
    ...
    ValueError: dtype must be one of float64, float32, float16, bfloat16; got 'float8'
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return dtype


def numpy_dtype(dtype: str) -> type:
    """The numpy type rows of ``dtype`` are handed to a port in (bfloat16 travels as float32).

    >>> numpy_dtype("bfloat16").__name__, numpy_dtype("float16").__name__
    ('float32', 'float16')
    """
    check_dtype(dtype)
    return {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": np.float32}[dtype]


def _round_bf16(x32: np.ndarray) -> np.ndarray:
    # round-to-nearest-even on the upper 16 bits of the float32 pattern; inf stays inf
    bits = x32.astype(np.float32).view(np.uint32).astype(np.uint64)
    finite = np.isfinite(x32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = np.where(finite, rounded, bits).astype(np.uint32).view(np.float32)
    return out


def cast(values: Any, dtype: str) -> np.ndarray:
    """Round float64 values into ``dtype`` (to nearest) and return them in the port's numpy type.

    Overflow is not hidden: a finite value too large for the dtype becomes ``inf`` here, and
    :func:`exact_in` reports it.
    """
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        if dtype == "bfloat16":
            return _round_bf16(arr.astype(np.float32))
        return arr.astype(numpy_dtype(dtype))


def exact_in(values: Any, dtype: str) -> bool:
    """Whether every value is exactly representable in ``dtype`` (``-inf`` counts as exact)."""
    arr = np.asarray(values, dtype=np.float64)
    back = cast(arr, dtype).astype(np.float64)
    return bool(np.array_equal(back, arr))

"""Number formats: the dtype list, the hex-float codec, and rounding into fp16/bf16.

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
from typing import Any, Iterable

import numpy as np

__all__ = [
    "DTYPES",
    "check_dtype",
    "numpy_dtype",
    "largest_finite",
    "to_hex",
    "from_hex",
    "hex_list",
    "from_hex_list",
    "round_to_dtype",
    "cast",
    "exact_in",
]

#: The formats the toolkit reads, checks ports in and rounds to, widest first. bfloat16 rows
#: travel as float32 arrays of exact bf16 values (numpy has no bfloat16).
DTYPES = ("float64", "float32", "float16", "bfloat16")


def check_dtype(dtype: Any) -> str:
    """Validate a dtype name (one of :data:`DTYPES`).

    Parameters
    ----------
    dtype : object
        The name to check.

    Returns
    -------
    str
        ``dtype`` itself.

    Raises
    ------
    ValueError
        ``dtype`` is not one of :data:`DTYPES`.

    Examples
    --------
    >>> check_dtype("float8")
    Traceback (most recent call last):
    ...
    ValueError: dtype must be one of float64, float32, float16, bfloat16; got 'float8'
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return dtype


def numpy_dtype(dtype: str) -> type:
    """The numpy type rows of ``dtype`` are held in (bfloat16 travels as float32).

    Parameters
    ----------
    dtype : str
        One of :data:`DTYPES`: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.

    Returns
    -------
    type
        ``numpy.float64``, ``numpy.float32`` or ``numpy.float16`` (``numpy.float32`` for bfloat16).

    Raises
    ------
    ValueError
        An unknown ``dtype``.

    Examples
    --------
    >>> numpy_dtype("bfloat16").__name__, numpy_dtype("float16").__name__
    ('float32', 'float16')
    """
    check_dtype(dtype)
    return {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": np.float32}[dtype]


def largest_finite(dtype: str) -> float:
    """The largest finite value of ``dtype``: ``(2 - 2**(1 - p)) * 2**emax`` with ``p`` the
    significand bits.

    Parameters
    ----------
    dtype : str
        One of :data:`DTYPES`.

    Returns
    -------
    float
        The largest finite value (65504 for float16).

    Raises
    ------
    ValueError
        An unknown ``dtype``.

    Examples
    --------
    >>> largest_finite("float16"), largest_finite("bfloat16") == (2 - 2**-7) * 2**127
    (65504.0, True)
    """
    check_dtype(dtype)
    p, emax = {"float64": (53, 1023), "float32": (24, 127), "float16": (11, 15), "bfloat16": (8, 127)}[dtype]
    return (2.0 - 2.0 ** (1 - p)) * 2.0**emax


# ---- the hex codec ------------------------------------------------------------------------------
def to_hex(x: float) -> str:
    """A float as a hex string that reads back bit for bit (``inf``, ``-inf``, ``nan`` spelled out).

    Parameters
    ----------
    x : float
        Any float (or a value ``float()`` accepts).

    Returns
    -------
    str
        ``float.hex(x)``, or ``"inf"``, ``"-inf"``, ``"nan"``.

    Examples
    --------
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

    Parameters
    ----------
    s : str or real number
        ``"0x1.8p+1"``, ``"2.5"``, ``"inf"``, ``"-inf"``, ``"nan"`` (any case, spaces stripped) or a
        number.

    Returns
    -------
    float
        The value.

    Raises
    ------
    ValueError
        A string that is not a float.
    TypeError
        A boolean, or something neither a string nor a real number.

    Examples
    --------
    >>> from_hex("0x1.8p+1"), from_hex(2), from_hex("0.5")
    (3.0, 2.0, 0.5)
    >>> from_hex("one")
    Traceback (most recent call last):
    ...
    ValueError: 'one' is not a float (expected e.g. '0x1.8p+0', '-inf')
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
    """An array (flattened) as a list of hex strings.

    Parameters
    ----------
    values : array_like
        Real values of any float dtype (widened to float64, which is exact).

    Returns
    -------
    list of str
        One :func:`to_hex` string per value, in C order.

    Examples
    --------
    >>> hex_list(np.array([0.5, -np.inf], dtype=np.float16))
    ['0x1.0000000000000p-1', '-inf']
    """
    return [to_hex(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def from_hex_list(items: Iterable[Any]) -> np.ndarray:
    """The inverse of :func:`hex_list`, as a float64 array.

    Parameters
    ----------
    items : iterable
        Strings or numbers, each read by :func:`from_hex`.

    Returns
    -------
    numpy.ndarray of float64
        The values, one axis.

    Raises
    ------
    ValueError
        An item that is not a float (see :func:`from_hex`).
    TypeError
        An item that is a boolean, or neither a string nor a real number.

    Examples
    --------
    >>> from_hex_list(["0x1p-1", "-inf", 2]).tolist()
    [0.5, -inf, 2.0]
    """
    return np.array([from_hex(v) for v in items], dtype=np.float64)


# ---- rounding into a format ---------------------------------------------------------------------
def _round_bf16_bits(x32: np.ndarray) -> np.ndarray:
    """bfloat16 patterns (as float32 values) of float32 values, round to nearest, ties to even.

    bfloat16 is the upper half of a float32: adding ``0x7FFF`` plus the lowest kept bit to the
    pattern and clearing the low 16 bits is round-half-to-even on the dropped bits; a carry runs
    into the exponent as it should (up to ``inf`` on overflow). ``inf`` and ``nan`` pass unchanged.
    """
    bits = np.ascontiguousarray(x32, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return np.where(np.isfinite(x32), rounded, bits).astype(np.uint32).view(np.float32)


def cast(values: Any, dtype: str) -> np.ndarray:
    """Round float64 values into ``dtype`` and return them in :func:`numpy_dtype` (the one rounding).

    float64, float32 and float16 are IEEE round-to-nearest-even of the float64 value. bfloat16 is
    rounded in two steps, **float64 -> float32 -> bfloat16**, each to nearest even: a double
    rounding, which is what torch does (``tensor.to(torch.bfloat16)`` from float64 goes through
    float32), and which can differ from one correct rounding of the float64 value by one bf16 ulp
    when the float64 lies just off a bf16 midpoint. Overflow is not hidden: a finite value too large
    for the dtype becomes ``inf`` here, and :func:`exact_in` reports it.

    Parameters
    ----------
    values : array_like
        Real values, read as float64.
    dtype : str
        One of :data:`DTYPES`: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.

    Returns
    -------
    numpy.ndarray
        The rounded values, in :func:`numpy_dtype` of ``dtype`` (float32 holds bfloat16); a finite
        value beyond the dtype's range becomes ``+-inf``.

    Raises
    ------
    ValueError
        An unknown ``dtype``.

    Examples
    --------
    >>> cast(np.array([1.0 + 2.0**-8 + 2.0**-40]), "bfloat16").tolist()   # float32 ties, then even
    [1.0]
    >>> cast(np.array([70000.0]), "float16").tolist()
    [inf]
    """
    check_dtype(dtype)
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        if dtype == "bfloat16":
            return _round_bf16_bits(arr.astype(np.float32))
        return arr.astype(numpy_dtype(dtype))


def round_to_dtype(values: Any, dtype: str) -> np.ndarray:
    """``cast``, read back as float64: the values ``dtype`` would hold.

    Parameters
    ----------
    values : array_like
        Real values, read as float64.
    dtype : str
        One of :data:`~ees_theory.spec.formats.DTYPES`: ``"float64"``, ``"float32"``,
        ``"float16"`` or ``"bfloat16"``.

    Returns
    -------
    numpy.ndarray of float64
        The values after rounding into ``dtype`` (see :func:`~ees_theory.spec.formats.cast`).

    Raises
    ------
    ValueError
        An unknown ``dtype``.

    Examples
    --------
    >>> round_to_dtype(np.array([1.0 + 2.0**-9, -np.inf]), "bfloat16").tolist()
    [1.0, -inf]
    >>> round_to_dtype(np.array([0.1]), "float16").tolist()
    [0.0999755859375]
    """
    return cast(values, dtype).astype(np.float64)


def exact_in(values: Any, dtype: str) -> bool:
    """Whether every value is exactly representable in ``dtype`` (``-inf`` counts as exact).

    Parameters
    ----------
    values : array_like
        Real values, read as float64.
    dtype : str
        One of :data:`DTYPES`: ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.

    Returns
    -------
    bool
        ``True`` when rounding into ``dtype`` changes none of them (NaN never compares equal).

    Raises
    ------
    ValueError
        An unknown ``dtype``.

    Examples
    --------
    >>> exact_in([1.0 + 2.0**-7], "bfloat16"), exact_in([1.0 + 2.0**-8], "bfloat16")
    (True, False)
    """
    arr = np.asarray(values, dtype=np.float64)
    return bool(np.array_equal(round_to_dtype(arr, dtype), arr))

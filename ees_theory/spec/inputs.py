"""Input checks (specification §1): logits, probabilities, temperatures, ``min_tokens_to_keep``.

Every other module validates its inputs through the functions here, so that one input gets one
error message wherever it enters the toolkit:

* logits are the last axis of an array, leading axes are a batch; ``-inf`` masks a token;
  ``NaN`` and ``+inf`` are errors naming the row and the position; a row needs a finite logit;
* temperature ``tau`` is finite and ``> 0``; ``p = softmax(z / tau)``;
* sorted order is probability descending, ties broken by token id ascending.

>>> check_temperature(0.7)
0.7
>>> check_temperature(0.0)
Traceback (most recent call last):
...
ValueError: temperature must be a finite number > 0, got 0.0
>>> as_logits([1.0, float("nan")])
Traceback (most recent call last):
...
ValueError: logits contain NaN at position 1
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np

from .formats import from_hex

__all__ = [
    "as_logits",
    "as_probs",
    "check_temperature",
    "check_min_tokens_to_keep",
    "check_real",
    "check_int",
    "check_dps",
    "check_input_file",
    "probs_sum_tolerance",
    "sorted_order",
    "row_label",
]

_FLOAT_KINDS = (np.float16, np.float32, np.float64)


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


#: nested lists deeper than this are refused (a batch of rows needs a few axes, not hundreds)
_MAX_NESTING = 32
#: Element types a list is read from in one step (Python floats and numpy float64 are binary64).
_PLAIN_FLOATS = frozenset({float, np.float64})


def _to_numpy(values: Any, name: str, depth: int = 0) -> np.ndarray:
    """Read ``values`` as a numpy array without changing any value.

    Torch tensors are accepted without importing torch here: bfloat16 is widened to float32,
    which is exact. Hex-float strings (``"0x1.8p+0"``) and decimal strings are accepted in lists.
    """
    module = type(values).__module__ or ""
    if module.startswith("torch") and hasattr(values, "detach"):
        t = values.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        values = t.numpy()
    if isinstance(values, np.ndarray):
        arr = values
    else:
        if isinstance(values, (str, bytes)):
            raise TypeError(f"{name} must be a sequence of numbers, got a string")
        if np.isscalar(values):
            raise TypeError(f"{name} must be a row (a sequence or an array of numbers), got the scalar {values!r}")
        try:
            seq = list(values)
        except TypeError:
            raise TypeError(f"{name} must be an array or a sequence of numbers, got {type(values).__name__}") from None
        kinds = set(map(type, seq))  # one C-level pass: a plain list of floats needs no parsing
        if kinds and kinds <= _PLAIN_FLOATS:
            arr = np.array(seq, dtype=np.float64)  # each element is a binary64 already: exact
        elif seq and all(isinstance(v, (list, tuple, np.ndarray)) for v in seq):
            if depth >= _MAX_NESTING:
                raise ValueError(f"{name} is nested more than {_MAX_NESTING} lists deep")
            rows = [_to_numpy(v, name, depth + 1) for v in seq]
            shapes = {r.shape for r in rows}
            if len(shapes) > 1:
                raise ValueError(f"{name} has rows of different shapes {sorted(shapes)[:4]} (ragged); every row needs the same length")
            arr = np.asarray(rows)
        else:
            arr = np.asarray([_parse_scalar(v, name, i) for i, v in enumerate(seq)], dtype=np.float64)
    if arr.dtype == object:
        raise TypeError(f"{name} must have a numeric dtype, got object (ragged rows?)")
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must be numeric, got a boolean array")
    if arr.dtype.kind in "iu":
        big = np.abs(arr.astype(object)).max() if arr.size else 0
        if big > 2**53:
            raise ValueError(f"{name}: integers above 2**53 cannot be read exactly as floats")
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "f":
        if arr.dtype.type not in _FLOAT_KINDS:
            raise TypeError(f"{name} dtype {arr.dtype} is not supported (float16/32/64, or bfloat16 tensors)")
    else:
        raise TypeError(f"{name} must be real floating point, got dtype {arr.dtype}")
    return arr


def _parse_scalar(v: Any, name: str, i: int) -> float:
    if isinstance(v, str):
        try:
            return from_hex(v)
        except ValueError:
            raise ValueError(f"{name}[{i}] = {v!r} is not a number") from None
    if isinstance(v, np.floating):
        return float(v)
    if _is_number(v):
        if isinstance(v, numbers.Integral) and abs(int(v)) > 2**53:
            raise ValueError(f"{name}[{i}] = {v} cannot be read exactly as a float")
        return float(v)
    raise TypeError(f"{name}[{i}] must be a real number, got {type(v).__name__}")


def row_label(index: tuple[int, ...]) -> str:
    """`` in row i`` for an error message about a batch row (empty for a single row).

    Parameters
    ----------
    index : tuple of int
        The batch index of the row (empty for a single row).

    Returns
    -------
    str
        ``""``, ``" in row i"`` or ``" in row (i, j, ...)"``.
    """
    return "" if not index else f" in row {index[0] if len(index) == 1 else index}"


def as_logits(logits: Any, name: str = "logits") -> np.ndarray:
    """Validate logits (specification §1) and return them as a numpy array of their own float dtype.

    The values are never changed: float16/float32 stay as they are, so the exact reference can read
    each one as the binary number it is. The last axis is the vocabulary; leading axes are a batch.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        float16/32/64 (bfloat16 tensors too), integers up to ``2**53``, or sequences of numbers and
        hex or decimal strings; the last axis is the vocabulary. ``-inf`` masks a token; every row
        needs a finite entry.
    name : str
        What error messages call the argument (default ``"logits"``).

    Returns
    -------
    numpy.ndarray
        The values unchanged, in their own float dtype (bfloat16 widened to float32, integers to
        float64).

    Raises
    ------
    ValueError
        A scalar, an empty vocabulary axis, NaN or ``+inf``, a row with no finite entry, ragged rows.
    TypeError
        A string, a non-numeric or boolean array, or an unsupported dtype.

    Examples
    --------
    >>> as_logits([0.0, -float("inf"), 2.5]).tolist()
    [0.0, -inf, 2.5]
    >>> as_logits([[1.0, 2.0], [3.0, float("inf")]])
    Traceback (most recent call last):
    ...
    ValueError: logits contain +inf in row 1 at position 1
    """
    arr = _to_numpy(logits, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (the vocabulary), got a scalar")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} is empty: the vocabulary axis has length 0")
    bad_nan = np.isnan(arr)
    bad_inf = np.isposinf(arr)
    for mask, what in ((bad_nan, "NaN"), (bad_inf, "+inf")):
        if mask.any():
            where = tuple(int(i) for i in np.argwhere(mask)[0])
            raise ValueError(f"{name} contain {what}{row_label(where[:-1])} at position {where[-1]}")
    finite_rows = np.isfinite(arr).any(axis=-1)
    if not np.all(finite_rows):
        where = tuple(int(i) for i in np.argwhere(~finite_rows)[0]) if arr.ndim > 1 else ()
        raise ValueError(f"{name}{row_label(where)} has no finite logit (every token is masked)")
    return arr


def probs_sum_tolerance(n: int, dtype: np.dtype) -> float:
    """Tolerance on ``|sum(p) - 1|`` for probabilities given directly.

    ``n * eps(dtype)`` bounds the rounding of a recursive sum of ``n`` non-negative terms that each
    carry a relative error of at most one unit; it is floored at ``1e-12`` and capped at ``1e-2`` so
    that a row which is simply not normalised is still rejected.

    Parameters
    ----------
    n : int
        The number of entries of a row.
    dtype : numpy.dtype
        The probabilities' float dtype.

    Returns
    -------
    float
        ``n * eps(dtype)``, clamped to ``[1e-12, 1e-2]``.

    Examples
    --------
    >>> probs_sum_tolerance(3, np.dtype(np.float64))
    1e-12
    """
    eps = float(np.finfo(dtype).eps)
    return float(min(1e-2, max(1e-12, n * eps)))


def as_probs(probs: Any, name: str = "probs", sum_tolerance: float | None = None) -> np.ndarray:
    """Validate probabilities given directly (specification §1).

    Entries must be finite and ``>= 0``, each row must have a positive entry and sum to 1 within
    ``sum_tolerance`` (default :func:`probs_sum_tolerance`).

    Parameters
    ----------
    probs : array_like or torch.Tensor
        Probabilities, the last axis one distribution.
    name : str
        What error messages call the argument (default ``"probs"``).
    sum_tolerance : float or None
        The largest ``|sum - 1|`` accepted, ``>= 0``; ``None`` (the default) takes
        :func:`probs_sum_tolerance` of the row length and dtype.

    Returns
    -------
    numpy.ndarray
        The values unchanged.

    Raises
    ------
    ValueError
        A scalar, an empty axis, a non-finite or negative entry, a row that does not sum to 1, or a
        negative ``sum_tolerance``.
    TypeError
        A non-numeric array or ``sum_tolerance``.

    Examples
    --------
    >>> as_probs([0.5, 0.3, 0.2]).tolist()
    [0.5, 0.3, 0.2]
    >>> as_probs([0.5, 0.6])
    Traceback (most recent call last):
    ...
    ValueError: probs sum to 1.1 (|sum - 1| > 1e-12): not a probability distribution
    """
    arr = _to_numpy(probs, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one axis, got a scalar")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} is empty: the vocabulary axis has length 0")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contain a non-finite value ({arr[where]}){row_label(where[:-1])} at position {where[-1]}")
    neg = arr < 0
    if neg.any():
        where = tuple(int(i) for i in np.argwhere(neg)[0])
        raise ValueError(f"{name} contain a negative value ({arr[where]}){row_label(where[:-1])} at position {where[-1]}")
    if sum_tolerance is None:
        tol = probs_sum_tolerance(arr.shape[-1], arr.dtype)
    elif (tol := check_real(sum_tolerance, "sum_tolerance")) < 0:  # NaN would accept any row
        raise ValueError(f"sum_tolerance must be >= 0, got {sum_tolerance!r}")
    sums = np.sum(arr.astype(np.float64), axis=-1)
    off = np.abs(np.atleast_1d(sums) - 1.0) > tol
    if off.any():
        r = int(np.argwhere(off)[0][0])
        s = float(np.atleast_1d(sums)[r])
        row = f" (row {r})" if arr.ndim > 1 else ""
        raise ValueError(f"{name}{row} sum to {s:.17g} (|sum - 1| > {tol:g}): not a probability distribution")
    return arr


def check_temperature(temperature: Any, name: str = "temperature") -> float:
    """A temperature must be a finite real number ``> 0`` (specification §1).

    Parameters
    ----------
    temperature : object
        The value to check.
    name : str
        What the message calls it (default ``"temperature"``).

    Returns
    -------
    float
        The temperature as a float.

    Raises
    ------
    TypeError
        Not a real number, or a bool.
    ValueError
        Not finite, or ``<= 0``.
    """
    if not _is_number(temperature):
        raise TypeError(f"{name} must be a real number, got {type(temperature).__name__}")
    t = _to_float(temperature)
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {_short(temperature)}")
    return t


def _to_float(x: Any) -> float:
    """``float(x)``, with an integer beyond float64's range read as the infinity it rounds to
    (``float`` raises instead), so the caller's finiteness check names it."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else f"{text[:12]}...({len(text)} digits)"


def check_min_tokens_to_keep(m: Any) -> int:
    """``min_tokens_to_keep`` is an integer ``>= 1``.

    Parameters
    ----------
    m : int
        ``min_tokens_to_keep``.

    Returns
    -------
    int
        ``m`` as a Python ``int``.

    Raises
    ------
    TypeError
        Not an integer, or a bool.
    ValueError
        ``m < 1``.
    """
    if isinstance(m, bool) or not isinstance(m, numbers.Integral):
        raise TypeError(f"min_tokens_to_keep must be an int, got {type(m).__name__}")
    if m < 1:
        raise ValueError(f"min_tokens_to_keep must be >= 1, got {m}")
    return int(m)


def check_input_file(path: Any, what: str) -> Path:
    """``path`` names an existing regular file (``what`` says what it should hold): a directory,
    a FIFO (which would block the read), a device such as ``/dev/zero`` (which never ends) or a
    missing path is refused before anything is read. Symbolic links are followed.

    Parameters
    ----------
    path : str or os.PathLike
        The path to check.
    what : str
        What the file should hold, for the message (e.g. ``"a .json file"``).

    Returns
    -------
    pathlib.Path
        ``Path(path)``.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        A directory, or not a regular file.

    Examples
    --------
    >>> check_input_file(".", "a .json file")
    Traceback (most recent call last):
    ...
    ValueError: . is a directory, not a .json file
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if p.is_dir():
        raise ValueError(f"{path} is a directory, not {what}")
    if not p.is_file():
        raise ValueError(f"{path} is not a regular file (a FIFO, a device or a socket), not {what}")
    return p


def check_int(x: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    """An integer (not a bool) ``>= minimum`` (and ``<= maximum``); ``name`` is what the message calls it.

    Parameters
    ----------
    x : object
        The value to check.
    name : str
        What the message calls it.
    minimum : int
        The smallest value accepted.
    maximum : int or None
        The largest value accepted (default ``None``: no limit).

    Returns
    -------
    int
        ``x`` as a Python ``int``.

    Raises
    ------
    TypeError
        ``x`` is not an integer, or is a bool.
    ValueError
        ``x`` outside ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int(2.5, "dps", 1)
    Traceback (most recent call last):
    ...
    TypeError: dps must be an int, got float
    >>> check_int(0, "dps", 1)
    Traceback (most recent call last):
    ...
    ValueError: dps must be >= 1, got 0
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    if x < minimum or (maximum is not None and x > maximum):
        raise ValueError(f"{name} must be >= {minimum}" + ("" if maximum is None else f" and <= {maximum}") + f", got {_short(x)}")
    return int(x)


#: the most digits a reference value is asked for: the precision ladder tops at 8192 bits
#: (2466 digits), and this leaves room for ``exact_curve``, which works at ``dps`` directly
MAX_DPS = 10_000


def check_dps(dps: Any) -> int:
    """A number of correct decimal digits: an int in ``[1, MAX_DPS]``.

    Parameters
    ----------
    dps : int
        Correct decimal digits.

    Returns
    -------
    int
        ``dps``.

    Raises
    ------
    ValueError
        Outside ``[1, MAX_DPS]`` (``MAX_DPS`` is 10000).
    TypeError
        Not an integer (a bool is refused).

    Examples
    --------
    >>> check_dps(30)
    30
    """
    return check_int(dps, "dps", 1, MAX_DPS)


def check_real(x: Any, name: str) -> float:
    """A finite real number (not a bool), as a float; ``name`` is what the message calls it.

    Parameters
    ----------
    x : object
        The value to check (a real number or a numpy scalar).
    name : str
        What the message calls it.

    Returns
    -------
    float
        ``x`` as a float.

    Raises
    ------
    TypeError
        Not a real number, or a bool.
    ValueError
        NaN or infinite.

    Examples
    --------
    >>> check_real(2, "k")
    2.0
    """
    if not _is_number(x):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = _to_float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {_short(x)}")
    return v


def sorted_order(weights: np.ndarray) -> np.ndarray:
    """Token ids in the canonical order: weight descending, ties by id ascending (specification §1).

    ``weights`` may be logits or probabilities (the order is the same). Masked entries (``-inf``
    logits, zero probabilities) sort last, still by id.

    Parameters
    ----------
    weights : numpy.ndarray
        Logits or probabilities, the last axis the vocabulary (no NaN).

    Returns
    -------
    numpy.ndarray of int
        The token ids of each row in the canonical order, same shape.

    Examples
    --------
    >>> sorted_order(np.array([1.0, 3.0, 3.0, -np.inf, 2.0])).tolist()
    [1, 2, 4, 0, 3]
    >>> sorted_order(np.array([[0.0, -0.0, 1.0], [2.0, 2.0, 2.0]])).tolist()   # -0 ties with 0
    [[2, 0, 1], [0, 1, 2]]
    """
    neg = -np.asarray(weights)  # ascending order of the negation (exact) is descending weight
    # numpy's default argsort (vectorised where the CPU allows) is several times faster than its
    # stable sort, but leaves tied values in no particular order: where ties occur, a second sort
    # on the unique integer key (run of equal values, id) puts each run's ids in ascending order
    order = np.argsort(neg, axis=-1)
    ranked = np.take_along_axis(neg, order, axis=-1)
    new_run = ranked[..., 1:] != ranked[..., :-1]
    if new_run.all():
        return order
    n = neg.shape[-1]
    run = np.zeros(neg.shape, dtype=np.int64)
    np.cumsum(new_run, axis=-1, out=run[..., 1:])
    key = run * n + order
    key.sort(axis=-1)
    return key % n


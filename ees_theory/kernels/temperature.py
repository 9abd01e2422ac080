"""EDT and llama.cpp dynatemp temperatures as batched torch kernels (specification §3 and §4).

Both take the entropy of a row from :func:`~ees_theory.kernels._core.row_entropy`
(``H = log1p(C) + A / (1 + C)``, no sort, no cancellation) in the compute dtype: the input dtype
for ``accumulate="input"``, at least float32 for ``accumulate="float32"``. Temperatures are
returned in the compute dtype, shape ``logits.shape[:-1]``, and are never NaN.

The greedy limit ``T = 0`` is represented by 0; :func:`apply_temperature` turns it into a
one-point (or tied-maximum) distribution without dividing by 0.

>>> import math, torch
>>> z = torch.tensor([[0.0, 0.0], [5.0, -float("inf")]], dtype=torch.float64)
>>> edt_temperature(z, T0=1.0, theta=math.log(2)).tolist()   # H = ln 2 = theta -> N*T0; one candidate -> 0
[0.8, 0.0]
>>> dynatemp_temperature(z, temp=1.0, delta=0.5, exponent=1.0).tolist()   # H / ln 2 = 1 -> T_max; H = 0 -> T_min
[1.5, 0.5]
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import spec
from ..core.ctx import FLOAT, torch_context
from ..core.temperatures import dynatemp_from_ratio, dynatemp_range, edt_from_entropy, edt_log_factor
from ..spec.methods import check_dynatemp_policy
from ._core import (first_index, any_bad, check_accumulate, check_flag, check_in_range, check_logits, compute_dtype, dtype_name, fill_value,
                    logits_bad, row_entropy)
from ._fused import fused_row_entropy

__all__ = ["edt_temperature", "dynatemp_temperature", "apply_temperature", "edt_logits", "dynatemp_logits", "GREEDY"]

#: How :func:`apply_temperature` treats ``T = 0``: uniform over the tied maxima (EDT,
#: specification §3) or the first maximum in token order (llama.cpp, specification §4).
GREEDY = ("ties", "first")


def _entropy(x: torch.Tensor, tau: float, accumulate: str, fused: bool = False) -> torch.Tensor:
    cd = compute_dtype(x.dtype, check_accumulate(accumulate))
    if fused:
        return fused_row_entropy(x.to(cd), tau)
    return row_entropy(x.to(cd), tau)  # (no host read in it: the same call serves the sync-free path)


def _switches(fused: Any, sync_free: Any, check_inputs: Any) -> tuple[bool, bool, bool]:
    return check_flag(fused, "fused"), check_flag(sync_free, "sync_free"), check_flag(check_inputs, "check_inputs")


def edt_temperature(
    logits: torch.Tensor, T0: float, theta: float, N: float = spec.EDT_DEFAULT_N, entropy_of: str = "raw", accumulate: str = "float32", *,
    fused: bool = False, sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """EDT temperature ``T = T0 * N**(theta / H)`` per row; ``H = 0`` gives the greedy ``T = 0``.

    ``H`` is the entropy (nats) of ``softmax(logits)`` (``entropy_of="raw"``) or of
    ``softmax(logits / T0)`` (``"tempered"``). Computed as ``T0 * exp((theta ln N) / H)`` with
    ``theta ln N`` formed in float64 and rounded once (saturated at the compute dtype's most
    negative number, which gives the same ``T = 0``); ``H = 0`` gives 0 by a test on ``H``, never
    NaN. A ``T0`` beyond the compute dtype's range is refused (``ValueError``).

    ``fused=True`` takes ``H`` from :func:`ees_theory.kernels._fused.fused_entropy` (one reduction
    over each row; within the same error band, not the same bits). ``sync_free=True`` reads
    nothing back to the host but the one validation of the logits, and with
    ``check_inputs=False`` not even that (NaN or ``+inf`` logits are then not diagnosed): the
    same bits, traceable by ``torch.compile(fullgraph=True)`` and CUDA graph capture.

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    T0 : float
        The base temperature, finite and ``> 0``, within the compute dtype's range.
    theta : float
        The exponent's scale, finite and ``>= 0``.
    N : float
        The base of the power, strictly between 0 and 1 (default 0.8).
    entropy_of : str
        ``"raw"`` (the default) or ``"tempered"``.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    fused : bool
        ``True`` takes ``H`` from one fused reduction per row: within the same error band, not the
        same bits (default ``False``).
    sync_free : bool
        ``True``: no host read but the one check of the inputs (default ``False``).
    check_inputs : bool
        With ``sync_free=True``, ``False`` skips that check too: no host read at all, bad values not
        diagnosed (default ``True``).

    Returns
    -------
    torch.Tensor
        The temperature of each row, shape ``logits.shape[:-1]``, in the compute dtype; 0 for a
        greedy row.

    Raises
    ------
    ValueError
        Bad logits, a parameter out of its range, ``T0`` beyond the compute dtype, or an unknown
        ``entropy_of`` or ``accumulate``.
    TypeError
        Logits that are not a tensor of a supported float dtype, a non-numeric parameter, or a switch
        that is not a bool.

    Examples
    --------
    >>> import torch
    >>> edt_temperature(torch.tensor([1.0, 1.0, 1.0, 1.0]), T0=2.0, theta=0.0).item()   # theta = 0: T0
    2.0
    >>> t = edt_temperature(torch.tensor([[2.0, 0.0, -1.0]]), T0=1.0, theta=0.5)
    >>> t.shape, 0 < t.item() < 1
    (torch.Size([1]), True)
    >>> bool(edt_temperature(torch.tensor([[2.0, 0.0, -1.0]]), 1.0, 0.5, sync_free=True, check_inputs=False) == t)
    True
    """
    T0, theta, N = spec.check_edt_params(T0, theta, N)
    entropy_of = spec.check_entropy_of(entropy_of)
    fused, sync_free, check_inputs = _switches(fused, sync_free, check_inputs)
    x = check_logits(logits, values=check_inputs or not sync_free)  # (one host read when checked)
    cd = compute_dtype(x.dtype, check_accumulate(accumulate))
    check_in_range(T0, cd, "T0")
    if theta == 0:
        return torch.full(x.shape[:-1], T0, dtype=cd, device=x.device)
    H = _entropy(x.reshape(-1, x.shape[-1]), 1.0 if entropy_of == "raw" else T0, accumulate, fused)
    # < 0, or -0 where theta ln N underflows; saturated at cd's most negative number, where
    # exp(c / H) is 0 as it is for the exact c (H <= ln V): the greedy T = 0 either way
    c = torch.full_like(H, max(float(edt_log_factor(theta, N, FLOAT)), -torch.finfo(cd).max))
    # H = 0 is the greedy limit; tested on H itself since c / 0 is NaN when c rounded to -0
    T = torch.where(H > 0, edt_from_entropy(H, T0, c, torch_context()), 0.0)
    return T.reshape(x.shape[:-1])


def dynatemp_temperature(
    logits: torch.Tensor, temp: float, delta: float, exponent: float, accumulate: str = "float32", policy: str = "llama.cpp", *,
    fused: bool = False, sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """llama.cpp dynamic temperature per row: ``T_min + (T_max - T_min) (H / ln n)**exponent``.

    ``n`` is the length of the candidate array (the last axis, masked entries included),
    ``T_min = max(0, temp - delta)``, ``T_max = temp + delta``. ``delta <= 0`` gives ``temp``.
    For ``n <= 1`` llama.cpp applies no temperature at all; every temperature gives the same
    one-token distribution there, and ``temp`` is returned. ``exponent = 0`` gives ``T_max``.
    A row with one candidate (``H = 0``) and a negative exponent is an error, as in the
    reference; so is a row whose entropy underflows to 0 in the compute dtype while it has
    several candidates (the answer would need more range). ``T <= 0`` means greedy. The result
    is clamped to where the exact value lies: ``[T_min, T_max]`` for ``exponent > 0``, and
    ``[T_max, inf)`` for ``exponent < 0`` (then ``(H / ln n)**exponent >= 1``; llama.cpp leaves
    the range there, and so does this kernel). Temperatures are returned in the compute dtype, so
    a ``temp`` or ``temp + delta`` beyond its largest finite number is refused (``ValueError``
    naming the dtype) rather than rounded to ``inf`` (which would change what is sampled).

    ``policy="finite-candidates"`` counts only each row's finite entries in ``ln n`` (masked tokens
    do not count); a row with at most one finite entry gets ``temp`` there (every temperature gives
    its one-token distribution; the exact ``H / ln n`` is ``0 / 0``).

    ``fused``, ``sync_free`` and ``check_inputs`` are :func:`edt_temperature`'s. Sync-free, every
    check above (the logits, and the rows a negative exponent cannot serve) is one host read at
    the end; when it finds something, the checked path runs again and raises its error. Without
    the check such rows get ``T = inf`` or NaN.

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temp : float
        The centre temperature, finite (``<= 0``: greedy).
    delta : float
        The half-width of the range, finite (``<= 0``: ``temp`` on every row).
    exponent : float
        The power applied to ``H / ln n``, finite.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    policy : str
        ``"llama.cpp"`` (the default) or ``"paper"``: ``n`` counts every entry; or
        ``"finite-candidates"``: only the finite ones.
    fused : bool
        ``True`` takes ``H`` from one fused reduction per row: within the same error band, not the
        same bits (default ``False``).
    sync_free : bool
        ``True``: no host read but the one check of the inputs (default ``False``).
    check_inputs : bool
        With ``sync_free=True``, ``False`` skips that check too: no host read at all, bad values not
        diagnosed (default ``True``).

    Returns
    -------
    torch.Tensor
        The temperature of each row, shape ``logits.shape[:-1]``, in the compute dtype.

    Raises
    ------
    ValueError
        Bad logits, a non-finite parameter, ``temp`` or ``temp + delta`` beyond the compute dtype, a
        one-candidate row (or an entropy that underflows) under a negative exponent, or an unknown
        ``policy`` or ``accumulate``.
    TypeError
        Logits that are not a tensor of a supported float dtype, a non-numeric parameter, or a switch
        that is not a bool.

    Examples
    --------
    >>> import torch
    >>> dynatemp_temperature(torch.tensor([0.0, 0.0, 0.0, 0.0]), 1.0, 0.25, 2.0).item()
    1.25
    >>> dynatemp_temperature(torch.tensor([0.0, -1.0], dtype=torch.float64), 1.0, 0.5, -1.0).item() > 1.5
    True
    >>> dynatemp_temperature(torch.tensor([0.0, 0.0, -float("inf")]), 1.0, 0.5, 1.0, policy="finite-candidates").item()
    1.5
    >>> dynatemp_temperature(torch.tensor([0.0, -float("inf")]), 1.0, 0.5, -1.0)
    Traceback (most recent call last):
    ...
    ValueError: dynatemp with a negative exponent is undefined at entropy 0 (a single candidate) in row 0
    >>> dynatemp_temperature(torch.tensor([0.0, -float("inf")]), 1.0, 0.5, -1.0, sync_free=True)
    Traceback (most recent call last):
    ...
    ValueError: dynatemp with a negative exponent is undefined at entropy 0 (a single candidate) in row 0
    """
    temp, delta, exponent = spec.check_dynatemp_params(temp, delta, exponent)
    finite_only = check_dynatemp_policy(policy) == "finite-candidates"
    fused, sync_free, check_inputs = _switches(fused, sync_free, check_inputs)
    x = check_logits(logits, values=not sync_free)
    T, flags = _dynatemp(x, temp, delta, exponent, accumulate, finite_only, fused, sync_free)
    if sync_free and check_inputs and x.numel() and any_bad(logits_bad(x.amax(dim=-1)), *flags):
        return dynatemp_temperature(logits, temp, delta, exponent, accumulate, policy, fused=fused)  # raises the precise error
    return T


def _dynatemp(x: torch.Tensor, temp: float, delta: float, exponent: float, accumulate: str, finite_only: bool, fused: bool,
              sync_free: bool) -> tuple[torch.Tensor, list]:
    """:func:`dynatemp_temperature` of validated parameters: the temperatures and, sync-free, the
    device flags of the rows it refuses (the checked path raises at once)."""
    cd = compute_dtype(x.dtype, check_accumulate(accumulate))
    shape = x.shape[:-1]
    size = x.shape[-1]
    check_in_range(temp, cd, "temp")
    if delta <= 0 or size <= 1:
        return torch.full(shape, temp, dtype=cd, device=x.device), []
    t_min, t_max = dynatemp_range(temp, delta, FLOAT)
    check_in_range(t_max, cd, "temp + delta")
    if exponent == 0:
        return torch.full(shape, t_max, dtype=cd, device=x.device), []
    x2 = x.reshape(-1, size)
    H = _entropy(x2, 1.0, accumulate, fused)
    if finite_only:  # ln n over each row's finite entries; with one, no temperature changes anything
        n_finite = torch.isfinite(x2).sum(-1)
        lone = n_finite <= 1
        ln_n = torch.log(n_finite.clamp(min=2).to(torch.float64)).to(H.dtype)
        H = torch.where(lone, 1.0, H)  # any positive value: the row's answer is temp
    flags = []
    if exponent < 0:
        zero = H == 0
        if sync_free:
            flags.append(zero)
        elif bool(zero.any()):
            r = first_index(zero)[0]
            single = int(torch.isfinite(x2[r]).sum()) == 1
            why = "a single candidate" if single else f"the entropy underflows in {cd}"
            raise ValueError(f"dynatemp with a negative exponent is undefined at entropy 0 ({why}) in row {r}")
    ratio = (H / (ln_n if finite_only else math.log(size))).clamp_(0.0, 1.0)
    # filled on the device (a copy from the host would stall a CUDA graph capture), rounded as torch.tensor rounds
    lo = torch.full((), t_min, dtype=cd, device=x.device)
    hi = torch.full((), t_max, dtype=cd, device=x.device)
    T = dynatemp_from_ratio(ratio, lo, hi, exponent, torch_context())
    T = torch.minimum(torch.maximum(T, lo), hi) if exponent > 0 else torch.maximum(T, hi)
    if exponent < 0:
        nan = torch.isnan(T)  # (T_max - T_min) rounded to 0 in cd while the power overflowed: 0 * inf
        if sync_free:
            flags.append(nan)
        elif bool(nan.any()):
            r = first_index(nan)[0]
            raise ValueError(f"dynatemp's temperature in row {r} cannot be formed in {dtype_name(cd)}: T_max - T_min rounds to 0 "
                             f"while (H / ln n)**exponent overflows; give float64 logits")
    if finite_only:
        T = torch.where(lone.reshape(T.shape), torch.full((), temp, dtype=T.dtype, device=T.device), T)
    return T.reshape(shape), flags


def apply_temperature(
    logits: torch.Tensor, T: Any, greedy: str = "ties", filter_value: float = float("-inf"), *,
    sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """Logits for sampling at temperature ``T`` (a number or a tensor with the batch shape).

    Returns ``(z - z_max) / T`` in ``logits``' dtype (the shift leaves ``softmax`` unchanged and
    keeps half precision from overflowing). ``T = 0`` (greedy) never divides: the maxima keep 0
    and every other token gets ``filter_value`` -- all tied maxima (``greedy="ties"``) or the first
    one in token order (``greedy="first"``). ``T = inf`` gives 0 to every unmasked token.
    Masked tokens stay ``-inf``. The input is not modified.

    ``sync_free=True``: no host read but one for the checks of the logits and of ``T`` (none
    with ``check_inputs=False``); the same bits. Where the division's dtype depends on the
    values of a tensor ``T`` (a positive ``T`` below float32's normal range is divided in
    float64), both are computed and one is selected on the device.

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    T : float or torch.Tensor
        The temperature, ``>= 0`` (``0``: greedy, ``inf``: uniform over the candidates): a number,
        or a tensor with the batch shape.
    greedy : str
        Which maxima a greedy row keeps: ``"ties"`` (all, the default) or ``"first"``.
    filter_value : float
        The value of a dropped token (default ``-inf``).
    sync_free : bool
        ``True``: no host read but the one check of the inputs (default ``False``).
    check_inputs : bool
        With ``sync_free=True``, ``False`` skips that check too: no host read at all, bad values not
        diagnosed (default ``True``).

    Returns
    -------
    torch.Tensor
        ``(z - z_max) / T``, same shape and dtype as ``logits``.

    Raises
    ------
    ValueError
        Bad logits, a negative or NaN ``T``, or an unknown ``greedy``.
    TypeError
        Logits that are not a tensor of a supported float dtype, or a switch that is not a bool.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 3.0, 3.0], [1.0, 3.0, 3.0]])
    >>> apply_temperature(z, torch.tensor([2.0, 0.0])).tolist()
    [[-1.0, 0.0, 0.0], [-inf, 0.0, 0.0]]
    >>> apply_temperature(z, 0.0, greedy="first").tolist()
    [[-inf, 0.0, -inf], [-inf, 0.0, -inf]]
    >>> apply_temperature(z, torch.tensor([2.0, 0.0]), sync_free=True, check_inputs=False).tolist()
    [[-1.0, 0.0, 0.0], [-inf, 0.0, 0.0]]
    """
    sync_free, check_inputs = check_flag(sync_free, "sync_free"), check_flag(check_inputs, "check_inputs")
    x = check_logits(logits, values=not sync_free)
    if greedy not in GREEDY:
        raise ValueError(f"greedy must be one of {', '.join(GREEDY)}; got {greedy!r}")
    out, bad = _apply(x, T, greedy, filter_value, sync_free)
    if sync_free and check_inputs and x.numel() and any_bad(logits_bad(x.amax(dim=-1)), bad):
        return apply_temperature(logits, T, greedy, filter_value)  # raises the precise error
    return out


def _apply(x: torch.Tensor, T: Any, greedy: str, filter_value: float, sync_free: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`apply_temperature` of validated logits: the output and, sync-free, the device flag of
    a NaN or negative temperature (the checked path raises at once)."""
    shape = x.shape[:-1]
    scalar = None
    if isinstance(T, torch.Tensor) and T.ndim > 0:
        t = torch.broadcast_to(T.to(x.device), shape)
        cd = torch.promote_types(t.dtype, torch.float32) if x.dtype != torch.float64 else torch.float64
    elif isinstance(T, torch.Tensor) and sync_free:  # a 0-d tensor: the number it holds, not read
        t = torch.broadcast_to(T.to(device=x.device, dtype=torch.float64), shape)
        cd = torch.float64 if x.dtype == torch.float64 else torch.float32
    else:
        scalar = float(T)
        t = torch.full(shape, scalar, dtype=torch.float64, device=x.device)
        cd = torch.float64 if x.dtype == torch.float64 else torch.float32
    wide: bool | torch.Tensor = False
    if cd != torch.float64:
        # a positive temperature that is not a normal number of cd (below ~1e-38 or above ~3e38
        # in float32) would round to 0 (greedy), to inf or to a subnormal: divide in float64
        fi = torch.finfo(cd)
        if scalar is not None:  # decided on the host, where the number is
            wide = (0 < scalar < fi.tiny) or scalar > fi.max
        else:
            t64 = t.double()
            wide = (((t64 > 0) & (t64 < fi.tiny)) | (t64 > fi.max)).any()
            if not sync_free:
                wide = bool(wide)
    if isinstance(wide, bool):
        return _divide(x, t, torch.float64 if wide else cd, greedy, filter_value, sync_free)
    narrow, bad_narrow = _divide(x, t, cd, greedy, filter_value, sync_free)
    wide_out, bad_wide = _divide(x, t, torch.float64, greedy, filter_value, sync_free)
    return torch.where(wide, wide_out, narrow), torch.where(wide, bad_wide, bad_narrow)


def _divide(x: torch.Tensor, t: torch.Tensor, cd: torch.dtype, greedy: str, filter_value: float, sync_free: bool):
    t = t.to(cd)
    bad = (torch.isnan(t) | (t < 0)).any()
    if not sync_free and bool(bad):
        where = first_index(torch.isnan(t) | (t < 0))
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {float(t[where])}{spec.row_label(where)}")
    xc = x.to(cd)
    x_max = xc.amax(dim=-1, keepdim=True)
    shifted = xc - x_max
    t = t.unsqueeze(-1)
    greedy_rows = t == 0
    out = torch.where(greedy_rows, torch.zeros((), dtype=cd, device=x.device), shifted / torch.where(greedy_rows, 1.0, t))
    out = torch.where(torch.isneginf(xc), float("-inf"), out)  # -inf / inf would be NaN
    if sync_free or bool(greedy_rows.any()):  # (where no row is greedy, the step changes nothing)
        is_max = xc == x_max
        if greedy == "first":
            first = torch.zeros_like(is_max).scatter_(-1, is_max.to(torch.uint8).argmax(dim=-1, keepdim=True), True)
            is_max = first
        out = torch.where(greedy_rows & ~is_max, fill_value(filter_value, x.dtype), out)
    return out.to(x.dtype), bad


def edt_logits(
    logits: torch.Tensor, T0: float, theta: float, N: float = spec.EDT_DEFAULT_N, entropy_of: str = "raw", accumulate: str = "float32", *,
    filter_value: float = float("-inf"), fused: bool = False, sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """Logits for sampling with the EDT temperature (greedy rows: tied maxima kept, others dropped).

    ``fused``, ``sync_free``, ``check_inputs``: :func:`edt_temperature`'s (sync-free and checked,
    the one host read is the check of the logits: an EDT temperature is never NaN or negative).

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    T0, theta, N, entropy_of, accumulate
        As for :func:`edt_temperature`.
    filter_value : float
        The value of a dropped token in a greedy row (default ``-inf``).
    fused, sync_free, check_inputs : bool
        As for :func:`edt_temperature`.

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``logits``.

    Raises
    ------
    ValueError
        As :func:`edt_temperature` (bad logits or parameters).
    TypeError
        As :func:`edt_temperature` (a wrong type of logits, parameter or switch).

    Examples
    --------
    >>> import torch
    >>> edt_logits(torch.tensor([4.0, -float("inf")]), T0=1.0, theta=1.0).tolist()
    [0.0, -inf]
    """
    T = edt_temperature(logits, T0, theta, N, entropy_of, accumulate, fused=fused, sync_free=sync_free, check_inputs=check_inputs)
    if sync_free:
        return apply_temperature(logits, T, greedy="ties", filter_value=filter_value, sync_free=True, check_inputs=False)
    return apply_temperature(logits, T, greedy="ties", filter_value=filter_value)


def dynatemp_logits(
    logits: torch.Tensor,
    temp: float,
    delta: float,
    exponent: float,
    accumulate: str = "float32",
    *,
    filter_value: float = float("-inf"),
    policy: str = "llama.cpp",
    fused: bool = False,
    sync_free: bool = False,
    check_inputs: bool = True,
) -> torch.Tensor:
    """Logits for sampling with llama.cpp's dynamic temperature (``T <= 0``: the first maximum).

    A candidate array of length 1 is returned unchanged (llama.cpp applies nothing). ``policy``,
    ``fused``, ``sync_free`` and ``check_inputs`` are :func:`dynatemp_temperature`'s.

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temp, delta, exponent, accumulate
        As for :func:`dynatemp_temperature`.
    filter_value : float
        The value of a dropped token in a greedy row (default ``-inf``).
    policy : str
        As for :func:`dynatemp_temperature` (default ``"llama.cpp"``).
    fused, sync_free, check_inputs : bool
        As for :func:`dynatemp_temperature`.

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``logits``.

    Raises
    ------
    ValueError
        As :func:`dynatemp_temperature` (bad logits or parameters).
    TypeError
        As :func:`dynatemp_temperature` (a wrong type of logits, parameter or switch).

    Examples
    --------
    >>> import torch
    >>> dynatemp_logits(torch.tensor([1.0, 1.0, 0.0]), temp=0.0, delta=0.0, exponent=1.0).tolist()
    [0.0, -inf, -inf]
    """
    if check_flag(sync_free, "sync_free"):
        x = check_logits(logits, values=False)
        if x.shape[-1] <= 1:
            return x.clone()
        T = dynatemp_temperature(x, temp, delta, exponent, accumulate, policy, fused=fused, sync_free=True, check_inputs=check_inputs)
        return apply_temperature(x, T.clamp(min=0), greedy="first", filter_value=filter_value, sync_free=True, check_inputs=False)
    x = check_logits(logits)
    if x.shape[-1] <= 1:
        return x.clone()
    T = dynatemp_temperature(x, temp, delta, exponent, accumulate, policy, fused=fused)
    return apply_temperature(x, T.clamp(min=0), greedy="first", filter_value=filter_value)

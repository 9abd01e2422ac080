"""Shared pieces of the float kernels: validation, precision policy, the stable entropy primitive.

Precision policy (``accumulate``):

* ``"input"``: every operation is issued in the input dtype, as a direct port would write it.
  (torch's ``sum``/``cumsum`` kernels accumulate half-precision inputs in float32 internally and
  round each stored result to the input dtype; :func:`ees_theory.tolerances.ees_gap_bound` takes
  that into account only when asked with ``accumulator="float32"``.)
* ``"float32"``: inputs are widened (exactly) to float32 -- float64 stays float64 -- and every
  step, elementwise and reduction, runs in that dtype.

>>> import torch
>>> compute_dtype(torch.float16, "float32"), compute_dtype(torch.float16, "input")
(torch.float32, torch.float16)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

from .. import spec
from ..core.ctx import torch_context
from ..core.entropy import entropy_from_weights
from ..tolerances import ACCUMULATE
from ._workspace import scratch

__all__ = [
    "SUPPORTED_DTYPES",
    "compute_dtype",
    "check_accumulate",
    "check_flag",
    "tracing",
    "check_logits",
    "check_row_maxima",
    "check_has_data",
    "check_in_range",
    "fill_value",
    "row_temperature",
    "relative_weights",
    "log_relative_weights",
    "row_entropy",
    "weighted_log_terms",
    "log_k_table",
    "dtype_name",
    "needs_wide",
    "wide_flag",
    "static_wide",
    "select_scaled",
    "any_bad",
    "logits_bad",
    "temperature_bad",
    "wide_scaled",
]

SUPPORTED_DTYPES = (torch.float64, torch.float32, torch.float16, torch.bfloat16)


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` -> ``"float16"`` (the keys of :data:`ees_theory.tolerances.UNIT_ROUNDOFF`)."""
    return str(dtype).removeprefix("torch.")


def check_accumulate(accumulate: Any) -> str:
    """``accumulate`` is ``"input"`` or ``"float32"``."""
    if accumulate not in ACCUMULATE:
        raise ValueError(f"accumulate must be one of {', '.join(ACCUMULATE)}; got {accumulate!r}")
    return accumulate


def tracing() -> bool:
    """Whether ``torch.compile`` is tracing the caller (a constant to it): the kernels then take
    torch operations where they use numpy or scratch buffers eagerly on the CPU, for the same bits.
    (``torch.compiler.is_compiling`` came with torch 2.3; before it, never.)

    >>> tracing()
    False
    """
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    return bool(is_compiling is not None and is_compiling())


def check_flag(value: Any, name: str) -> bool:
    """A switch such as ``sync_free`` must be ``True`` or ``False`` (a tensor or a string would
    be read as one by accident).

    >>> check_flag("yes", "sync_free")
    Traceback (most recent call last):
    ...
    TypeError: sync_free must be True or False, got str
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def compute_dtype(dtype: torch.dtype, accumulate: str) -> torch.dtype:
    """The dtype every step runs in: the input dtype, or at least float32."""
    check_accumulate(accumulate)
    if accumulate == "input" or dtype == torch.float64:
        return dtype
    return torch.float32


def first_index(mask: torch.Tensor) -> tuple[int, ...]:
    """The index (one int per dimension) of the first true entry of ``mask`` in row-major order."""
    flat = int(torch.nonzero(mask.reshape(-1))[0, 0])
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), mask.shape))


def check_logits(logits: Any, name: str = "logits", *, values: bool = True) -> torch.Tensor:
    """Validate a logits tensor (specification §1) with vectorised checks and one host sync.

    ``values=False`` checks the type, dtype and shape only (no host read): the sync-free kernels
    fold the values' check into their one read (:func:`logits_bad`), or skip it when asked.

    >>> check_logits(torch.tensor([[0.0, 1.0], [2.0, float("nan")]]))
    Traceback (most recent call last):
    ...
    ValueError: logits contain NaN in row 1 at position 1
    >>> check_logits(torch.tensor([-float("inf"), -float("inf")]))
    Traceback (most recent call last):
    ...
    ValueError: logits has no finite logit (every token is masked)
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    check_has_data(logits, name)
    if logits.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"{name} dtype {logits.dtype} is not supported (float64/float32/float16/bfloat16)")
    if logits.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (the vocabulary), got a scalar")
    if logits.shape[-1] == 0:
        raise ValueError(f"{name} is empty: the vocabulary axis has length 0")
    # no gradient flows through a mask or a temperature: the kernels work on detached values
    # (and write into scratch buffers, which autograd refuses)
    logits = logits.detach()
    if logits.numel() == 0 or not values:
        return logits
    check_row_maxima(logits, logits.amax(dim=-1), name)
    return logits


def check_has_data(t: torch.Tensor, name: str) -> None:
    """A meta tensor has a shape but no values: nothing can be computed from it.

    >>> check_has_data(torch.empty(2, device="meta"), "logits")
    Traceback (most recent call last):
    ...
    TypeError: logits is a meta tensor (a shape without values); give a tensor on a real device
    """
    if t.device.type == "meta":
        raise TypeError(f"{name} is a meta tensor (a shape without values); give a tensor on a real device")


def check_in_range(value: float, dtype: torch.dtype, name: str) -> float:
    """``value`` as a finite ``dtype`` number: a temperature parameter beyond the dtype's largest
    finite value is refused (the kernels return temperatures in ``dtype``; rounding it to ``inf``
    would change what is sampled, and ``inf - inf`` would be NaN).

    >>> check_in_range(1e39, torch.float32, "temp + delta")
    Traceback (most recent call last):
    ...
    ValueError: temp + delta = 1e+39 is beyond the range of float32 (largest 3.40282e+38), the dtype the temperature is computed in; give float64 logits
    """
    fi = torch.finfo(dtype)
    if abs(value) > fi.max:
        hint = "give float64 logits" if dtype != torch.float64 else "it cannot be represented"
        raise ValueError(f"{name} = {value:g} is beyond the range of {dtype_name(dtype)} (largest {fi.max:g}), "
                         f"the dtype the temperature is computed in; {hint}")
    return value


def fill_value(value: float, dtype: torch.dtype) -> float:
    """A filter value for a tensor of ``dtype``: a finite value beyond the dtype's range is
    saturated to its most negative (or largest) finite number. A dropped token's weight is 0
    either way, and a finite filter value stays finite, as asked.

    >>> fill_value(-1e300, torch.float16), fill_value(-float("inf"), torch.float16)
    (-65504.0, -inf)
    """
    if math.isfinite(value):
        fi = torch.finfo(dtype)
        return min(max(value, -fi.max), fi.max)
    return value


def check_row_maxima(logits: torch.Tensor, row_max: torch.Tensor, name: str = "logits") -> None:
    """Validation from the row maxima alone (one host sync): ``amax`` propagates NaN, is
    ``+inf`` when a row holds ``+inf`` and ``-inf`` when a row has no finite logit. Only a bad
    input pays for the search that names the row and the position."""
    if bool(torch.isfinite(row_max).all()):
        return
    for bad, what in ((torch.isnan(logits), "NaN"), (torch.isposinf(logits), "+inf")):
        if bool(bad.any()):
            where = first_index(bad)
            raise ValueError(f"{name} contain {what}{spec.row_label(where[:-1])} at position {where[-1]}")
    no_finite = torch.isneginf(row_max)
    where = first_index(no_finite) if no_finite.ndim else ()
    raise ValueError(f"{name}{spec.row_label(where)} has no finite logit (every token is masked)")


def row_temperature(
    temperature: Any, batch_shape: torch.Size, dtype: torch.dtype, device, name: str = "temperature", *, sync_free: bool = False
) -> torch.Tensor:
    """A validated temperature as a tensor of shape ``batch_shape + (1,)`` in ``dtype``.

    A scalar applies to every row; a tensor must have the batch shape (or broadcast to it).
    ``sync_free``: a tensor's values are not read on the host (a 0-d tensor is broadcast, not
    read as a number, which gives the same values) and not checked here; the caller folds
    :func:`temperature_bad` into its one validation read.

    >>> row_temperature(0.5, torch.Size([2]), torch.float32, "cpu").tolist()
    [[0.5], [0.5]]
    >>> row_temperature(torch.tensor([1.0, -1.0]), torch.Size([2]), torch.float32, "cpu")
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite number > 0, got -1.0 in row 1
    """
    if isinstance(temperature, torch.Tensor):
        check_has_data(temperature, name)
        if temperature.ndim == 0 and not sync_free:
            temperature = temperature.item()
        else:
            if not (temperature.is_floating_point() or temperature.dtype in (torch.int32, torch.int64)):
                raise TypeError(f"{name} must be a real tensor, got dtype {temperature.dtype}")
            try:
                t = torch.broadcast_to(temperature.to(device), batch_shape)
            except RuntimeError:
                raise ValueError(f"{name} of shape {tuple(temperature.shape)} does not match the batch shape {tuple(batch_shape)}") from None
            if sync_free:
                return t.to(dtype).unsqueeze(-1)
            bad = ~(torch.isfinite(t) & (t > 0))
            if bool(bad.any()):
                where = first_index(bad)
                raise ValueError(f"{name} must be a finite number > 0, got {float(t[where])}{spec.row_label(where)}")
            return t.to(dtype).unsqueeze(-1)
    if not isinstance(temperature, numbers.Real) or isinstance(temperature, bool):
        raise TypeError(f"{name} must be a real number or a tensor, got {type(temperature).__name__}")
    tau = spec.check_temperature(temperature, name)
    # through float64: a value beyond dtype's range rounds (to 0 or inf) instead of raising;
    # callers that must not see that rounding check needs_wide
    return torch.full((*batch_shape, 1), tau, dtype=torch.float64, device=device).to(dtype)


def wide_flag(tau64: torch.Tensor, spread64: torch.Tensor | float, dtype: torch.dtype) -> torch.Tensor:
    """:func:`needs_wide` as a 0-d boolean tensor on the temperatures' device, with no host read
    (the sync-free kernels select between the narrow and the wide forms with it).

    >>> wide_flag(torch.tensor([1e-50], dtype=torch.float64), 3.0, torch.float32)
    tensor(True)
    """
    fi = torch.finfo(dtype)
    out_of_range = ((tau64 < fi.tiny) | (tau64 > fi.max)).any()
    spread64 = torch.as_tensor(spread64, dtype=torch.float64)
    return out_of_range | ~((spread64 <= fi.max / 2) & (spread64 / tau64 <= fi.max / 2)).all()


def needs_wide(tau64: torch.Tensor, spread64: torch.Tensor | float, dtype: torch.dtype) -> bool:
    """Whether ``(z - z_max) / tau`` must be formed in float64 for ``dtype``: some temperature
    is not a normal ``dtype`` number (it would round to 0, to ``inf`` or lose bits as a subnormal:
    ``1e-50`` in float32, ``1e-8`` and ``1e40`` in float16), or a row's spread, or its spread
    divided by the temperature, overflows ``dtype``. One host read (:func:`wide_flag`).

    ``tau64`` holds the temperatures in float64, ``spread64`` the rows' ``z_max - z_min`` over
    finite logits (float64; a bound on it, such as ``2 max |z|``, also serves).

    >>> needs_wide(torch.tensor([1e-50], dtype=torch.float64), 3.0, torch.float32)
    True
    >>> needs_wide(torch.tensor([0.5], dtype=torch.float64), 3.0, torch.float16)
    False
    """
    return bool(wide_flag(tau64, spread64, dtype))


def static_wide(temperature: Any, in_dtype: torch.dtype, cd: torch.dtype) -> bool | None:
    """:func:`needs_wide` decided without reading a logit, where the dtypes and a temperature
    given as a Python number settle it; ``None`` where only the data can tell.

    In float64 the wide form is the narrow one (both divide in float64), so ``False`` serves
    whatever :func:`needs_wide` says. Finite ``float16`` logits span at most ``2 * 65504``, which
    a float32 compute dtype holds divided by any normal temperature down to about ``1e-33``.

    >>> static_wide(0.7, torch.float16, torch.float32), static_wide(1e-50, torch.float32, torch.float32)
    (False, True)
    >>> static_wide(0.7, torch.float32, torch.float32) is None     # a spread near 3e38 is possible
    True
    """
    if cd == torch.float64:
        return False
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
        return None
    fi = torch.finfo(cd)
    tau = float(temperature)
    if tau < fi.tiny or tau > fi.max:
        return True
    spread = 2 * torch.finfo(in_dtype).max
    if spread <= fi.max / 2 and spread / tau <= fi.max / 2:
        return False
    return None


def select_scaled(wide: bool | torch.Tensor, narrow: Any, wide_form: Any) -> torch.Tensor:
    """The narrow or the wide ``(z - z_max) / tau`` as :func:`needs_wide` (``wide``: a bool) or
    :func:`wide_flag` (a 0-d tensor: both forms are computed and one is selected on the device)
    picks it. ``narrow`` and ``wide_form`` are callables; only the one needed is called."""
    if isinstance(wide, bool):
        return wide_form() if wide else narrow()
    return torch.where(wide, wide_form(), narrow())


def any_bad(*flags: torch.Tensor) -> bool:
    """One host read for every validation flag of a sync-free call (True = something the checked
    path refuses); the caller then runs the checked path, which raises the precise error.

    >>> any_bad(torch.tensor(False), torch.tensor([False, True]))
    True
    """
    return bool(torch.stack([f.any() for f in flags]).any())


def logits_bad(row_max: torch.Tensor) -> torch.Tensor:
    """The device flag of :func:`check_row_maxima`: some row holds NaN, ``+inf`` or no finite logit."""
    return ~torch.isfinite(row_max).all()


def temperature_bad(temperature: Any, device) -> torch.Tensor:
    """The device flag of :func:`row_temperature` for a tensor temperature (a non-finite or
    non-positive entry); a Python number is checked on the host (no flag: ``False``)."""
    if isinstance(temperature, torch.Tensor) and temperature.is_floating_point():
        t = temperature.detach().to(device)
        return ~(torch.isfinite(t) & (t > 0)).all()
    if isinstance(temperature, torch.Tensor):  # an integer tensor: finite, so positive is what counts
        return ~(temperature.to(device) > 0).all()
    return torch.zeros((), dtype=torch.bool, device=device)


def wide_scaled(x: torch.Tensor, x_max: torch.Tensor, tau64: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(x - x_max) / tau`` formed in float64 and rounded once to ``dtype``, values below the
    most negative finite ``dtype`` number clamped to it (their ``exp`` is 0 either way, and a
    finite value keeps ``0 * a`` from becoming NaN). Masked tokens (``-inf``) are clamped too;
    callers that need them mark them separately.

    >>> wide_scaled(torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[2.0]]), torch.tensor([[1e-50]], dtype=torch.float64), torch.float32).tolist()
    [[0.0, -3.4028234663852886e+38, -3.4028234663852886e+38]]
    """
    s = torch.sub(x.to(torch.float64), x_max.to(torch.float64)).div_(tau64)
    return s.clamp_(min=-torch.finfo(dtype).max).to(dtype)


def log_relative_weights(
    x: torch.Tensor, x_max: torch.Tensor, tau: torch.Tensor | float, out: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``t = (x - x_max) / tau <= 0`` and ``e = exp(t) = p / p_max`` in ``x``'s dtype (``t = -a``
    of :func:`relative_weights`, bit for bit: IEEE subtraction and division are sign-symmetric).

    Masked tokens get ``t`` = the most negative finite value and ``e = 0``; tokens tied with the
    maximum get ``t = 0`` and ``e = 1`` exactly. ``out``: two tensors of ``x``'s shape to write
    ``t`` and ``e`` into (a fresh buffer per step costs more than the arithmetic on CPU).
    """
    t = torch.sub(x, x_max, out=None if out is None else out[0])
    if not (isinstance(tau, (int, float)) and tau == 1):  # x / 1 = x: skipped
        t.div_(tau)
    # -inf -> most negative finite: exp still gives 0 and e * t is 0 * finite = 0, never NaN
    t.clamp_(min=-torch.finfo(t.dtype).max)
    e = torch.exp(t, out=None if out is None else out[1])
    return t, e


def relative_weights(x: torch.Tensor, x_max: torch.Tensor, tau: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """``a = (x_max - x) / tau >= 0`` and ``e = exp(-a) = p / p_max`` in ``x``'s dtype.

    Masked tokens get ``a`` = the largest finite value and ``e = 0``. Tokens tied with the maximum get ``a = 0``, ``e = 1``
    exactly, whatever the rounding elsewhere.
    """
    t, e = log_relative_weights(x, x_max, tau)
    return t.neg_(), e


def weighted_log_terms(e: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``e * a = -p/p_max * ln(p/p_max)``: ``0 ln 0 = 0`` holds because :func:`relative_weights`
    caps ``a`` at the largest finite value, so a masked or underflowed token gives ``0 * finite``."""
    return e * a


def row_argmax(x: torch.Tensor) -> torch.Tensor:
    """The position of a maximum of each row, shape ``x.shape[:-1] + (1,)`` (x without NaN)."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not x.requires_grad:
        return torch.from_numpy(np.asarray(x.numpy().argmax(axis=-1))).unsqueeze(-1)
    return x.argmax(dim=-1, keepdim=True)


def row_entropy(x: torch.Tensor, tau: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Entropy (nats) of ``softmax(x / tau)`` along the last axis, in ``x``'s dtype.

    ``H = log1p(C) + A / (1 + C)`` with ``C = sum of e_i`` over all tokens but one maximum and
    ``A = sum of e_i a_i``: both terms are non-negative (no cancellation) and ``log1p`` keeps
    ``H`` relatively accurate for a peaked row, where ``C`` is tiny. ``x`` must be validated.

    Under ``torch.compile`` the same bits come from torch operations alone (torch's ``argmax``,
    like numpy's, returns the first maximum; fresh tensors instead of the thread's scratch
    buffers), so that ``fullgraph=True`` can trace it; eager, nothing here reads a value back.

    >>> round(row_entropy(torch.tensor([0.0, 0.0], dtype=torch.float64)).item(), 12)   # ln 2
    0.693147180560
    >>> row_entropy(torch.tensor([3.0, -float("inf")])).item()
    0.0
    >>> [round(h, 6) for h in row_entropy(torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])).tolist()]   # ln 4
    [1.386294, 1.386294]
    """
    # amax, and the position of one maximum: torch's max with indices (and its argmax) is several
    # times slower on CPU than numpy's argmax, which any maximum's position serves equally
    x_max = x.amax(dim=-1, keepdim=True)
    if tracing():
        arg = x.argmax(dim=-1, keepdim=True)
        t, e = log_relative_weights(x, x_max, tau)
    else:
        arg = row_argmax(x)
        t, e = log_relative_weights(x, x_max, tau, out=(scratch("entropy_t", x.shape, x.dtype, x.device), scratch("entropy_e", x.shape, x.dtype, x.device)))
    e.scatter_(-1, arg, 0.0)  # drop one maximum: C counts the other tokens only
    C = e.sum(dim=-1)
    A = t.mul_(e).sum(dim=-1).neg_()  # sum of e a = -(sum of e t), exactly (see weighted_log_terms)
    return entropy_from_weights(C, A, torch_context())


def log_k_table(length: int, dtype: torch.dtype, device) -> torch.Tensor:
    """``ln k`` for ``k = 1..length``, computed in float64 and rounded once to ``dtype``.

    ``k = 1`` gets 1 (``Hbar_1`` is undefined and never read) so no division by zero happens.
    """
    k = torch.arange(1, length + 1, dtype=torch.float64, device=device)
    lk = torch.log(k)
    lk[0] = 1.0
    return lk.to(dtype)


"""transformers drop-ins: EES, EDT and llama.cpp dynatemp as logits warpers.

Each class has transformers' ``LogitsProcessor`` interface: ``warper(input_ids, scores)``
returns new scores of the same shape and dtype (the input is never modified in place); dropped
tokens get ``filter_value``. Pass them to ``model.generate(do_sample=True,
logits_processor=LogitsProcessorList([...]))``. They subclass ``transformers.LogitsProcessor``
when transformers is installed and work as plain callables without it.

The returned scores are the processed logits of :mod:`ees_theory.torch`: shifted by the row
maximum (which leaves ``softmax`` unchanged) and divided by the temperature.

Host reads. Every warper takes ``sync_free`` (default ``None``: on for scores on a GPU or any
device but the CPU, where the kernels' default path reads a few numbers back to skip work) and
``check_inputs`` (default ``True``). Sync-free, a call reads back one value, the verdict of every
input check together; with ``check_inputs=False`` it reads nothing, so it can run inside a
decoding loop without stalling, be captured in a CUDA graph, or be traced by
``torch.compile(fullgraph=True)`` (NaN or ``+inf`` scores are then not diagnosed). The scores
are the same bits either way. EDT and dynatemp also take ``fused`` (the one-pass entropy of
:mod:`ees_theory.kernels._fused`: the same error band, not the same bits).

>>> import torch
>>> scores = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
>>> EESLogitsWarper()(None, scores).tolist()
[[0.0, -inf, -inf], [0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import math
import sys

from typing import Any

import torch

from . import spec
from . import kernels as et_torch

try:  # transformers is an optional extra
    from transformers import LogitsProcessor as _Base
except ImportError:  # pragma: no cover - exercised only without transformers

    class _Base:  # type: ignore[no-redef]
        """Stand-in with the same call signature when transformers is not installed."""


__all__ = ["EESLogitsWarper", "EDTLogitsWarper", "DynaTempLogitsWarper"]


def _check_sync_free(sync_free: Any) -> bool | None:
    if sync_free is not None and not isinstance(sync_free, bool):
        raise TypeError(f"sync_free must be None (automatic), True or False, got {type(sync_free).__name__}")
    return sync_free


def _use_sync_free(sync_free: bool | None, scores: Any) -> bool:
    """``None``: sync-free for a tensor off the CPU (anything else takes the checked path, which
    names what is wrong with it)."""
    if sync_free is None:
        return isinstance(scores, torch.Tensor) and scores.device.type not in ("cpu", "meta")
    return sync_free and isinstance(scores, torch.Tensor)


def _check_filter_value(filter_value: Any) -> float:
    if isinstance(filter_value, bool) or not isinstance(filter_value, (int, float)):
        raise TypeError(f"filter_value must be a number, got {type(filter_value).__name__}")
    try:
        value = float(filter_value)
    except OverflowError:  # an int beyond float64: its most negative (largest) finite number, as any dtype saturates it
        value = sys.float_info.max if filter_value > 0 else -sys.float_info.max
    if math.isnan(value) or value == math.inf:
        raise ValueError(f"filter_value must not be NaN or +inf (it would enter the scores), got {filter_value!r}")
    return value


class EESLogitsWarper(_Base):
    """Entropy Equilibrium Sampling (specification §2) as a logits warper.

    ``temperature`` is applied before EES and stays in the sampling distribution (the authors
    placed a temperature warper before theirs); leave it at 1.0 when another warper applies
    the temperature first. ``rule``, ``min_tokens_to_keep`` and ``accumulate`` are those of
    :func:`ees_theory.torch.ees_mask`; ``sync_free`` and ``check_inputs``: see the module docstring.

    Parameters
    ----------
    temperature : float
        Finite and ``> 0`` (default 1): the scores are divided by it before EES.
    min_tokens_to_keep : int
        At least this many tokens are kept, ``>= 1`` (default 1).
    rule : str
        The selection rule: ``"first-exclusive"`` (the default), ``"first-inclusive"`` or ``"last"``.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the scores'
        dtype).
    filter_value : float
        The score of a dropped token: ``-inf`` (the default) or a finite number, never NaN or
        ``+inf``; beyond the scores' dtype it becomes that dtype's most negative (largest) number.
    sync_free : bool or None
        ``True``: the call reads back one value, the verdict of the input checks; ``None`` (the
        default): ``True`` for scores off the CPU (see the module docstring).
    check_inputs : bool
        With ``sync_free``, ``False`` skips that read too: no host read at all, NaN or ``+inf``
        scores not diagnosed (default ``True``).

    Examples
    --------
    >>> import torch
    >>> w = EESLogitsWarper(temperature=2.0, filter_value=-100.0)
    >>> w(None, torch.tensor([[3.0, 1.0, 0.5, -2.0]])).tolist()
    [[0.0, -1.0, -100.0, -100.0]]
    >>> EESLogitsWarper(temperature=2.0, filter_value=-100.0, sync_free=True, check_inputs=False)(None, torch.tensor([[3.0, 1.0, 0.5, -2.0]])).tolist()
    [[0.0, -1.0, -100.0, -100.0]]
    """

    def __init__(
        self,
        temperature: float = 1.0,
        min_tokens_to_keep: int = 1,
        rule: str = spec.DEFAULT_RULE,
        accumulate: str = "float32",
        filter_value: float = float("-inf"),
        *,
        sync_free: bool | None = None,
        check_inputs: bool = True,
    ):
        self.temperature = spec.check_temperature(temperature)
        self.min_tokens_to_keep = spec.check_min_tokens_to_keep(min_tokens_to_keep)
        self.rule = spec.check_rule(rule)
        self.accumulate = et_torch._core.check_accumulate(accumulate)
        self.filter_value = _check_filter_value(filter_value)
        self.sync_free = _check_sync_free(sync_free)
        self.check_inputs = et_torch._core.check_flag(check_inputs, "check_inputs")

    def __call__(self, input_ids: torch.LongTensor | None, scores: torch.FloatTensor) -> torch.FloatTensor:
        return et_torch.ees_logits(
            scores, self.temperature, self.min_tokens_to_keep, self.rule, self.accumulate, filter_value=self.filter_value,
            sync_free=_use_sync_free(self.sync_free, scores), check_inputs=self.check_inputs,
        )


def _greedy_keep_at_least(scores: torch.Tensor, out: torch.Tensor, T: torch.Tensor, m: int) -> torch.Tensor:
    """In greedy rows (``T <= 0``) keep the ``m`` largest finite scores, with equal weight.

    Outside greedy rows a temperature drops nothing, so ``min_tokens_to_keep`` has nothing to do.
    """
    if m <= 1:
        return out
    greedy = (T <= 0).reshape(*scores.shape[:-1], 1)
    top = torch.topk(scores, min(m, scores.shape[-1]), dim=-1).indices
    in_top = torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, top, True)
    restore = greedy & in_top & torch.isfinite(scores)
    return torch.where(restore, torch.zeros((), dtype=out.dtype, device=out.device), out)


class EDTLogitsWarper(_Base):
    """EDT (specification §3): divide by ``T = T0 * N**(theta / H)``; ``H = 0`` is greedy.

    In the greedy limit every token tied at the maximum gets score 0 and the others
    ``filter_value``; ``min_tokens_to_keep = m > 1`` keeps the ``m`` largest with equal weight.
    ``fused``, ``sync_free`` and ``check_inputs``: see the module docstring.

    Parameters
    ----------
    T0 : float
        The base temperature, finite and ``> 0``, within the range of the scores' compute dtype.
    theta : float
        The exponent's scale, finite and ``>= 0``.
    N : float
        The base of the power, strictly between 0 and 1 (default 0.8).
    entropy_of : str
        ``"raw"`` (the default: ``H`` of the scores as given) or ``"tempered"``.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the scores'
        dtype).
    min_tokens_to_keep : int
        At least this many tokens keep their score, ``>= 1`` (default 1).
    filter_value : float
        The score of a dropped token: ``-inf`` (the default) or a finite number, never NaN or
        ``+inf``; beyond the scores' dtype it becomes that dtype's most negative (largest) number.
    fused : bool
        ``True`` takes ``H`` from one fused reduction per row: within the same error band, not the
        same bits (default ``False``).
    sync_free : bool or None
        ``True``: the call reads back one value, the verdict of the input checks; ``None`` (the
        default): ``True`` for scores off the CPU (see the module docstring).
    check_inputs : bool
        With ``sync_free``, ``False`` skips that read too: no host read at all, NaN or ``+inf``
        scores not diagnosed (default ``True``).

    Examples
    --------
    >>> import torch
    >>> w = EDTLogitsWarper(T0=1.0, theta=1.0)
    >>> w(None, torch.tensor([[4.0, -float("inf")]])).tolist()
    [[0.0, -inf]]
    """

    def __init__(
        self,
        T0: float,
        theta: float,
        N: float = spec.EDT_DEFAULT_N,
        entropy_of: str = "raw",
        accumulate: str = "float32",
        min_tokens_to_keep: int = 1,
        filter_value: float = float("-inf"),
        *,
        fused: bool = False,
        sync_free: bool | None = None,
        check_inputs: bool = True,
    ):
        self.T0, self.theta, self.N = spec.check_edt_params(T0, theta, N)
        self.entropy_of = spec.check_entropy_of(entropy_of)
        self.accumulate = et_torch._core.check_accumulate(accumulate)
        self.min_tokens_to_keep = spec.check_min_tokens_to_keep(min_tokens_to_keep)
        self.filter_value = _check_filter_value(filter_value)
        self.fused = et_torch._core.check_flag(fused, "fused")
        self.sync_free = _check_sync_free(sync_free)
        self.check_inputs = et_torch._core.check_flag(check_inputs, "check_inputs")

    def __call__(self, input_ids: torch.LongTensor | None, scores: torch.FloatTensor) -> torch.FloatTensor:
        if _use_sync_free(self.sync_free, scores):
            # the one host read is edt_temperature's check of the scores: its T is never NaN or negative
            T = et_torch.edt_temperature(scores, self.T0, self.theta, self.N, self.entropy_of, self.accumulate, fused=self.fused,
                                         sync_free=True, check_inputs=self.check_inputs)
            out = et_torch.apply_temperature(scores, T, greedy="ties", filter_value=self.filter_value, sync_free=True, check_inputs=False)
        else:
            T = et_torch.edt_temperature(scores, self.T0, self.theta, self.N, self.entropy_of, self.accumulate, fused=self.fused)
            out = et_torch.apply_temperature(scores, T, greedy="ties", filter_value=self.filter_value)
        return _greedy_keep_at_least(scores, out, T, self.min_tokens_to_keep)


class DynaTempLogitsWarper(_Base):
    """llama.cpp's dynamic temperature (specification §4) over the scores as given.

    ``T <= 0`` is greedy: the first maximum in token order (llama.cpp's choice) gets score 0, the
    others ``filter_value``; ``min_tokens_to_keep = m > 1`` keeps the ``m`` largest with equal weight.
    ``fused``, ``sync_free`` and ``check_inputs``: see the module docstring (sync-free, the one read
    also covers the rows a negative exponent cannot serve).

    Parameters
    ----------
    temp : float
        The centre temperature, finite (``<= 0``: greedy).
    delta : float
        The half-width of the range ``[temp - delta, temp + delta]``, finite (``<= 0``: ``temp``
        on every row).
    exponent : float
        The power applied to ``H / ln n``, finite (default 1).
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the scores'
        dtype).
    min_tokens_to_keep : int
        At least this many tokens keep their score, ``>= 1`` (default 1).
    filter_value : float
        The score of a dropped token: ``-inf`` (the default) or a finite number, never NaN or
        ``+inf``; beyond the scores' dtype it becomes that dtype's most negative (largest) number.
    fused : bool
        ``True`` takes ``H`` from one fused reduction per row: within the same error band, not the
        same bits (default ``False``).
    sync_free : bool or None
        ``True``: the call reads back one value, the verdict of the input checks; ``None`` (the
        default): ``True`` for scores off the CPU (see the module docstring).
    check_inputs : bool
        With ``sync_free``, ``False`` skips that read too: no host read at all, NaN or ``+inf``
        scores not diagnosed (default ``True``).

    Examples
    --------
    >>> import torch
    >>> w = DynaTempLogitsWarper(temp=1.0, delta=0.5, exponent=1.0)
    >>> w(None, torch.tensor([[0.0, 0.0]])).tolist()      # H = ln 2 = ln n: T = T_max = 1.5
    [[0.0, 0.0]]
    """

    def __init__(
        self,
        temp: float,
        delta: float,
        exponent: float = 1.0,
        accumulate: str = "float32",
        min_tokens_to_keep: int = 1,
        filter_value: float = float("-inf"),
        *,
        fused: bool = False,
        sync_free: bool | None = None,
        check_inputs: bool = True,
    ):
        self.temp, self.delta, self.exponent = spec.check_dynatemp_params(temp, delta, exponent)
        self.accumulate = et_torch._core.check_accumulate(accumulate)
        self.min_tokens_to_keep = spec.check_min_tokens_to_keep(min_tokens_to_keep)
        self.filter_value = _check_filter_value(filter_value)
        self.fused = et_torch._core.check_flag(fused, "fused")
        self.sync_free = _check_sync_free(sync_free)
        self.check_inputs = et_torch._core.check_flag(check_inputs, "check_inputs")

    def __call__(self, input_ids: torch.LongTensor | None, scores: torch.FloatTensor) -> torch.FloatTensor:
        if _use_sync_free(self.sync_free, scores):
            return self._sync_free_call(scores)
        return self._checked_call(scores)

    def _checked_call(self, scores: Any) -> torch.Tensor:
        scores = et_torch._core.check_logits(scores, "scores")  # a list, a scalar, NaN, +inf or an empty row is an error
        if scores.shape[-1] <= 1:  # llama.cpp applies nothing to a single candidate
            return scores.clone()
        T = et_torch.dynatemp_temperature(scores, self.temp, self.delta, self.exponent, self.accumulate, fused=self.fused).clamp(min=0)
        out = et_torch.apply_temperature(scores, T, greedy="first", filter_value=self.filter_value)
        return _greedy_keep_at_least(scores, out, T, self.min_tokens_to_keep)

    def _sync_free_call(self, scores: torch.Tensor) -> torch.Tensor:
        x = et_torch._core.check_logits(scores, "scores", values=False)
        flags = []
        if x.shape[-1] <= 1:
            out = x.clone()
        else:
            T, flags = et_torch.temperature._dynatemp(x, self.temp, self.delta, self.exponent, self.accumulate, False, self.fused, True)
            T = T.clamp(min=0)
            out = _greedy_keep_at_least(
                x, et_torch.apply_temperature(x, T, greedy="first", filter_value=self.filter_value, sync_free=True, check_inputs=False),
                T, self.min_tokens_to_keep)
        if self.check_inputs and x.numel() and et_torch._core.any_bad(et_torch._core.logits_bad(x.amax(dim=-1)), *flags):
            return self._checked_call(scores)  # raises the precise error
        return out

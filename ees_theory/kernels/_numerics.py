"""How a float implementation forms probabilities and sums: the choices a careful port makes.

The kernels run with :data:`DEFAULT` (their own, fastest choices). The harness re-runs the same
kernel rules under other :class:`Numerics` (:mod:`ees_theory.errormodel.styles`) to learn which
answers careful implementations in a dtype actually produce on a row; the rule itself is never
written twice, only the arithmetic around it changes. Every choice is exact mathematics; they
differ only in rounding:

* ``probs``: ``softmax`` (``exp(x - max) / sum``), ``log_softmax`` then ``exp`` (the library's
  fused log-softmax: one rounding), ``log_softmax_stepwise`` then ``exp`` (``t = x - max``,
  ``t - ln(sum exp t)``, each step rounded into the compute dtype, as hand-written code does), or
  ``logsumexp`` then ``exp`` (``x - logsumexp(x)``, the log-sum-exp a rounded value
  ``max + ln(sum exp(x - max))``: its rounding at the logits' magnitude moves every
  log-probability, so a log-probability near 0 carries an error of about ``|max| u``);
* ``shift``: ``after`` (divide by the temperature, then the softmax shifts), ``before``
  (``(z - max) / tau``) or ``reciprocal`` (``(z - max) * (1 / tau)``, the reciprocal rounded to
  the compute dtype);
* ``temperature``: the temperature the logits are divided by (or multiplied by the reciprocal of)
  is a ``tensor`` in the compute dtype (in half precision that is another temperature: ``0.7``
  becomes ``0.69921875`` in bfloat16) or a Python ``scalar`` (``logits / 0.7``: torch carries the
  operation out in float32 and rounds the quotient once, so it is the correctly rounded ``z / T``
  almost always); the two differ only in half precision;
* ``rank``: tokens ordered by their scaled ``logits`` or by their computed ``probs`` (ties
  between computed probabilities are then real ties for the port);
* ``log_p``: a log-probability as ``log_softmax`` of the scaled logits (finite for every
  candidate) or as the ``log`` of the computed probability (llama.cpp's typical sampler takes
  ``-logf(p)``): a probability that underflowed to 0 then has ``ln p = -inf``, so every such token
  gets the same typicality score, ``inf``, and they tie at the end of typical's order;
* ``mass``: the mass before a token summed from the ``top`` (the running sum less the token's
  own probability), ``top-shifted`` (the running sum up to the token before: a loop stopping
  once its sum reaches the parameter) or as ``1 - (sum from the bottom)``;
* ``threshold``: a ratio threshold (min-p) compared on ``logits`` (``z_i - z_max >= ln r``), on
  ``probs`` (``p_i >= r p_max``) or on ``log_probs`` (``ln p_i - ln p_max >= ln r``);
* ``sums``: ``torch`` (the library's reduction; half-precision sums accumulate in float32),
  ``sequential`` (one rounding per addition, in order), ``sequential-scan`` (running sums
  sequential, totals such as the softmax's normaliser by the library: numpy's ``cumsum`` beside
  its pairwise ``sum``), ``sequential-down`` and ``sequential-up`` (the same with every addition
  of the running sums rounded toward ``-inf`` or ``+inf``: no careful port does that, but every
  running sum rounded to nearest in that order lies between the two, so the counts they give
  bracket the counts of such ports, whose half-precision sums can stall or run ahead on a long
  flat row), or ``blocked:B`` (each block of ``B``
  summed and rounded, then the library's running sum over the blocks: the shape of GPU tree and
  fused reductions);
* ``variance``: top-n-sigma's deviations squared after scaling by a power of two near the
  largest (``scaled``: no square underflows) or as they are (``plain``: in half precision the
  squares of deviations below about ``2**-12`` underflow to 0, and ``sigma`` with them);
* ``param``: a computed value compared with a sampler's parameter (a prefix mass with top-p's
  ``p`` or typical's ``mass``, a probability with epsilon's or eta's threshold) as torch compares
  a tensor with a Python number, the number rounded to the tensor's dtype (``tensor``), or at the
  parameter's own precision (``exact``: numpy on float64 values, C code comparing in double; eta's
  threshold is then float64 arithmetic on the computed entropy), which in half precision moves
  the cut by up to one unit in the last place of the compared value.

>>> import torch
>>> x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float16)
>>> with using(Numerics(sums="blocked:2")):
...     cumsum(x).tolist(), total(x).tolist()
([1.0, 3.0, 6.0, 10.0, 15.0], [15.0])
"""

from __future__ import annotations

import contextlib
import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from ..spec.formats import round_to_dtype

#: the ``sums`` choices whose running sums go one addition at a time
_SEQUENTIAL = ("sequential", "sequential-scan", "sequential-down", "sequential-up")
#: the ``sums`` choices whose totals (the softmax's normaliser, an entropy) are the library's
_LIBRARY_TOTALS = ("torch", "sequential-scan", "sequential-down", "sequential-up")

__all__ = ["Numerics", "DEFAULT", "current", "using", "against_param", "cumsum", "total", "softmax", "log_softmax", "scale"]


@dataclass(frozen=True)
class Numerics:
    """One set of arithmetic choices (see the module docstring)."""

    probs: str = "softmax"
    shift: str = "after"
    temperature: str = "tensor"
    rank: str = "logits"
    log_p: str = "log_softmax"
    mass: str = "top"
    threshold: str = "logits"
    sums: str = "torch"
    param: str = "tensor"
    variance: str = "scaled"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("probs", ("softmax", "log_softmax", "log_softmax_stepwise", "logsumexp")),
            ("shift", ("after", "before", "reciprocal")),
            ("temperature", ("tensor", "scalar")),
            ("rank", ("logits", "probs")),
            ("log_p", ("log_softmax", "log")),
            ("mass", ("top", "top-shifted", "bottom")),
            ("threshold", ("logits", "probs", "log_probs")),
            ("param", ("tensor", "exact")),
            ("variance", ("scaled", "plain")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if self.sums not in _SEQUENTIAL + ("torch",) and not (self.sums.startswith("blocked:") and self.sums[8:].isdigit() and int(self.sums[8:]) >= 2):
            raise ValueError(f"sums must be torch, {', '.join(_SEQUENTIAL)} or blocked:B (B >= 2); got {self.sums!r}")

    @property
    def name(self) -> str:
        """A short label: the choices that differ from :data:`DEFAULT`."""
        parts = [f"{k}={getattr(self, k)}" for k in ("probs", "shift", "temperature", "rank", "log_p", "mass", "threshold", "sums", "param", "variance") if getattr(self, k) != getattr(DEFAULT, k)]
        return ",".join(parts) or "default"


DEFAULT = Numerics()
_CURRENT: ContextVar[Numerics] = ContextVar("ees_theory_numerics", default=DEFAULT)


def current() -> Numerics:
    """The numerics in force (the kernels' own unless :func:`using` says otherwise)."""
    return _CURRENT.get()


@contextlib.contextmanager
def using(numerics: Numerics) -> Iterator[Numerics]:
    """Run the kernels under ``numerics`` inside the ``with`` block."""
    token = _CURRENT.set(numerics)
    try:
        yield numerics
    finally:
        _CURRENT.reset(token)


# ---- sequential sums: one rounding per addition --------------------------------------------------


def _sequential_cumsum(x: torch.Tensor) -> torch.Tensor:
    """Running sums along the last axis with one rounding into ``x.dtype`` per addition."""
    if x.dtype in (torch.float16, torch.float32, torch.float64):
        # numpy's accumulate adds in order and rounds each partial sum into the array's dtype
        a = x.detach().cpu().numpy()
        out = np.add.accumulate(a, axis=-1, dtype=a.dtype)
        return torch.from_numpy(np.ascontiguousarray(out)).to(x.device)
    if x.dtype != torch.bfloat16:
        raise TypeError(f"no sequential sum for {x.dtype}")
    flat = x.detach().double().cpu().reshape(-1, x.shape[-1]).numpy()
    out = np.empty_like(flat)
    s = np.zeros(flat.shape[0])
    for j in range(flat.shape[1]):  # every row at once, one column at a time
        s = round_to_dtype(s + flat[:, j], "bfloat16")  # exact in float64, then one rounding
        out[:, j] = s
    return torch.from_numpy(out).reshape(x.shape).to(torch.bfloat16).to(x.device)


def _directed_cumsum(x: torch.Tensor, direction: str) -> torch.Tensor:
    """Running sums along the last axis with every addition rounded into ``x.dtype`` toward
    ``-inf`` (``direction="down"``) or ``+inf`` (``"up"``). Each partial sum is formed exactly in
    float64 (two float16 or float32 values add exactly there, up to an exponent gap that leaves
    the smaller one far below the unit of the larger) and then rounded the chosen way.

    >>> x = torch.tensor([1.0, 2.0**-12, 2.0**-12, 2.0**-12], dtype=torch.float16)
    >>> _directed_cumsum(x, "down").tolist(), _directed_cumsum(x, "up").tolist()
    ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0009765625, 1.001953125, 1.0029296875])
    """
    if x.dtype not in (torch.float16, torch.float32):
        raise TypeError(f"no directed running sum for {x.dtype}")
    a = x.detach().cpu().numpy()
    flat = a.reshape(-1, a.shape[-1]).astype(np.float64)
    toward = a.dtype.type(-np.inf if direction == "down" else np.inf)
    out = np.empty(flat.shape, dtype=a.dtype)
    s = np.zeros(flat.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(flat.shape[1]):  # every row at once, one column at a time
            exact = s + flat[:, j]
            r = exact.astype(a.dtype)  # to nearest
            off = (r.astype(np.float64) > exact) if direction == "down" else (r.astype(np.float64) < exact)
            r = np.where(off, np.nextafter(r, toward), r)
            out[:, j] = r
            s = r.astype(np.float64)
    return torch.from_numpy(out.reshape(a.shape)).to(x.device)


def _blocked_cumsum(x: torch.Tensor, block: int) -> torch.Tensor:
    """Running sums as a blocked scan: torch's scan inside blocks of ``block``, then the block
    totals' running sum added to every later block (each step rounded into ``x.dtype``)."""
    V = x.shape[-1]
    pad = (-V) % block
    xp = torch.nn.functional.pad(x, (0, pad)) if pad else x
    blocks = xp.reshape(*x.shape[:-1], -1, block)
    inner = torch.cumsum(blocks, dim=-1).to(x.dtype)
    offsets = torch.cumsum(inner[..., -1], dim=-1).to(x.dtype) - inner[..., -1]
    out = (inner + offsets.unsqueeze(-1)).to(x.dtype).reshape(*x.shape[:-1], -1)
    return out[..., :V]


def _blocked_total(x: torch.Tensor, block: int) -> torch.Tensor:
    V = x.shape[-1]
    pad = (-V) % block
    xp = torch.nn.functional.pad(x, (0, pad)) if pad else x
    partial = xp.reshape(*x.shape[:-1], -1, block).sum(dim=-1).to(x.dtype)
    return torch.cumsum(partial, dim=-1)[..., -1:]


def against_param(x: torch.Tensor) -> torch.Tensor:
    """``x`` as the current numerics compare it with a Python-number parameter: as it is (torch
    then rounds the number to ``x``'s dtype) or, with ``param="exact"``, in float64 (every float
    value and parameter is exact there).

    >>> m = torch.tensor([0.94921875], dtype=torch.bfloat16)
    >>> bool(m < 0.95)                                # torch rounds 0.95 to bfloat16: 0.94921875
    False
    >>> with using(Numerics(param="exact")):
    ...     bool(against_param(m) < 0.95)
    True
    """
    return x.double() if current().param == "exact" else x


def cumsum(x: torch.Tensor) -> torch.Tensor:
    """Running sums along the last axis under the current numerics (the kernels' ``torch.cumsum``
    by default)."""
    s = current().sums
    if s == "torch":
        return torch.cumsum(x, dim=-1)
    if s in ("sequential", "sequential-scan"):
        return _sequential_cumsum(x)
    if s in ("sequential-down", "sequential-up"):
        return _directed_cumsum(x, s[11:])
    return _blocked_cumsum(x, int(s[8:]))


def total(x: torch.Tensor) -> torch.Tensor:
    """The sum along the last axis (kept as a length-1 axis) under the current numerics."""
    s = current().sums
    if s in _LIBRARY_TOTALS:
        return x.sum(dim=-1, keepdim=True)
    if s == "sequential":
        return _sequential_cumsum(x)[..., -1:]
    return _blocked_total(x, int(s[8:]))


def scale(z: torch.Tensor, tau64: torch.Tensor, cd: torch.dtype, masked: torch.Tensor | None = None) -> torch.Tensor:
    """The scaled logits ``z / tau`` in the compute dtype ``cd`` under the current numerics: the
    ``shift`` (subtract the maximum before or after), the ``temperature`` (a tensor in ``cd`` or a
    Python scalar) and the reciprocal. ``z`` holds the logits (``-inf`` masked, along the last
    axis), ``tau64`` the temperatures in float64, one per row (shape ``(..., 1)``); ``masked``, where
    the caller has it, is ``isneginf(z)``.

    In half precision a scalar temperature is the correctly rounded quotient, a tensor one the
    quotient by the rounded temperature:

    >>> z = torch.tensor([1.0, 2.203125], dtype=torch.bfloat16); t = torch.tensor([[0.7]], dtype=torch.float64)
    >>> scale(z, t, torch.bfloat16).tolist()   # divided by 0.69921875
    [[1.4296875, 3.15625]]
    >>> with using(Numerics(temperature="scalar")):   # z / 0.7 as torch computes it
    ...     scale(z, t, torch.bfloat16).tolist()
    [[1.4296875, 3.140625]]
    >>> (z / 0.7).tolist()
    [1.4296875, 3.140625]
    """
    nm = current()
    masked = torch.isneginf(z) if masked is None else masked
    zc = z.to(cd)
    half = cd in (torch.float16, torch.bfloat16)
    # torch computes a half-precision tensor op with a Python number in float32 and rounds once
    od = torch.float32 if (half and nm.temperature == "scalar") else cd
    tau = tau64.to(od)
    if nm.shift in ("before", "reciprocal"):  # (z - max) / tau: the shift happens before the division
        x = (zc - torch.where(masked, -math.inf, zc).amax(dim=-1, keepdim=True)).to(od)
        inv = (1.0 / tau64).to(od)  # the reciprocal rounded (inf: divide instead)
        x = torch.where(torch.isfinite(inv), x * inv, x / tau) if nm.shift == "reciprocal" else x / tau
    else:
        x = zc.to(od) / tau
    return x.to(cd).masked_fill(masked, -math.inf)


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of the scaled logits ``x`` under the current numerics' sums
    (``torch.log_softmax`` with the library's sums)."""
    nm = current()
    if nm.probs == "logsumexp":
        if nm.sums in _LIBRARY_TOTALS:
            return x - torch.logsumexp(x, dim=-1, keepdim=True)
        top = x.amax(dim=-1, keepdim=True)
        return x - (top + torch.log(total(torch.exp(x - top))))
    if nm.sums in _LIBRARY_TOTALS and nm.probs != "log_softmax_stepwise":
        return torch.log_softmax(x, dim=-1)
    t = x - x.amax(dim=-1, keepdim=True)
    return t - torch.log(total(torch.exp(t)))


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Probabilities of the scaled logits ``x`` under the current numerics (``torch.softmax`` by
    default; masked entries are ``-inf`` and get 0)."""
    nm = current()
    if nm.probs != "softmax":
        return torch.exp(log_softmax(x))
    if nm.sums in _LIBRARY_TOTALS:
        return torch.softmax(x, dim=-1)
    e = torch.exp(x - x.amax(dim=-1, keepdim=True))
    return e / total(e)

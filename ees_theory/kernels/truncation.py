"""Batched float kernels for the truncation samplers (every one of
:data:`~ees_theory.core.truncation.registry.SAMPLERS`), with the same methods, parameters and policies as
:func:`ees_theory.reference.truncate` (see :mod:`ees_theory.reference.truncation` for what each
policy means). Device-agnostic; no Python loop over the vocabulary or the batch.

``truncate_mask(method, logits, temperature=1.0, policy="paper", accumulate="float32", **params)``
returns a bool tensor of the logits' shape, True = kept. The work runs on ``softmax(logits / tau)``
in the dtype chosen by ``accumulate`` (:func:`ees_theory.kernels._core.compute_dtype`). Canonical
order (probability descending, ties by id ascending) is a stable descending sort.

Each sampler's kernel is the ``kernel`` of its module in :mod:`ees_theory.core.truncation`: this
module prepares the batch (:func:`_prepare`: scaled logits, their sort, the probabilities), hands it
over as a :class:`_Row` (with the torch namespace and the current numerics' sums, so that the core
imports no torch) and calls the kernel of the rule the registry names.

>>> import torch
>>> z = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
>>> truncate_mask("top-p", z, p=0.9).tolist()
[[True, True, True, False], [True, True, True, True]]
>>> mask, token, mu = mirostat_step("mirostat-v2", torch.tensor([2.0, 1.0, 0.0]), tau=1.0, eta=0.1, u=0.5)
>>> mask.tolist(), int(token), round(float(mu), 4)
([True, False, False], 0, 2.0412)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..core.truncation.registry import SAMPLERS
from ..core.truncation.registry import check_params
from ..core.ctx import torch_context
from ..core.truncation import typical
from ..core.truncation.registry import rule as truncation_rule
from ._core import check_logits, compute_dtype, needs_wide, row_temperature, wide_scaled
from ._workspace import scratch
from . import _numerics

__all__ = ["truncate_mask", "mirostat_step", "ranking_key", "typical_count", "typical_counter"]


def _prepare(logits, temperature, accumulate):
    logits = check_logits(logits)
    cd = compute_dtype(logits.dtype, accumulate)
    masked = torch.isneginf(logits)
    tau64 = row_temperature(temperature, logits.shape[:-1], torch.float64, logits.device)
    magnitude = torch.where(masked, 0.0, logits.double().abs()).amax(dim=-1, keepdim=True)
    sz = None
    if needs_wide(tau64, 2 * magnitude, cd):
        # a temperature the compute dtype cannot hold, or logits / tau beyond its range: the
        # work runs in float64 on the shifted logits (softmax and every rule here are
        # shift-invariant); the order comes from the logits themselves, since scaled values
        # past float64's range are clamped (their weight is 0) and would tie
        x = wide_scaled(logits, logits.amax(dim=-1, keepdim=True), tau64, torch.float64)
        x = x.masked_fill(masked, -math.inf)
        _, idx = torch.sort(logits, dim=-1, descending=True, stable=True)
        sx = torch.gather(x, -1, idx)
        sz = torch.gather(logits, -1, idx).double()  # for the rank- and scale-invariant rules
    else:
        nm = _numerics.current()
        x = _numerics.scale(logits, tau64, cd, masked)
        if nm.rank == "probs":  # ordered by the computed probabilities (their ties are the port's)
            _, idx = torch.sort(_numerics.softmax(x), dim=-1, descending=True, stable=True)
            sx = torch.gather(x, -1, idx)
        else:
            sx, idx = torch.sort(x, dim=-1, descending=True, stable=True)
    sp = torch.softmax(sx, dim=-1) if _numerics.current() is _numerics.DEFAULT else _numerics.softmax(sx)
    n = (~masked).sum(dim=-1, keepdim=True)
    pos = torch.arange(x.shape[-1], device=x.device).expand_as(x)
    return x, masked, sx, idx, sp, n, pos, sz


def _unsort(sorted_keep: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(sorted_keep).scatter(-1, idx, sorted_keep)


def _floor(keep, pos, n, m, sx=None):
    """At least ``m`` (and one) of the candidates; with ``sx`` every token tied with the m-th too."""
    mm = torch.clamp(torch.minimum(torch.full_like(n, max(m, 1)), n), min=1)
    if sx is None:
        return keep | (pos < mm)
    thr = torch.gather(sx, -1, mm - 1)
    return keep | (sx >= thr)


_T = torch_context()


def _log_probs(sx, sp):
    # the kernels' own: log_softmax, finite for every candidate; under numerics with
    # log_p="log" the logarithm of the computed probabilities (-inf where one underflowed)
    if _numerics.current().log_p == "log":
        return torch.log(sp)
    return torch.log_softmax(sx, dim=-1)


def _entropy(sp, slp):
    # = core.entropy.entropy_from_log_probs(sp, slp, torch ctx) in one scratch buffer (calling it
    # costs 6.8x here: a mask and two fresh tensors); pinned by tests/test_truncation.py
    # 0 ln 0 = 0: a masked or underflowed token has p = 0 and log p = -inf, so its product is
    # NaN and is replaced by 0 (the only NaN possible: p > 0 has a finite log); in a scratch
    # buffer, as a fresh one per call costs more than the arithmetic on CPU (see ._workspace)
    terms = torch.mul(sp, slp, out=scratch("entropy_terms", sp.shape, sp.dtype, sp.device))
    terms = terms.nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)
    return -(terms.sum(dim=-1, keepdim=True) if _numerics.current() is _numerics.DEFAULT else _numerics.total(terms))


def _as_row_param(value, name, batch_shape, dtype, device, lo=None, hi_open=None):
    t = torch.as_tensor(value, dtype=torch.float64, device=device)
    try:
        t = torch.broadcast_to(t, batch_shape)
    except RuntimeError:
        raise ValueError(f"{name} of shape {tuple(t.shape)} does not match the batch shape {tuple(batch_shape)}") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    if lo is not None and bool((t < lo).any()) or hi_open is not None and bool((t >= hi_open).any()):
        raise ValueError(f"{name} must lie in [{lo}, {hi_open})")
    return t.to(dtype).unsqueeze(-1)


class _Row:
    """One prepared batch (see :func:`_prepare`) with what every rule's kernel reads (the
    ``kernel`` of its module in :mod:`ees_theory.core.truncation`): the sorted scaled logits
    ``sx``, their probabilities ``sp``, the sort ``idx``, the positions ``pos``, the candidate
    counts ``n`` and mask ``cand``, the row length ``V`` and ``min_tokens_to_keep`` ``m``, and the
    helpers below.

    >>> r = _Row(*_prepare(torch.tensor([2.0, 1.0, 0.0, -1.0]), 1.0, "float32"), 1)
    >>> r.count(r.sp >= 0.1).tolist(), r.at_least(r.pos < 0, truncation_rule("top-p").policy("paper")).tolist()
    ([2], [True, False, False, False])
    """

    __slots__ = ("x", "masked", "sx", "idx", "sp", "n", "pos", "sz", "cand", "V", "m", "params", "want_state")

    def __init__(self, x, masked, sx, idx, sp, n, pos, sz, m):
        self.x, self.masked, self.sx, self.idx, self.sp, self.n, self.pos, self.sz = x, masked, sx, idx, sp, n, pos, sz
        self.cand = pos < n
        self.V = x.shape[-1]
        self.m = m

    def all(self):
        return torch.ones_like(self.cand)

    def values(self):
        """The values ranks and ties are read from: the logits themselves where their scaled
        values left the float range (the rules that use them are rank- and scale-invariant)."""
        return self.sx if self.sz is None else self.sz

    # ---- what a rule's kernel (``kernel`` of its module in core.truncation) reads ---------------
    #: the tensor namespace a kernel computes with (the core modules import no torch)
    t = torch
    #: the torch arithmetic context, for the core formulas written against one
    T = _T

    @property
    def numerics(self):
        """The current numerics (:mod:`._numerics`): how a port sums, ranks and compares."""
        return _numerics.current()

    def cumsum(self, x):
        """Running sums along the last axis, in the current numerics' order."""
        return _numerics.cumsum(x)

    def total(self, x):
        """The sum over the last axis, in the current numerics' order."""
        return _numerics.total(x)

    def against_param(self, x):
        """``x`` at the precision it meets a parameter in, under the current numerics."""
        return _numerics.against_param(x)

    def log_softmax(self, x):
        """``log_softmax`` over the last axis under the current numerics."""
        return _numerics.log_softmax(x)

    def log_probs(self):
        """The log-probabilities of the sorted row (``torch.log_softmax``, or under the numerics'
        ``log_p="log"`` the logarithm of the computed probabilities)."""
        return _log_probs(self.sx, self.sp)

    def entropy(self, slp):
        """The entropy of the sorted row from its log-probabilities ``slp`` (:func:`_entropy`)."""
        return _entropy(self.sp, slp)

    def mass_before(self, p=None, kernel_form: str = "top"):
        """The mass of the tokens before each position of the sorted order, or of the order ``p``
        (probabilities) comes in (running sums under the current numerics): the running sum less
        the token's own probability, or with ``mass="top-shifted"`` the running sum up to the token
        before (a loop that stops once its running sum reaches the parameter, as llama.cpp's
        top-p does). ``kernel_form`` is the form the kernel itself uses (its default numerics)."""
        p = self.sp if p is None else p
        c = _numerics.cumsum(p)
        nm = _numerics.current()
        if (kernel_form if nm is _numerics.DEFAULT else nm.mass) == "top-shifted":
            return torch.cat([torch.zeros_like(c[..., :1]), c[..., :-1]], dim=-1)
        return c - p

    def count(self, mask):
        """How many candidates of each row ``mask`` holds (keepdim)."""
        return (mask & self.cand).sum(dim=-1, keepdim=True)

    def floor(self, keep, m, values=None):
        """``keep`` with at least ``m`` (and one) of the candidates; with ``values`` every token
        tied with the m-th too."""
        return _floor(keep, self.pos, self.n, m, values)

    def at_least(self, keep, pol):
        """``keep`` with the policy's ``min_tokens_to_keep`` floor (and the ties at it, if it has them)."""
        return _floor(keep, self.pos, self.n, self.m, self.values() if pol.min_keep == "floor-ties" else None)

    def unsort(self, sorted_keep):
        """A tensor of the sorted positions put back in token order."""
        return _unsort(sorted_keep, self.idx)

    def row_param(self, value, name, lo=None, hi_open=None):
        """A per-row parameter (a number or a tensor of the batch shape), checked, as a column in
        the compute dtype."""
        return _as_row_param(value, name, self.x.shape[:-1], self.sx.dtype, self.x.device, lo=lo, hi_open=hi_open)


def typical_count(logits: Any, order: Any, temperature: float = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any) -> int:
    """How many tokens typical keeps on one row when its candidates come in ``order`` (token ids,
    most typical first) instead of the order of its computed scores, under the current numerics
    (the ``min_tokens_to_keep`` floor included; ties at the cut are not extended). Careful ports
    whose scores differ by a rounding order tokens differently, and the cut then falls elsewhere.

    Parameters
    ----------
    logits : torch.Tensor
        One row (1-D), as :func:`truncate_mask` takes it.
    order : sequence of int
        Token ids of the row's candidates, each once, most typical first.
    temperature, policy, accumulate, **params
        As for :func:`truncate_mask` with ``method="typical"`` (``mass``, ``min_tokens_to_keep``).

    Returns
    -------
    int
        The kept count along ``order``.

    >>> import torch
    >>> z = torch.tensor([0.0, -0.1, -0.2, -0.3])    # p = 0.289, 0.261, 0.236, 0.214
    >>> typical_count(z, [0, 1, 2, 3], mass=0.5), typical_count(z, [1, 2, 0, 3], mass=0.5)
    (2, 3)
    """
    return typical_counter(logits, temperature, policy, accumulate, **params)([order])[0]


def typical_counter(logits: Any, temperature: float = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any):
    """:func:`typical_count` for many orders of one row: the row's probabilities are computed
    once (under the numerics current now), and the returned ``counts(orders)`` gives the kept
    count along each order (a list of token-id lists of the same length), all in one batch; call
    it under the same numerics.

    >>> import torch
    >>> counts = typical_counter(torch.tensor([0.0, -0.1, -0.2, -0.3]), mass=0.5)
    >>> counts([[0, 1, 2, 3], [1, 2, 0, 3]])
    [2, 3]
    """
    prm = check_params("typical", policy, params)
    pol = truncation_rule("typical").policy(policy)
    x, masked, sx, idx, sp, n, pos, sz = _prepare(logits, temperature, accumulate)
    p = _unsort(sp, idx).reshape(-1)  # the probabilities by token id, as the kernel computed them
    r = _Row(x, masked, sx, idx, sp, n, pos, sz, 1)
    floor = min(max(int(prm.get("min_tokens_to_keep", 1)), 1), int(n.reshape(-1)[0]))
    n1 = n.reshape(-1)[:1]

    def counts(orders) -> list[int]:
        ids = torch.as_tensor([list(o) for o in orders], dtype=torch.int64, device=p.device)
        c = typical.kernel_count(r, p[ids], prm["mass"], pol, n1.expand(ids.shape[0]).unsqueeze(-1))
        return [max(int(v), floor) for v in c.reshape(-1).tolist()]

    return counts


def _mask(method, logits, temperature, policy, accumulate, params, want_state=False):
    rule = truncation_rule(method)  # an unknown name is refused here
    stateful = SAMPLERS[method].stateful
    # a stateful sampler's state and draw may be tensors of the batch shape: checked row-wise later
    scalar = {k: v for k, v in params.items() if not (stateful and k in ("mu", "u") and isinstance(v, torch.Tensor))}
    if stateful:
        scalar.setdefault("u", 0.0)
        for k in ("mu", "u"):
            if isinstance(params.get(k), torch.Tensor):
                scalar[k] = None if k == "mu" else 0.0
    prm = check_params(method, policy, scalar)
    pol = rule.policy(policy)
    x, masked, sx, idx, sp, n, pos, sz = _prepare(logits, temperature, accumulate)
    V = x.shape[-1]
    for key in ("k", "min_tokens_to_keep", "m"):  # a count past the row means the whole row (and
        if isinstance(prm.get(key), int) and prm[key] > V:  # one past int64 would wrap around in torch)
            prm[key] = V
    r = _Row(x, masked, sx, idx, sp, n, pos, sz, prm.get("min_tokens_to_keep", 1))
    r.params, r.want_state = params, want_state
    # the rule's kernel (``kernel`` of its module): the kept sorted positions, or with the state
    # (mask by token id, token, new mu) of a stateful sampler
    out = rule.module.kernel(r, prm, pol, pol.noop(prm), rule, policy)
    return out if want_state else _unsort(out & r.cand, idx)


def truncate_mask(
    method: str, logits: Any, temperature: Any = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any
) -> torch.Tensor:
    """Kept mask of ``method`` for every row of ``logits`` (True = kept), same shape.

    Mirostat methods need ``tau``, ``eta`` and take ``mu`` (default ``2 tau``; a float or a tensor
    of the batch shape); their mask does not depend on the draw ``u``.

    Parameters
    ----------
    method : str
        A truncation sampler, a key of :data:`~ees_theory.core.truncation.registry.SAMPLERS`.
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    policy : str
        One of the sampler's policies (default ``"paper"``).
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    **params
        The sampler's parameters by name (``k``, ``p``, ``min_tokens_to_keep``, ...); one left out
        takes its default.

    Returns
    -------
    torch.Tensor
        bool, the shape of ``logits``: ``True`` for a kept token.

    Raises
    ------
    ValueError
        An unknown method or policy, a parameter out of its domain, bad logits or temperature.
    TypeError
        A missing or unexpected parameter, or logits that are not a tensor of a supported dtype.

    Examples
    --------
    >>> import torch
    >>> truncate_mask("top-k", torch.tensor([1.0, 3.0, 3.0, 0.0]), k=1, policy="transformers").tolist()
    [False, True, True, False]
    >>> truncate_mask("min-p", torch.tensor([2.0, 1.0, 0.0]), min_p=0.3).tolist()
    [True, True, False]
    """
    return _mask(method, logits, temperature, policy, accumulate, params)


def ranking_key(logits: Any, temperature: Any = 1.0, accumulate: str = "float32", method: str | None = None) -> torch.Tensor:
    """The values the truncation kernels rank tokens by under the current numerics, in the input's
    token order (``-inf`` for masked tokens): the scaled logits, or the computed probabilities when
    the numerics rank by probabilities; for ``typical``, minus the score ``|-ln p - H|`` (its kept
    set is the tokens of smallest score). Tokens with equal values may be ordered either way.

    >>> import torch
    >>> ranking_key(torch.tensor([2.0, 0.0, -float("inf")]), 2.0).tolist()
    [1.0, 0.0, -inf]
    """
    x, masked, sx, idx, sp, n, pos, sz = _prepare(logits, temperature, accumulate)
    if method in SAMPLERS and SAMPLERS[method].ranking == "typical-score":
        slp = _log_probs(sx, sp)
        score = typical.score(slp, _entropy(sp, slp))
        # a candidate whose probability underflowed has score inf under log_p="log": the lowest
        # finite key, so that such tokens tie with each other and stay apart from masked ones
        score = torch.where(score == math.inf, torch.finfo(score.dtype).max, score)
        return _unsort(-score, idx).masked_fill(masked, -math.inf)
    if _numerics.current().rank == "probs":
        return _unsort(sp, idx).masked_fill(masked, -math.inf)
    return x.masked_fill(masked, -math.inf)


def mirostat_step(
    method: str, logits: Any, temperature: Any = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One mirostat step for every row: ``(mask, token, new_mu)``, deterministic given ``u``.

    ``u`` (a float or a tensor of the batch shape, in ``[0, 1)``) picks the token by the inverse
    CDF of the renormalised kept set; ``new_mu = mu - eta (surprise - tau)``, surprise in bits.

    Parameters
    ----------
    method : str
        ``"mirostat-v1"`` or ``"mirostat-v2"``.
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    policy : str
        One of the sampler's policies (default ``"paper"``).
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    **params
        ``tau`` and ``eta``; ``u`` (the draw, in ``[0, 1)``); ``mu`` (default ``2 tau``); ``u`` and
        ``mu`` may be tensors of the batch shape. v1 also takes ``m`` and ``n_vocab``.

    Returns
    -------
    tuple of torch.Tensor
        ``(mask, token, new_mu)``: the kept mask (the shape of ``logits``), the drawn token id and
        the next ``mu`` of each row.

    Raises
    ------
    ValueError
        A method other than mirostat, an unknown policy, a parameter out of its domain, bad
        logits or temperature.
    TypeError
        ``u`` missing, a missing or unexpected parameter, or logits that are not a tensor of a
        supported dtype.

    Examples
    --------
    >>> import torch
    >>> _, token, mu = mirostat_step("mirostat-v1", torch.tensor([[3.0, 2.0, 1.0, 0.0]]), tau=2.0, eta=0.1, u=0.9)
    >>> token.tolist()      # all 4 kept; cumulative p = .644, .881, .968: u = 0.9 picks id 2
    [2]
    """
    if not (isinstance(method, str) and method in SAMPLERS and SAMPLERS[method].stateful):
        stateful = " or ".join(name for name, ms in SAMPLERS.items() if ms.stateful)
        raise ValueError(f"mirostat_step runs {stateful}, got {method!r}")
    if "u" not in params:
        raise TypeError(f"{method} needs the parameter 'u' (the uniform draw)")
    return _mask(method, logits, temperature, policy, accumulate, params, want_state=True)

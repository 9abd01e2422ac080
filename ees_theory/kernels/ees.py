"""Entropy Equilibrium Sampling as batched torch kernels (specification §2).

For each row, with candidates in canonical order (logit descending, ties by id ascending) and
``p = softmax(z / tau)``, the kernel evaluates the equilibrium gap ``f(k) = Hbar_k - P_k`` in the
numerically careful form the certified reference uses:

* ``a_i = (z_max - z_(i)) / tau >= 0`` and ``e_i = exp(-a_i) = p_(i) / p_(1)`` (elementwise);
* ``C_k = e_2 + ... + e_k`` and ``A_k = e_1 a_1 + ... + e_k a_k`` (two ``cumsum``);
* ``H_k = log1p(C_k) + A_k / (1 + C_k)`` -- a sum of two non-negative terms, no cancellation;
* ``Hbar_k = H_k / ln k`` (``ln k`` computed in float64, rounded once);
* ``P_k = (1 + C_k) / T`` with ``T = sum of e_i`` over the row in token order;
* ``f(k) = Hbar_k - P_k``.

Every step runs in the compute dtype (see :mod:`ees_theory.kernels._core`: the input dtype for
``accumulate="input"``, at least float32 for ``accumulate="float32"``). The sort and every
comparison of logits run on the input values themselves, so the canonical order is exact.

Two comparisons are decided by exact structure instead of by the rounded ``f``, as in the
reference: a token tied with the maximum is never a crossing (``Hbar = 1 >= P`` there), and the
last candidate ``k = n`` is a crossing exactly when the row is not uniform over its candidates.

The kept set is turned into a mask without a scatter: token ``j`` is kept when its logit exceeds
the ``k*``-th sorted logit ``v``, or equals ``v`` with an id no larger than the ``k*``-th sorted id.

>>> import torch
>>> ees_mask(torch.tensor([3.0, 1.0, 0.5, -2.0])).tolist()
[True, False, False, False]
>>> ees_mask(torch.tensor([[3.0, 1.0, 0.5, -2.0], [0.0, 0.0, 0.0, 0.0]]), rule="first-inclusive").tolist()
[[True, True, False, False], [True, True, True, True]]
"""

from __future__ import annotations

import bisect
import math
from typing import Any, NamedTuple

import numpy as np
import torch

from .. import spec
from ..core.ctx import FLOAT
from ..core.ees import count_first, count_last, curve_point, first_candidate, gap
from ..core.entropy import entropy_from_weights
from ._core import (row_argmax, SUPPORTED_DTYPES, any_bad, check_flag, fill_value, check_accumulate, check_logits, check_row_maxima, compute_dtype,
                    log_k_table, logits_bad, needs_wide, row_temperature, select_scaled, static_wide, temperature_bad, tracing, wide_flag,
                    wide_scaled)
from ._sort import sort_rows_descending
from ._workspace import scratch

__all__ = ["ees_mask", "ees_keep_count", "ees_logits", "ees_curve", "EESCurve", "STRATEGIES", "AUTO", "SORT", "TOPK"]

#: The search strategies of ``ees_mask`` (its ``method`` keyword: how the crossing is found, not
#: a sampler): ``AUTO`` (the top-K window for rows whose crossing is predicted to lie near the
#: top, the full sort for the others), ``SORT`` (always the full sort), ``TOPK`` (always start
#: from the top-K candidates, doubling K).
AUTO, SORT, TOPK = "auto", "sort", "topk"
STRATEGIES = (AUTO, SORT, TOPK)
#: ``"auto"`` considers the top-K window from this vocabulary size on.
TOPK_MIN_VOCAB = 4096
#: First number of candidates examined by the top-K path (doubled while no crossing is found).
TOPK_INITIAL = 128
#: The top-K path hands the rows still unresolved to the full sort once K exceeds V / this.
TOPK_GIVE_UP_FRACTION = 16
#: ``"auto"`` predicts where the crossing lies from the row's perplexity ``exp(H)``: measured at
#: V = 131072, it lies at 0.1-0.5 exp(H) on Zipf-like and peaked rows, at 1-2.5 exp(H) on normal
#: rows, far above it on flat rows. The first window is ``exp(H)`` times this, rounded to the
#: nearest power of two (at least ``TOPK_INITIAL``): ``0.35-0.71 exp(H)`` ...
AUTO_PERPLEXITY_FACTOR = 0.5
#: ... and is opened only when at most V / this (most rows a first window misses then go to the
#: sort, so it must cost little beside it) ...
AUTO_FIRST_FRACTION = 256
#: ... while a retry may reach V / this: the cost of ``torch.topk`` grows with K and crosses the
#: full sort's near K = V / 32 (measured on CPU, float32, V = 32768 to 262144).
AUTO_MAX_FRACTION = 64
#: A row its window misses gets a window twice as wide, at most this many times and while the
#: width stays within the cap, then the sort.
AUTO_RETRIES = 2
#: A row whose perplexity sends it to the sort but whose top token holds at least this
#: probability (a head over a long flat tail) is probed: when its two largest weights predict a
#: crossing at k = 2, it gets a window of ``AUTO_HEAD_WIDTH`` candidates instead of the sort.
AUTO_HEAD_MASS = 1 / 256
AUTO_HEAD_WIDTH = 16
#: Large batches are processed this many elements at a time (whole rows): the dozen elementwise
#: passes after the sort then run on data that stays in cache (measured on CPU at 64 x 131072:
#: the passes cost 4x less per row in chunks of 8 rows than over the whole batch).
CHUNK_ELEMENTS = 1 << 20


class _Rows(NamedTuple):
    x: torch.Tensor  # (B, V) logits in the input dtype
    tau: torch.Tensor  # (B, 1) temperature in the compute dtype
    x_max: torch.Tensor  # (B, 1) row maximum, compute dtype (exact widening)
    total: torch.Tensor  # (B, 1) T = sum_i exp((z_i - z_max) / tau), token order, compute dtype
    n: torch.Tensor  # (B,) number of candidates (finite logits)
    batch_shape: torch.Size
    cdtype: torch.dtype
    unit_tau: bool  # every temperature is exactly 1: dividing by it is the identity, skipped
    needs_clamp: bool  # (z_i - z_max) / tau can be -inf (masked tokens, overflow): clamp it
    perplexity: list | None  # per row exp(H) of softmax(z / tau), or +inf where T alone sends
    # the row to the sort (``"auto"`` only; a speed heuristic, never part of a result)
    head: list | None  # per row: a probed head over a tail, crossing predicted at k = 2
    tau64: torch.Tensor  # (B, 1) temperature in float64
    wide: bool | torch.Tensor  # (z_i - z_max) / tau is formed in float64 (see _core.needs_wide); sync-free
    # and not settled by the dtypes, a 0-d device flag (both forms computed, one selected)
    sync_free: bool  # no host read: every choice above is made on the host or on the device


def _prepare(logits: Any, temperature: Any, accumulate: str, want_perplexity: bool = False, sync_free: bool = False,
             check_inputs: bool = True) -> _Rows:
    if (isinstance(logits, torch.Tensor) and logits.ndim >= 1 and logits.numel() > 0 and logits.dtype in SUPPORTED_DTYPES
            and logits.device.type != "meta"):
        logits = logits.detach()  # no gradient through a mask (and the buffers below are written in place)
        x2 = logits.reshape(-1, logits.shape[-1])
        x_max_in = x2.amax(dim=-1, keepdim=True)
        if sync_free:
            if check_inputs and any_bad(logits_bad(x_max_in), temperature_bad(temperature, x2.device)):
                check_row_maxima(logits, x_max_in.reshape(logits.shape[:-1]))  # raise the precise error
                row_temperature(temperature, logits.shape[:-1], torch.float64, x2.device)
            return _prepare_sync_free(logits, x2, x_max_in, temperature, accumulate)
        x_min_in = x2.amin(dim=-1, keepdim=True)  # (torch.aminmax is far slower on CPU)
        check_row_maxima(logits, x_max_in.reshape(logits.shape[:-1]))  # the maxima are needed anyway
    else:
        check_logits(logits)  # raises the precise TypeError / ValueError
        raise ValueError(f"logits has an empty batch (shape {tuple(logits.shape)})")
    x = logits
    check_accumulate(accumulate)
    cd = compute_dtype(x.dtype, accumulate)
    batch_shape = x.shape[:-1]
    V = x2.shape[-1]
    tau = row_temperature(temperature, batch_shape, cd, x.device).reshape(-1, 1)
    x_max = x_max_in.to(cd)
    unit_tau = isinstance(temperature, (int, float)) and float(temperature) == 1.0
    tau64 = row_temperature(temperature, batch_shape, torch.float64, x.device).reshape(-1, 1)
    # |z_i - z_max| / tau stays below the largest float unless a row is masked or spans too much
    spread = (x_max_in.double() - x_min_in.double()).max() / tau64.min()
    needs_clamp = not bool(spread <= torch.finfo(cd).max / 2)
    wide = needs_wide(tau64, 0.0, cd)
    if needs_clamp and not wide:  # masked tokens, or a spread the compute dtype cannot hold?
        finite_min = torch.where(torch.isfinite(x2), x2, x_max_in).amin(dim=-1, keepdim=True)
        wide = needs_wide(tau64, x_max_in.double() - finite_min.double(), cd)
    unit_tau = unit_tau and not wide
    needs_clamp = needs_clamp or wide
    # T in token order, once for the whole batch: both search paths read the same bits.
    if wide:
        shifted = wide_scaled(x2, x_max_in, tau64, cd)
    else:
        shifted = torch.sub(x2.to(cd), x_max, out=scratch("prep", x2.shape, cd, x.device))
        if not unit_tau:
            shifted.div_(tau)
    perplexity = head = None
    if want_perplexity and _auto_windows(x2):
        if needs_clamp:
            shifted.clamp_(min=-torch.finfo(cd).max)  # e * t is then 0 * finite for masked tokens
        e = torch.exp(shifted, out=scratch("prep_e", x2.shape, cd, x.device))
        total = e.sum(dim=-1, keepdim=True)
        perplexity, head = _auto_signals(shifted, e, total.squeeze(-1), V)
    else:
        total = shifted.exp_().sum(dim=-1, keepdim=True)
    # the count of candidates needs a pass over the row only where some token is masked
    if bool(torch.isfinite(x_min_in).all()):
        n = torch.full((x2.shape[0],), V, dtype=torch.long, device=x.device)
    else:
        n = torch.isfinite(x2).sum(dim=-1)
    return _Rows(x2, tau, x_max, total, n, batch_shape, cd, unit_tau, needs_clamp, perplexity, head, tau64, wide, False)


def _prepare_sync_free(x: torch.Tensor, x2: torch.Tensor, x_max_in: torch.Tensor, temperature: Any, accumulate: str) -> _Rows:
    """:func:`_prepare` without a host read, to the same bits: the clamp of ``(z - z_max) / tau``
    always runs (where nothing needs it, it changes nothing), the count of candidates always
    takes its pass, and the choice of the wide form is made from the dtypes and a numeric
    temperature where they settle it (:func:`_core.static_wide`), else on the device."""
    cd = compute_dtype(x.dtype, check_accumulate(accumulate))
    batch_shape = x.shape[:-1]
    tau = row_temperature(temperature, batch_shape, cd, x.device, sync_free=True).reshape(-1, 1)
    tau64 = row_temperature(temperature, batch_shape, torch.float64, x.device, sync_free=True).reshape(-1, 1)
    x_max = x_max_in.to(cd)
    # a unit temperature is skipped in the narrow form only (x / 1 = x), whichever form is selected
    unit_tau = isinstance(temperature, (int, float)) and float(temperature) == 1.0
    wide = static_wide(temperature, x.dtype, cd)
    if wide is None:  # _prepare's choice: a temperature out of range, or a spread the clamp test and needs_wide refuse
        x_min_in = x2.amin(dim=-1, keepdim=True)
        clamp = ~((x_max_in.double() - x_min_in.double()).max() / tau64.min() <= torch.finfo(cd).max / 2)
        finite_min = torch.where(torch.isfinite(x2), x2, x_max_in).amin(dim=-1, keepdim=True)
        wide = wide_flag(tau64, 0.0, cd) | (clamp & wide_flag(tau64, x_max_in.double() - finite_min.double(), cd))

    def narrow():
        t = x2.to(cd) - x_max
        return t if unit_tau else t.div_(tau)

    shifted = select_scaled(wide, narrow, lambda: wide_scaled(x2, x_max_in, tau64, cd))
    total = shifted.exp_().sum(dim=-1, keepdim=True)
    n = torch.isfinite(x2).sum(dim=-1)
    return _Rows(x2, tau, x_max, total, n, batch_shape, cd, unit_tau, True, None, None, tau64, wide, True)


def _first_cap(V: int) -> int:
    return V // AUTO_FIRST_FRACTION


def _head_gap_table() -> tuple[list[float], list[float]]:
    # psi(a) = Hbar_2 / (1 + e) for the top pair (1, e = exp(-a)): f(2) = Hbar_2 - (1 + e) / T
    # is negative exactly when psi(a_2) < 1 / T. psi falls from about 1/2 towards 0 (with a
    # bump near a = 0.9): kept as (running maximum of psi, a) along a descending grid of a
    a = np.linspace(80.0, 0.0, 8001)
    e = np.exp(-a)
    psi = entropy_from_weights(e, e * a, FLOAT) / math.log(2) / (1 + e)
    return np.maximum.accumulate(psi).tolist(), a.tolist()


_PSI, _PSI_A = _head_gap_table()


def _head_gap(T: float) -> float:
    """``g(T)``: ``f(2) < 0`` needs the gap ``a_2`` between the top two logits (scaled by the
    temperature) above it, up to the table's resolution.

    >>> [round(_head_gap(T), 2) for T in (1.5, 29.0, 150.0)]
    [0.0, 5.61, 7.51]
    """
    i = bisect.bisect_left(_PSI, 1 / T)
    return _PSI_A[i] if i < len(_PSI) else 0.0


def _auto_signals(t: torch.Tensor, e: torch.Tensor, total: torch.Tensor, V: int) -> tuple[list[float], list[bool]]:
    """What ``"auto"`` chooses a window from (speed heuristics only, never part of a result), from
    ``t = (z - z_max) / tau`` and ``e = exp(t)`` in token order and ``T = sum e`` per row (``t`` and
    ``e`` are overwritten); per row, decided on the host in plain Python (a few numbers a row):

    * the perplexity ``exp(H) = T exp(A / T)``, ``A = -sum e t``, only for the rows whose window
      it could open: ``exp(H) >= T`` (``A >= 0``), so a row with ``T`` beyond the cap is left at
      ``+inf`` without the pass;
    * for the rows the perplexity sends to the sort but whose top token is heavy (``T`` small):
      whether their two largest weights give ``f(2) < 0`` (:func:`core.ees.curve_point` with
      ``e_2``, the largest weight but one maximum's): the head-over-tail rows that cross at the
      very top. A row is probed only if its mean gap ``E_p[a] = ln(exp(H) / T)`` allows it: the
      tail's mass ``1 - 1/T`` lies at gaps ``>= a_2``.
    """
    T = total.tolist()  # each >= 1: the maximum's weight is 1
    B, cap = len(T), _first_cap(V)
    near = [i for i in range(B) if T[i] * AUTO_PERPLEXITY_FACTOR <= cap]
    ppl = [math.inf] * B
    if near:
        if t.dtype in (torch.float32, torch.float64):  # (CPU) a BLAS dot per row: no product written
            tn, en = t.numpy(), e.numpy()
            neg_A = [float(np.dot(en[i], tn[i])) for i in near]
        else:
            sel = None if len(near) == B else torch.tensor(near, device=t.device)
            neg_A = (t.mul_(e) if sel is None else t[sel].mul_(e[sel])).sum(dim=-1).tolist()
        for i, a in zip(near, neg_A):
            ppl[i] = T[i] * math.exp(max(-a / T[i], 0.0))
    head = [False] * B
    probe = [
        i for i in range(B)
        if ppl[i] * AUTO_PERPLEXITY_FACTOR > cap and T[i] <= 1 / AUTO_HEAD_MASS
        and math.log(ppl[i] / T[i]) >= (1 - 1 / T[i]) * _head_gap(T[i])
    ]
    if probe:
        ep = e if len(probe) == B else e[torch.tensor(probe, device=e.device)]
        ep.scatter_(-1, row_argmax(ep), 0.0)  # one maximum out: the largest weight left is e_2
        for i, e2 in zip(probe, ep.amax(dim=-1).tolist()):
            a2 = -math.log(e2) if e2 > 0 else 0.0
            head[i] = bool(curve_point(1 + e2, e2 * a2, math.log(2), T[i], FLOAT)[2] < 0)
    return ppl, head

_LOG_K: dict = {}


def _log_k(length: int, dtype: torch.dtype, device) -> torch.Tensor:
    """:func:`log_k_table`, kept for the vocabulary sizes in use (it is read, never written)."""
    key = (length, dtype, str(device))
    table = _LOG_K.get(key)
    if table is None:
        if len(_LOG_K) > 32:
            _LOG_K.clear()
        table = _LOG_K[key] = log_k_table(length, dtype, device)
    return table


def _gap(vals: torch.Tensor, rows: _Rows, sel: torch.Tensor | None, parts: bool = False):
    """``f(k)`` for ``k = 1..W`` from the first ``W`` sorted logits ``vals`` (with ``parts``:
    ``(Hbar_k, P_k, f(k))`` in fresh tensors; without, ``f`` lives in a scratch buffer).

    ``sel`` picks the rows of ``rows`` that ``vals`` belongs to (None: all). The values at
    position ``k`` depend only on ``vals[:, :k]`` and the row constants, so a window of the top
    ``W`` logits gives the same bits as the full sort for ``k <= W``. ``Hbar_1`` is meaningless.
    """
    pick = (lambda t: t) if sel is None else (lambda t: t[sel])
    cd = rows.cdtype
    shape, dev = vals.shape, vals.device
    # (scratch buffers are thread state that torch.compile would trace as such: fresh tensors there)
    buf = (lambda slot: None) if parts or tracing() else (lambda slot: scratch(slot, shape, cd, dev))
    # t = -a = (z_(i) - z_max) / tau <= 0, capped so that e * t is 0 * finite for masked tokens
    if rows.sync_free:

        def narrow():
            t = vals.to(cd) - pick(rows.x_max)
            return t if rows.unit_tau else t.div_(pick(rows.tau))

        t = select_scaled(rows.wide, narrow, lambda: wide_scaled(vals, pick(rows.x_max), pick(rows.tau64), cd))
    elif rows.wide:
        t = wide_scaled(vals, pick(rows.x_max), pick(rows.tau64), cd)
    else:
        t = torch.sub(vals.to(cd), pick(rows.x_max), out=buf("gap_t"))
        if not rows.unit_tau:
            t.div_(pick(rows.tau))
    if rows.needs_clamp:
        t.clamp_(min=-torch.finfo(cd).max)
    # below: core.ees.curve_point(1 + C, A, ln k, T, ctx, C_k=C), step by step in place (calling it
    # on tensors costs 2.7x on the sort path: a fresh tensor per step); pinned by test_torch_ees.py
    e = torch.exp(t, out=buf("gap_e"))
    neg_A = t.mul_(e).cumsum_(dim=-1)  # -A_k
    e[:, 0] = 0.0  # C_k = e_2 + ... + e_k keeps log1p accurate when the row is peaked
    C = e.cumsum_(dim=-1)
    S = torch.add(C, 1.0, out=buf("gap_S"))
    H = C.log1p_().sub_(neg_A.div_(S))
    hbar = H.div_(log_k_table(vals.shape[-1], cd, vals.device) if rows.sync_free else _log_k(vals.shape[-1], cd, vals.device))
    P = S.div_(pick(rows.total))  # <= 1 up to rounding; left unclamped (one pass fewer)
    if parts:
        return hbar, P, gap(hbar, P)
    return hbar.sub_(P)  # f = gap(hbar, P) (core.ees), in place


def _positions(width: int, device) -> torch.Tensor:
    return torch.arange(1, width + 1, device=device)


def _first_crossing(f: torch.Tensor, lo: torch.Tensor, sync_free: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """First position ``i >= lo`` (1-based) with ``f(i) < 0`` in each row: ``(found, i)``.

    Positions before ``lo`` are not compared (``k = 1``, the tied top block, ``m``): sync-free,
    over the whole width; else over the columns the largest ``lo`` reaches (one host read)."""
    width = f.shape[-1]
    if sync_free:
        f.masked_fill_(_positions(width, f.device) < lo.unsqueeze(-1), float("inf"))
    else:
        lo_max = int(lo.max())
        if lo_max > 1:
            head = min(lo_max - 1, width)
            f[:, :head].masked_fill_(_positions(head, f.device) < lo.unsqueeze(-1), float("inf"))
    cross = torch.lt(f, 0, out=None if tracing() else scratch("cross", f.shape, torch.bool, f.device)).view(torch.uint8)
    i = cross.argmax(dim=-1)
    found = cross.gather(-1, i.unsqueeze(-1)).squeeze(-1).bool()
    return found, i + 1


def _resolve_first(found: torch.Tensor, i_raw: torch.Tensor, n: torch.Tensor, top_ties: torch.Tensor, rule: str) -> torch.Tensor:
    """Kept count for the "first" rules once the window reaches the crossing (or covers ``n``)."""
    before_n = found & (i_raw < n)
    # at k = n the crossing is structural: it exists exactly when the row is not uniform
    i_star = torch.where(before_n, i_raw, n)
    has = before_n | (top_ties < n)
    k = count_first(i_star, rule, n)
    return torch.where(has, k, n)


def _lower_limit(top_ties: torch.Tensor, m: int) -> torch.Tensor:
    # compare only i >= max(2, m + 1), and skip the tied top block (never a crossing)
    return torch.clamp(top_ties + 1, min=first_candidate(m))


def _finish(k: torch.Tensor, n: torch.Tensor, m: int) -> torch.Tensor:
    return torch.where((n <= m) | (n == 1), n, k)


def _k_full_sort(rows: _Rows, m: int, rule: str, sel: torch.Tensor | None = None):
    """Per row (all rows, or the rows ``sel``): kept count ``k*``, the ``k*``-th sorted logit
    and how many logits are at least that large, by the full sort."""
    x = rows.x if sel is None else rows.x[sel]
    srt = sort_rows_descending(x)
    vals = srt.values
    n = rows.n if sel is None else rows.n[sel]
    top = srt.top_ties
    f = _gap(vals, rows, sel)
    if rule == "last":
        width = f.shape[-1]
        pos = _positions(width, f.device)
        noncross = (f >= 0) & (pos < n.unsqueeze(-1))
        noncross |= pos <= top.unsqueeze(-1)  # tied top block: Hbar = 1 >= P
        noncross &= pos >= 2
        noncross |= (pos == n.unsqueeze(-1)) & (top == n).unsqueeze(-1)  # uniform row: f(n) = 0
        k_last = (noncross * pos).amax(dim=-1)
        k = count_last(k_last, n, m, lambda a, b: torch.clamp(a, min=b), lambda a, b: torch.clamp(a, max=b))
    else:
        found, i_raw = _first_crossing(f, _lower_limit(top, m), rows.sync_free)
        k = _resolve_first(found, i_raw, n, top, rule)
    k = _finish(k, n, m)
    v_k = _kth(vals, k)
    return k, v_k, srt.count_at_least(v_k)


def _kth(vals: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # clamped for rows the window does not settle yet (their k is not read)
    return vals.gather(-1, (k - 1).clamp(min=0, max=vals.shape[-1] - 1).unsqueeze(-1))


def _auto_widths(rows: _Rows, m: int, initial: int) -> list[int]:
    """First top-K window per row for ``"auto"`` (0: go to the full sort at once). Plain Python:
    a few numbers per row, where numpy's per-call cost would dominate."""
    V = rows.x.shape[-1]
    cap = _first_cap(V)
    head_width = min(V, max(AUTO_HEAD_WIDTH, 2 * (m + 1)))
    widths = []
    for ppl, head in zip(rows.perplexity, rows.head):
        want = min(ppl, V) * AUTO_PERPLEXITY_FACTOR
        width = max(initial, 1 << max(0, round(math.log2(max(want, 1.0)))))
        # head over a long tail whose top two weights already cross: a small window settles it
        widths.append(width if width <= cap else (head_width if head else 0))
    return widths


def _window(rows: _Rows, active: torch.Tensor, width: int, m: int, rule: str, out: tuple) -> torch.Tensor:
    """Settle the rows ``active`` (increasing) from their top ``width`` logits, writing ``k*``, the
    ``k*``-th logit and the count of logits at least as large into ``out``; return the unsettled."""
    k_out, v_out, c_out = out
    every = active.numel() == rows.x.shape[0]  # increasing and all: every row, in order
    vals = torch.topk(rows.x if every else rows.x[active], width, dim=-1, largest=True, sorted=True).values
    f = _gap(vals, rows, None if every else active)
    n = rows.n[active]
    # ties with the maximum counted in the window: exact unless the window is all tied,
    # and then no position in it is compared and the row stays unsettled
    top = (vals == vals[:, :1]).sum(dim=-1)
    found, i_raw = _first_crossing(f, _lower_limit(top, m))
    k = _finish(_resolve_first(found, i_raw, n, top, rule), n, m)
    covers = n <= width
    v_k = _kth(vals, k)
    # a k*-th logit tied with the last candidate may have tied twins outside the window
    tie_safe = v_k.squeeze(-1) > vals[:, -1]
    done = covers | (found & (i_raw < n) & tie_safe) | ((n <= m) | (n == 1))
    done_rows = active[done]
    k_out[done_rows], v_out[done_rows] = k[done], v_k[done]
    c_out[done_rows] = (vals[done] >= v_k[done]).sum(dim=-1)
    return active[~done]


def _auto_windows(x: torch.Tensor) -> bool:
    """Whether ``"auto"`` considers top-K windows for these rows: on CPU from ``TOPK_MIN_VOCAB``
    on; never on other devices, where the full sort beat the window on every row shape measured
    (H200, 8 x 131072 float32: sort 1.7 ms, top-K path 2.0-9.4 ms; ``benchmarks/results/torch-cuda.md``)."""
    return x.device.type == "cpu" and x.shape[-1] >= TOPK_MIN_VOCAB


def _keep_counts(rows: _Rows, m: int, rule: str, strategy: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row: kept count ``k*``, the ``k*``-th sorted logit ``v`` (shape ``(B, 1)``) and how
    many logits are ``>= v`` (more than ``k*`` when a tie straddles the cut).

    Sync-free, every strategy sorts: the windows are sized and retried from values read on the
    host (the mask is the same whichever way the crossing is found)."""
    B, V = rows.x.shape
    use_topk = rule != "last" and not rows.sync_free and (strategy == TOPK or (strategy == AUTO and _auto_windows(rows.x)))
    if not use_topk:
        return _k_full_sort(rows, m, rule)
    device = rows.x.device
    k_out = torch.empty(B, dtype=torch.long, device=device)
    v_out = torch.empty(B, 1, dtype=rows.x.dtype, device=device)
    c_out = torch.empty(B, dtype=torch.long, device=device)
    out = (k_out, v_out, c_out)
    initial = min(V, max(TOPK_INITIAL, 2 * (m + 1)))
    if strategy == AUTO:
        widths = _auto_widths(rows, m, initial)
        if not any(widths):  # every row predicted deep: the sort, without the bookkeeping
            return _k_full_sort(rows, m, rule)
    else:
        widths = [initial] * B
    groups: dict[int, list[int]] = {}
    for row, width in enumerate(widths):
        groups.setdefault(width, []).append(row)
    rows_all = torch.arange(B, device=device)

    def rows_of(ids: list[int]) -> torch.Tensor:
        return rows_all if len(ids) == B else torch.tensor(ids, dtype=torch.long, device=device)

    to_sort = [rows_of(groups.pop(0, []))]
    give_up = max(V // TOPK_GIVE_UP_FRACTION, TOPK_INITIAL)

    if strategy == AUTO:  # a window per predicted width, doubled on a miss within the cap, then the sort
        cap = V // AUTO_MAX_FRACTION
        # rows whose windows differ by a factor of two share the wider one: one top-K call over
        # the rows in place costs less than two over copies of them
        merged: dict[int, list[int]] = {}
        low = 0
        for width in sorted(groups):
            if low and width <= 2 * low:
                top = max(merged)
                merged[width] = sorted(merged.pop(top) + groups[width])
            else:
                low, merged[width] = width, groups[width]
        pending = {width: [rows_of(ids)] for width, ids in merged.items()}
        tries = dict.fromkeys(pending, 0)
        while pending:
            width = min(pending)
            parts = pending.pop(width)
            active = parts[0] if len(parts) == 1 else torch.cat(parts).sort().values
            missed = _window(rows, active, width, m, rule, out)
            if not missed.numel():
                continue
            if tries[width] < AUTO_RETRIES and 2 * width <= cap:
                pending.setdefault(2 * width, []).append(missed)
                tries[2 * width] = max(tries.get(2 * width, 0), tries[width] + 1)
            else:
                to_sort.append(missed)
    else:
        active, width = rows_all, initial
        while active.numel():
            if width >= V or width > give_up:  # large K costs about a sort: finish with the sort
                to_sort.append(active)
                break
            active = _window(rows, active, width, m, rule, out)
            width *= 2
    rest = torch.cat(to_sort)
    if rest.numel():
        rest, _ = rest.sort()
        k, v_k, c = _k_full_sort(rows, m, rule, None if rest.numel() == B else rest)
        k_out[rest], v_out[rest], c_out[rest] = k, v_k, c
    return k_out, v_out, c_out


def _in_row_chunks(fn, logits: Any, temperature: Any, accumulate: str, sync_free: bool = False, check_inputs: bool = True):
    """``fn(logits_chunk, temperature_chunk)`` over chunks of whole rows, concatenated; None when
    the batch is small enough to process at once (or the input is left to the usual checks).

    The whole batch is validated first, so error messages keep their global row numbers
    (sync-free: in one host read, or not at all without ``check_inputs``). The chunks depend on
    the shape alone.
    """
    if not (isinstance(logits, torch.Tensor) and logits.ndim >= 2 and logits.dtype in SUPPORTED_DTYPES):
        return None
    if logits.device.type != "cpu":  # chunks serve the CPU's caches; on an H200 one pass over
        return None  # 64 x 131072 rows took 3.2 ms, eight chunks 17.6 ms (launches and syncs per chunk)
    V = logits.shape[-1]
    if V == 0 or logits.numel() <= CHUNK_ELEMENTS:
        return None
    x2 = logits.reshape(-1, V)
    step = max(1, CHUNK_ELEMENTS // V)
    if x2.shape[0] <= step:
        return None
    if not sync_free or (check_inputs and any_bad(logits_bad(logits.amax(dim=-1)), temperature_bad(temperature, logits.device))):
        check_row_maxima(logits, logits.amax(dim=-1))
    cd = compute_dtype(logits.dtype, check_accumulate(accumulate))
    tau = row_temperature(temperature, logits.shape[:-1], cd, logits.device, sync_free=sync_free).reshape(-1)
    scalar = isinstance(temperature, (int, float))  # kept a number: the kernel skips dividing by 1
    parts = [fn(x2[i : i + step], temperature if scalar else tau[i : i + step]) for i in range(0, x2.shape[0], step)]
    return torch.cat(parts)


def _empty_batch(logits: Any, temperature: Any, accumulate: str, sync_free: bool = False) -> bool:
    """Whether ``logits`` is a valid batch of no rows, shape ``(..., 0, ..., V)`` with ``V >= 1``:
    every kernel answers it with an empty result (its temperature and ``accumulate`` are checked
    all the same)."""
    if not (isinstance(logits, torch.Tensor) and logits.numel() == 0):
        return False  # (a row, or bad input: the usual checks answer it, without a pass here)
    x = check_logits(logits)
    compute_dtype(x.dtype, check_accumulate(accumulate))
    row_temperature(temperature, x.shape[:-1], x.dtype, x.device, sync_free=sync_free)
    return True


def _check_method(method: Any) -> str:
    """The strategy named by the public ``method`` keyword."""
    if method not in STRATEGIES:
        raise ValueError(f"method must be one of {', '.join(STRATEGIES)}; got {method!r}")
    return method


def _search(public, logits: Any, temperature: Any, min_tokens_to_keep: Any, rule: Any, accumulate: str, method: Any,
            sync_free: Any = False, check_inputs: Any = True):
    """The shared start of the public functions: check the parameters, then either
    ``(chunks, None)``, ``public`` applied to chunks of rows and concatenated (a large batch), or
    ``(None, (rows, k*, v, at_least))`` for the whole batch (see :func:`_keep_counts`)."""
    m = spec.check_min_tokens_to_keep(min_tokens_to_keep)
    rule = spec.check_rule(rule)
    strategy = _check_method(method)
    sync_free, check_inputs = check_flag(sync_free, "sync_free"), check_flag(check_inputs, "check_inputs")
    if isinstance(logits, torch.Tensor) and logits.ndim:  # m >= V keeps every candidate, as V does (and fits int64)
        m = min(m, max(logits.shape[-1], 1))
    if _empty_batch(logits, temperature, accumulate, sync_free):  # no rows: an empty mask or count
        shape, dtype = (logits.shape, torch.bool) if public is ees_mask else (logits.shape[:-1], torch.long)
        return torch.zeros(shape, dtype=dtype, device=logits.device), None
    chunked = _in_row_chunks(lambda x, t: public(x, t, m, rule, accumulate, method=strategy, sync_free=sync_free, check_inputs=False),
                             logits, temperature, accumulate, sync_free, check_inputs)
    if chunked is not None:
        return chunked, None
    rows = _prepare(logits, temperature, accumulate, want_perplexity=strategy == AUTO, sync_free=sync_free, check_inputs=check_inputs)
    return None, (rows, *_keep_counts(rows, m, rule, strategy))


def ees_keep_count(
    logits: torch.Tensor, temperature: Any = 1.0, min_tokens_to_keep: int = 1, rule: str = spec.DEFAULT_RULE, accumulate: str = "float32", *,
    method: str = AUTO, sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """The number of kept tokens ``k*`` per row, shape ``logits.shape[:-1]`` (int64).
    ``sync_free`` and ``check_inputs``: :func:`ees_mask`'s.

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    min_tokens_to_keep : int
        At least this many tokens are kept, ``>= 1`` (default 1).
    rule : str
        The selection rule: ``"first-exclusive"`` (the default), ``"first-inclusive"`` or
        ``"last"``.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    method : str
        How the crossing is found: ``"auto"`` (the default), ``"sort"`` or ``"topk"``; every path
        gives the same result.
    sync_free : bool
        ``True``: no host read but the one check of the inputs (default ``False``).
    check_inputs : bool
        With ``sync_free=True``, ``False`` skips that check too: no host read at all, bad values not
        diagnosed (default ``True``).

    Returns
    -------
    torch.Tensor
        int64, shape ``logits.shape[:-1]``: ``k*`` of each row.

    Raises
    ------
    ValueError
        Bad logits (NaN, ``+inf``, a row without a finite logit, no vocabulary axis), a temperature
        ``<= 0`` or not finite, ``min_tokens_to_keep < 1``, or an unknown ``rule``, ``accumulate``
        or ``method``.
    TypeError
        Logits that are not a tensor of a supported float dtype, or a non-numeric parameter.

    Examples
    --------
    >>> import torch
    >>> ees_keep_count(torch.tensor([[3.0, 1.0, 0.5, -2.0], [0.0, 0.0, -1.0, -float("inf")]])).tolist()
    [1, 2]
    """
    chunked, found = _search(ees_keep_count, logits, temperature, min_tokens_to_keep, rule, accumulate, method, sync_free, check_inputs)
    if chunked is not None:
        return chunked.reshape(logits.shape[:-1])
    rows, k, _, _ = found
    return k.reshape(rows.batch_shape)


def ees_mask(
    logits: torch.Tensor, temperature: Any = 1.0, min_tokens_to_keep: int = 1, rule: str = spec.DEFAULT_RULE, accumulate: str = "float32", *,
    method: str = AUTO, sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """EES kept-token mask (True = kept), same shape as ``logits``; any leading batch dims.

    ``temperature`` (a number, or a tensor with the batch shape) is applied before EES:
    ``p = softmax(logits / temperature)``. ``rule`` is one of ``spec.RULES``;
    ``min_tokens_to_keep`` is at least 1. ``accumulate`` picks the compute dtype: ``"input"``
    (every step in the logits' dtype) or ``"float32"`` (at least float32). ``method`` picks how
    the crossing is found: ``"sort"`` sorts every row; ``"topk"`` examines the top ``K``
    candidates (``torch.topk``), doubling ``K`` until the crossing is inside, and sorts the rows
    it cannot settle with ``K <= V/16``; ``"auto"`` (on CPU from ``V >= 4096``, "first" rules)
    opens a window per row sized from the row's perplexity, or sorts the rows whose crossing is
    predicted deep (see ``ees_theory.kernels.ees.AUTO_PERPLEXITY_FACTOR``); on other devices it sorts. Every path
    gives the identical mask. Masked (``-inf``) tokens are never kept.

    ``sync_free=True`` gives the same mask with no host read but one (the check of the logits
    and of a tensor temperature), or none with ``check_inputs=False`` (NaN, ``+inf`` or a row
    without a finite logit is then not diagnosed; for decoding loops, CUDA graphs and
    ``torch.compile(fullgraph=True)``). It always sorts (the windows are sized on the host),
    decides the float64 form from the dtypes or on the device, and settles ties at the cut in
    every row. The default path reads a few numbers back to skip work the data does not need.

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    min_tokens_to_keep : int
        At least this many tokens are kept, ``>= 1`` (default 1).
    rule : str
        The selection rule: ``"first-exclusive"`` (the default), ``"first-inclusive"`` or
        ``"last"``.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    method : str
        How the crossing is found: ``"auto"`` (the default), ``"sort"`` or ``"topk"``; every path
        gives the same result.
    sync_free : bool
        ``True``: no host read but the one check of the inputs (default ``False``).
    check_inputs : bool
        With ``sync_free=True``, ``False`` skips that check too: no host read at all, bad values not
        diagnosed (default ``True``).

    Returns
    -------
    torch.Tensor
        bool, the shape of ``logits``: ``True`` for a kept token.

    Raises
    ------
    ValueError
        Bad logits (NaN, ``+inf``, a row without a finite logit, no vocabulary axis), a temperature
        ``<= 0`` or not finite, ``min_tokens_to_keep < 1``, or an unknown ``rule``, ``accumulate``
        or ``method``.
    TypeError
        Logits that are not a tensor of a supported float dtype, or a non-numeric parameter.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 1.0, 0.0], [0.0, -1.0, -2.0]], dtype=torch.float16)
    >>> ees_mask(z).tolist()
    [[True, False, False], [True, False, False]]
    >>> ees_mask(z, temperature=torch.tensor([1.0, 50.0]), rule="first-inclusive").tolist()
    [[True, True, False], [True, True, True]]
    >>> ees_mask(z, min_tokens_to_keep=3).tolist()
    [[True, True, True], [True, True, True]]
    >>> ees_mask(z, sync_free=True, check_inputs=False).tolist()
    [[True, False, False], [True, False, False]]
    """
    chunked, found = _search(ees_mask, logits, temperature, min_tokens_to_keep, rule, accumulate, method, sync_free, check_inputs)
    if chunked is not None:
        return chunked.reshape(logits.shape)
    rows, k, v_k, at_least = found
    x = rows.x
    if rows.sync_free:  # the tie rule in every row (where no tie straddles the cut it gives x >= v)
        return _tie_rule(x, v_k, k).reshape(logits.shape)
    keep = x >= v_k
    over = torch.nonzero(at_least > k).flatten()  # rows where a tie straddles the cut
    if over.numel():
        keep[over] = _tie_rule(x[over], v_k[over], k[over])
    return keep.reshape(logits.shape)


def _tie_rule(x: torch.Tensor, v: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The kept mask of rows ``x`` from their ``k*``-th logit ``v`` (``(B, 1)``) and ``k*``: the
    logits above ``v``, and of those tied with it the lowest ids (canonical order breaks ties by
    id), as many as ``k*`` leaves room for. Where every tied token fits, this is ``x >= v``."""
    greater = x > v
    tied = x == v
    room = k - greater.sum(dim=-1)
    rank = torch.cumsum(tied, dim=-1, dtype=torch.int32)  # (int32: half the bytes of int64)
    return greater | (tied & (rank <= room.unsqueeze(-1)))


def ees_logits(
    logits: torch.Tensor, temperature: Any = 1.0, min_tokens_to_keep: int = 1, rule: str = spec.DEFAULT_RULE, accumulate: str = "float32", *,
    filter_value: float = float("-inf"), method: str = AUTO, sync_free: bool = False, check_inputs: bool = True,
) -> torch.Tensor:
    """Processed logits for sampling: kept tokens get ``(z - z_max) / temperature``, dropped
    tokens ``filter_value``. Same shape and dtype as ``logits``; the input is not modified.

    Shifting by the row maximum leaves ``softmax`` unchanged and keeps a small temperature from
    overflowing half precision; the division runs in the compute dtype. ``sync_free`` and
    ``check_inputs``: :func:`ees_mask`'s (one host read for the whole call, or none).

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    min_tokens_to_keep : int
        At least this many tokens are kept, ``>= 1`` (default 1).
    rule : str
        The selection rule: ``"first-exclusive"`` (the default), ``"first-inclusive"`` or
        ``"last"``.
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    filter_value : float
        The value of a dropped token (default ``-inf``; a finite value beyond the dtype's range is
        saturated).
    method : str
        How the crossing is found: ``"auto"`` (the default), ``"sort"`` or ``"topk"``; every path
        gives the same result.
    sync_free : bool
        ``True``: no host read but the one check of the inputs (default ``False``).
    check_inputs : bool
        With ``sync_free=True``, ``False`` skips that check too: no host read at all, bad values not
        diagnosed (default ``True``).

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``logits``.

    Raises
    ------
    ValueError
        Bad logits (NaN, ``+inf``, a row without a finite logit, no vocabulary axis), a temperature
        ``<= 0`` or not finite, ``min_tokens_to_keep < 1``, or an unknown ``rule``, ``accumulate``
        or ``method``.
    TypeError
        Logits that are not a tensor of a supported float dtype, or a non-numeric parameter.

    Examples
    --------
    >>> import torch
    >>> ees_logits(torch.tensor([2.0, 1.0, 0.0]), temperature=0.5).tolist()
    [0.0, -inf, -inf]
    """
    sync_free, check_inputs = check_flag(sync_free, "sync_free"), check_flag(check_inputs, "check_inputs")
    x = check_logits(logits, values=not sync_free)
    if sync_free and check_inputs and x.numel() and any_bad(logits_bad(x.amax(dim=-1)), temperature_bad(temperature, x.device)):
        return ees_logits(logits, temperature, min_tokens_to_keep, rule, accumulate, filter_value=filter_value, method=method)  # raises
    mask = ees_mask(x, temperature, min_tokens_to_keep, rule, accumulate, method=method, sync_free=sync_free, check_inputs=False)
    cd = compute_dtype(x.dtype, accumulate)
    shape = x.shape[:-1]
    x_max = x.amax(dim=-1, keepdim=True)
    tau64 = row_temperature(temperature, shape, torch.float64, x.device, sync_free=sync_free)
    wide = static_wide(temperature, x.dtype, cd) if sync_free else None
    if wide is None:
        kept_min = torch.where(mask, x, x_max).amin(dim=-1, keepdim=True)
        wide = (wide_flag if sync_free else needs_wide)(tau64, x_max.double() - kept_min.double(), cd)
    scaled = select_scaled(
        wide,
        lambda: (x.to(cd) - x_max.to(cd)).div_(row_temperature(temperature, shape, cd, x.device, sync_free=sync_free)),
        lambda: wide_scaled(x, x_max, tau64, cd),
    )
    # a kept token stays finite in the output dtype (its weight may round to 0, never to "dropped")
    scaled = scaled.clamp_(min=-torch.finfo(x.dtype).max)
    return scaled.masked_fill_(~mask, fill_value(filter_value, x.dtype)).to(x.dtype)


class EESCurve(NamedTuple):
    """The float EES curve of each row in canonical order (index ``k - 1``; ``k = 1`` meaningless).

    ``order`` holds the token ids, ``n`` the number of candidates; entries beyond ``n`` are
    masked tokens and carry no meaning.

    Parameters
    ----------
    order : torch.Tensor
        int64 token ids in canonical order, the shape of the logits.
    hbar : torch.Tensor
        ``Hbar_k``, the normalised entropy of the top ``k``, in the compute dtype.
    P : torch.Tensor
        ``P_k``, the probability mass of the top ``k``.
    f : torch.Tensor
        ``f(k) = Hbar_k - P_k``.
    n : torch.Tensor
        int64 number of candidates of each row, the batch shape.
    """

    order: torch.Tensor
    hbar: torch.Tensor
    P: torch.Tensor
    f: torch.Tensor
    n: torch.Tensor


def ees_curve(logits: torch.Tensor, temperature: Any = 1.0, accumulate: str = "float32") -> EESCurve:
    """``Hbar_k``, ``P_k`` and ``f(k)`` exactly as :func:`ees_mask` computes them (full sort).

    Parameters
    ----------
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).

    Returns
    -------
    EESCurve
        The curve of each row, in canonical order, in the compute dtype.

    Raises
    ------
    ValueError
        Bad logits (NaN, ``+inf``, a row without a finite logit, no vocabulary axis), a temperature
        ``<= 0`` or not finite, or an unknown ``accumulate``.
    TypeError
        Logits that are not a tensor of a supported float dtype, or a non-numeric parameter.

    Examples
    --------
    >>> import torch
    >>> c = ees_curve(torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64))
    >>> round(c.hbar[1].item(), 12), round(c.P[1].item(), 4)      # P_2 = 2 / (2 + e**-1)
    (1.0, 0.8446)
    """
    if _empty_batch(logits, temperature, accumulate):
        x = logits.detach()
        cd = compute_dtype(x.dtype, accumulate)
        empty = torch.zeros(x.shape, dtype=cd, device=x.device)
        return EESCurve(torch.zeros(x.shape, dtype=torch.long, device=x.device), empty, empty, empty,
                        torch.zeros(x.shape[:-1], dtype=torch.long, device=x.device))
    rows = _prepare(logits, temperature, accumulate)
    vals, idx = torch.sort(rows.x, dim=-1, descending=True, stable=True)
    hbar, P, f = _gap(vals, rows, None, parts=True)
    shape = logits.shape
    return EESCurve(idx.reshape(shape), hbar.reshape(shape), P.reshape(shape), f.reshape(shape), rows.n.reshape(rows.batch_shape))

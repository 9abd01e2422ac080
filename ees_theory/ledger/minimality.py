"""Minimal counterexamples: a certified branch-and-bound proving that EES-UNIQUE needs ``n >= 8``.

The reduction (``proofs/ees-unique-minimality.md``): with the top ``j`` probabilities written as
``p_1 * w`` (``w_1 = 1 >= w_2 >= ... >= w_j > 0``), ``W_k = w_1 + ... + w_k`` and ``h_k(w)`` the
normalised entropy of ``w_1..w_k``, a row with ``n`` candidates and ``f(i) < 0 < f(j)``
(``2 <= i < j <= n - 1``) exists exactly when

* **(I1)** ``h_j(w) W_i - h_i(w) W_j > 0`` (the interval ``h_i/W_i < p_1 < h_j/W_j`` is not empty), and
* **(I2)** ``h_j(w) (W_j + (n - j) w_j) - W_j > 0`` (the ``n - j`` tail tokens, each at most
  ``p_1 w_j``, have room for the remaining mass).

:func:`search_pair` runs a branch-and-bound over the box ``[0, 1]^(j-1)`` of ``(w_2, ..., w_j)``,
level by level: each box, clipped to the ordered region, is evaluated in outward-rounded float64
interval arithmetic (``mpmath.iv`` for the few boxes float64 cannot decide at the finest width);
a box is a leaf when it holds no ordered point, when the upper bound of (I1) or of (I2) is
negative (no counterexample in it), or, for sizes where counterexamples exist, when both lower
bounds are positive (every point of it gives one); otherwise it is bisected. The certificate
records, level by level, each box's fate (the bisected coordinate, or the leaf kind) and, for
each refuted leaf, the failing inequality's upper bound. :mod:`ees_theory.ledger.certificate_check`
re-verifies it without this module.

>>> r = search_pair(5, 2, 3)
>>> r.survivors, r.feasible, r.complete
(0, 0, True)
>>> r.leaves["I1"] + r.leaves["I2"] + r.leaves["outside"] == r.boxes - r.splits
True
"""

from __future__ import annotations

import gzip
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import mpmath
import numpy as np
from mpmath import iv

from ..core.certify import down, float_bounds, iv_bounds, iv_precision, log_enclosure, up

__all__ = [
    "CODES",
    "PairResult",
    "Survival",
    "TYPICAL_MINIMAL_LOGITS",
    "search_pair",
    "search_size",
    "CERTIFICATE_PATH",
    "load_certificate",
    "build_certificate",
    "write_certificate",
    "survival",
    "row_inequalities",
    "iv_inequalities",
    "minimality_for",
    "format_minimality",
    "ARGUMENTS",
]

#: Leaf codes of the certificate (a non-negative code is "bisected along that coordinate").
CODES = {"outside": -1, "I1": -2, "I2": -3, "feasible": -4, "survivor": -5}
CERTIFICATE_PATH = Path(__file__).resolve().parent / "certificates" / "ees-unique-minimality.json.gz"

# Below this width a box float64 cannot decide goes to mpmath.iv; below it again, it survives.
_MIN_WIDTH = 2.0**-30
# 1/e rounded down and up (1/e = 0.36787944117144232159...): the minimum of x ln x is -1/e at x = 1/e.
_INV_E_LO, _INV_E_HI = 0.3678794411714423, 0.36787944117144234


# ---- outward-rounded float64 intervals (pairs of arrays) ----------------------------------------


def _add(a, b):
    return down(a[0] + b[0]), up(a[1] + b[1])


def _sub(a, b):
    return down(a[0] - b[1]), up(a[1] - b[0])


def _mul(a, b):
    p = np.stack([a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]])
    return down(p.min(axis=0)), up(p.max(axis=0))


def _div_pos(a, b):
    """``a / b`` for ``b > 0``."""
    q = np.stack([a[0] / b[0], a[0] / b[1], a[1] / b[0], a[1] / b[1]])
    return down(q.min(axis=0)), up(q.max(axis=0))


def _xlogx(lo, hi):
    """Enclosure of ``x ln x`` on ``[lo, hi]`` within ``[0, 1]`` (0 at 0; decreasing up to 1/e, then increasing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        # x ln x at each end point, from an enclosure of ln at that point (ln x <= 0 there)
        l_lo = log_enclosure(np.where(lo > 0, lo, 1.0), np.where(lo > 0, lo, 1.0))
        l_hi = log_enclosure(hi, hi)
        at_lo = np.where(lo > 0, lo * l_lo[0], 0.0), np.where(lo > 0, lo * l_lo[1], 0.0)
        at_hi = hi * l_hi[0], hi * l_hi[1]
    a_lo, a_hi = down(np.minimum(at_lo[0], at_lo[1])), up(np.maximum(at_lo[0], at_lo[1]))
    b_lo, b_hi = down(np.minimum(at_hi[0], at_hi[1])), up(np.maximum(at_hi[0], at_hi[1]))
    a_hi, b_hi = np.minimum(a_hi, 0.0), np.minimum(b_hi, 0.0)
    dec = hi < _INV_E_LO  # wholly on the decreasing branch
    inc = lo > _INV_E_HI  # wholly on the increasing branch
    out_lo = np.where(dec, b_lo, np.where(inc, a_lo, -_INV_E_HI))
    out_hi = np.where(dec, a_hi, np.where(inc, b_hi, np.maximum(a_hi, b_hi)))
    return out_lo, out_hi


def _const(x: float, shape):
    return np.full(shape, x), np.full(shape, x)


def _float_inequalities(lo: np.ndarray, hi: np.ndarray, n: int, i: int, j: int):
    """Enclosures of (I1) and (I2) over boxes ``lo <= (w_2..w_j) <= hi`` (rows of the arrays)."""
    shape = lo.shape[:1]
    W = _const(1.0, shape)
    T = _const(0.0, shape)  # T_k = -sum w ln w, accumulated as sum w ln w and negated below
    Ws, Ts = {}, {}
    for k in range(2, j + 1):
        c = (lo[:, k - 2], hi[:, k - 2])
        W = _add(W, c)
        T = _add(T, _xlogx(*c))
        if k in (i, j):
            Ws[k], Ts[k] = W, (-T[1], -T[0])
    h = {}
    for k in (i, j):
        lnW = log_enclosure(*Ws[k])
        lnk = log_enclosure(np.full(shape, float(k)), np.full(shape, float(k)))
        h[k] = _div_pos(_add(lnW, _div_pos(Ts[k], Ws[k])), lnk)
    I1 = _sub(_mul(h[j], Ws[i]), _mul(h[i], Ws[j]))
    wj = (lo[:, j - 2], hi[:, j - 2])
    room = _add(Ws[j], (down(wj[0] * (n - j)), up(wj[1] * (n - j))))
    I2 = _sub(_mul(h[j], room), Ws[j])
    return I1, I2


def _iv_xlogx(x):
    """``x ln x`` over an ``mpmath.iv`` interval within ``[0, 1]`` (monotone pieces, minimum -1/e at 1/e)."""
    a, b = iv_bounds(x)
    ends = [iv.mpf(0) if a == 0 else iv.mpf(a) * iv.log(iv.mpf(a)), iv.mpf(b) * iv.log(iv.mpf(b))]
    lo, hi = min(iv_bounds(e)[0] for e in ends), max(iv_bounds(e)[1] for e in ends)
    if a < _INV_E_HI and b > _INV_E_LO:
        lo = min(lo, iv_bounds(-1 / iv.e)[0])
    return iv.mpf([lo, min(hi, mpmath.mpf(0))])


def iv_inequalities(w: list, n: int, i: int, j: int):
    """(I1) and (I2) as ``mpmath.iv`` intervals, for ``w = [w_1, ..., w_j]`` given as ``mpmath.iv``
    intervals within ``[0, 1]`` (``w_1 = 1``), at the current ``iv.prec``.

    Parameters
    ----------
    w : list of mpmath.iv.mpf
        ``[w_1, ..., w_j]`` (at least ``j`` entries), each within ``[0, 1]``, ``w_1 = 1``.
    n : int
        The row size.
    i, j : int
        The pair, ``2 <= i < j <= n - 1``.

    Returns
    -------
    tuple
        ``(I1, I2)``, ``mpmath.iv`` intervals; a counterexample's shape needs both positive.

    Examples
    --------
    >>> from mpmath import iv
    >>> I1, I2 = iv_inequalities([iv.mpf(1), iv.mpf(0.15), iv.mpf(0.15)], 8, 2, 3)
    >>> bool(I1.a > 0 and I2.a > 0)      # an n = 8 row with f(2) < 0 < f(3) exists
    True
    >>> I1, I2 = iv_inequalities([iv.mpf(1), iv.mpf(0.15), iv.mpf(0.15)], 7, 2, 3)
    >>> bool(I2.b < 0)                   # but not with n = 7
    True
    """

    def hk(k):
        Wk = sum(w[:k], iv.mpf(0))
        Tk = -sum((_iv_xlogx(x) for x in w[:k]), iv.mpf(0))
        return (iv.log(Wk) + Tk / Wk) / iv.log(k), Wk

    h_i, Wi = hk(i)
    h_j, Wj = hk(j)
    return h_j * Wi - h_i * Wj, h_j * (Wj + (n - j) * w[j - 1]) - Wj


def _iv_box(lo, hi, n: int, i: int, j: int, prec: int = 120):
    """Float bounds of (I1) and (I2) over one box, evaluated in ``mpmath.iv``."""
    with iv_precision(prec):
        w = [iv.mpf(1)] + [iv.mpf([float(a), float(b)]) for a, b in zip(lo, hi)]
        I1, I2 = iv_inequalities(w, n, i, j)
        return _float_bounds(I1), _float_bounds(I2)


def _float_bounds(x) -> tuple[float, float]:
    """The endpoints of an ``mpmath.iv`` interval rounded outward to float64."""
    return float_bounds(*iv_bounds(x))


def row_inequalities(logits, i: int, j: int, temperature: float = 1.0, prec: int = 120):
    """(I1) and (I2) certified (``mpmath.iv``) at the ``w`` of a row (``w_k = p_(k) / p_(1)``), with
    ``n`` its number of candidates: both positive exactly when the reduction says the row's top ``j``
    shape admits ``f(i) < 0 < f(j)`` with ``n`` candidates.

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token.
    i, j : int
        The pair, ``2 <= i < j <= n - 1``.
    temperature : float
        The temperature of ``w`` (default 1).
    prec : int
        Bits of the interval arithmetic (default 120).

    Returns
    -------
    tuple
        ``(I1, I2)`` as ``mpmath.iv`` intervals.

    Raises
    ------
    ValueError
        A bad row, or a pair outside ``2 <= i < j <= n - 1``.

    Examples
    --------
    >>> I1, I2 = row_inequalities([0.0, -0.25, -0.25, -9.0], 2, 3)
    >>> bool(I1.b < 0)                   # this top 3 admits no f(2) < 0 < f(3)
    True
    """
    from ..reference.rows import as_row

    row = as_row(logits)
    if not (2 <= i < j <= row.n - 1):
        raise ValueError(f"need 2 <= i < j <= n - 1 = {row.n - 1}, got i={i}, j={j}")
    with iv_precision(prec):
        w, _ = row.iv_weights(temperature, count=j)
        w = [iv.mpf([max(iv_bounds(x)[0], 0), min(iv_bounds(x)[1], 1)]) for x in w]
        return iv_inequalities(w, row.n, i, j)


def _clip(lo: np.ndarray, hi: np.ndarray):
    """Shrink boxes to their ordered part: ``1 >= w_2 >= ... >= w_j`` bounds each ``hi`` by the
    ``hi`` on its left and each ``lo`` by the ``lo`` on its right (exact: no arithmetic)."""
    chi = np.minimum.accumulate(hi, axis=1)
    clo = np.maximum.accumulate(lo[:, ::-1], axis=1)[:, ::-1]
    return clo, chi, np.all(clo <= chi, axis=1)


# ---- the branch-and-bound -----------------------------------------------------------------------


@dataclass
class PairResult:
    """The outcome of :func:`search_pair` for one ``(n, i, j)``.

    Parameters
    ----------
    n, i, j : int
        The size and the pair.
    levels : list
        Per level of the tree, the code of each box (a leaf kind of ``CODES``, or the bisected coordinate).
    margins : list
        Per refuted leaf, in order, the failing inequality's upper bound.
    leaves : dict
        Leaves by kind (``"outside"``, ``"I1"``, ``"I2"``, ...).
    boxes, splits, iv_boxes : int
        Boxes evaluated, boxes bisected, boxes that needed ``mpmath.iv``.
    survivors, feasible : int
        Boxes undecided at the finest width; boxes where both inequalities certainly hold.
    survivor_boxes, feasible_boxes : list
        Their bounds, ``(lo, hi)`` pairs, up to ``keep_boxes`` each.
    depth : int
        The number of levels.
    seconds : float
        How long the search took.
    complete : bool
        False when ``max_boxes`` ran out before every box was decided.
    """

    n: int
    i: int
    j: int
    levels: list = field(default_factory=list)  # per level: the codes, one per box
    margins: list = field(default_factory=list)  # per refuted leaf, in order: the failing bound
    leaves: dict = field(default_factory=dict)
    boxes: int = 0
    splits: int = 0
    iv_boxes: int = 0
    survivors: int = 0
    feasible: int = 0
    survivor_boxes: list = field(default_factory=list)
    feasible_boxes: list = field(default_factory=list)
    depth: int = 0
    seconds: float = 0.0
    complete: bool = False

    def summary(self) -> dict:
        return {k: getattr(self, k) for k in ("n", "i", "j", "boxes", "splits", "leaves", "iv_boxes", "survivors", "feasible", "depth", "seconds", "complete")}


@dataclass
class _Part:
    """Levels of the branch-and-bound grown from some start boxes, for ``_assemble``: per level
    the codes, the refuted leaves' margins, the ``mpmath.iv`` box count and the survivor and
    feasible boxes kept (at most ``keep_boxes`` of each over the part); ``frontier``, the boxes of
    the next level, when it stopped at ``min_frontier`` boxes; ``stopped`` when ``max_boxes`` ran out."""

    codes: list = field(default_factory=list)
    margins: list = field(default_factory=list)
    iv: list = field(default_factory=list)
    kept: list = field(default_factory=list)
    frontier: tuple | None = None
    stopped: bool = False
    seconds: float = 0.0


def _grow(n: int, i: int, j: int, lo: np.ndarray, hi: np.ndarray, *, max_boxes: int, min_width: float, keep_boxes: int,
          min_frontier: int | None = None) -> _Part:
    """The levels below the boxes ``lo <= (w_2..w_j) <= hi``, level by level (see :func:`search_pair`)."""
    t0 = time.perf_counter()
    part = _Part()
    boxes = 0
    n_kept = {"survivor": 0, "feasible": 0}
    while len(lo):
        if min_frontier is not None and len(lo) >= min_frontier:
            part.frontier = (lo, hi)
            break
        boxes += len(lo)
        codes = np.full(len(lo), -99, dtype=np.int64)
        margins = np.zeros(len(lo))
        iv_count = 0
        clo, chi, inside = _clip(lo, hi)
        codes[~inside] = CODES["outside"]
        idx = np.nonzero(inside)[0]
        if len(idx):
            I1, I2 = _float_inequalities(clo[idx], chi[idx], n, i, j)
            fail1, fail2 = I1[1] < 0, I2[1] < 0
            # the more negative of the two failing bounds is the one recorded
            use1 = fail1 & (~fail2 | (I1[1] <= I2[1]))
            use2 = fail2 & ~use1
            codes[idx[use1]], margins[idx[use1]] = CODES["I1"], I1[1][use1]
            codes[idx[use2]], margins[idx[use2]] = CODES["I2"], I2[1][use2]
            both = (I1[0] > 0) & (I2[0] > 0)
            codes[idx[both]] = CODES["feasible"]
            width = (chi[idx] - clo[idx]).max(axis=1)
            tiny = (codes[idx] == -99) & (width <= min_width)
            for t in idx[tiny]:
                iv_count += 1
                (a1, b1), (a2, b2) = _iv_box(clo[t], chi[t], n, i, j)
                if b1 < 0 or b2 < 0:
                    codes[t], margins[t] = (CODES["I1"], b1) if b1 < 0 and (b2 >= 0 or b1 <= b2) else (CODES["I2"], b2)
                elif a1 > 0 and a2 > 0:
                    codes[t] = CODES["feasible"]
                else:
                    codes[t] = CODES["survivor"]
        split = codes == -99
        # bisect the widest coordinate of the clipped box (lowest index on ties)
        dims = np.argmax(np.where(split[:, None], chi - clo, -1.0), axis=1)
        codes[split] = dims[split]
        kept = {}
        for kind in ("survivor", "feasible"):
            take = np.nonzero(codes == CODES[kind])[0][: max(0, keep_boxes - n_kept[kind])]
            kept[kind] = [(clo[t].tolist(), chi[t].tolist()) for t in take]
            n_kept[kind] += len(take)
        part.codes.append(codes.astype(np.int8))
        part.margins.append(margins[(codes == CODES["I1"]) | (codes == CODES["I2"])])
        part.iv.append(iv_count)
        part.kept.append(kept)
        s = np.nonzero(split)[0]
        if boxes + 2 * len(s) > max_boxes:
            part.stopped = True
            break
        # children: the lower half first, then the upper half, in the order of their parents
        lo_s, hi_s, dim = lo[s], hi[s], dims[s]
        rows = np.arange(len(s))
        mid = 0.5 * (lo_s[rows, dim] + hi_s[rows, dim])  # exact: dyadic endpoints
        lo1, hi1 = lo_s.copy(), hi_s.copy()
        hi1[rows, dim] = mid
        lo2, hi2 = lo_s.copy(), hi_s.copy()
        lo2[rows, dim] = mid
        lo = np.stack([lo1, lo2], axis=1).reshape(-1, lo.shape[1])
        hi = np.stack([hi1, hi2], axis=1).reshape(-1, hi.shape[1])
    part.seconds = time.perf_counter() - t0
    return part


def _assemble(n: int, i: int, j: int, top: _Part, parts: list[_Part], *, max_boxes: int, keep_boxes: int) -> PairResult:
    """The result of the whole tree from the levels of ``top`` and then of ``parts`` (grown from
    consecutive runs of ``top``'s frontier, in its order): a level of the tree is each part's level
    at that depth, one after another, because children follow their parents' order. The box budget
    is applied as one search applies it, so the result is that of :func:`search_pair` to the bit."""
    depth = max((len(p.codes) for p in parts), default=0)
    levels = [(top.codes[d], top.margins[d], top.iv[d], [top.kept[d]]) for d in range(len(top.codes))]
    for d in range(depth):
        here = [p for p in parts if d < len(p.codes)]
        levels.append((np.concatenate([p.codes[d] for p in here]), np.concatenate([p.margins[d] for p in here]),
                       sum(p.iv[d] for p in here), [p.kept[d] for p in here]))
    res = PairResult(n, i, j, leaves={k: 0 for k in CODES}, seconds=top.seconds + sum(p.seconds for p in parts))
    stores = {"survivor": res.survivor_boxes, "feasible": res.feasible_boxes}
    for d, (codes, margins, iv_count, kept) in enumerate(levels):
        res.depth = d
        res.boxes += len(codes)
        res.iv_boxes += iv_count
        for name, c in CODES.items():
            res.leaves[name] += int(np.sum(codes == c))
        for kind, store in stores.items():
            store.extend([b for k in kept for b in k[kind]][: max(0, keep_boxes - len(store))])
        res.levels.append(codes)
        res.margins.append(margins)
        s = int(np.sum(codes >= 0))
        res.splits += s
        if res.boxes + 2 * s > max_boxes:
            return res
    if top.stopped or any(p.stopped for p in parts):  # a part ran out only where the whole tree does
        raise AssertionError(f"n={n}, (i, j)=({i}, {j}): a part of the search stopped before the whole search would")
    res.survivors = res.leaves["survivor"]
    res.feasible = res.leaves["feasible"]
    res.complete = True
    return res


def search_pair(n: int, i: int, j: int, *, max_boxes: int = 50_000_000, min_width: float = _MIN_WIDTH, keep_boxes: int = 64) -> PairResult:
    """Branch-and-bound over ``(w_2..w_j)`` in ``[0, 1]^(j-1)`` for the pair ``(i, j)`` at size ``n``.

    Proves (I1) or (I2) false on every box, or leaves ``survivors`` (boxes at ``min_width`` where
    neither fails; their bounds are kept, up to ``keep_boxes``) and ``feasible`` leaves (boxes where
    both certainly hold). ``complete`` is False when ``max_boxes`` ran out first.

    Parameters
    ----------
    n : int
        The row size.
    i, j : int
        The pair, ``2 <= i < j <= n - 1``.
    max_boxes : int
        Stop after this many boxes (default 50,000,000).
    min_width : float
        The finest box width bisected, ``2**-30`` by default; a box still undecided there survives.
    keep_boxes : int
        How many survivor and feasible boxes to keep the bounds of (default 64).

    Returns
    -------
    PairResult
        The tree, its leaves and margins.

    Raises
    ------
    ValueError
        A pair outside ``2 <= i < j <= n - 1``.
    """
    _check_pair(n, i, j)
    top = _grow(n, i, j, np.zeros((1, j - 1)), np.ones((1, j - 1)), max_boxes=max_boxes, min_width=min_width, keep_boxes=keep_boxes)
    return _assemble(n, i, j, top, [], max_boxes=max_boxes, keep_boxes=keep_boxes)


def _check_pair(n: int, i: int, j: int) -> None:
    if not (2 <= i < j <= n - 1):
        raise ValueError(f"need 2 <= i < j <= n - 1, got n={n}, i={i}, j={j}")


#: Sizes from which a pair's tree is cut, on a cluster, into groups of sub-boxes (below, a pair
#: takes milliseconds: one task each) ...
SPLIT_FROM_N = 7
#: ... about this many groups per worker thread (the largest pair dominates the whole search)
GROUPS_PER_THREAD = 4


def pairs_of(n: int) -> list[tuple[int, int, int]]:
    """The ``(n, i, j)`` with ``2 <= i < j <= n - 1``, in the certificate's order (``j``, then ``i``).

    Parameters
    ----------
    n : int
        The row size (below 4 there are none).

    Returns
    -------
    list of tuple
        ``(n, i, j)`` triples.

    Examples
    --------
    >>> pairs_of(5)
    [(5, 2, 3), (5, 2, 4), (5, 3, 4)]
    """
    return [(n, i, j) for j in range(3, n) for i in range(2, j)]


def search_pairs(todo, *, executor=None, groups: int | None = None, max_boxes: int = 50_000_000, min_width: float = _MIN_WIDTH,
                 keep_boxes: int = 64) -> list[PairResult]:
    """:func:`search_pair` for each ``(n, i, j)`` of ``todo``, in order; with ``executor`` (a
    ``distributed.Client``) on its cluster, with the same results (timings apart).

    On a cluster each pair is a task; a pair of size ``n >= SPLIT_FROM_N`` is first grown here to
    the first level of at least ``groups`` boxes (default ``GROUPS_PER_THREAD`` per worker
    thread), whose boxes go out in ``groups`` consecutive runs, and the levels that come back are
    put together in the order of one search, so the certificate written from
    them is the same, byte for byte apart from the seconds.

    Parameters
    ----------
    todo : iterable of tuple
        ``(n, i, j)`` triples of integers, each with ``2 <= i < j <= n - 1``.
    executor : object
        A ``distributed.Client`` (default ``None``: here, one pair after another).
    groups : int or None
        On a cluster: runs of sub-boxes per large pair, ``>= 1`` (default ``GROUPS_PER_THREAD``
        per worker thread).
    max_boxes, min_width, keep_boxes
        As for :func:`search_pair`.

    Returns
    -------
    list of PairResult
        One per triple, in order.

    Raises
    ------
    TypeError
        An entry that is not a triple of integers, or an ``executor`` that is not a client.
    ValueError
        A pair outside ``2 <= i < j <= n - 1``, or ``groups < 1``.

    Examples
    --------
    >>> [r.boxes for r in search_pairs([(5, 2, 3), (4, 2, 3)])]
    [223, 177]
    """
    todo = [tuple(t) for t in todo]
    for t in todo:
        if len(t) != 3 or not all(isinstance(x, (int, np.integer)) for x in t):
            raise TypeError(f"search_pairs takes (n, i, j) triples of integers, got {t!r}")
        _check_pair(*t)
    todo = [tuple(int(x) for x in t) for t in todo]
    kw = {"max_boxes": max_boxes, "min_width": min_width, "keep_boxes": keep_boxes}
    if executor is None:
        return [search_pair(*t, **kw) for t in todo]
    import functools

    from ..running.cluster import map_in_order, require_client

    require_client(executor)
    if groups is None:
        groups = GROUPS_PER_THREAD * max(1, sum(executor.nthreads().values()))
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    tops, calls, owner = [], [], []
    for k, (n, i, j) in enumerate(todo):
        root = np.zeros((1, j - 1)), np.ones((1, j - 1))
        top = _grow(n, i, j, *root, min_frontier=groups if n >= SPLIT_FROM_N else 1, **kw)
        tops.append(top)
        if top.frontier is not None:
            lo, hi = top.frontier
            for run in np.array_split(np.arange(len(lo)), min(groups, len(lo)) if n >= SPLIT_FROM_N else 1):
                calls.append((n, i, j, lo[run], hi[run]))
                owner.append(k)
    parts: list[list[_Part]] = [[] for _ in todo]
    for k, part in zip(owner, map_in_order(executor, functools.partial(_grow, **kw), calls)):
        parts[k].append(part)
    return [_assemble(n, i, j, top, ps, max_boxes=max_boxes, keep_boxes=keep_boxes) for (n, i, j), top, ps in zip(todo, tops, parts)]


def search_size(n: int, *, executor=None, **kw) -> list[PairResult]:
    """:func:`search_pair` for every pair ``2 <= i < j <= n - 1`` (see ``search_pairs`` for ``executor``).

    Parameters
    ----------
    n : int
        The row size.
    executor : object
        A ``distributed.Client`` (default ``None``: here).
    **kw
        ``groups``, ``max_boxes``, ``min_width``, ``keep_boxes`` of ``search_pairs``.

    Returns
    -------
    list of PairResult
        One per pair, in ``pairs_of`` order (``j``, then ``i``).

    Examples
    --------
    >>> [(r.i, r.j, r.complete) for r in search_size(4)]
    [(2, 3, True)]
    """
    return search_pairs(pairs_of(n), executor=executor, **kw)


# ---- the certificate ------------------------------------------------------------------------------

#: One character per box in the certificate: a leaf kind, or the coordinate bisected (``a`` is w_2).
LEAF_CHARS = {CODES["outside"]: "o", CODES["I1"]: "1", CODES["I2"]: "2"}
SPLIT_CHARS = "abcdefghijklmnopqrstuvwxyz"
#: Sizes the certificate covers: below 4 there is no pair 2 <= i < j <= n - 1 at all.
PROVED_SIZES = (4, 5, 6, 7)


def _encode(res: PairResult) -> dict:
    if not res.complete or res.survivors or res.feasible:
        raise ValueError(f"n={res.n}, (i, j)=({res.i}, {res.j}) is not refuted on every box: no certificate")
    codes = "".join("".join(LEAF_CHARS[c] if c < 0 else SPLIT_CHARS[c] for c in level.tolist()) for level in res.levels)
    margins = np.concatenate(res.margins) if res.margins else np.zeros(0)
    # "fails by at least 2**e": one binade below the bound found, so that any correct enclosure
    # (the checker's rounds differently) still meets it
    exps = (np.floor(np.log2(-margins)) - 1).astype(int).tolist()
    return {"n": res.n, "i": res.i, "j": res.j, "boxes": res.boxes, "leaves": {k: res.leaves[k] for k in ("outside", "I1", "I2")}, "tree": codes, "fails_by_2_pow": exps}


def build_certificate(sizes=PROVED_SIZES, *, executor=None) -> dict:
    """Run the search for every pair of every size in ``sizes`` and return the certificate (a dict);
    with ``executor`` (a ``distributed.Client``) on its cluster, with the same certificate apart
    from the seconds (``search_pairs``).

    Parameters
    ----------
    sizes : iterable of int
        Row sizes to cover (default ``PROVED_SIZES``, 4 to 7).
    executor : object
        A ``distributed.Client`` (default ``None``: here).

    Returns
    -------
    dict
        The certificate: the claim, the sizes, the encoding, search totals and one entry per pair.

    Raises
    ------
    ValueError
        Some box survives or is feasible (then there is no proof to write).
    """
    t0 = time.perf_counter()
    todo = [t for n in sizes for t in pairs_of(n)]
    pairs = [(_encode(r), r) for r in search_pairs(todo, executor=executor)]
    seconds = time.perf_counter() - t0
    return {
        "format": 1,
        "claim": "EES-UNIQUE",
        "statement": "no row with n candidates has f(i) < 0 < f(j) for any 2 <= i < j <= n - 1",
        "sizes": list(sizes),
        "reduction": "proofs/ees-unique-minimality.md",
        "domain": "boxes of (w_2, ..., w_j) bisected from [0, 1]^(j-1), clipped to 1 >= w_2 >= ... >= w_j",
        "encoding": "tree: boxes level by level, each level in the order its parents were bisected (lower half first); "
        "'o' no ordered point, '1' (I1) fails, '2' (I2) fails, 'a', 'b', ... bisect w_2, w_3, ...; "
        "fails_by_2_pow: per '1'/'2' leaf in order, e with the inequality's upper bound <= -2**e",
        "search": {"boxes": sum(r.boxes for _, r in pairs), "seconds": round(seconds, 3), "mpmath_iv_boxes": sum(r.iv_boxes for _, r in pairs)},
        "pairs": [p for p, _ in pairs],
    }


def write_certificate(cert: dict, path: Path | str | None = None) -> Path:
    """Write ``cert`` as gzipped JSON (deterministic bytes: no timestamp in the gzip header).

    Parameters
    ----------
    cert : dict
        A certificate from :func:`build_certificate`.
    path : str, pathlib.Path or None
        Where to write (default ``None``: ``CERTIFICATE_PATH``, the committed file).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    p = Path(CERTIFICATE_PATH if path is None else path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(cert, separators=(",", ":"), sort_keys=True).encode()
    p.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return p


def load_certificate(path: Path | str | None = None) -> dict:
    """The committed certificate (gzipped JSON).

    Parameters
    ----------
    path : str, pathlib.Path or None
        Another certificate file (default ``None``: ``CERTIFICATE_PATH``).

    Returns
    -------
    dict
        The decoded certificate.

    Examples
    --------
    >>> load_certificate()["sizes"]
    [4, 5, 6, 7]
    """
    return json.loads(gzip.decompress(Path(CERTIFICATE_PATH if path is None else path).read_bytes()))


# ---- n = 8: where the stored counterexample lives ------------------------------------------------


@dataclass
class Survival:
    """The branch-and-bound at the stored counterexample's size, and where its row falls.

    Parameters
    ----------
    n : int
        The row size.
    pairs : list of dict
        ``PairResult.summary()`` of each pair searched.
    row_i, row_j : int
        The pair the row realises.
    row_I1, row_I2 : tuple of float
        Certified float bounds of (I1) and (I2) at the row's ``w``.
    row_box : str
        ``"feasible"`` or ``"survivor"``: the kind of the leaf box holding the row's ``w``.
    """

    n: int
    pairs: list  # PairResult summaries
    row_i: int
    row_j: int
    row_I1: tuple  # certified float bounds of (I1), (I2) at the row's w
    row_I2: tuple
    row_box: str  # "feasible" or "survivor": the kind of the leaf box holding the row's w

    def summary(self) -> str:
        live = [p for p in self.pairs if p["feasible"] or p["survivors"]]
        dead = [p for p in self.pairs if not (p["feasible"] or p["survivors"])]
        return (f"n = {self.n}: {len(dead)} of {len(self.pairs)} pairs refuted on every box; "
                + "; ".join(f"(i, j) = ({p['i']}, {p['j']}): {p['feasible']} boxes where both inequalities hold, "
                            f"{p['survivors']} undecided at the finest width" for p in live)
                + f"; the stored row's w has (I1) in [{self.row_I1[0]:.6g}, {self.row_I1[1]:.6g}], "
                f"(I2) in [{self.row_I2[0]:.6g}, {self.row_I2[1]:.6g}] and lies in a {self.row_box} box")


def survival(logits, i: int, j: int, min_width: float = 2.0**-12, only_pair: bool = False, *, executor=None) -> Survival:
    """Run the branch-and-bound for every pair at the row's size ``n`` (only ``(i, j)`` with
    ``only_pair``), stopping at ``min_width``, and locate the row's ``w`` (its top ``j``) among the
    boxes of ``(i, j)`` that survive (on the cluster of ``executor`` when given: ``search_pairs``).

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        A row with ``f(i) < 0 < f(j)`` (the stored EES-UNIQUE counterexample).
    i, j : int
        Its pair, ``2 <= i < j <= n - 1``.
    min_width : float
        The finest box width (default ``2**-12``).
    only_pair : bool
        Search only ``(i, j)`` (default False: every pair of size ``n``).
    executor : object
        A ``distributed.Client`` (default ``None``: here).

    Returns
    -------
    Survival
        The pairs' summaries and the kind of box the row lies in.

    Raises
    ------
    ValueError
        A bad row or pair, or a row that does not satisfy both inequalities for ``(i, j)``.
    """
    from ..reference.rows import as_row

    n = as_row(logits).n
    todo = [(n, i, j)] if only_pair else pairs_of(n)
    results = search_pairs(todo, executor=executor, min_width=min_width, keep_boxes=10**9)
    I1, I2 = (_float_bounds(x) for x in row_inequalities(logits, i, j))
    if not (I1[0] > 0 and I2[0] > 0):
        raise ValueError(f"the row does not satisfy (I1) and (I2) for (i, j) = ({i}, {j}): {I1}, {I2}")
    with iv_precision(120):
        w, _ = as_row(logits).iv_weights(1.0, count=j)
        w = [_float_bounds(x) for x in w[1:]]
    res = next(r for r in results if (r.i, r.j) == (i, j))
    kind = None
    for name, boxes in (("feasible", res.feasible_boxes), ("survivor", res.survivor_boxes)):
        if any(all(lo[d] <= w[d][0] and w[d][1] <= hi[d] for d in range(len(w))) for lo, hi in boxes):
            kind = name
            break
    if kind is None:
        raise AssertionError("the row's w lies in no surviving box: the search or the reduction is wrong")
    pairs = [dict(r.summary(), seconds=round(r.seconds, 3)) for r in results]
    return Survival(n, pairs, i, j, I1, I2, kind)


# ---- minimality of every refuted claim ------------------------------------------------------------

#: A row of 3 candidates on which locally typical sampling (mass 0.5) drops the mode:
#: p = (0.391, 0.3045, 0.3045), H = 1.09; the two tail tokens are nearer H and carry 0.609 >= 0.5.
TYPICAL_MINIMAL_LOGITS = [0.0, -0.25, -0.25]

#: Why no smaller row refutes each claim (sizes count candidates, masked entries excluded; for
#: DYN-RANGE the row length, as llama.cpp counts it).
ARGUMENTS = {
    "EES-MONO": (3, "f(k) is defined for k >= 2 only: a row with n <= 2 candidates has at most the one value f(2), "
                    "so f cannot fail to decrease"),
    "EES-TAU-INV": (3, "with n = 1, k* = 1; with n = 2 the only comparison is f(2) = Hbar_2 - 1, negative unless the two "
                       "logits are equal (then f(2) = 0, not a crossing), and whether they are equal does not depend on "
                       "the temperature: k* is 1 at every temperature or 2 at every temperature"),
    "DYN-RANGE": (2, "llama.cpp's dynatemp is a no-op on a row of at most 1 entry (no temperature is applied), so a "
                     "violation needs 2 entries"),
    "SEED-TAU": (2, "with one candidate the top probability is 1 at every temperature, as the claim says"),
    "TYPICAL-MODE": (3, "with n = 2 and p_1 = a > 1/2, the scores |-ln p - H| are (1 - a) L for the mode and a L for the "
                        "other token (L = ln(a / (1 - a))), so the mode comes first in typical order and the first token is "
                        "always kept; with a = 1/2 both tokens are modes and one is kept. A 3-candidate row that drops the "
                        "mode: logits " + str(TYPICAL_MINIMAL_LOGITS) + " (re-certified by the reference on every run)"),
    "EES-UNIQUE": (8, "n <= 3 has no pair 2 <= i < j <= n - 1; for n = 4..7 the committed certificate covers every pair "
                      "(i, j) with boxes on each of which (I1) or (I2) of the reduction is certified false "
                      "(proofs/ees-unique-minimality.md)"),
}


def _typical_witness() -> bool:
    """The 3-candidate TYPICAL-MODE row, certified by the reference: the mode is not kept."""
    from ..reference.truncation import truncate

    r = truncate("typical", TYPICAL_MINIMAL_LOGITS, mass=0.5)
    return r.certified and 0 not in r.kept


def minimality_for(claim_id: str, n: int, check_certificate: bool = False) -> dict:
    """How the size ``n`` of a refuted claim's counterexample compares with the smallest possible.

    ``status`` is ``"minimal size proved"`` (``size`` is the proved minimum, with the ``argument``,
    and for EES-UNIQUE the ``certificate``) or ``"smallest found"`` (no proof that smaller rows
    cannot refute the claim). With ``check_certificate`` the EES-UNIQUE certificate is re-verified
    now (a few seconds) and ``certificate_checked`` says so.

    Parameters
    ----------
    claim_id : str
        A claim id; one without a proved minimum (``ARGUMENTS``) gets ``"smallest found"``.
    n : int
        The size of its stored counterexample.
    check_certificate : bool
        Re-verify the EES-UNIQUE certificate now (default False).

    Returns
    -------
    dict
        ``status``, ``size``, ``stored_size`` and ``argument``, and for EES-UNIQUE the
        certificate's path, boxes and sizes.

    Raises
    ------
    ValueError
        (``CertificateError``, with ``check_certificate`` only) The certificate does not verify.

    Examples
    --------
    >>> m = minimality_for("EES-UNIQUE", 8)
    >>> m["status"], m["size"], m["stored_size"], m["certificate"]
    ('minimal size proved', 8, 8, 'ees_theory/ledger/certificates/ees-unique-minimality.json.gz')
    >>> minimality_for("TYPICAL-MODE", 101)["size"]
    3
    >>> minimality_for("SOME-CLAIM", 5)["status"]
    'smallest found'
    """
    if claim_id not in ARGUMENTS:
        return {"status": "smallest found", "size": n, "stored_size": n,
                "argument": "no proof that fewer candidates cannot refute the claim: the size is that of the stored "
                            "counterexample, and smaller sizes were not searched exhaustively"}
    size, argument = ARGUMENTS[claim_id]
    out = {"status": "minimal size proved", "size": size, "stored_size": n, "argument": argument}
    if claim_id == "TYPICAL-MODE" and not _typical_witness():
        return {"status": "smallest found", "size": n, "stored_size": n,
                "argument": "the 3-candidate witness no longer drops the mode under the reference: minimality unproved"}
    if claim_id == "EES-UNIQUE":
        cert = load_certificate()
        out["certificate"] = str(CERTIFICATE_PATH.relative_to(CERTIFICATE_PATH.parents[3]))
        out["certificate_boxes"] = cert["search"]["boxes"]
        out["certificate_sizes"] = cert["sizes"]
        if "n8" in cert:
            out["size_8"] = cert["n8"]["summary"]
        if check_certificate:
            from .certificate_check import check_certificate as check

            report = check()
            out["certificate_checked"] = f"re-verified now: {report.pairs} pairs, {report.boxes} boxes, leaves {report.leaves}"
    if size > n:  # cannot happen while the table is right: a counterexample smaller than the minimum
        raise AssertionError(f"{claim_id}: stored counterexample of size {n} below the proved minimum {size}")
    return out


def format_minimality(m: dict) -> str:
    """One or more lines for ``ees-theory claims --claim ID``.

    Parameters
    ----------
    m : dict
        A record from :func:`minimality_for`.

    Returns
    -------
    str
        The size, whether it is proved minimal and why, and the certificate if there is one.

    Examples
    --------
    >>> format_minimality(minimality_for("SEED-TAU", 2)).splitlines()[0]
    'minimality: minimal size proved, n = 2'
    """
    if m["status"] == "smallest found":
        return f"minimality: smallest found, n = {m['size']} ({m['argument']})"
    head = f"minimality: minimal size proved, n = {m['size']}"
    if m["stored_size"] != m["size"]:
        head += f" (the stored counterexample has n = {m['stored_size']})"
    lines = [head, f"  why: {m['argument']}"]
    if "certificate" in m:
        lines.append(f"  certificate: {m['certificate']} ({m['certificate_boxes']} boxes, sizes {m['certificate_sizes']}; "
                     f"checked by ees_theory.ledger.certificate_check)")
        if "size_8" in m:
            lines.append(f"  {m['size_8']}")
        if "certificate_checked" in m:
            lines.append(f"  {m['certificate_checked']}")
    return "\n".join(lines)


def main(argv=None) -> int:  # pragma: no cover - the search run that writes the committed certificate
    """``python -m ees_theory.ledger.minimality [--cluster ADDRESS] [--out FILE]``: rebuild the
    certificate (on a Dask cluster with ``--cluster``: the same file) and print the box counts."""
    import argparse

    from ..cli._cluster import add_cluster_argument, cluster_context
    from ..spec.formats import from_hex_list

    ap = argparse.ArgumentParser(prog="python -m ees_theory.ledger.minimality", description="rebuild the EES-UNIQUE minimality certificate")
    add_cluster_argument(ap, "each pair, or group of its sub-boxes, is a task; the same certificate")
    ap.add_argument("--out", metavar="FILE", default=None, help=f"where to write it (default {CERTIFICATE_PATH.name} in the package)")
    args = ap.parse_args(argv)
    try:
        context = cluster_context(args.cluster)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    refused = ()
    if args.cluster is not None:
        from ..running.cluster import ClusterError as refused
    try:
        with context as executor:  # an unreachable scheduler is refused here, before any work
            cert = build_certificate(executor=executor)
            # the stored counterexample, read from the ledger's file (importing the ledger would be a cycle)
            stored = json.loads((Path(__file__).resolve().parent / "verdicts.json").read_text())["claims"]["EES-UNIQUE"]["counterexample"]
            t0 = time.perf_counter()
            sv = survival(from_hex_list(stored["logits"]), int(stored["params"]["k_negative"]), int(stored["params"]["k_positive"]),
                          executor=executor)
    except refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cert["n8"] = {"summary": sv.summary(), "pairs": sv.pairs, "seconds": round(time.perf_counter() - t0, 3)}
    print(cert["n8"]["summary"])
    path = write_certificate(cert, args.out)
    for p in cert["pairs"]:
        print(f"n={p['n']} (i, j)=({p['i']}, {p['j']}): {p['boxes']} boxes, leaves {p['leaves']}")
    print(f"total {cert['search']['boxes']} boxes in {cert['search']['seconds']} s; wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    # the module under its own name: a cluster's workers import its functions rather than get copies
    from ees_theory.ledger.minimality import main as _main

    raise SystemExit(_main())

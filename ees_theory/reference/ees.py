"""Entropy Equilibrium Sampling, certified (specification §2).

With candidates sorted ``p_(1) >= ... >= p_(n) > 0``, ``P_k`` the top-k mass, ``H_k`` the entropy
of the renormalised top-k set and ``Hbar_k = H_k / ln k``, the equilibrium gap is
``f(k) = Hbar_k - P_k``. The default rule keeps ``k* = i* - 1`` tokens, where ``i*`` is the first
``i > m`` with ``f(i) < 0`` (``k* = n`` when there is none).

Every comparison ``f(i) < 0`` that decides ``k*`` is certified: by structure where it is exact
(``f = 0`` only for a uniform row at ``k = n``; a tied top block has ``Hbar = 1``; ``Hbar_n < 1``
exactly when the row is not uniform), else by float64 interval bounds, else by ``mpmath.iv`` at
rising precision. A comparison still undecided at ``max_prec`` bits is reported, never guessed.

Computation: with ``e_i = p_(i)/p_(1) = exp(-a_i)``, ``S_k = sum e_i`` and ``A_k = sum e_i a_i``,
``H_k = ln S_k + A_k / S_k`` (a sum of two non-negative terms, so no cancellation) and
``P_k = S_k / S_n``.

>>> r = ees(from_probs([0.5, 0.3, 0.2]))
>>> r.k, r.kept, r.certified
(2, (0, 1), True)
>>> [(c.k, c.crossing, c.method) for c in r.decisions]
[(2, False, 'float64'), (3, True, 'structure')]
>>> ees([0.0, 0.0, 0.0]).k          # uniform: f(n) = 0 exactly, not a crossing
3
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import mpmath
import numpy as np
from mpmath import iv

from .. import spec
from ..core.certify import (
    DEFAULT_MAX_PREC,
    Decision,
    cumsum_enclosure,
    decide_negative,
    decide_negative_codes,
    down,
    float_down,
    float_up,
    iv_bounds,
    iv_exp,
    iv_precision,
    ladder,
    log_enclosure,
    precisions,
    up,
)
from ..core.ctx import IV, MP
from ..core.ees import count_first, count_last, curve_point, first_candidate, gap
from .rows import ExactRow, as_row, from_probs

#: f(k) < 0 certified true / false, as Decision codes in the vectorised table
_YES, _NO = Decision.TRUE.code, Decision.FALSE.code

__all__ = ["ees", "EESResult", "DecisionTable", "Comparison", "CurveRecord", "CurveEnclosure", "curve_enclosure", "exact_curve"]


@dataclass(frozen=True)
class Comparison:
    """One decisive comparison ``f(k) < 0`` ("token k is the crossing").

    ``decision`` decides ``f(k) < 0``; ``f_lo <= f(k) <= f_hi`` are certified bounds; ``method``
    says what decided it (``structure``, ``float64`` or ``mpmath-<bits>``).

    Parameters
    ----------
    k : int
        The index compared, ``2 <= k <= n``.
    decision : Decision
        The decision of ``f(k) < 0``: true, false or undecided.
    f_lo, f_hi : float
        Certified float64 bounds on ``f(k)``.
    method : str
        ``"structure"``, ``"float64"`` or ``"mpmath-<bits>"``.
    """

    k: int
    decision: Decision
    f_lo: float
    f_hi: float
    method: str

    @property
    def crossing(self) -> bool | None:
        """The decision as ``True``/``False`` when certified and ``None`` when undecided."""
        return self.decision.known()

    @property
    def margin(self) -> float:
        """A certified lower bound on ``|f(k)|`` (0 when the interval contains 0)."""
        if self.f_hi < 0:
            return -self.f_hi
        if self.f_lo > 0:
            return self.f_lo
        return 0.0


@dataclass(frozen=True)
class CurveRecord:
    """``(k, Hbar_k, P_k, f(k))`` as multiprecision numbers.

    Parameters
    ----------
    k : int
        The size of the top set, ``k >= 2``.
    hbar : mpmath.mpf
        ``Hbar_k = H_k / ln k``, in ``[0, 1]``.
    P : mpmath.mpf
        ``P_k``, the mass of the top ``k`` tokens, in ``(0, 1]``.
    f : mpmath.mpf
        The gap ``Hbar_k - P_k``.
    """

    k: int
    hbar: mpmath.mpf
    P: mpmath.mpf
    f: mpmath.mpf


@dataclass(frozen=True)
class CurveEnclosure:
    """Certified float64 enclosures of ``Hbar_k``, ``P_k`` and ``f(k)``; index ``k - 1``.

    Entries at ``k = 1`` (where ``Hbar`` is undefined) are NaN.

    Parameters
    ----------
    hbar_lo, hbar_hi : numpy.ndarray
        Bounds on ``Hbar_k``, float64, length ``n``.
    P_lo, P_hi : numpy.ndarray
        Bounds on ``P_k``; ``P_n = 1`` exactly.
    f_lo, f_hi : numpy.ndarray
        Bounds on ``f(k) = Hbar_k - P_k``.
    """

    hbar_lo: np.ndarray
    hbar_hi: np.ndarray
    P_lo: np.ndarray
    P_hi: np.ndarray
    f_lo: np.ndarray
    f_hi: np.ndarray

    @property
    def f_mid(self) -> np.ndarray:
        """Midpoints of the ``f`` enclosures (an estimate, not a certificate)."""
        return 0.5 * (self.f_lo + self.f_hi)


@functools.lru_cache(maxsize=8)
def _log_k_enclosure(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Enclosures of ``ln k`` for ``k = 1..n`` (read-only; shared by every row of length ``n``)."""
    k = np.arange(1, n + 1, dtype=np.float64)
    lo, hi = log_enclosure(k, k)
    lo.flags.writeable = hi.flags.writeable = False
    return lo, hi


def curve_enclosure(row: ExactRow, temperature: float) -> CurveEnclosure:
    """Float64 interval enclosures of the whole curve, vectorised (tier 1 of :mod:`.certify`).

    Parameters
    ----------
    row : ExactRow
        A validated row (:func:`~ees_theory.reference.rows.as_row` or
        :func:`~ees_theory.reference.rows.from_probs`).
    temperature : float
        The temperature ``> 0`` (not checked here: :func:`ees` checks it).

    Returns
    -------
    CurveEnclosure
        Arrays of length ``n`` (the number of candidates), index ``k - 1``.

    Examples
    --------
    >>> enc = curve_enclosure(as_row([0.0, 0.0]), 1.0)
    >>> float(enc.f_lo[1]) <= 0.0 <= float(enc.f_hi[1])    # uniform row: f(2) = 1 - 1 = 0
    True
    """
    # encloses core.ees.curve_point(S, A, ln k, S_n) with H as ln S + A / S (tightened by H >= 0,
    # Hbar <= 1, P <= 1), its own directed rounding; pinned by tests/test_reference_ees.py
    e_lo, e_hi, a_lo, a_hi = row.float_weights(temperature)
    n = row.n
    s_lo, s_hi = cumsum_enclosure(e_lo, e_hi)
    s_lo = np.maximum(s_lo, 1.0)  # e_1 = 1 exactly
    with np.errstate(over="ignore", invalid="ignore"):
        t_lo = down(e_lo * a_lo)
        t_hi = up(e_hi * a_hi)
    # For a > 700, e a = a exp(-a) < 1e-300 whatever rounding did to either factor.
    far = a_lo > 700.0
    t_lo = np.where(far, 0.0, np.maximum(t_lo, 0.0))
    t_hi = np.where(far, 1e-300, t_hi)
    A_lo, A_hi = cumsum_enclosure(t_lo, t_hi)
    ls_lo, ls_hi = log_enclosure(s_lo, s_hi)
    H_lo = np.maximum(down(np.maximum(ls_lo, 0.0) + down(A_lo / s_hi)), 0.0)
    H_hi = up(ls_hi + up(A_hi / s_lo))
    lk_lo, lk_hi = _log_k_enclosure(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        hbar_lo = np.maximum(down(H_lo / lk_hi), 0.0)
        hbar_hi = np.minimum(up(H_hi / lk_lo), 1.0)
    hbar_lo[0] = hbar_hi[0] = np.nan
    P_lo = np.minimum(down(s_lo / s_hi[-1]), 1.0)
    P_hi = np.minimum(up(s_hi / s_lo[-1]), 1.0)
    P_lo[-1] = P_hi[-1] = 1.0
    f_lo = down(hbar_lo - P_hi)
    f_hi = up(hbar_hi - P_lo)
    return CurveEnclosure(hbar_lo, hbar_hi, P_lo, P_hi, f_lo, f_hi)


class _IntervalCurve:
    """``mpmath.iv`` evaluation of ``f(k)`` for selected ``k`` at a given precision.

    Tokens far down the tail (each ``e_i < 2**-(prec+40) / n``) enter ``S_n`` only through the
    rigorous bound ``[0, count * e_head]``, so the cost is the size of the head, not of the row.
    """

    def __init__(self, row: ExactRow, temperature: float, float_a_lo: np.ndarray):
        self.row = row
        self.tau = temperature
        self.a_lo = float_a_lo
        self._cache: dict[int, tuple[int, list, list, Any]] = {}

    def _prefix(self, prec: int, need: int):
        cached = self._cache.get(prec)
        if cached is not None and cached[0] >= need:
            return cached
        n = self.row.n
        cutoff = (prec + 40) * math.log(2) + math.log(n)
        head = int(np.searchsorted(self.a_lo, cutoff, side="left"))  # a_lo is non-decreasing
        head = min(n, max(head, need, 1))
        with iv_precision(prec):
            es, as_ = self.row.iv_weights(self.tau, head)
            S, A = [], []
            s = iv.mpf(0)
            a = iv.mpf(0)
            for e, x in zip(es, as_):
                s = s + e
                a = a + e * x
                S.append(s)
                A.append(a)
            total = S[-1]
            if head < n:
                # every tail weight is at most e_head = exp(-a_head) <= exp(-a_lo[head])
                bound = iv_exp(-iv.mpf(float(self.a_lo[head])))
                total = total + iv.mpf([0, 1]) * (n - head) * bound
        entry = (head, S, A, total)
        self._cache[prec] = entry
        return entry

    def f(self, k: int, prec: int) -> tuple[mpmath.mpf, mpmath.mpf]:
        _, S, A, total = self._prefix(prec, k)
        with iv_precision(prec):
            hbar, P, f = curve_point(S[k - 1], A[k - 1], iv.log(iv.mpf(k)), total, IV)
            if k == self.row.n:
                f = gap(hbar, iv.mpf(1))  # P_n = 1 exactly
            return iv_bounds(f)


@dataclass(frozen=True)
class DecisionTable:
    """The decisive comparisons of one EES decision, stored as arrays.

    ``k`` the indices compared, ``f_lo``/``f_hi`` certified bounds on ``f(k)``, ``outcome`` the
    decisions of ``f(k) < 0`` as :attr:`~ees_theory.core.certify.Decision.code`; ``methods``
    maps the indices not decided by the float64 tier to what decided them.

    Parameters
    ----------
    k : numpy.ndarray
        The indices compared (ints, increasing).
    f_lo, f_hi : numpy.ndarray
        Certified float64 bounds on ``f(k)``.
    outcome : numpy.ndarray
        Decision codes: 1 true, 0 false, -1 undecided.
    methods : dict
        ``{k: "structure" | "mpmath-<bits>"}`` for the indices the float64 tier did not decide.
    """

    k: np.ndarray
    f_lo: np.ndarray
    f_hi: np.ndarray
    outcome: np.ndarray
    methods: dict

    def __len__(self) -> int:
        return len(self.k)

    def margins(self) -> np.ndarray:
        """Certified lower bounds on ``|f(k)|`` (0 where the enclosure contains 0)."""
        return np.where(self.f_hi < 0, -self.f_hi, np.where(self.f_lo > 0, self.f_lo, 0.0))

    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(
            Comparison(int(k), Decision.from_code(o), float(lo), float(hi), self.methods.get(int(k), "float64"))
            for k, lo, hi, o in zip(self.k, self.f_lo, self.f_hi, self.outcome)
        )


@dataclass(frozen=True)
class EESResult:
    """The certified EES decision for one row.

    ``k`` tokens are kept: ``kept`` lists their ids in sorted order. ``certified`` is True when
    every comparison that decided ``k`` was certified; otherwise ``undecided`` lists the
    comparisons that were not, and ``k`` is what the midpoints of their enclosures suggest.
    ``decisions`` are the decisive comparisons, ``margin`` the smallest certified ``|f|`` among
    them, ``enclosure`` the float64 enclosure of the whole curve, ``curve`` the per-k records.

    Parameters
    ----------
    k : int
        The number of tokens kept, ``1 <= k <= n``.
    kept : tuple of int
        Their token ids, most likely first.
    certified : bool
        Whether every decisive comparison was certified.
    rule : str
        The rule applied: ``"first-exclusive"``, ``"first-inclusive"`` or ``"last"``.
    temperature : float
        The temperature applied before EES.
    min_tokens_to_keep : int
        The floor on ``k`` that was applied.
    n : int
        The number of candidates (finite logits or positive probabilities).
    table : DecisionTable
        The decisive comparisons as arrays.
    enclosure : CurveEnclosure or None
        The float64 enclosure of the curve; ``None`` when no comparison was needed (``n <= m``).
    row : ExactRow
        The validated row.
    """

    k: int
    kept: tuple[int, ...]
    certified: bool
    rule: str
    temperature: float
    min_tokens_to_keep: int
    n: int
    table: DecisionTable = field(repr=False)
    enclosure: CurveEnclosure | None = field(repr=False)
    row: ExactRow = field(repr=False)

    @cached_property
    def decisions(self) -> tuple[Comparison, ...]:
        """The decisive comparisons, in increasing ``k``."""
        return self.table.comparisons()

    @property
    def undecided(self) -> tuple[Comparison, ...]:
        """Decisive comparisons the reference could not certify within its precision limit."""
        return tuple(c for c in self.decisions if c.decision is Decision.UNDECIDED)

    @property
    def margin(self) -> float:
        """Smallest certified ``|f(k)|`` over the decisive comparisons (``inf`` if there are none)."""
        return float(self.table.margins().min()) if len(self.table) else math.inf

    @cached_property
    def curve(self) -> tuple[CurveRecord, ...]:
        """Per-k records for ``k >= 2`` at 30 significant digits (computed on first access)."""
        return exact_curve(self.row, self.temperature)


def exact_curve(logits: Any, temperature: float = 1.0, dps: int = 30) -> tuple[CurveRecord, ...]:
    """``(k, Hbar_k, P_k, f(k))`` for ``k = 2..n`` with ``mpmath`` at ``dps`` digits.

    Computed with 10 guard digits in plain ``mpmath`` (not interval arithmetic): accurate, but not
    a certificate; :func:`ees` certifies its decisions separately.

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite.
    temperature : float
        Finite and ``> 0`` (default 1).
    dps : int
        Decimal digits, 1 to 10000 (default 30).

    Returns
    -------
    tuple of CurveRecord
        One record per ``k = 2..n`` (empty for a single candidate).

    Raises
    ------
    ValueError
        A bad row, or ``temperature`` / ``dps`` out of range.
    TypeError
        A row that is not numeric, or ``temperature`` / ``dps`` of the wrong type.

    Examples
    --------
    >>> rec = exact_curve([0.0, 0.0, -1.0])[0]
    >>> rec.k, float(rec.hbar), float(rec.P)    # P_2 = 2 / (2 + e**-1)
    (2, 1.0, 0.8446...)
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    dps = spec.check_dps(dps)
    with mpmath.workdps(dps + 10):
        e = row.mp_weights(tau)
        total = mpmath.fsum(e)
        out = []
        s = mpmath.mpf(0)
        a = mpmath.mpf(0)
        for k, w in enumerate(e, start=1):
            s += w
            a -= w * mpmath.log(w) if w != 0 else 0
            if k >= 2:
                hbar, P, f = curve_point(s, a, mpmath.log(k), total, MP)
                out.append(CurveRecord(k, +hbar, +P, f))
    with mpmath.workdps(dps):
        return tuple(CurveRecord(r.k, +r.hbar, +r.P, +r.f) for r in out)


def ees(
    logits: Any,
    temperature: float = 1.0,
    min_tokens_to_keep: int = 1,
    rule: str = spec.DEFAULT_RULE,
    *,
    max_prec: int = DEFAULT_MAX_PREC,
) -> EESResult:
    """Certified EES kept set for one row of logits (or an :func:`~.rows.from_probs` row).

    Temperature is applied before EES: ``p = softmax(logits / temperature)``.

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits (or a bfloat16 tensor), ``-inf`` masking a token, at
        least one finite; read exactly. Probabilities enter through :func:`~.rows.from_probs`.
    temperature : float
        Finite and ``> 0`` (default 1).
    min_tokens_to_keep : int
        ``m >= 1`` (default 1): at least ``min(m, n)`` tokens are kept, and the crossing is
        searched from ``i = max(2, m + 1)`` on (the first rules).
    rule : str
        ``"first-exclusive"`` (default, ``k* = i* - 1``), ``"first-inclusive"`` (``k* = i*``)
        or ``"last"`` (the largest ``k`` with ``f(k) >= 0``).
    max_prec : int
        The highest ``mpmath`` precision, in bits (``>= 64``, default 4096), tried before a
        comparison is reported undecided.

    Returns
    -------
    EESResult
        ``k``, the kept ids, whether the decision is certified, and its comparisons.

    Raises
    ------
    ValueError
        A bad row (empty, ``+inf`` or NaN, no finite logit, not 1-D), or ``temperature``,
        ``min_tokens_to_keep``, ``rule`` or ``max_prec`` out of range.
    TypeError
        A row that is not numeric, or a parameter of the wrong type.

    Examples
    --------
    >>> r = ees([3.0, 1.0, 0.5, -2.0], temperature=1.0)
    >>> r.k, r.kept, r.certified
    (1, (0,), True)
    >>> ees([3.0, 1.0, 0.5, -2.0], rule="first-inclusive").k
    2
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    m = spec.check_min_tokens_to_keep(min_tokens_to_keep)
    rule = spec.check_rule(rule)
    precisions(max_prec)  # checked here, not only when a comparison needs the ladder
    n = row.n
    empty = DecisionTable(np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0, int), {})
    if n <= m or n == 1:
        return EESResult(n, tuple(row.ids.tolist()), True, rule, tau, m, n, empty, None, row)
    enc = curve_enclosure(row, tau)

    # outcome[i - 2] for i = 2..n: the decision of f(i) < 0 as a Decision code (float64 tier + structure)
    lo = enc.f_lo[1:].copy()
    hi = enc.f_hi[1:].copy()
    outcome = decide_negative_codes(lo, hi)
    methods: dict[int, str] = {}
    t = row.top_ties
    if t >= 2:  # tied top block: Hbar_i = 1 >= P_i for i <= t
        outcome[: t - 1] = _NO
        lo[: t - 1] = np.maximum(lo[: t - 1], 0.0)
        hi[: t - 1] = np.maximum(hi[: t - 1], 0.0)
        methods.update({i: "structure" for i in range(2, t + 1)})
    if not row.all_tied:  # Hbar_n < 1 = P_n exactly when the row is not uniform
        outcome[-1] = _YES
        lo[-1], hi[-1] = min(lo[-1], 0.0), min(hi[-1], 0.0)
        methods[n] = "structure"
    ivc: list[_IntervalCurve] = []  # built on first escalation only

    def escalate(i: int) -> bool:
        """Refine comparison i with mpmath.iv; return whether it is a crossing (midpoint if undecided)."""
        j = i - 2
        if not ivc:
            ivc.append(_IntervalCurve(row, tau, row.float_weights(tau)[2]))
        for prec, mlo, mhi in ladder(lambda prec: ivc[0].f(i, prec), max_prec):
            lo[j] = max(lo[j], float_down(mlo))
            hi[j] = min(hi[j], float_up(mhi))
            methods[i] = f"mpmath-{prec}"
            d = decide_negative(mlo, mhi)
            if d is not Decision.UNDECIDED:
                outcome[j] = d.code
                return bool(d)
        with mpmath.workprec(prec):
            return bool((mlo + mhi) < 0)

    if rule in ("first-exclusive", "first-inclusive"):
        start = first_candidate(m)
        i_star = None
        pos = start
        while pos <= n:
            pending = np.flatnonzero(outcome[pos - 2 :] != _NO)
            if not len(pending):
                break
            i = int(pending[0]) + pos
            if outcome[i - 2] == _YES or escalate(i):
                i_star = i
                break
            pos = i + 1
        end = i_star if i_star is not None else n
        sel = slice(start - 2, end - 1)
        k = count_first(i_star, rule, n)
    else:  # "last": k* = max{k >= 2 : f(k) >= 0}, or 1; then at least m
        k = 1
        pos = n
        while pos >= 2:
            pending = np.flatnonzero(outcome[: pos - 1] != _YES)
            if not len(pending):
                break
            i = int(pending[-1]) + 2
            if outcome[i - 2] == _NO or not escalate(i):
                k = i
                break
            pos = i - 1
        sel = slice(max(k, 2) - 2, n - 1)
        k = count_last(k, n, m)
    ks = np.arange(2, n + 1)[sel]
    table = DecisionTable(ks, lo[sel], hi[sel], outcome[sel], {i: v for i, v in methods.items() if ks[0] <= i <= ks[-1]} if len(ks) else {})
    certified = bool(np.all(table.outcome != Decision.UNDECIDED.code))
    return EESResult(k, tuple(row.ids[:k].tolist()), certified, rule, tau, m, n, table, enc, row)

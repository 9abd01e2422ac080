"""Certified signs for the boundary comparisons of the truncation samplers.

Every comparison a truncation sampler makes is the sign of a *gap* ``g`` (kept iff ``g >= 0``, or
``g > 0`` for a strict rule). :class:`ExactContext` decides such signs for one row at one
temperature in three ways, in this order:

1. ``mpmath.iv`` interval arithmetic at 128 bits: decided when the enclosure excludes 0;
2. an exact test when the enclosure contains 0 and the gap is a *form*, a rational combination of
   products of the weights ``e_i = p_(i)/p_(1)``:

   * probabilities given directly at ``tau = 1`` (or ``1/tau`` a positive integer): every ``e_i`` is
     rational, so the form is evaluated exactly with :class:`fractions.Fraction`;
   * logits: ``e_i = exp(x_i)`` with ``x_i = (z_i - z_1)/tau`` rational, so a form is
     ``sum_j c_j exp(beta_j)`` with rational ``c_j`` and distinct rational ``beta_j``. By the
     Lindemann-Weierstrass theorem such a sum is 0 **exactly when every** ``c_j`` **is 0**; that is
     decidable by grouping the terms by exponent. A zero is then certified ("exact-lw"), and a
     non-zero gap is refined by intervals;

3. ``mpmath.iv`` at rising precision (:func:`~ees_theory.core.certify.precisions`); still undecided at
   ``max_prec`` bits means *undecided*, reported, never guessed.

>>> from fractions import Fraction
>>> from .rows import as_row
>>> ctx = ExactContext(as_row([0.0, 0.0, -1.0]), 1.0)
>>> c = ctx.decide("p0 - p1", 0, lambda prec: ctx.p(0, prec) - ctx.p(1, prec), lambda: [(Fraction(1), (0,)), (Fraction(-1), (1,))])
>>> c.zero, c.method
(<Decision.TRUE: 'true'>, 'exact-lw')
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

import mpmath
import numpy as np
from mpmath import iv

from ..core.certify import DEFAULT_MAX_PREC, Decision, float_bounds, fraction_bounds, iv_precision, ladder
from .rows import ExactRow

__all__ = ["Check", "ExactContext", "Monomials"]

#: A form: ``[(coefficient, (i, j, ...)), ...]`` meaning ``sum coefficient * e_i * e_j * ...``.
Monomials = list


@dataclass(frozen=True)
class Check:
    """One certified comparison of a gap ``g`` with 0, with certified bounds ``lo <= g <= hi``.

    ``negative`` decides ``g < 0`` and ``positive`` decides ``g > 0`` (both FALSE: ``g = 0``
    exactly; both UNDECIDED: not certified within the precision limit). ``what`` names the gap
    (e.g. ``"p_(i) - epsilon"``), ``index`` the sorted position (0-based) or count it concerns;
    ``method`` is what decided it: ``structure``, ``exact-rational``, ``exact-lw`` or
    ``mpmath-<bits>``.

    Parameters
    ----------
    what : str
        The gap compared with 0, in words (``"p_(i) - epsilon"``).
    index : int
        The 0-based sorted position, or the count, it concerns.
    negative, positive : Decision
        The decisions of ``g < 0`` and of ``g > 0``.
    lo, hi : float
        Certified float64 bounds on ``g``.
    method : str
        ``"structure"``, ``"exact-rational"``, ``"exact-lw"`` or ``"mpmath-<bits>"``.

    Examples
    --------
    >>> c = Check.of_sign("g", 0, 1, 0.25, 0.5, "mpmath-128")
    >>> c.positive, c.margin
    (<Decision.TRUE: 'true'>, 0.25)
    """

    what: str
    index: int
    negative: Decision
    positive: Decision
    lo: float
    hi: float
    method: str

    @classmethod
    def of_sign(cls, what: str, index: int, sign: Optional[int], lo: float, hi: float, method: str) -> "Check":
        """A check from an exactly known sign (-1, 0, +1), or ``None`` when it is not known.

        Parameters
        ----------
        what : str
            The gap compared with 0, in words.
        index : int
            The 0-based sorted position, or the count, it concerns.
        sign : int or None
            The sign of the gap, -1, 0 or +1; ``None``: not certified (both decisions undecided).
        lo, hi : float
            Certified float64 bounds on the gap, ``lo <= hi``.
        method : str
            What decided it (``"exact-rational"``, ``"mpmath-<bits>"``, ...).

        Returns
        -------
        Check
            The check, its two decisions read from ``sign``.
        """
        if sign is None:
            return cls(what, index, Decision.UNDECIDED, Decision.UNDECIDED, lo, hi, method)
        return cls(what, index, Decision.of(sign < 0), Decision.of(sign > 0), lo, hi, method)

    @property
    def certified(self) -> bool:
        """Whether the sign of ``g`` is certified."""
        return self.negative is not Decision.UNDECIDED and self.positive is not Decision.UNDECIDED

    @property
    def sign(self) -> Optional[int]:
        """The sign of ``g`` as -1, 0 or +1, ``None`` when undecided: a view of the two decisions.

        >>> Check.of_sign("g", 0, -1, -2.0, -1.0, "float64").sign
        -1
        """
        if not self.certified:
            return None
        return -1 if self.negative is Decision.TRUE else (1 if self.positive is Decision.TRUE else 0)

    @property
    def zero(self) -> Decision:
        """Whether ``g = 0`` exactly.

        >>> Check.of_sign("g", 0, 0, 0.0, 0.0, "exact-lw").zero
        <Decision.TRUE: 'true'>
        """
        if not self.certified:
            return Decision.UNDECIDED
        return Decision.of(self.negative is Decision.FALSE and self.positive is Decision.FALSE)

    @property
    def margin(self) -> float:
        """A certified lower bound on ``|g|`` (0 when the enclosure contains 0)."""
        if self.lo > 0:
            return self.lo
        if self.hi < 0:
            return -self.hi
        return 0.0

    def passes(self, strict: bool) -> Decision:
        """Whether ``g > 0`` (``strict``) or ``g >= 0`` holds.

        Parameters
        ----------
        strict : bool
            The policy's comparison (``Policy.strict``): ``True`` asks ``g > 0``, ``False`` asks ``g >= 0``.

        Returns
        -------
        Decision
            TRUE, FALSE or UNDECIDED (not certified).

        Examples
        --------
        >>> Check.of_sign("g", 0, 0, 0.0, 0.0, "exact-lw").passes(strict=True)
        <Decision.FALSE: 'false'>
        """
        return self.positive if strict else ~self.negative

    def estimate(self, strict: bool) -> bool:
        """The midpoint's answer, used only where :meth:`passes` is undecided (reported so).

        Parameters
        ----------
        strict : bool
            ``True`` asks ``g > 0``, ``False`` asks ``g >= 0``.

        Returns
        -------
        bool
            The comparison evaluated at the midpoint of ``[lo, hi]``: an estimate, not certified.
        """
        mid = 0.5 * (self.lo + self.hi)
        return mid > 0 if strict else mid >= 0

    def outcome(self, strict: bool) -> bool:
        """:meth:`passes` where certified, else the midpoint's :meth:`estimate` (reported undecided).

        Parameters
        ----------
        strict : bool
            ``True`` asks ``g > 0``, ``False`` asks ``g >= 0``.

        Returns
        -------
        bool
            Whether the comparison holds.

        Examples
        --------
        >>> Check.of_sign("g", 0, None, -1e-30, 3e-30, "mpmath").outcome(strict=True)
        True
        """
        ok = self.passes(strict)
        return self.estimate(strict) if ok is Decision.UNDECIDED else bool(ok)

    def negated(self, what: str) -> "Check":
        """The check of ``-g``, named ``what``: the decisions swapped, the bounds negated.

        Parameters
        ----------
        what : str
            The name of the negated gap, in words (``"mass - C_r"``).

        Returns
        -------
        Check
            The same ``index`` and ``method``; ``-hi <= -g <= -lo``.
        """
        return Check(what, self.index, self.positive, self.negative, -self.hi, -self.lo, self.method)


class ExactContext:
    """Interval weights of one row at one temperature, cached per precision.

    ``e(i, prec)`` is ``p_(i)/p_(1)``, ``a(i, prec) = -ln e(i)``, ``S(prec) = sum e``,
    ``p(i, prec) = e_i / S`` (positions 0-based, canonical order); ``est_p`` the float64 estimate.

    >>> from .rows import from_probs
    >>> ctx = ExactContext(from_probs([0.25, 0.75]), 1.0)
    >>> ctx.rational_weights
    (Fraction(1, 1), Fraction(1, 3))
    """

    def __init__(self, row: ExactRow, temperature: float, max_prec: int = DEFAULT_MAX_PREC):
        self.row = row
        self.tau = float(temperature)
        self.max_prec = int(max_prec)
        self.n = row.n
        self._cache: dict[int, tuple[list, list]] = {}
        self._sums: dict[tuple[str, int], object] = {}
        v = row.values
        if row.kind == "logits":
            with np.errstate(under="ignore"):
                e = np.exp((v - v[0]) / self.tau)
        else:
            with np.errstate(under="ignore"):
                e = (v / v[0]) ** (1.0 / self.tau)
        e[v == v[0]] = 1.0
        self.est_e = e
        self.est_p = e / e.sum()
        with np.errstate(divide="ignore"):
            self.est_a = -np.log(e)

    # ---- exact structure ------------------------------------------------------------------------
    @property
    def exponents(self) -> Optional[tuple[Fraction, ...]]:
        """Rational ``x_i = (z_i - z_1)/tau`` for logits rows (``e_i = exp(x_i)``), else None."""
        if self.row.kind != "logits":
            return None
        if not hasattr(self, "_exponents"):
            top = Fraction(float(self.row.values[0]))
            t = Fraction(self.tau)
            self._exponents = tuple((Fraction(float(v)) - top) / t for v in self.row.values)
        return self._exponents

    @property
    def rational_weights(self) -> Optional[tuple[Fraction, ...]]:
        """Exact rational ``e_i`` for probability rows when ``1/tau`` is a positive integer."""
        if self.row.kind != "probs":
            return None
        if not hasattr(self, "_rational"):
            inv = Fraction(1) / Fraction(self.tau)
            if inv.denominator != 1:
                self._rational = None
            else:
                top = Fraction(float(self.row.values[0]))
                self._rational = tuple((Fraction(float(v)) / top) ** int(inv) for v in self.row.values)
        return self._rational

    def exact_sign(self, form: Monomials) -> tuple[Optional[int], str]:
        """The exact sign of a form, or ``(None, reason)`` when only non-zero-ness is known."""
        rat = self.rational_weights
        if rat is not None:
            total = Fraction(0)
            for c, idx in form:
                term = Fraction(c)
                for i in idx:
                    term *= rat[i]
                total += term
            return (total > 0) - (total < 0), "exact-rational"
        xs = self.exponents
        if xs is None:
            return None, "no exact form"
        grouped: dict[Fraction, Fraction] = {}
        for c, idx in form:
            beta = sum((xs[i] for i in idx), Fraction(0))
            grouped[beta] = grouped.get(beta, Fraction(0)) + Fraction(c)
        if all(c == 0 for c in grouped.values()):
            return 0, "exact-lw"
        return None, "nonzero"

    # ---- intervals ------------------------------------------------------------------------------
    def _weights(self, prec: int) -> tuple[list, list]:
        if prec not in self._cache:
            with iv_precision(prec):
                self._cache[prec] = self.row.iv_weights(self.tau)
        return self._cache[prec]

    def e(self, i: int, prec: int):
        return self._weights(prec)[0][i]

    def a(self, i: int, prec: int):
        return self._weights(prec)[1][i]

    def total(self, name: str, prec: int, term: Callable[[int], object]):
        """``sum_i term(i)`` over the ``n`` positions, in intervals, cached under ``(name, prec)``."""
        key = (name, prec)
        if key not in self._sums:
            total = iv.mpf(0)
            for i in range(self.n):
                total += term(i)
            self._sums[key] = total
        return self._sums[key]

    def S(self, prec: int):
        """``sum_i e_i``."""
        return self.total("S", prec, lambda i: self.e(i, prec))

    def S2(self, prec: int):
        """``sum_i e_i**2``."""
        return self.total("S2", prec, lambda i: self.e(i, prec) ** 2)

    def A(self, prec: int):
        """``sum_i e_i a_i``; the entropy is ``ln S + A/S``."""
        return self.total("A", prec, lambda i: self.e(i, prec) * self.a(i, prec))

    def prefix(self, k: int, prec: int):
        """``sum_{i<k} e_i``."""
        total = iv.mpf(0)
        for i in range(k):
            total += self.e(i, prec)
        return total

    def p(self, i: int, prec: int):
        return self.e(i, prec) / self.S(prec)

    # ---- what a sampler's certifier reads (``certify`` of its module in core.truncation) --------
    #: the interval arithmetic the gaps are written in (``mpmath.iv``)
    iv = iv

    @staticmethod
    def known(what: str, index: int, sign: Optional[int], lo: float, hi: float, method: str) -> Check:
        """A check whose sign is known without a gap to certify (:meth:`Check.of_sign`)."""
        return Check.of_sign(what, index, sign, lo, hi, method)

    def prefix_cut(self, est: np.ndarray, strict: bool, decide: Callable[[int], Check], n: Optional[int] = None) -> tuple[int, list[Check]]:
        """Length of the kept prefix of the first ``n`` positions (default all) for a gap that is
        non-increasing along the sorted order, and the checks that decide it.

        ``est`` are float estimates of the gaps; ``decide(i)`` certifies the gap of position ``i``.
        Monotonicity makes two certified comparisons enough: position ``k-1`` passes, ``k`` fails.

        >>> from .rows import from_probs
        >>> ctx = ExactContext(from_probs([0.5, 0.3, 0.2]), 1.0)
        >>> k, checks = ctx.prefix_cut(ctx.est_p - 0.3, False, lambda i: ctx.decide("p_i - 0.3", i, lambda prec: ctx.p(i, prec) - ctx.iv.mpf(0.3)))
        >>> k, [c.index for c in checks]
        (2, [1, 2])
        """
        n = self.n if n is None else n
        k = int(np.count_nonzero(est > 0 if strict else est >= 0))
        # the estimate of a monotone gap is monotone up to rounding; start from its count
        checks: dict[int, Check] = {}
        while True:
            if k < n:
                c = checks.setdefault(k, decide(k))
                ok = c.outcome(strict)
                if ok:
                    k += 1
                    continue
            if k > 0:
                c = checks.setdefault(k - 1, decide(k - 1))
                ok = c.outcome(strict)
                if not ok:
                    k -= 1
                    continue
            break
        keep = [checks[i] for i in (k - 1, k) if i in checks]
        return k, keep

    def floor(self, k: int, m: int, ties: bool) -> int:
        """``k``, raised to at least ``m`` tokens (and at least one); ``ties`` also keeps every token
        tied with the m-th.

        >>> from .rows import from_probs
        >>> ExactContext(from_probs([0.4, 0.3, 0.3]), 1.0).floor(0, 2, ties=True)
        3
        """
        n = self.row.n
        m = min(max(m, 1), n)
        if ties:
            v = self.row.values
            m = int(np.count_nonzero(v >= v[m - 1]))
        return max(k, m)

    # ---- the decision procedure -----------------------------------------------------------------
    def decide(
        self,
        what: str,
        index: int,
        gap: Callable[[int], object],
        form: Optional[Callable[[], Monomials]] = None,
    ) -> Check:
        """Certify the sign of ``gap(prec)`` (an ``iv`` interval), escalating as the module says.

        ``form()``, when given, returns the gap times a positive factor as a form.
        """
        lo = hi = 0.0
        method = "undecided"
        for step, (prec, glo, ghi) in enumerate(ladder(gap, self.max_prec)):
            lo, hi = float_bounds(glo, ghi)
            method = f"mpmath-{prec}"
            if glo > 0:
                return Check.of_sign(what, index, 1, lo, hi, method)
            if ghi < 0:
                return Check.of_sign(what, index, -1, lo, hi, method)
            if step == 0 and form is not None:
                sign, how = self.exact_sign(form())
                if sign is not None:
                    return Check.of_sign(what, index, sign, 0.0 if sign == 0 else lo, 0.0 if sign == 0 else hi, how)
        return Check.of_sign(what, index, None, lo, hi, "undecided")

    def decide_fraction(self, what: str, index: int, value: Fraction) -> Check:
        """A gap known exactly as a rational number."""
        lo, hi = fraction_bounds(value)
        return Check.of_sign(what, index, (value > 0) - (value < 0), lo, hi, "exact-rational")

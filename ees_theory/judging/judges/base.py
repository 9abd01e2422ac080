"""What every truncation judge shares: the row statistics, the reference call, the admissible
counts from a parameter band, the membership check and the diagnosis frame.

A judge is one sampler's entry in :data:`ees_theory.judging.judges.JUDGES`, assembled from the
declaration in the sampler's module (its ``Judge``, which states only what differs for its sampler:
the band edges of its parameter, its misreadings, ...) on top of :class:`SamplerJudge` or
:class:`MassJudge`. A declaration reaches the reference only through the methods here
(:meth:`SamplerJudge.truncate`, :meth:`SamplerJudge.truncate_as`, :meth:`SamplerJudge.softmax`,
:meth:`SamplerJudge.entropy`) and gives a verdict only through :meth:`SamplerJudge.fail` and
:meth:`SamplerJudge.failed`: a sampler's module lies below the reference and the judging layer.

>>> st = RowStats(np.array([1.0, 1.0, 0.0, -np.inf]), 1.0)
>>> st.n, st.uniform, st.blocks().tolist()
(3, False, [0, 2, 3])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import reference, spec, tolerances
from ...core.certify import Decision
from ...reference import truncation as rt
from ...spec.formats import round_to_dtype
from ...core.records import INT_PARAMS, port_params
from ...core.truncation.faults import MIN_KEEP_IGNORED, TEMPERATURE_IGNORED
from ..methods import Verdict
from ..outcomes import Status

__all__ = ["RowStats", "SamplerJudge", "MassJudge", "port_params"]


class RowStats:
    """What the bounds and the membership checks need of one row at one temperature."""

    def __init__(self, row: np.ndarray, tau: float):
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        self.size = int(z.size)
        self.order = spec.sorted_order(z)[: int(finite.sum())]  # -inf (masked) sorts last
        self.values = z[self.order]  # canonical order: logit descending, ids ascending on ties
        self.n = int(self.values.size)
        self.tau = float(tau)
        x = self.values / self.tau
        self.R = float(x[0] - x[-1]) if self.n else 0.0
        self.X = float(np.max(np.abs(x))) if self.n else 0.0
        self.uniform = self.n > 0 and bool(np.all(self.values == self.values[0]))

    def blocks(self) -> np.ndarray:
        """Counts at which an exact-tie block ends (0 and n included)."""
        v = self.values
        ends = [0] + [i for i in range(1, self.n) if v[i] != v[i - 1]] + [self.n]
        return np.array(ends)

    def dyadic(self) -> bool:
        """Uniform over 2**j candidates: every probability, sum and square is exact in any dtype."""
        n = self.n
        return self.uniform and n & (n - 1) == 0 and n <= 4096


class SamplerJudge:
    """One sampler's judgement rules. Subclasses set :attr:`name` and override what differs.

    The defaults describe a sampler that keeps a prefix of the canonical order whose length is
    monotone in its parameter: the admissible kept counts are the reference's over the parameter
    band :meth:`band` returns.
    """

    name: str = ""
    #: comparisons rational in the probabilities (exact on a dyadic row)
    rational: bool = False
    #: the kept set is a union of exact-tie blocks (a threshold on a per-token value)
    threshold: bool = False
    #: the row bounds need the exact row entropy
    needs_entropy: bool = False
    #: the port also returns a chosen token and a new state (mirostat)
    stateful: bool = False
    #: ``strict_ties`` asks this sampler's kept set to break exact ties by token id
    tie_order: bool = True
    #: misreadings :meth:`diagnose` can name: fault class -> explanation (a subclass lists its own;
    #: ``min-keep-ignored``, which :meth:`diagnose` checks for every sampler, is added to each)
    misreadings: dict[str, str] = MIN_KEEP_IGNORED
    #: its kept set depends on the temperature (``temperature-ignored`` is one of its misreadings;
    #: top-k and top-n-sigma keep the same set at every temperature)
    reads_temperature: bool = True
    #: graded at the dtype's resolution too (:meth:`resolution_bounds`): inside the rigorous band, an
    #: answer that differs from the exact one only in comparisons closer than two roundings of the
    #: compute dtype is admissible even where no style produces it. The styles enumerate formulas;
    #: careful code writes others (a threshold ``ln p_max + ln r`` rounded before the comparison,
    #: a standard deviation rounded before ``n sigma``), which land on either side of a comparison
    #: that close. A sampler whose kept set depends on ranks alone (top-k) has no such comparison.
    #: Measured with engine-style torch ports in bfloat16: min-p, epsilon, eta, top-n-sigma and
    #: typical answers one or two tokens past every style, all within this resolution
    resolution_grade: bool = True
    #: what ``non-strict`` means for this sampler: (the port kept more, the port kept fewer) than
    #: the policy at a comparison that is exactly 0; ``None``: no such comparison (no diagnosis)
    strictness: tuple[str, str] | None = None

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # an inherited table may carry temperature-ignored from a base that reads the temperature
        own = {fault: text for fault, text in cls.misreadings.items() if fault not in TEMPERATURE_IGNORED}
        cls.misreadings = {**own, **MIN_KEEP_IGNORED, **(TEMPERATURE_IGNORED if cls.reads_temperature else {})}

    # ---- the reference ------------------------------------------------------------------------
    def truncate(self, row: np.ndarray, params: dict[str, float], policy: str, **override: Any) -> rt.TruncationResult:
        """The reference's answer for this sampler, with parameters overridden (band edges)."""
        prm = port_params(params)
        tau = prm.pop("temperature")
        prm.update(override)
        return reference.truncate(self.name, row, tau, policy, **prm)

    @staticmethod
    def truncate_as(name: str, row, tau: float, policy: str = "paper", **params: Any) -> rt.TruncationResult:
        """The reference's answer of another sampler ``name`` (a misreading that is that sampler's rule)."""
        return reference.truncate(name, row, tau, policy, **params)

    @staticmethod
    def softmax(row, tau: float) -> list:
        """The row's probabilities in token-id order, to 30 digits (``mpmath`` numbers)."""
        return reference.softmax(row, tau)

    @staticmethod
    def entropy(row, tau: float):
        """The row's entropy in nats, to 30 digits (an ``mpmath`` number)."""
        return reference.entropy(row, tau)

    # ---- admissible counts --------------------------------------------------------------------
    def band(self, st: RowStats, row, params, ref, b: dict, options) -> list[dict] | None:
        """Parameter settings at the edges of the error band (``None``: no claim; ``[]``: exact).
        Called only where ``b["prob"]`` is finite and the row is not exact (:attr:`rational`)."""
        raise NotImplementedError

    def dyadic_band(self, st: RowStats, params, options) -> list[dict]:
        """Band edges on a dyadic row, where every probability and sum is exact: only a parameter
        the port compares in its own dtype can move (none by default)."""
        return []

    def reach(self, st: RowStats, row, refs: list, b: dict, options, hi: int) -> int:
        """The largest admissible count given the band edges' largest ``hi`` (ties may extend it)."""
        return hi

    def admissible(self, st: RowStats, row, params, ref, b: tolerances.TruncationBounds, options) -> tuple[set[int] | None, list[rt.TruncationResult]]:
        """Admissible kept counts (``None`` = no claim) and the reference results at the band edges."""
        if self.rational and st.dyadic():
            band: list[dict] | None = self.dyadic_band(st, params, options)
        elif not math.isfinite(b["prob"]):
            band = None
        else:
            band = self.band(st, row, params, ref, b, options)
        if band is None:
            return None, []
        refs = [ref]
        for override in band:
            try:
                refs.append(self.truncate(row, params, options.policy, **override))
            except ValueError:  # an edge outside the policy's domain: the other edge stands
                continue
        ks = {r.k for r in refs}
        lo, hi = min(ks), max(ks)
        hi = self.reach(st, row, refs, b, options, hi)
        if self.threshold:
            ends = st.blocks()
            ks |= {int(e) for e in ends if lo < e < hi}
        else:
            ks = set(range(lo, hi + 1))
        return ks, refs

    # ---- the dtype's resolution ----------------------------------------------------------------
    def resolution_bounds(self, st: RowStats, b: dict, ref, options) -> dict:
        """The bounds ``b`` cut down to two roundings of the compute dtype: what two careful
        evaluations of the same quantity differ by at least, whatever their order of operations.

        A probability taken as ``exp`` of a log-probability carries a unit of ``ln p``, ``|ln p|``
        times coarser than a unit of ``p``; ``L = max(1, |ln p|)`` at the reference's least
        probable kept token (where the deciding comparisons lie) scales ``prob`` and ``logp``. A
        mass is a weighted mean of its terms' relative errors, whose ``ln p`` parts differ in sign
        from token to token: two roundings of the mass, ``2u``. An
        entropy errs by two units at ``max(1, ln n)``. This is the tie the styles
        already grant ranking values (two probabilities one rounding apart may come in either
        order), applied to the sampler's own comparisons: the band :meth:`admissible` draws from
        these bounds holds the answers that differ from the exact one only in comparisons closer
        than two roundings (``None``: the row's deciding quantity lies below that resolution, as
        a tail-free curvature smaller than the rounding of the probabilities). Each bound is at
        most ``b``'s, so the band lies inside the rigorous one.

        Parameters
        ----------
        st : RowStats
            The row's statistics at the case's temperature (``st.dtype`` set).
        b : dict
            The rigorous bounds (:meth:`ees_theory.judging.truncation.Truncation.bounds`).
        ref : TruncationResult
            The reference's answer (its kept count places the deciding comparisons).
        options : Options
            The run's options (the accumulation mode picks the compute dtype).

        Returns
        -------
        dict
            The same keys as ``b``, each ``min(b[key], resolution)``.

        Examples
        --------
        >>> from ees_theory.harness import Options
        >>> st = RowStats(np.zeros(4), 1.0); st.dtype = "float32"
        >>> class Ref: k = 2                     # the reference's kept count is all it reads
        >>> b = dict.fromkeys(("logit", "prob", "underflow", "sum", "cum", "logp", "entropy"), 1.0)
        >>> r = SamplerJudge().resolution_bounds(st, b, Ref(), Options())
        >>> round(r["prob"] / 2.0**-24, 3), r["underflow"]     # 2 u ln 4 at p = 1/4
        (2.773, 1.0)
        """
        u = self.unit_roundoff(st, options)
        if st.n <= 1:
            return dict(b)
        x = st.values / st.tau
        k = min(max(int(ref.k), 1), st.n)
        top = x - x[0]
        ln_pk = float(top[k - 1] - np.log(np.sum(np.exp(top))))  # ln p of the least probable kept token
        L = max(1.0, -ln_pk)
        res = {
            "logit": 2.0 * u * max(1.0, st.X),
            "prob": 2.0 * u * L,
            "sum": 2.0 * u,
            "cum": 2.0 * u,
            "logp": 2.0 * u * L,
            "entropy": 2.0 * u * max(1.0, math.log(st.n)),
        }
        return {key: min(val, res.get(key, val)) for key, val in b.items()}

    # ---- which tokens ---------------------------------------------------------------------------
    def member_tolerance(self, st: RowStats, b: dict, dtype: str, options) -> float:
        """How far (in raw logits) a kept token's logit may lie below a dropped one's: near-ties
        within it may swap (0 where the comparisons are exact)."""
        return 0.0 if (self.rational and st.dyadic()) else (b["logit"] * st.tau if math.isfinite(b["logit"]) else math.inf)

    def members(self, st: RowStats, row, ref, b: dict, kept: set, dtype: str, options) -> str | None:
        """None when ``kept`` is the ``|kept|`` most probable tokens up to ties and near-ties."""
        k = len(kept)
        if k > st.n:
            return None  # masked tokens already refused
        tol = self.member_tolerance(st, b, dtype, options)
        vk = st.values[k - 1]
        must = {int(st.order[j]) for j in range(st.n) if st.values[j] > vk + tol}
        may = {int(st.order[j]) for j in range(st.n) if st.values[j] >= vk - tol}
        if must <= kept <= may:
            return None
        return f"kept set is not the {k} most probable tokens: expected the top-{k} prefix {[int(i) for i in st.order[:k]][:8]}"

    def may_keep(self, st: RowStats, row, ref, b: dict, kmax: int, dtype: str, options) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sampler's order of the tokens, their logits in that order, and which positions a
        careful port may keep when it keeps at most ``kmax`` tokens (the draws judge's support)."""
        order = st.order.astype(np.int64)
        tol = self.member_tolerance(st, b, dtype, options)
        return order, st.values, st.values >= st.values[kmax - 1] - tol

    # ---- failures -------------------------------------------------------------------------------
    def misread(self, st: RowStats, row, params, ref, kept: set, options) -> list[str]:
        """This sampler's known misreadings that reproduce the port's kept set exactly."""
        return []

    def masked_as_zero(self, row, params, kept: set, options) -> bool:
        """The port's kept set is the policy's on the row with its masked entries read as logits
        of 0 (its statistics taken after ``masked_fill(-inf -> 0)``), masked tokens still dropped."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if finite.all() or not finite.any():
            return False
        alt = self.truncate(np.where(finite, z, 0.0), params, options.policy)
        return kept == {int(i) for i in alt.kept if finite[int(i)]}

    def kept_order(self, st: RowStats, ref) -> np.ndarray:
        """The order in which the sampler keeps a prefix (the canonical one by default)."""
        return st.order

    def flipped_count(self, st: RowStats, ref, check) -> int | None:
        """The kept count with the other strictness at ``check``, a boundary comparison exactly
        0. By default (a threshold sampler) the token's whole exact-tie block flips: dropped if
        the policy keeps it, kept if the policy drops it."""
        if not self.threshold or not 0 <= check.index < st.n:
            return None
        v = st.values
        block = np.flatnonzero(v == v[check.index])
        return int(block[0]) if int(st.order[check.index]) in ref.kept else int(block[-1]) + 1

    def non_strict(self, st: RowStats, ref, kept: set) -> bool:
        """The port's kept set is the policy's with the other strictness at a comparison whose
        exact value is 0 (the reference certifies the zero)."""
        if self.strictness is None or len(kept) == ref.k:
            return False
        order = self.kept_order(st, ref)
        m = min(max(int(ref.params.get("min_tokens_to_keep", 1)), 1), st.n)
        floors = {m, int(np.count_nonzero(st.values >= st.values[m - 1]))}  # the floor, alone or with its ties
        for c in ref.decisions:
            if c.zero is Decision.TRUE:
                k = self.flipped_count(st, ref, c)
                if k is None:
                    continue
                for kk in {k} | {max(k, f) for f in floors}:
                    if kk != ref.k and kept == {int(i) for i in order[:kk]}:
                        return True
        return False

    def diagnose(self, row, params, ref, kept: set, options, dtype: str | None = None) -> list[str]:
        """Known misreadings that reproduce the port's kept set exactly (best effort; ``dtype``, the
        case's, for those that depend on it). ``min-keep-ignored`` is decided first: where it
        reproduces the answer, it is the diagnosis."""
        found: list[str] = []
        st = RowStats(row, params["temperature"])
        st.dtype = dtype
        ref_set = set(int(i) for i in ref.kept)
        try:
            if "min_tokens_to_keep" in params and params["min_tokens_to_keep"] > 1:
                if set(int(i) for i in self.truncate(row, params, options.policy, min_tokens_to_keep=1).kept) == kept != ref_set:
                    return ["min-keep-ignored"]
            if self.non_strict(st, ref, kept):
                found.append("non-strict")
            found += [f for f in self.misread(st, row, params, ref, kept, options) if f not in found]
            if self.reads_temperature and params["temperature"] != 1.0 and not found:
                if set(int(i) for i in self.truncate(row, dict(params, temperature=1.0), options.policy).kept) == kept != ref_set:
                    found.append("temperature-ignored")
        except (ValueError, ZeroDivisionError):  # a diagnosis is best effort; the verdict stands
            pass
        return found

    def explain(self, fault: str, ref, kept: set) -> str:
        """The explanation of ``fault`` for this answer."""
        if fault == "non-strict" and self.strictness is not None:
            return self.strictness[0 if len(kept) > ref.k else 1]
        return self.misreadings[fault]

    def fail(self, row, params, ref, kept: set, options, message: str, default_fault: str, base: dict, dtype: str | None = None) -> Verdict:
        """The failure verdict, its fault the first misreading that reproduces the answer."""
        found = self.diagnose(row, params, ref, kept, options, dtype)
        fault = found[0] if found else default_fault
        if found:
            message += ". Diagnosis: " + "; ".join(f"{f}: {self.explain(f, ref, kept)}" for f in found)
            base["details"]["diagnosis"] = found
        return Verdict(Status.FAILED, message, fault, **dict(base, severity=math.inf))

    @staticmethod
    def failed(message: str, fault: str, base: dict, **extra: Any) -> Verdict:
        """A failure verdict as it stands (no diagnosis): ``base``'s fields, ``extra`` over them."""
        return Verdict(Status.FAILED, message, fault, **dict(base, **extra))

    def unit_roundoff(self, st: RowStats, options) -> float:
        return tolerances.unit_roundoff(st.dtype, options.accumulate)

    # ---- a random gate (XTC) --------------------------------------------------------------------
    def gate(self, params: dict, policy: str) -> float:
        """The chance that the sampler acts on a draw; otherwise every candidate stays (draws form)."""
        return 1.0

    def acting(self, params: dict) -> dict:
        """``params`` with the sampler acting (its gate open): the kept set a draw sees then."""
        return params


class MassJudge(SamplerJudge):
    """A sampler that cuts where a cumulative mass reaches its parameter :attr:`mass_param`
    (top-p, typical). Its band runs over every threshold a port may compare with
    (:meth:`mass_edges`), widened by the error of the computed mass; :meth:`domain` clips it to
    the values the policy accepts."""

    mass_param: str = ""

    def domain(self, policy: str) -> tuple[float, float] | None:
        """The parameter values ``policy`` accepts (``None``: any; llama.cpp reads every value)."""
        return None

    def band(self, st, row, params, ref, b, options):
        return self._edges(*self.mass_edges(st, params[self.mass_param], options), b["cum"] + b["underflow"], options)

    def dyadic_band(self, st, params, options):
        lo, hi = self.mass_edges(st, params[self.mass_param], options)
        return [] if lo == hi else self._edges(lo, hi, 0.0, options)

    def _edges(self, lo: float, hi: float, d: float, options) -> list[dict]:
        lo, hi = lo - d, hi + d
        dom = self.domain(options.policy)
        if dom is not None:
            lo, hi = max(lo, dom[0]), min(hi, dom[1])
        return [{self.mass_param: lo}, {self.mass_param: hi}]

    def mass_edges(self, st: RowStats, mass: float, options) -> tuple[float, float]:
        """The least and greatest value a port may compare a cumulative mass with in place of the
        parameter ``mass``: a port compares in its input or compute dtype, with ``mass`` or (as
        transformers does) ``1 - mass`` computed in float64 and rounded to that dtype, once or
        through float32 (torch's conversion), so the number it uses is one of these roundings."""
        cands = [mass]
        for d in {st.dtype, tolerances.compute_dtype_name(st.dtype, options.accumulate)}:
            for x, flip in ((mass, False), (1.0 - mass, True)):
                rounded = [round_to_dtype([x], d)[0]]
                if d in ("float16", "bfloat16"):  # torch narrows a float64 number through float32
                    rounded.append(round_to_dtype(round_to_dtype([x], "float32"), d)[0])
                for r in rounded:
                    cands.append(1.0 - float(r) if flip else float(r))
        lo, hi = min(cands), max(cands)
        # 1 - r may round in float64: step outward once where the edges moved at all
        return (lo if lo == mass else math.nextafter(lo, -math.inf)), (hi if hi == mass else math.nextafter(hi, math.inf))

"""The draws judge: are one case's token draws those of a correct sampler?

:func:`judge_draws` judges one case in two steps. A draw outside every admissible kept set (the
:class:`Support` of the case: :func:`support`, and every set a careful style keeps,
:func:`careful_support`) is a certain failure; otherwise the draws are tested against the exact
renormalised distribution of each admissible set (``ees_theory.judging.gof``) and the case gets a
p-value for the family-wise step (:class:`DrawVerdict`). Mirostat's draws are judged by replaying
its state from the port's own tokens. Running draws ports over cases (ports, budgets, journals,
reports) is ``ees_theory.running.draws``.

>>> z = np.array([2.0, 1.0, 0.0, -1.0])
>>> v = judge_draws("top-k", z, {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}, np.array([0, 0, 2]), "float64")
>>> str(v.status)
'fail'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence, TypedDict

import mpmath
import numpy as np

from .. import reference
from . import gof
from ..core.truncation.registry import SAMPLERS as TRUNCATION_SAMPLERS
from .judges import JUDGES, RowStats
from .methods import EES, Options, ees_admissible, get_method
from .outcomes import Status
from .truncation import Truncation

__all__ = [
    "DRAW_FAULTS",
    "DrawStatistics",
    "Support",
    "support",
    "judge_draws",
]


#: fault classes of the draws judge (besides the port faults of ``PROTOCOL.md``)
DRAW_FAULTS = {
    "outside-support": "a token outside every admissible kept set was drawn (a certain failure)",
    "untruncated": "the draws fit the untruncated distribution: the truncation is not applied",
    "off-by-one": "the draws fit the kept distribution shifted by one place in probability order (an inverse CDF off by one)",
    "unnormalised": "the draws fit an inverse CDF over the unnormalised kept probabilities: the missing mass goes to the last kept token",
    "never-drawn": "a kept token with many expected draws was never drawn",
    "excess-token": "one token is drawn more often than its exact probability allows",
    "deficit-token": "one token is drawn less often than its exact probability allows",
    "distribution": "the draws do not fit the exact truncated distribution",
    "k-overflow": ("mirostat v1's estimate of k is NaN, infinite or at least 2**31 where the port draws greedily: an engine "
                   "converting it to a C int (undefined behaviour; INT_MIN on x86-64) keeps one token where the algorithm keeps many"),
}


#: the stateful samplers (a kept set that moves with the state): judged step by step
MIROSTAT = tuple(name for name, j in JUDGES.items() if j.stateful)


# ---- what the draws may come from ------------------------------------------------------------
@dataclass
class Support:
    """The exact distributions a case's draws may come from.

    ``order`` lists the candidates in the order kept sets are prefixes of (probability order;
    typical: its score order), ``p`` their untruncated probabilities (from the 30-digit reference
    values), ``counts`` the admissible kept counts (the reference's first), ``may`` a mask over the
    vocabulary of every token some admissible kept set holds, ``block`` the exact-tie block of each
    position. ``claim`` is False when the error bound is unbounded (then only masked tokens are
    certain failures, and no statistic is claimed).
    """

    vocab: int
    order: np.ndarray
    p: np.ndarray
    probs: list
    counts: tuple[int, ...]
    may: np.ndarray
    block: np.ndarray
    certified: bool
    claim: bool = True
    #: the chance that the sampler acts on a draw (XTC's gate); otherwise every candidate stays
    gate: float = 1.0
    #: kept sets careful styles produce that are no prefix of ``order`` (typical on a near-uniform
    #: row, where rounding orders near-equal scores): ``(words naming the style, kept ids)``, each
    #: an admissible distribution of its own
    alternatives: tuple = ()
    #: the styles' outcomes (:class:`~ees_theory.errormodel.styles.MaskOutcome`): whether the set of
    #: drawn tokens is one careful code keeps is asked of them
    outcomes: tuple = ()

    @property
    def ref_k(self) -> int:
        return self.counts[0]

    def position(self) -> np.ndarray:
        """Position in ``order`` of every token id (-1: not a candidate)."""
        pos = np.full(self.vocab, -1, dtype=np.int64)
        pos[self.order] = np.arange(self.order.size)
        return pos

    def null(self, c: int, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Block counts and exact block probabilities under kept count ``c`` (``None``: a draw
        lies outside that kept set's blocks, so the draws cannot come from it)."""
        pos = self.position()[tokens]
        last = int(self.block[c - 1])
        if self.gate < 1:  # a mixture: the kept set when the sampler acts, every candidate otherwise
            if np.any(pos < 0):
                return None
            nb = int(self.block[-1]) + 1
            acting = np.bincount(self.block[:c], weights=self.p[:c], minlength=nb)
            full = np.bincount(self.block, weights=self.p, minlength=nb)
            return np.bincount(self.block[pos], minlength=nb), self.gate * acting / acting.sum() + (1 - self.gate) * full / full.sum()
        if np.any(pos < 0) or np.any(self.block[pos] > last):
            return None
        mass = np.bincount(self.block[:c], weights=self.p[:c], minlength=last + 1)
        counts = np.bincount(self.block[pos], minlength=last + 1)
        return counts, mass / mass.sum()

    def null_of_set(self, kept: frozenset, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Token counts and exact renormalised probabilities under the kept set ``kept`` (any set,
        not only a prefix of ``order``), its ids in ``order``'s order; ``None``: a draw lies
        outside ``kept``, or ``kept`` holds a token that is no candidate."""
        pos = self.position()
        ids = np.array(sorted(kept, key=lambda i: pos[i]), dtype=np.int64)
        if ids.size == 0 or np.any(pos[ids] < 0) or not np.all(np.isin(tokens, ids)):
            return None
        mass = self.p[pos[ids]]
        if not mass.sum() > 0:
            return None
        index = np.full(self.vocab, -1, dtype=np.int64)
        index[ids] = np.arange(ids.size)
        return np.bincount(index[tokens], minlength=ids.size), mass / mass.sum(), ids


def _blocks(values: np.ndarray) -> np.ndarray:
    """Exact-tie block index of each position of a sorted value array."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(values[1:] != values[:-1])]).astype(np.int64)


def _float_probs(probs: list) -> np.ndarray:
    return np.array([float(x) for x in probs], dtype=np.float64)


def _style_outcomes(method: str, row64: np.ndarray, params: dict[str, float], dtype: str, options: Options) -> list:
    """What each careful style keeps on this row (``ees_theory.errormodel.styles``; empty without torch
    or when the styles refuse the row)."""
    from ..errormodel import styles

    if not styles.available():
        return []
    try:
        own = get_method(method).params
        return styles.mask_outcomes(method, row64, {k: v for k, v in params.items() if k in own}, dtype, options.accumulate, options.policy, options.rule)
    except (ValueError, TypeError, RuntimeError, OverflowError):
        return []


def careful_support(method: str, row64: np.ndarray, params: dict[str, float], dtype: str, options: Options,
                    outcomes: Sequence | None = None) -> tuple[np.ndarray, set[int]]:
    """The tokens some careful implementation in the style set keeps on this row, and the counts
    they keep (``ees_theory.errormodel.styles``): a draw of such a token is never a certain failure.
    ``outcomes``: the styles' outcomes when already computed."""
    may = np.zeros(row64.size, dtype=bool)
    if outcomes is None:
        outcomes = _style_outcomes(method, row64, params, dtype, options)
    for o in outcomes:
        may[list(o.kept)] = True
        if o.kept:  # tokens tied with the style's last kept one in the values it ranks by
            may |= np.isfinite(o.key) & (o.key >= o.key[list(o.kept)].min())
    return may, {len(o.kept) for o in outcomes}


def support(method: str, row: np.ndarray, params: dict[str, float], dtype: str, options: Options = Options()) -> Support:
    """The :class:`Support` of one case (not for mirostat, whose kept set moves with its state).

    >>> s = support("top-k", np.array([1.0, 3.0, 3.0, 0.0]), {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}, "float64")
    >>> s.counts, s.may.tolist(), s.block.tolist()      # the tie at the top: either token may be kept
    ((1,), [False, True, True, False], [0, 0, 1, 2])
    """
    if method in MIROSTAT:
        raise ValueError(f"{method} is judged step by step (its kept set moves with its state); support() has no single answer")
    m = get_method(method)
    tau = float(params["temperature"])
    row64 = np.asarray(row, dtype=np.float64)
    probs = reference.softmax(row64, tau)
    vocab = row64.size
    may = np.zeros(vocab, dtype=bool)
    if method not in TRUNCATION_SAMPLERS:  # EES: its kept count, not a truncation sampler's rule
        ref = m.reference(row64, params, options)
        order = np.asarray(ref.row.order, dtype=np.int64)
        values = np.asarray(ref.row.values, dtype=np.float64)
        outcomes = _style_outcomes(method, row64, params, dtype, options)
        style_may, _ = careful_support(method, row64, params, dtype, options, outcomes)
        counts = sorted(ees_admissible(ref, EES.bound(m, ref, dtype, options)) - {ref.k})
        counts = (ref.k, *counts)
        kmax = max(counts)
        may[order[values >= values[kmax - 1]]] = True  # exact ties of the last kept value are free
        may |= style_may
        p = _float_probs(probs)[order]
        block = _blocks(values)
        return Support(vocab, order, p, probs, counts, may, block, ref.certified,
                       alternatives=_alternatives(outcomes, order, block, counts), outcomes=tuple(outcomes))
    if not isinstance(m, Truncation):
        raise ValueError(f"method {method!r} returns a temperature, not tokens; the draws judge takes ees or a truncation sampler")
    gate = m.sampler_judge.gate(params, options.policy)
    params = m.sampler_judge.acting(params)
    ref = m.reference(row64, params, options)
    st = RowStats(row64, tau)
    st.dtype = dtype
    b = m.bounds(st, row64, dtype, options)
    adm, _ = m.admissible(st, row64, params, ref, b, options)
    claim = adm is not None
    outcomes = _style_outcomes(method, row64, params, dtype, options)
    style_may, _ = careful_support(method, row64, params, dtype, options, outcomes)
    counts = (ref.k, *sorted(set(adm or ()) - {ref.k}))
    order, values, sel = m.sampler_judge.may_keep(st, row64, ref, b, max(counts), dtype, options)
    may[order[sel]] = True
    may |= style_may
    block = _blocks(values)
    if not claim or gate < 1:
        may[order] = True
    p = _float_probs(probs)[order]
    # a mixture (XTC's gate) is judged on the prefixes alone
    alts = _alternatives(outcomes, order, block, counts) if gate == 1 else ()
    return Support(vocab, order, p, probs, counts, may, block, ref.certified, claim, gate, alternatives=alts, outcomes=tuple(outcomes))


def _alternatives(outcomes: Sequence, order: np.ndarray, block: np.ndarray, counts: Sequence[int]) -> tuple:
    """The styles' kept sets that are not already tested as a prefix of ``order`` (one per set)."""
    prefixes = {frozenset(int(i) for i in order[:c]) for c in counts if c == order.size or block[c - 1] != block[c]}
    seen: dict[frozenset, str] = {}
    for o in outcomes:
        if o.kept and o.kept not in prefixes and o.kept not in seen:
            seen[frozenset(o.kept)] = f"the kept set of style {o.style.name}"
    return tuple((name, kept) for kept, name in seen.items())


# ---- the statistical judgement -----------------------------------------------------------------
class DrawStatistics(TypedDict, total=False):
    """The numbers behind a draws verdict (``DrawVerdict.details``, a case record's ``details``);
    every key the judge writes is declared here (``tests/test_report.py`` checks real runs).

    A certain failure: ``token``, ``draw_index``, ``seed``, ``untruncated_p``, ``outside_draws``,
    ``outside_tokens`` (mirostat: ``mu``), and ``diagnosis`` where the draws fit the untruncated
    distribution. A goodness-of-fit test: ``admissible_k`` and ``expected_k`` (the kept counts),
    ``draws``, ``style_sets`` (careful styles' kept sets tried), ``pvalue``, ``test`` (its name),
    ``l1``, ``bins``, ``best_k`` and ``best_set`` (the admissible set that fits best),
    ``worst_bin_tokens``, ``worst_observed``, ``worst_expected``, and ``beyond_reference`` /
    ``beyond_reference_draws`` (draws past the reference's kept set). Mirostat's replay:
    ``tested_steps``, ``skipped_steps``, ``replay_stopped_at``, ``ks`` (the KS distance of the
    probability integral transforms).
    """

    token: int
    draw_index: int
    seed: int
    untruncated_p: float
    outside_draws: int
    outside_tokens: list
    mu: float
    diagnosis: list
    admissible_k: list
    expected_k: int
    draws: int
    style_sets: int
    pvalue: float
    test: str
    l1: float
    bins: int
    best_k: int
    best_set: str
    worst_bin_tokens: list
    worst_observed: float
    worst_expected: float
    beyond_reference: list
    beyond_reference_draws: int
    tested_steps: int
    skipped_steps: int
    replay_stopped_at: Any
    ks: float


@dataclass
class DrawVerdict:
    """The judgement of one case's draws before the family-wise step: ``status`` is
    :attr:`Status.FAILED` (certain), :attr:`Status.TESTED` (``pvalue`` set) or :attr:`Status.SKIPPED`
    (nothing to test); ``admissible`` notes band draws."""

    status: Status
    message: str = ""
    fault: str | None = None
    pvalue: float = math.nan
    certified: bool = True
    admissible: str = ""
    details: DrawStatistics = field(default_factory=dict)  # type: ignore[assignment]


def _fmt_prob(x: Any) -> str:
    return "0 (exactly)" if x == 0 else mpmath.nstr(x, 6)


def _certain(s: Support, tokens: np.ndarray, seed: int, why_masked: bool = True) -> DrawVerdict | None:
    bad = np.flatnonzero(~s.may[tokens])
    if bad.size == 0:
        return None
    j = int(bad[0])
    t = int(tokens[j])
    p_full = s.probs[t]
    outside = sorted({int(x) for x in tokens[bad]})
    msg = (
        f"draw {j} (seed {seed}) is token {t}, outside every admissible kept set "
        f"(kept {s.ref_k} of {s.order.size} candidates): its probability under the truncated distribution is 0 (exactly); "
        f"untruncated p = {_fmt_prob(p_full)}; {bad.size} of {tokens.size} draws outside, tokens {outside[:8]}"
    )
    details = {"token": t, "draw_index": j, "seed": seed, "untruncated_p": float(p_full), "outside_draws": int(bad.size), "outside_tokens": outside[:16]}
    return DrawVerdict(Status.FAILED, msg, "outside-support", pvalue=0.0, certified=s.certified, details=details)


def _alternative_fits(s: Support, tokens: np.ndarray) -> list[str]:
    """Misreadings the draws fit (best effort; p-value above 1e-3 under the misread distribution)."""
    found = []
    pos = s.position()[tokens]
    n = s.order.size
    k = s.ref_k
    if np.any(pos < 0):
        return found
    alts = {}
    if k < n and tokens.size * (1.0 - s.p[:k].sum() / s.p.sum()) >= 10:  # only where the cut-off mass shows
        alts["untruncated"] = s.p / s.p.sum()
    if k >= 2:
        q = s.p[:k] / s.p[:k].sum()
        shifted = np.zeros(n)
        shifted[1:k] = q[: k - 1]
        shifted[k - 1] += q[k - 1]
        alts["off-by-one"] = shifted
        raw = np.zeros(n)
        raw[:k] = s.p[:k]
        raw[k - 1] += 1.0 - s.p[:k].sum()
        if 1.0 - s.p[:k].sum() > 1e-9:
            alts["unnormalised"] = raw
    counts = np.bincount(pos, minlength=n)
    for name, q in alts.items():
        support_ok = np.all(counts[q <= 0] == 0)
        if not support_ok:
            continue
        keep = q > 0
        bins = gof.pool_bins(q[keep], tokens.size)
        cq = np.array([q[keep][b].sum() for b in bins])
        cc = np.array([counts[keep][b].sum() for b in bins])
        if gof.gof_pvalue(cc, cq / cq.sum()).pvalue > 1e-3:
            found.append(name)
    return found


def judge_draws(method: str, row: np.ndarray, params: dict[str, float], tokens: np.ndarray, dtype: str,
                options: Options = Options(), seed: int = 0) -> DrawVerdict:
    """Judge one case's draws: a certain failure, or a p-value for the family-wise step.

    >>> z = np.array([2.0, 1.0, 0.0, -1.0])
    >>> v = judge_draws("top-p", z, {"temperature": 1.0, "p": 0.5, "min_tokens_to_keep": 1}, np.array([0, 0, 3]), "float32")
    >>> str(v.status), v.fault, v.details["token"]
    ('fail', 'outside-support', 3)
    >>> judge_draws("top-p", z, {"temperature": 1.0, "p": 0.5, "min_tokens_to_keep": 1}, np.zeros(50, int), "float32").pvalue
    1.0
    """
    if method in MIROSTAT:
        return _judge_mirostat(method, row, params, tokens, dtype, options, seed)
    s = support(method, row, params, dtype, options)
    v = _certain(s, tokens, seed)
    if v is not None:
        fits = _alternative_fits(s, tokens)
        if "untruncated" in fits:
            v.message += ". Diagnosis: untruncated: " + DRAW_FAULTS["untruncated"]
            v.details["diagnosis"] = ["untruncated"]
        return v
    if not s.claim:
        return DrawVerdict(Status.SKIPPED, "the dtype's error bound is unbounded on this row: no kept set is claimed", certified=s.certified)
    fits = _fits(s, tokens)
    details: DrawStatistics = {"admissible_k": list(s.counts)[:16], "expected_k": s.ref_k, "draws": int(tokens.size),
                               "style_sets": len(s.alternatives)}
    if not fits:  # band tokens beyond every admissible set: a near-tie swap; no single kept set to test
        return DrawVerdict(Status.SKIPPED, "draws include near-tied tokens of the admissible band beyond every prefix kept set "
                           "and every careful style's kept set; no distribution to test",
                           certified=s.certified, admissible="near-tie swap", details=details)
    best = max(fits, key=lambda key: fits[key][0].pvalue)
    fit, bins, members = fits[best]
    pvalue = fit.pvalue  # intersection-union: reject only if every admissible distribution is rejected
    ref_fit = fits.get(s.ref_k)
    best_k = best if isinstance(best, int) else sum(len(m) for m in members)
    details.update(pvalue=pvalue, test=fit.test, l1=fit.l1, bins=fit.bins, best_k=best_k)
    worst_tokens = [t for j in bins[fit.worst] for t in members[j]][:8]
    details.update(worst_bin_tokens=worst_tokens, worst_observed=fit.observed, worst_expected=fit.expected)
    if isinstance(best, str):
        details["best_set"] = best
        band = f"fits {best} ({best_k} tokens, no prefix of the reference's order) better than the reference's {s.ref_k}"
    else:
        band = "" if best == s.ref_k and (ref_fit is not None) else f"fits kept count {best} (admissible) better than the reference's {s.ref_k}"
    v = DrawVerdict(Status.TESTED, "", pvalue=pvalue, certified=s.certified, admissible=band, details=details)
    v.fault, v.message = _diagnose(s, tokens, fit, worst_tokens, best_k)
    best_c = best_k if isinstance(best, int) else f"{best_k}, {best}"
    if ref_fit is None:  # say first why the reference's own kept set is out: tokens beyond it were drawn
        pos = s.position()[tokens]
        beyond = np.flatnonzero(s.block[pos] > s.block[s.ref_k - 1])
        toks = sorted({int(tokens[j]) for j in beyond})
        details.update(beyond_reference=toks[:16], beyond_reference_draws=int(beyond.size))
        v.message = (f"{beyond.size} draw(s) of token(s) {toks[:8]} beyond the reference's {s.ref_k} kept token(s) "
                     f"(inside the {dtype} admissible band, untruncated p = {_fmt_prob(s.probs[toks[0]])}), and no admissible "
                     f"kept set fits the draws; closest fit (kept {best_c}): " + v.message)
    return v


def _fits(s: Support, tokens: np.ndarray) -> dict:
    """The goodness of fit of the draws under every admissible distribution they may come from:
    ``{key: (fit, bins, members)}``, ``key`` a kept count (a prefix of ``s.order``, exact-tie blocks
    pooled) or the words naming a kept set careful code produces that is no such prefix;
    ``members[j]``: the token ids of position ``j`` of the tested distribution. The set of tokens drawn is tested too
    when careful code keeps it (:func:`ees_theory.errormodel.styles.produced`): a style's sort may
    break ties of its ranking values another way."""
    fits: dict[Any, tuple] = {}

    def add(key, counts, q, members):
        bins = gof.pool_bins(q, tokens.size)
        fits[key] = (gof.gof_pvalue(np.array([counts[b].sum() for b in bins]), np.array([q[b].sum() for b in bins])), bins, members)

    for c in s.counts:
        nul = s.null(c, tokens)
        if nul is not None:
            counts, q = nul
            add(c, counts, q, [[int(t) for t in s.order[s.block == b]] for b in range(q.size)])
    sets = dict(s.alternatives)
    drawn = frozenset(int(t) for t in np.unique(tokens))
    if s.outcomes and s.gate == 1 and drawn not in sets.values() and not any(drawn == frozenset(s.order[:c].tolist()) for c in s.counts):
        from ..errormodel.styles import produced

        o, how = produced(s.outcomes, drawn)
        if o is not None:
            how = "kept by" if how == "style" else "a count between the styles' and a top set of"
            sets[f"the set of tokens drawn ({how} style {o.style.name})"] = drawn
    for name, kept in sets.items():
        nul = s.null_of_set(kept, tokens)
        if nul is not None:
            counts, q, ids = nul
            add(name, counts, q, [[int(t)] for t in ids])
    return fits


def _diagnose(s: Support, tokens, fit: gof.Fit, worst_tokens, c) -> tuple[str, str]:
    fits = _alternative_fits(s, tokens)
    sd = math.sqrt(max(fit.expected * (1 - fit.expected / tokens.size), 1e-300))
    where = f"tokens {worst_tokens}" if len(worst_tokens) > 1 else f"token {worst_tokens[0]}"
    what = f"{where}: drawn {fit.observed} times in {tokens.size}, expected {fit.expected:.1f} (sd {sd:.1f}) under the exact kept distribution"
    for name in ("off-by-one", "unnormalised"):
        if name in fits:
            return name, f"{what}. Diagnosis: {name}: {DRAW_FAULTS[name]}"
    if fit.observed == 0 and fit.expected >= 20:
        return "never-drawn", f"{what}. Diagnosis: never-drawn: {DRAW_FAULTS['never-drawn']}"
    if fit.test == "binomial":
        name = "excess-token" if fit.observed > fit.expected else "deficit-token"
        return name, f"{what}. Diagnosis: {name}: {DRAW_FAULTS[name]}" + (_below_untruncated(s, tokens.size, fit, worst_tokens) if name == "deficit-token" else "")
    return "distribution", f"L1 distance {fit.l1:.4g} over {fit.bins} bins; worst {what}"


def _below_untruncated(s: Support, n: int, fit: gof.Fit, worst_tokens) -> str:
    """The words for tokens every admissible kept set holds, drawn less often than even their
    untruncated probability allows (renormalising a kept set that holds a token only raises its
    share, so no truncation of the row explains the draws); empty otherwise."""
    pos = s.position()[np.asarray(worst_tokens, dtype=np.int64)]
    if not worst_tokens or np.any(pos < 0) or np.any(pos >= min(s.counts)) or s.gate < 1:
        return ""
    share = float(s.p[pos].sum() / s.p.sum())
    if fit.observed >= n * share or gof.binom_two_sided(fit.observed, n, share) > 1e-6:
        return ""
    return (f"; every admissible kept set holds it, and it is drawn less often even than its untruncated probability "
            f"{share:.6g} allows ({n * share:.1f} expected): no kept set gives it less, so the draws come from no truncation of this row")


# ---- mirostat: a sequence, replayed ------------------------------------------------------------
def _judge_mirostat(method, row, params, tokens, dtype, options, seed) -> DrawVerdict:
    m = get_method(method)
    row64 = np.asarray(row, dtype=np.float64)
    tau = float(params["temperature"])
    st = RowStats(row64, tau)
    st.dtype = dtype
    prm = {k: v for k, v in params.items() if k != "u"}
    mu = prm.get("mu")
    mu = 2.0 * prm["tau"] if mu is None or (isinstance(mu, float) and math.isnan(mu)) else float(mu)
    probs = reference.softmax(row64, tau)
    pf = _float_probs(probs)
    b = m.bounds(st, row64, dtype, options)
    scale = max((v for v in b.values() if math.isfinite(v)), default=0.0)
    rng = np.random.default_rng([int(seed), 0x706974])
    pits: list[float] = []
    skipped = 0
    certified = True
    u_guess = 0.5
    stopped = None
    # exact ties, and near-ties within the dtype's logit bound (a float port may order them either
    # way), form blocks that stand for any of their tokens
    tol = m.member_tolerance(st, b, dtype, options)
    gaps = st.values[:-1] - st.values[1:]
    block = np.concatenate([[0], np.cumsum(gaps > (tol if math.isfinite(tol) else np.inf))]).astype(np.int64) if st.n else np.zeros(0, np.int64)
    pos = np.full(row64.size, -1, dtype=np.int64)
    pos[st.order] = np.arange(st.n)
    overflow = m.sampler_judge.sequence_watch(row64, tau, prm, pf, st)  # what the judge watches for along the replay
    for t, x in enumerate(tokens):
        x = int(x)
        step = dict(prm, mu=mu, u=u_guess)
        ref = m.reference(row64, step, options)
        certified &= ref.certified
        kept = [int(i) for i in ref.kept]
        if overflow is not None:
            overflow.step(t, mu, kept, x)
        counts = {ref.k}
        if not (ref.margin > 10 * scale):  # near a boundary: ask the band which counts a float port may use
            adm, _ = m.admissible(st, row64, step, ref, b, options)
            counts = set(range(1, st.n + 1)) if adm is None else set(adm) | {ref.k}
        last = block[max(counts) - 1]  # ties and near-ties with the last admissible kept value are free
        if not (0 <= x < len(probs)) or pos[x] < 0 or block[pos[x]] > last:
            p_full = probs[x] if 0 <= x < len(probs) else 0
            msg = (f"step {t} (seed {seed}, mu = {mu!r} bits replayed from the port's own tokens) drew token {x}, outside every admissible "
                   f"kept set ({ref.k} kept): truncated probability 0 (exactly); untruncated p = {_fmt_prob(p_full)}")
            return DrawVerdict(Status.FAILED, msg, "outside-support", pvalue=0.0, certified=certified,
                               details={"token": x, "draw_index": t, "seed": seed, "mu": mu, "untruncated_p": float(p_full)})
        # x's exact-tie block within the reference's kept prefix stands for x (a tie may be broken any way)
        bx = block[pos[x]]
        inside = [j for j in range(ref.k) if block[j] == bx]
        if not inside or len(counts) > 1:
            # the port's kept set may differ (admissibly) from the reference's here, so its new mu
            # may too: replaying the reference's mu would judge later steps against a state the
            # port never had. The replay stops at the first ambiguous step (counted), never
            # following a state picked for the port.
            skipped += 1
            stopped = t
            break
        # the exact CDF interval of x's block in the kept set; the reference's update for a token of it
        pk = pf[kept]
        cum = np.concatenate([[0.0], np.cumsum(pk / pk.sum())])
        lo, hi = inside[0], inside[-1] + 1
        if len(counts) == 1:
            pits.append(float(cum[lo] + rng.random() * (cum[hi] - cum[lo])))
        rep = kept[lo]
        u_mid = float(min((cum[lo] + cum[lo + 1]) / 2, np.nextafter(1.0, 0.0)))
        if ref.token != rep:
            ref = m.reference(row64, dict(prm, mu=mu, u=u_mid), options)
        if ref.token != rep:  # the midpoint of the token's interval must select it; anything else is a tie of rounding
            stopped = t
            break
        u_guess = u_mid
        mu = float(ref.mu)
    details = {"draws": int(tokens.size), "tested_steps": len(pits), "skipped_steps": skipped, "replay_stopped_at": stopped}
    if len(pits) < 2:
        return DrawVerdict(Status.SKIPPED, "no step with a single admissible kept set to test", certified=certified, details=details)
    p, D = gof.ks_uniform_pvalue(np.array(pits))
    details.update(pvalue=p, test="KS-PIT", ks=D)
    msg = f"probability integral transforms of {len(pits)} steps: KS distance {D:.4g} from uniform"
    why = overflow.diagnosis(details) if overflow is not None else None
    if why:
        return DrawVerdict(Status.TESTED, f"{msg}. Diagnosis: k-overflow: {why}", "k-overflow", pvalue=p, certified=certified, details=details)
    return DrawVerdict(Status.TESTED, msg, "distribution", pvalue=p, certified=certified, details=details)

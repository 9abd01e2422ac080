"""Judging samplers by their draws: token-level conformance with certified support and
controlled-error statistics.

Many engines never expose a kept mask; they return token ids. A *draws port* is called once per
case and returns ``n`` token ids drawn from the truncated distribution of one row:

* Python: ``fn(logits, temperature, n, seed, **params) -> n token ids`` with the mask form's
  parameters (``PROTOCOL.md``; mirostat takes ``tau``, ``eta``, ``mu`` and draws ``n`` successive
  tokens, carrying its state, with no ``u``: the port uses its own randomness). A batched form
  ``fn_batched(rows, temperature, n, seeds, **params) -> (B, n)`` (attribute ``fn.batched`` or a
  module-level ``<fn>_batched``) is used for rows of one length.
* JSON Lines: the mask form's request plus ``"draws": n, "seed": s``; the answer is
  ``{"id": ..., "tokens": [...]}``.

Every case is judged in two steps.

1. **Certain failures.** The certified reference (:func:`ees_theory.reference.truncate`,
   :func:`ees_theory.reference.ees`) gives the exact kept set; the admissible band of the mask
   judge (comparisons inside the dtype's error bound, near-ties at the boundary) gives every kept
   set a correct float port may use. One draw outside all of them is a certain failure: the token,
   its certified probability, the draw's index and seed and a ``reproduce:`` line are reported.
2. **Statistics** (:mod:`.gof`). The draws are tested against the exact renormalised
   distribution of each admissible kept set (exact ties pooled, since which of several tied tokens
   a port keeps is free); a case is rejected only if every admissible distribution is rejected, so
   its p-value is a valid bound whichever one the port implements. The admissible sets are the
   prefixes of the reference's order that the band allows, every set a careful style keeps
   (:mod:`.styles`: where rounding orders near-equal values, typical's scores on a near-uniform
   row, such a set can differ in tokens, not only in length), and the set of tokens drawn when
   careful code keeps it. Draws that lie beyond every one of them (a near-tie swap) leave the case
   untested, counted with that reason. Across cases Holm's procedure
   holds the family-wise false-alarm rate at ``alpha`` (default ``1e-6``). With no ``draws`` given,
   the number per case is planned (:func:`.gof.plan_draws`) to detect any deviation of total
   variation ``tv`` (default 0.02) with probability ``power`` (default 0.99). Mirostat's draws form
   a sequence whose distribution moves with its state; the judge replays the state exactly from the
   port's own tokens and tests the probability integral transforms (:func:`.gof.ks_uniform_pvalue`).

Seeds are derived from the run's seed and the case index, so every verdict is reproducible;
failures are shrunk like the mask judge's (same fault, smaller input).

A Python draws port named by a string runs, as a mask port does, in the isolated worker
(:mod:`.worker`, ``--draws``): in its own process group, its import and every call bounded by the
timeout, so a port that exits, hangs, raises ``KeyboardInterrupt`` or patches the judge costs its
own case, never the run's verdict. ``isolate=False`` (``--in-process``) calls it in this process:
faster, and not evidence against a hostile port. The draws in flight are bounded by
:data:`DRAWS_MEMORY_BUDGET`: a plan beyond :data:`MAX_DRAWS` per case is refused before any port
runs. Outcomes use the mask report's words (``pass``, ``admissible``, ``fail``, ``skipped``); a run
with no case judged is ``NO VERDICT`` and not ``ok``. With ``journal`` each case is recorded as it
is judged (with its draws, compactly), and ``resume=True`` continues a run from its journal.

>>> from ees_theory.harness.cases import Case
>>> def inverse_cdf(z, t, n, seed, p, min_tokens_to_keep):   # a correct top-p sampler
...     ref = reference.truncate("top-p", z, t, p=p, min_tokens_to_keep=min_tokens_to_keep)
...     pr = np.array([float(x) for x in reference.softmax(z, t)])[list(ref.kept)]
...     u = np.random.default_rng(seed).random(n)
...     return np.asarray(ref.kept)[np.searchsorted(np.cumsum(pr / pr.sum()), u, side="right").clip(0, ref.k - 1)]
>>> case = Case("c", "top-p", "hand", np.array([2.0, 1.0, 0.0, -1.0]), {"temperature": 1.0, "p": 0.9, "min_tokens_to_keep": 1})
>>> r = check_draws(InProcessDrawsPort(inverse_cdf, "demo"), "top-p", cases=[case], draws=5000)
>>> r.ok, str(r.records[0]["status"])
(True, 'pass')
"""

from __future__ import annotations

import collections
import math
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import mpmath
import numpy as np

from .. import reference
from . import gof
from .cases import Case, params_from_json, params_to_json
from ..spec.formats import cast, from_hex_list, hex_list
from ..spec.methods import SAMPLERS as TRUNCATION_SAMPLERS
from ..spec.methods import record
from .judges import JUDGES, RowStats
from .methods import EES, Options, OutputFault, to_numpy, ees_admissible, get_method
from .outcomes import Status
from .ports import (IMPORT_TIMEOUT_S, Outcome, PortTimeout, SubprocessPort, Alarm, find_batched, same_array, SigintWatch, worker_env,
                    answer_limit, load_callable)
from .runner import DRAWS_JOURNAL_FORMAT, Journal, fingerprint, repro_line
from .truncation import INT_PARAMS, Truncation, port_params

__all__ = [
    "DRAW_FAULTS",
    "Support",
    "support",
    "DrawsPort",
    "InProcessDrawsPort",
    "ExecDrawsPort",
    "open_draws_port",
    "judge_draws",
    "check_draws",
    "DrawsReport",
    "case_seed",
    "draws_repro_line",
    "answer_draws",
    "DRAWS_MEMORY_BUDGET",
    "MAX_DRAWS",
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
#: default draws (steps) per mirostat case: each step replays the state through the reference
MIROSTAT_DRAWS = 400
#: bytes the draws in flight may take: a plan beyond it is a usage error before any port runs
DRAWS_MEMORY_BUDGET = 1 << 30
#: bytes one draw may cost at the peak of a call: a Python int in a list on both sides of the
#: worker's pipe (36 each), its JSON text (up to 16) and the int64 the judge reads (8)
BYTES_PER_DRAW = 96
#: the most draws one case may take under the budget (11 184 810)
MAX_DRAWS = DRAWS_MEMORY_BUDGET // BYTES_PER_DRAW


def case_seed(seed: int, index: int) -> int:
    """The draw seed of case ``index`` of a run with ``seed`` (a 31-bit int, any engine takes it).

    >>> case_seed(0, 0) == case_seed(0, 0), case_seed(0, 0) != case_seed(0, 1)
    (True, True)
    """
    return int(np.random.SeedSequence([int(seed), int(index), 0x64726177]).generate_state(1)[0] & 0x7FFFFFFF)


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
    #: the styles' outcomes (:class:`~ees_theory.harness.styles.MaskOutcome`): whether the set of
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
    """What each careful style keeps on this row (``ees_theory.harness.styles``; empty without torch
    or when the styles refuse the row)."""
    from . import styles

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
    they keep (``ees_theory.harness.styles``): a draw of such a token is never a certain failure.
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
    details: dict = field(default_factory=dict)


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
    details: dict[str, Any] = {"admissible_k": list(s.counts)[:16], "expected_k": s.ref_k, "draws": int(tokens.size),
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
    when careful code keeps it (:func:`ees_theory.harness.styles.produced`): a style's sort may
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
        from .styles import produced

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


# ---- ports --------------------------------------------------------------------------------------
def _port_params(method: str, params: dict[str, float]) -> dict[str, Any]:
    prm = port_params({k: v for k, v in params.items() if k != "u"})
    if method in MIROSTAT and "mu" in prm and isinstance(prm["mu"], float) and math.isnan(prm["mu"]):
        prm["mu"] = None
    return prm


def _tokens(raw: Any, n: int, vocab: int) -> np.ndarray:
    raw = to_numpy(raw)
    if raw is None:
        raise OutputFault("bad-output", f"returned None, expected {n} token ids")
    arr = np.asarray(raw) if isinstance(raw, (list, tuple, np.ndarray)) else None
    if arr is None:
        raise OutputFault("bad-output", f"returned {type(raw).__name__}, expected a sequence of {n} token ids")
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise OutputFault("bad-output", f"returned token ids of dtype {arr.dtype}, expected integers")
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (n,):
        raise OutputFault("bad-output", f"returned {arr.shape} token ids, expected ({n},)")
    bad = np.flatnonzero((arr < 0) | (arr >= vocab))
    if bad.size:
        raise OutputFault("bad-output", f"token id {int(arr[bad[0]])} (draw {int(bad[0])}) is outside 0..{vocab - 1}")
    return arr.astype(np.int64)


class DrawsPort:
    """Base: ``draw(method, rows, params, n, seeds, dtype)`` returns one :class:`Outcome` per row,
    its value the ``n`` token ids."""

    name = "port"
    #: True when the port runs outside this process (its verdict then stands against a hostile port)
    isolated = False

    def draw(self, method: str, rows: list[np.ndarray], params: list[dict], n: int, seeds: list[int], dtype: str = "float64") -> list[Outcome]:
        raise NotImplementedError  # pragma: no cover

    def close(self) -> None:
        """Release the port's resources."""


class InProcessDrawsPort(DrawsPort):
    """A Python draws callable, called in this process (with its batched form when it has one).

    Fast, but not evidence against a hostile port: a port that ends the process, or patches the
    judge it shares the process with, is not caught. :func:`open_draws_port` isolates by default.
    """

    def __init__(self, fn: Callable, name: str, batched: Callable | None = None, timeout: float | None = 60.0):
        self.fn, self.name, self.batched_fn, self.timeout = fn, name, batched, timeout

    def _one(self, method, row, params, n, seed) -> Outcome:
        original = row.copy()
        prm = _port_params(method, params)
        t0 = time.perf_counter()
        watch = SigintWatch()
        try:
            with watch, Alarm(self.timeout):
                raw = self.fn(row, prm.pop("temperature"), n, seed, **prm)
        except PortTimeout:
            return Outcome(fault="timeout", message=f"no answer within {self.timeout:g} s")
        except KeyboardInterrupt as exc:
            if watch.hit or not watch.active:
                raise  # the user interrupted the run
            return Outcome(fault="raised", message=f"the port raised KeyboardInterrupt({exc})")
        except SystemExit as exc:
            return Outcome(fault="crashed", message=f"the port called sys.exit({exc.code!r})")
        except BaseException as exc:  # noqa: BLE001 - any error of the port is a verdict
            return Outcome(fault="raised", message=f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - t0
        if not same_array(row, original):
            return Outcome(fault="mutated-input", message="the port modified its input logits in place", elapsed=elapsed)
        try:
            return Outcome(value=_tokens(raw, n, row.shape[-1]), elapsed=elapsed)
        except OutputFault as exc:
            return Outcome(fault=exc.fault, message=exc.message, elapsed=elapsed)

    def _batch(self, method, rows, params, n, seeds) -> list[Outcome] | None:
        stacked = np.stack(rows)
        original = stacked.copy()
        prms = [_port_params(method, p) for p in params]
        cols = {k: np.array([p[k] for p in prms], dtype=np.int64 if k in INT_PARAMS else np.float64) for k in prms[0]}
        watch = SigintWatch()
        try:
            with watch, Alarm(self.timeout):
                raw = self.batched_fn(stacked, cols.pop("temperature"), n, np.array(seeds, dtype=np.int64), **cols)
            if not same_array(stacked, original):
                return None
            arr = np.asarray(to_numpy(raw))
            if arr.shape != (len(rows), n):
                return None
            return [Outcome(value=_tokens(arr[i], n, stacked.shape[-1])) for i in range(len(rows))]
        except KeyboardInterrupt:
            if watch.hit or not watch.active:
                raise
            return None
        except BaseException:  # noqa: BLE001 - fall back to single rows to attribute the fault
            return None

    def draw(self, method, rows, params, n, seeds, dtype="float64"):
        if self.batched_fn is not None and len(rows) > 1 and len({r.shape for r in rows}) == 1 and method not in MIROSTAT:
            out = self._batch(method, rows, params, n, seeds)
            if out is not None:
                return out
        return [self._one(method, r, p, n, s) for r, p, s in zip(rows, params, seeds)]


class ExecDrawsPort(SubprocessPort, DrawsPort):
    """A program speaking the JSON Lines protocol, asked for draws (``"draws"``, ``"seed"``); the
    isolated worker of a Python draws port is one."""

    def _draw_one(self, method, row, params, n, seed, dtype) -> Outcome:
        prm = {k: v for k, v in params.items() if k != "u" and not (isinstance(v, float) and math.isnan(v))}
        request = {"method": method, "dtype": dtype, "logits": hex_list(row), "params": params_to_json(prm), "draws": int(n), "seed": int(seed)}
        limit = answer_limit(row.shape[-1]) + 24 * int(n)  # room for n ids
        obj, failed, elapsed = self._exchange(request, limit, f"the answer line is longer than any answer of {n} token ids")
        if failed is not None:
            return failed
        if obj.get("mutated"):  # what the isolated worker reports of a Python port
            return Outcome(fault="mutated-input", message="the port modified its input logits in place", elapsed=elapsed)
        if "fault" in obj:
            return Outcome(fault=str(obj["fault"])[:60], message=str(obj.get("message", ""))[:2000], elapsed=elapsed)
        if "tokens" not in obj:
            return Outcome(fault="bad-output", message="a draws answer needs 'tokens' (a list of token ids)")
        toks = obj["tokens"]
        if not isinstance(toks, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in toks):
            return Outcome(fault="bad-output", message="'tokens' must be a list of integer token ids")
        vocab = row.shape[-1]
        # range first, in Python ints: an id past int64 is bad output, not an OverflowError
        bad = next((j for j, i in enumerate(toks) if not 0 <= i < vocab), None)
        if bad is not None:
            return Outcome(fault="bad-output", message=f"token id {str(toks[bad])[:40]} (draw {bad}) is outside 0..{vocab - 1}", elapsed=elapsed)
        try:
            return Outcome(value=_tokens(np.array(toks, dtype=np.int64), n, vocab), elapsed=elapsed)
        except OutputFault as exc:
            return Outcome(fault=exc.fault, message=exc.message)

    def draw(self, method, rows, params, n, seeds, dtype="float64"):
        return [self._draw_one(method, r, p, n, s, dtype) for r, p, s in zip(rows, params, seeds)]


def answer_draws(fn: Callable, request: dict) -> dict:
    """The isolated worker's answer to one draws request (never raises for a fault of the port):
    ``{"id", "tokens"}``, or a ``fault``, ``error`` or ``mutated`` reply as for the mask form.

    >>> answer_draws(lambda z, t, n, seed, **params: [0] * n, {"id": "a", "method": "top-k", "logits": ["0x0p+0", "0x0p+0"],
    ...              "params": {"temperature": 1, "k": 1}, "draws": 3, "seed": 5})
    {'id': 'a', 'tokens': [0, 0, 0]}
    """
    rid = request.get("id")
    try:
        method = request["method"]
        get_method(method)
        row = np.array(cast(from_hex_list(request["logits"]), request.get("dtype", "float64")), copy=True)
        params = params_from_json(request.get("params", {}))
        n, seed = request["draws"], request["seed"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DRAWS or isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"'draws' must be an int in 1..{MAX_DRAWS} and 'seed' an int")
        if method in MIROSTAT:
            params.setdefault("mu", math.nan)  # absent mu: the port's default, as in process
        prm = _port_params(method, params)
        temperature = prm.pop("temperature")
    except (KeyError, ValueError, TypeError) as exc:
        return {"id": rid, "fault": "protocol-error", "message": f"bad request: {exc}"}
    original = row.copy()
    try:
        raw = fn(row, temperature, n, seed, **prm)
    except SystemExit as exc:
        return {"id": rid, "fault": "crashed", "message": f"the port called sys.exit({exc.code!r})"}
    except KeyboardInterrupt as exc:  # the worker has its own session: no terminal sends it SIGINT
        return {"id": rid, "fault": "raised", "message": f"the port raised KeyboardInterrupt({exc})"}
    except Exception as exc:  # noqa: BLE001 - the port's error is the answer
        return {"id": rid, "error": f"{type(exc).__name__}: {exc}"}
    if not same_array(row, original):
        return {"id": rid, "mutated": True}
    try:
        tokens = _tokens(raw, n, row.shape[-1])
    except OutputFault as exc:
        return {"id": rid, "fault": exc.fault, "message": exc.message}
    return {"id": rid, "tokens": tokens.tolist()}


def open_draws_port(spec: str, timeout: float | None = 60.0, isolate: bool = True, import_timeout: float | None = IMPORT_TIMEOUT_S) -> DrawsPort:
    """Open a draws port: ``exec:COMMAND ...`` or ``module:callable`` / ``file.py:callable``, the
    latter in the isolated worker (``isolate=False``: in this process, not evidence against a
    hostile port). ``timeout`` bounds every call, ``import_timeout`` a Python port's import (as
    for a mask port). (``engine:NAME``, a built-in token-level engine, is opened by the command
    line.)

    >>> open_draws_port("ees_theory.harness.draws:case_seed", isolate=False).name
    'ees_theory.harness.draws:case_seed'
    """
    for name, t in (("timeout", timeout), ("import_timeout", import_timeout)):
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {t!r}")
    if spec.startswith("exec:"):
        command = shlex.split(spec[len("exec:"):])
        return ExecDrawsPort(command, spec, timeout)
    if ":" not in spec:
        raise ValueError(f"a Python draws port is 'module:callable' or 'path/file.py:callable', got {spec!r}")
    if isolate:
        # imported in the worker only: its import, its calls and anything it patches stay there
        port = ExecDrawsPort([sys.executable, "-m", "ees_theory.harness.worker", "--handshake", "--draws", spec], spec, timeout,
                             env=worker_env(), handshake=True, import_timeout=import_timeout)
        port._start()
        return port
    fn = load_callable(spec, import_timeout)
    return InProcessDrawsPort(fn, spec, find_batched(fn, spec), timeout)


# ---- a run -----------------------------------------------------------------------------------
def draws_repro_line(port_spec: str, case: Case, dtype: str, options: Options, n: int, seed: int) -> str:
    """A shell line that re-runs exactly this case's draws.

    >>> c = Case("x", "top-k", "hand", np.array([1.0, 0.0]), {"temperature": 1.0, "k": 1.0})
    >>> draws_repro_line("m:f", c, "float32", Options(), 100, 7)[:77]
    'ees-theory check m:f --method top-k --dtype float32 --draws 100 --draw-seed 7'
    """
    return repro_line(port_spec, case, dtype, options, draws=n, seed=seed)


@dataclass
class DrawsReport:
    """The outcome of a draws run: one record per case (``status``: ``pass``, ``admissible``,
    ``fail`` or ``skipped``, the mask report's words), the plan, and the verdict ``ok``: at least
    one case judged and none failed (nothing judged is ``NO VERDICT``, not ``ok``)."""

    port: str
    method: str
    dtype: str
    options: Options
    draws: int
    alpha: float
    plan: dict
    records: list = field(default_factory=list)
    journal: str | None = None
    #: False when the port ran in this process (its verdict is no evidence against a hostile port)
    isolated: bool = True

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.records if r["status"] == Status.FAILED]

    @property
    def ok(self) -> bool:
        """True when at least one case was judged and none failed (the exit status 0)."""
        return self.counts()["cases"] > 0 and not self.failures

    def counts(self) -> dict:
        """Totals in the mask report's words (``cases``: the judged ones), failures split into
        certain and statistical."""
        n = collections.Counter(Status(r["status"]) for r in self.records)
        certain = sum(1 for r in self.failures if r.get("certain"))
        return {"cases": len(self.records) - n[Status.SKIPPED], "passed": n[Status.PASSED], "admissible": n[Status.ADMISSIBLE],
                "failed": n[Status.FAILED], "skipped": n[Status.SKIPPED], "certain": certain, "statistical": n[Status.FAILED] - certain}

    def header(self) -> str:
        pl = self.plan
        lines = [
            f"ees-theory check (draws): port {self.port}, method {self.method}, dtype {self.dtype}, policy {self.options.policy}",
            f"  {len(self.records)} case(s), {self.draws} draws each; family-wise false-alarm rate {self.alpha:g} (Holm over the tested cases)",
            "  " + pl["statement"],
        ]
        if not self.isolated:
            lines.append("  the port ran in this process: a port that exits or patches the judge is not caught (not evidence against a hostile port)")
        return "\n".join(lines)

    def verdict_line(self) -> str:
        """The last line of the report: CONFORMS, DOES NOT CONFORM or NO VERDICT, with the counts."""
        c = self.counts()
        if not self.records:
            return "NO VERDICT: no case was run"
        if c["cases"] == 0:
            return f"NO VERDICT: no case was judged (every case was skipped: {c['skipped']})"
        if self.ok:
            return f"CONFORMS: {c['cases']} cases judged: {c['passed']} passed, {c['admissible']} admissible, 0 failed; {c['skipped']} skipped"
        return (f"DOES NOT CONFORM: {c['failed']} failed ({c['certain']} certain, {c['statistical']} statistical) of {c['cases']} judged: "
                f"{c['passed']} passed, {c['admissible']} admissible; {c['skipped']} skipped")

    def text(self) -> str:
        out = [self.header(), ""]
        for r in self.failures:
            out.append(f"FAIL {r['case']} [{r['fault']}] ({r['family']}, V={r['vocab']}): {r['message']}")
            if r.get("pvalue") is not None and not r.get("certain"):
                out.append(f"     p-value {r['pvalue']:.3g} <= Holm threshold {r.get('threshold', float('nan')):.3g}")
            sh = r.get("shrunk")
            if sh:
                out.append(f"     shrunk to V={sh['vocab']}: {sh['message']}")
            out.append(f"     reproduce: {r['repro'] if not sh else sh['repro']}")
        for r in self.records:
            if r["status"] == Status.SKIPPED:
                out.append(f"skipped {r['case']}: {r['message']}")
        out.append(self.verdict_line())
        if self.journal:
            out.append(f"results: {self.journal}")
        return "\n".join(out)


def plan_statement(method: str, draws: int, alpha: float, cases: int, tv: float, power: float) -> dict:
    """The sample-size plan and its statement for the report header.

    >>> plan_statement("top-p", 1000, 1e-6, 1, 0.02, 0.99)["detectable_tv"] > 0.1
    True
    """
    level = alpha / max(cases, 1)
    if method in MIROSTAT:
        beta = 1 - power
        d = math.sqrt(math.log(2 / level) / (2 * draws)) + math.sqrt(math.log(1 / beta) / (2 * draws))
        return {"level": level, "detectable_ks": d, "statement":
                f"mirostat: KS test of the probability integral transforms; with {draws} steps a KS distance >= {d:.3g} is detected "
                f"with power >= {power:g} at the per-case level {level:.3g} (DKW-Massart)"}
    d = gof.detectable_tv(draws, power, level)
    planned = gof.plan_draws(tv, power, level)
    return {"level": level, "detectable_tv": d, "planned_draws": planned, "statement":
            f"plan: {planned} draws per case detect total variation >= {tv:g} (on <= {gof.MAX_BINS} bins) with power >= {power:g} "
            f"at the per-case level {level:.3g}; with {draws} draws the detectable total variation is {d:.3g}"}


def check_draws_budget(draws: int, planned_from: tuple[float, float, float] | None = None) -> None:
    """Refuse a number of draws per case beyond :data:`MAX_DRAWS` (the memory budget), naming
    the way out; ``planned_from`` is ``(tv, power, level)`` when the number was planned.

    >>> check_draws_budget(MAX_DRAWS)
    >>> check_draws_budget(10 ** 12)
    Traceback (most recent call last):
    ...
    ValueError: 1000000000000 draws per case exceed the memory budget of the draws in flight (1 GiB, 96 bytes a draw: at most 11184810 draws per case); give draws (--draws N) of at most 11184810
    """
    if draws <= MAX_DRAWS:
        return
    budget = (f"the memory budget of the draws in flight ({DRAWS_MEMORY_BUDGET / 2 ** 30:g} GiB, {BYTES_PER_DRAW} bytes a draw: "
              f"at most {MAX_DRAWS} draws per case)")
    if planned_from is None:
        raise ValueError(f"{draws} draws per case exceed {budget}; give draws (--draws N) of at most {MAX_DRAWS}")
    tv, power, level = planned_from
    raise ValueError(f"the plan needs {draws:.3g} draws per case (to detect total variation {tv:g} with power {power:g} at the per-case "
                     f"level {level:.3g}), beyond {budget}; raise tv (--tv) or lower power (--power), or give draws (--draws N) "
                     f"of at most {MAX_DRAWS}")


def _judge_outcome(method: str, row: np.ndarray, params: dict, out: Outcome, dtype: str, options: Options, seed: int) -> DrawVerdict:
    """The case's own verdict from what the port answered (before the family-wise step)."""
    if out.fault:
        return DrawVerdict(Status.FAILED, out.message, out.fault, pvalue=0.0)
    try:
        return judge_draws(method, row, params, out.value, dtype, options, seed)
    except (ValueError, TypeError) as exc:  # the reference refuses the case
        return DrawVerdict(Status.SKIPPED, f"the reference refuses this case: {exc}")


def _answer_of(method: str, out: Outcome) -> dict:
    """What the port answered, compactly, so a resumed run can judge it again: mirostat's tokens
    in order (a sequence), else the count of each token drawn (all the judge reads)."""
    if out.fault:
        return {"fault": out.fault, "message": out.message}
    if method in MIROSTAT:
        return {"tokens": [int(t) for t in out.value]}
    ids, counts = np.unique(out.value, return_counts=True)
    return {"drawn": [[int(i), int(n)] for i, n in zip(ids, counts)]}


def _outcome_of(answer: Any, n: int, vocab: int) -> Outcome:
    """The :class:`Outcome` a recorded answer stands for (``ValueError`` when it cannot be read)."""
    if not isinstance(answer, dict):
        raise ValueError("no recorded answer")
    if "fault" in answer:
        return Outcome(fault=str(answer["fault"]), message=str(answer.get("message", "")))
    if "tokens" in answer:
        tokens = answer["tokens"]
    elif "drawn" in answer:
        pairs = answer["drawn"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and all(type(x) is int for x in p) for p in pairs):
            raise ValueError("'drawn' is not a list of [token, count] pairs")
        tokens = [t for t, c in pairs for _ in range(c)] if sum(max(c, 0) for _, c in pairs) <= n else []
    else:
        raise ValueError("the answer holds neither tokens nor a fault")
    if not isinstance(tokens, list) or not all(type(t) is int and 0 <= t < vocab for t in tokens):
        raise ValueError(f"the recorded tokens are not ids in 0..{vocab - 1}")
    try:
        return Outcome(value=_tokens(np.array(tokens, dtype=np.int64), n, vocab))
    except OutputFault as exc:
        raise ValueError(exc.message) from None


def _case_record(c: Case, v: DrawVerdict, seed: int, draws: int, answer: dict | None) -> dict:
    """A case's journal record: its own verdict (``pass``/``admissible`` carry the p-value that
    the family-wise step reads, and the diagnosis it reports if it rejects the case)."""
    rec = {"case": c.id, "family": c.family, "vocab": c.vocab, "params": params_to_json(c.params), "seed": seed, "draws": draws,
           "certified": v.certified, "details": v.details, "pvalue": None if math.isnan(v.pvalue) else v.pvalue}
    if v.status == Status.FAILED:
        rec.update(status=Status.FAILED, fault=v.fault, message=v.message, certain=True)
    elif v.status == Status.TESTED:
        rec.update(status=Status.ADMISSIBLE if v.admissible else Status.PASSED, fault=None, message=v.admissible,
                   diagnosis={"fault": v.fault, "message": v.message})
    else:
        rec.update(status=Status.SKIPPED, fault=None, message=v.message)
    if answer is not None:
        rec["answer"] = answer
    return rec


def check_draws(
    port: DrawsPort | str,
    method: str,
    dtype: str = "float64",
    *,
    cases: Sequence[Case] | None = None,
    examples: int = 20,
    vectors: bool | str = True,
    draws: int | None = None,
    seed: int = 0,
    draw_seed: int | None = None,
    alpha: float = 1e-6,
    tv: float = 0.02,
    power: float = 0.99,
    options: Options = Options(),
    shrink: bool = True,
    families: Sequence[str] | None = None,
    journal: str | None = None,
    resume: bool = False,
    progress: Callable | None = None,
    skip_case: Callable[[np.ndarray, dict], str | None] | None = None,
    timeout: float | None = 60.0,
    isolate: bool = True,
    import_timeout: float | None = IMPORT_TIMEOUT_S,
) -> DrawsReport:
    """Judge a draws port on ``cases`` (default: the golden vectors and ``examples`` generated
    cases of ``method``): certain failures first, then the statistics, Holm at ``alpha``.

    ``draws=None`` plans the number per case from ``tv`` and ``power`` (mirostat:
    ``MIROSTAT_DRAWS`` steps); a number beyond :data:`MAX_DRAWS` is a ``ValueError`` before the
    port is opened or called. ``draw_seed`` fixes the seed of every case (a reproduction);
    otherwise case ``i`` draws with :func:`case_seed` ``(seed, i)``. ``skip_case(row, params)``
    names the cases a port cannot express (a sampler without ``min_tokens_to_keep``, say): they
    are not drawn and are counted ``skipped`` with that reason. A port named by a string is
    opened by :func:`open_draws_port` with ``timeout``, ``isolate`` and ``import_timeout``.

    ``journal`` records each case as it is judged (the runner's :class:`~.runner.Journal`, format
    ``ees-theory-draws/2``): a case line holds the case's own verdict and its draws (the count of
    each token; mirostat's in order); the family-wise step runs over every case at the end and
    its rejections are in the summary line (``holm``). ``resume=True`` continues the run a
    journal holds (same port, method, dtype, options and plan): every recorded case is judged
    again from its recorded draws, and only the others are drawn.
    """
    from . import plan as plan_cases

    get_method(method)
    if record(method).form not in ("mask", "mask-with-state"):
        raise ValueError(f"the draws judge takes ees or a truncation sampler, not {method!r} (its answer is {record(method).form}, not a kept set)")
    for name, x in (("alpha", alpha), ("power", power)):
        if not (isinstance(x, (int, float)) and 0 < x < 1):
            raise ValueError(f"{name} must lie in (0, 1), got {x!r}")
    if not (isinstance(tv, (int, float)) and 0 < tv <= 1):
        raise ValueError(f"tv must lie in (0, 1], got {tv!r}")
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1):
        raise ValueError(f"draws must be a positive int, got {draws!r}")
    if resume and not journal:
        raise ValueError("resume continues the run recorded in a journal; give journal (--json OUT)")
    if cases is None:
        cases = plan_cases(method, dtype, vectors=vectors, examples=examples, seed=seed, families=families)
    cases = [c for c in cases if dtype in c.dtypes]
    planned_from = None
    if draws is None:
        level = alpha / max(len(cases), 1)
        draws = MIROSTAT_DRAWS if method in MIROSTAT else gof.plan_draws(tv, power, level)
        planned_from = None if method in MIROSTAT else (tv, power, level)
    draws = int(draws)
    check_draws_budget(draws, planned_from)
    pl = plan_statement(method, draws, alpha, len(cases), tv, power)
    spec = port if isinstance(port, str) else port.name
    refused: dict[int, str] = {}
    if method in TRUNCATION_SAMPLERS:  # a case outside the policy's parameter domain is not run (counted as skipped)
        from ..reference.truncation import check_params

        for i, c in enumerate(cases):
            try:
                prm = _port_params(method, {k: v for k, v in c.params.items() if k != "temperature"})
                if "u" in get_method(method).params:
                    prm["u"] = 0.5  # a draws port draws its own uniforms (mirostat's, XTC's gate); any u validates the rest
                check_params(method, options.policy, prm)
            except (ValueError, TypeError) as exc:
                refused[i] = f"outside the {options.policy} policy's domain: {exc}"
    if skip_case is not None:  # cases the port cannot express (counted as skipped, with the reason)
        for i, c in enumerate(cases):
            why = None if i in refused else skip_case(c.row(dtype), c.params)
            if why:
                refused[i] = why
    seeds = [draw_seed if draw_seed is not None else case_seed(seed, i) for i in range(len(cases))]
    index = {c.id: i for i, c in enumerate(cases)}
    if len(index) != len(cases):
        raise ValueError("two planned cases share an id; a draws run names each case once")

    def verdict_of(i: int, out: Outcome | None) -> DrawVerdict:
        if i in refused:
            return DrawVerdict(Status.SKIPPED, refused[i])
        c = cases[i]
        return _judge_outcome(method, c.row(dtype), c.params, out, dtype, options, seeds[i])

    def replay(rec: dict) -> str | None:
        # the recorded verdict must be what the recorded draws are judged now
        i = index[rec["case"]]
        if rec.get("seed") != seeds[i] or rec.get("draws") != draws:
            return f"case {rec['case']!r} is recorded with another seed or number of draws"
        try:
            out = None if i in refused else _outcome_of(rec.get("answer"), draws, cases[i].vocab)
        except ValueError as exc:
            return f"case {rec['case']!r}: its recorded answer cannot be read ({exc})"
        again = _case_record(cases[i], verdict_of(i, out), seeds[i], draws, None)
        for key in ("status", "fault", "pvalue"):
            if rec.get(key) != again.get(key):
                return f"case {rec['case']!r} is recorded with {key} {rec.get(key)!r} but its recorded draws are judged {again.get(key)!r}"
        return None

    log = None
    if journal:
        header = {"format": DRAWS_JOURNAL_FORMAT, "port": spec, "method": method, "dtype": dtype,
                  "options": {"accumulate": options.accumulate, "rule": options.rule, "strict_ties": options.strict_ties,
                              "policy": options.policy, "strict": options.strict},
                  "plan": {"cases": len(cases), "fingerprint": fingerprint(cases), "draws": draws, "alpha": alpha, "seed": seed,
                           "draw_seed": draw_seed, "skipped": sorted(cases[i].id for i in refused)},
                  "draws": draws, "alpha": alpha, "statement": pl["statement"]}
        log = Journal(journal, header, resume, check_line=replay, planned=set(index))
    done = {r["case"]: r for r in (log.records if log else [])}
    p = open_draws_port(port, timeout, isolate, import_timeout) if isinstance(port, str) else port
    report = DrawsReport(spec, method, dtype, options, draws, alpha, pl, journal=str(journal) if journal else None,
                         isolated=p.isolated)
    records: list[dict | None] = [done.get(c.id) for c in cases]
    try:
        # a batched form takes up to 16 rows a call, the draws in flight within the budget; any
        # other port one row a call, so each case is recorded as soon as it is judged
        batch = max(1, min(16, DRAWS_MEMORY_BUDGET // (BYTES_PER_DRAW * draws))) if getattr(p, "batched_fn", None) else 1
        pending = [i for i in range(len(cases)) if records[i] is None]
        if progress:
            progress(len(cases) - len(pending), len(cases))
        for start in range(0, len(pending), batch):
            chunk = pending[start:start + batch]
            drawn = [i for i in chunk if i not in refused]
            rows = [cases[i].row(dtype) for i in drawn]
            outs = dict(zip(drawn, p.draw(method, rows, [cases[i].params for i in drawn], draws, [seeds[i] for i in drawn], dtype)
                            if drawn else []))
            for i in chunk:
                c, out = cases[i], outs.get(i)
                v = verdict_of(i, out)
                rec = _case_record(c, v, seeds[i], draws, None if out is None else _answer_of(method, out))
                if rec["status"] == Status.FAILED:  # a certain failure: reproduce and shrink it now
                    _complete_failure(rec, p, spec, c, dtype, options, shrink, v, None)
                if log:
                    log.append(rec)
                    rec = log.records[-1]
                records[i] = rec
                if progress:
                    progress(len(cases) - len(pending) + start + chunk.index(i) + 1, len(cases))
        # the family-wise step over every case's p-value (recorded and new alike)
        pvalues = [r["pvalue"] if r["status"] in (Status.PASSED, Status.ADMISSIBLE) and r.get("pvalue") is not None else math.nan for r in records]
        rejected = gof.holm(pvalues, alpha)
        tested = sorted((x, i) for i, x in enumerate(pvalues) if not math.isnan(x))
        thresholds = {i: alpha / (len(tested) - r) for r, (_, i) in enumerate(tested)}
        holm = []
        for i, rec in enumerate(records):
            if rejected[i]:
                rec = records[i] = dict(rec)
                diag = rec.get("diagnosis") or {}
                rec.update(status=Status.FAILED, fault=diag.get("fault") or "distribution", message=diag.get("message", ""), certain=False,
                           threshold=thresholds[i])
                _complete_failure(rec, p, spec, cases[i], dtype, options, shrink, None, thresholds[i])
                holm.append({k: rec.get(k) for k in ("case", "pvalue", "threshold", "fault", "message", "repro", "shrunk") if k in rec})
            report.records.append(rec)
    finally:
        if isinstance(port, str):
            p.close()
    if log:
        log.finish({"ok": report.ok, **report.counts(), "holm": holm})
    return report


def _complete_failure(rec: dict, port: DrawsPort, spec: str, c: Case, dtype: str, options: Options, shrink: bool,
                      verdict: DrawVerdict | None, threshold: float | None) -> None:
    """A failing record's reproduction line, logits (small rows) and shrunk case."""
    rec["repro"] = draws_repro_line(spec, c, dtype, options, rec["draws"], rec["seed"])
    if c.vocab <= 4096:
        rec["logits"] = hex_list(c.logits)
    if shrink and rec["fault"] not in ("timeout", "crashed"):
        _attach_shrunk(rec, port, spec, c, dtype, options, rec["draws"], rec["seed"], verdict, threshold)


def _attach_shrunk(rec, port, spec, case, dtype, options, draws, seed, verdict, threshold) -> None:
    """Shrink a failing case: the same fault, and for a statistical one a p-value still at or below
    the threshold it failed at."""
    from .methods import Verdict
    from .shrink import shrink_case

    def judge(candidate: Case) -> Verdict:
        row = candidate.row(dtype)
        out = port.draw(case.method, [row], [candidate.params], draws, [seed], dtype)[0]
        if out.fault:
            return Verdict(Status.FAILED, out.message, out.fault)
        v = judge_draws(case.method, row, candidate.params, out.value, dtype, options, seed)
        failed = v.status == Status.FAILED or (v.status == Status.TESTED and threshold is not None and v.pvalue <= threshold)
        return Verdict(Status.FAILED if failed else Status.PASSED, v.message, v.fault)

    small, sv, _ = shrink_case(None, case, dtype, options, rec["fault"], max_calls=40, max_seconds=20.0, judge=judge)
    if sv is not None and small.vocab < case.vocab or (sv is not None and small.params != case.params):
        rec["shrunk"] = {"vocab": small.vocab, "logits": hex_list(small.logits), "params": params_to_json(small.params),
                         "message": sv.message, "repro": draws_repro_line(spec, small, dtype, options, draws, seed)}

"""What careful float implementations actually compute: a documented, versioned set of styles,
run for real in the dtype under test on the row at hand.

The rigorous bands (:mod:`.bands`, proved in ``proofs/float-error-analysis.md``) bound every value
any careful float evaluation can take; they are the outer limit of a verdict. Real rounding is
much narrower, so an answer inside the rigorous band may still be one that no careful code
produces. The harness grades an answer against both:

* **passed**: the certified answer (a temperature: inside the styles' envelope);
* **admissible**: an answer that one of the styles below produces on this row in this dtype and
  accumulation mode (ties between the values a style ranks by, rounded or underflowed to the
  same number, may be broken either way, as the port's own sort would; for EES also values one
  rounding apart, which another careful rounding ties);
* **suspect**: inside the rigorous band, produced by no style: fails by default (``--bands
  rigorous`` accepts it);
* **failed**: outside the rigorous band and produced by no style.

A *style* is one set of arithmetic choices (:class:`ees_theory.kernels._numerics.Numerics`:
softmax or ``log_softmax`` then ``exp``; dividing by the temperature before or after shifting;
ranking by logits or by computed probabilities; prefix mass from the top or ``1 -`` the mass
from the bottom; a mass or a probability compared with the sampler's parameter (top-p, typical,
epsilon, eta) rounded to the value's dtype (as torch compares a tensor with a Python number) or at
the parameter's own precision; min-p on logits or on probabilities; the library's sums, sequential sums, or
blocked sums of 8, 64 and 512 as GPU tree and fused reductions do) and a compute dtype (the input
dtype, or float32 accumulation). The truncation samplers run the toolkit's own kernel rules under
each style (:func:`ees_theory.kernels.truncation.truncate_mask`), so no sampler rule is written
twice; EES and the temperatures run the core formulas (:mod:`ees_theory.core`) on tensors.

The set is versioned (:data:`STYLES_VERSION`); a verdict records the version it was graded with.

>>> import numpy as np
>>> row = np.array([0.0, -1e-8, -3.0])          # two logits 1e-8 apart: equal float32 probabilities
>>> outs = mask_outcomes("top-k", row, {"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}, "float32", "input", "paper")
>>> any(o.admits({1}) for o in outs)            # a port ranking by computed probabilities may keep id 1
True
>>> any(o.admits({2}) for o in outs)
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Sequence

import numpy as np

from ..core.truncation.registry import SAMPLERS
from ..tolerances import UNIT_ROUNDOFF, compute_dtype_name

__all__ = [
    "STYLES_VERSION",
    "outside_styles",
    "BFLOAT16_RUNNING_SUM",
    "HALF_PRECISION_RECURRENCE",
    "outside_name",
    "outside_draws",
    "typical_score_tie",
    "Style",
    "MaskOutcome",
    "styles_for",
    "mask_outcomes",
    "iter_mask_outcomes",
    "iter_entropies",
    "produced",
    "ees_curve_band",
    "CURVE_TERMS",
    "entropy_envelope",
    "entropy_sensitivity",
    "available",
]

#: the version of the style set and of the envelopes built on it: bump it whenever a style is
#: added, removed or changed, or an envelope's rule changes (2: the EES curve band's half-precision
#: double-rounding term; 3: top-p's and typical's masses, epsilon's and eta's probabilities compared
#: with the parameter at its own precision,
#: typical's scores tied within two units at ln n and its cut recounted along the port's order; 4: float16
#: running sums rounded at every addition, as numpy's float16 cumsum, count as careful, and EES's ln k may be
#: a float64 number dividing H in the compute dtype; 5: typical's scores tied within what another summation
#: tree of H moves them by, typical_score_tie; running sums in order beside the library's normaliser,
#: sums="sequential-scan"; the truncation samplers' ranking values tied within one rounding, as EES's;
#: directed running sums bracketing every sequential one; the mass before a token as the running sum up
#: to the token before, mass="top-shifted"; top-p at p >= 1 evaluated by the styles comparing at p's precision;
#: the logits times the reciprocal temperature rounded to the compute dtype, shift="reciprocal"; top-n-sigma's
#: deviations squared unscaled, variance="plain"; 6: in half-precision input mode every style also
#: with the temperature a Python number, temperature="scalar": torch divides a half-precision tensor
#: by a Python float in float32 and rounds the quotient once, where the tensor styles divide by the
#: temperature rounded to the half dtype, another temperature; and, where a sum is rounded at every
#: addition (float16, float32), that sum also in ranking order, order="ranked", as a loop over sorted candidates,
#: for the masks, EES and the entropies; top-p's and typical's mass before a token in both forms,
#: the running sum less the token's probability and the running sum up to the token before, for every style;
#: 7: typical's and eta's log-probabilities also as the logarithm of the computed probabilities, log_p="log"
#: (typical: the tokens whose probability underflowed tie at the end of its order; eta: the entropy of a loop
#: whose half-precision normaliser came out short reads those probabilities' own logarithms);
#: 8: log-probabilities as ``x - logsumexp(x)`` (probs="logsumexp"): the log-sum-exp rounded at the
#: logits' magnitude moves every log-probability alike, which on a peaked row is most of a small entropy)
STYLES_VERSION = "8"

_BLOCKS = ("blocked:8", "blocked:64", "blocked:512")
#: the envelope of the EES curve: the styles' hull widened by this many hull widths on each side
_WIDEN = 0.5


def available() -> bool:
    """Whether the styles can run (they need torch); without it verdicts use the rigorous band."""
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - torch is part of the test environment
        return False
    return True


@dataclass(frozen=True)
class Style:
    """One careful implementation: arithmetic choices, the compute dtype (``input``: the logits'
    dtype; ``float32``: at least float32) and, for EES and the entropies, the formula's form."""

    numerics: Any
    compute: str = "input"
    form: str = "closed"
    #: the order the row's sums run in: the token ids' (``ids``) or the ranking's (``ranked``: the
    #: row sorted by logit first, as llama.cpp's loops over sorted candidates sum the softmax's
    #: normaliser); only a sum rounded at every addition depends on it
    order: str = "ids"

    @property
    def name(self) -> str:
        return f"{self.form}/{self.compute}/{self.numerics.name}" + ("/ranked" if self.order == "ranked" else "")


def _numerics_module():
    from ..kernels import _numerics

    return _numerics


def _sums(dtype: str, compute: str) -> tuple[str, ...]:
    """The reductions of a compute dtype: blocked scans always, and a running sum rounded at every
    addition except in bfloat16. In float16 that running sum is what numpy's ``cumsum`` of a float16
    array does (and a loop adding tensor scalars): ordinary careful code, though it stops absorbing
    terms below ``2**-12`` of itself. No such library exists for bfloat16 (numpy has no bfloat16;
    torch and GPU kernels carry half-precision sums in float32), and there the running sum stops at
    ``2**-9`` of itself (64 terms of 0.007 after a 3 leave the 3: 45% of the mass lost), so a
    bfloat16 running sum is graded by the rigorous band only."""
    return (() if compute == "input" and dtype == "bfloat16" else ("sequential",)) + _BLOCKS


def styles_for(kind: str, dtype: str, accumulate: str) -> tuple[Style, ...]:
    """The style set for ``kind`` (``mask``, ``ees`` or ``entropy``) in accumulation mode
    ``accumulate``. In ``input`` mode a careful port may still accumulate some sums in float32
    (the library's half-precision reductions do), so both compute dtypes are in the set; in
    ``float32`` mode everything runs in at least float32.

    >>> len(styles_for("mask", "float16", "input")) > len(styles_for("mask", "float16", "float32"))
    True
    >>> len(styles_for("mask", "float32", "input")) == len(styles_for("mask", "float32", "float32"))   # one compute dtype
    True
    """
    N = _numerics_module().Numerics
    half = dtype in ("float16", "bfloat16")
    computes = ("input", "float32") if accumulate == "input" and half else ("float32",) if half else ("input",)
    out: list[Style] = []
    for c in computes:
        seq = ("sequential",) if "sequential" in _sums(dtype, c) else ()
        if kind == "mask":
            variants = [
                N(),
                N(probs="log_softmax", rank="probs"),
                N(shift="before", rank="probs"),
                N(rank="probs"),
                N(mass="bottom"),
                N(mass="bottom", rank="probs", probs="log_softmax"),
                N(threshold="probs", rank="probs"),
                N(threshold="log_probs", probs="log_softmax", shift="before"),
                N(probs="log_softmax_stepwise", rank="probs", mass="bottom"),
            ]
            variants += [N(sums=s_) for s_ in seq]
            # running sums in order beside a library normaliser (numpy: cumsum beside the pairwise sum)
            variants += [N(sums=f"{s_}-scan", rank="probs", probs="log_softmax_stepwise") for s_ in seq]
            # the running mass that reaches p, compared at p's own precision (llama.cpp's loop in
            # double, numpy's cumsum then searchsorted), with the normaliser rounded as the compute dtype's
            variants += [N(mass="top-shifted", param="exact", probs="log_softmax_stepwise", rank="probs"), N(mass="top-shifted", rank="probs")]
            variants += [N(shift="reciprocal", rank="probs", probs="log_softmax_stepwise")]
            # top-n-sigma's deviations squared as they are (half-precision squares underflow)
            variants += [N(variance="plain"), N(variance="plain", sums="blocked:8", shift="before")]
            variants += [N(mass="top-shifted", param="exact", probs="log_softmax_stepwise", rank="probs", sums=f"{s_}-scan") for s_ in seq]
            if seq and dtype != "float64":  # the bracket of every such running sum (see _numerics: sums)
                variants += [N(sums=f"sequential-{d}", rank="probs", mass="top-shifted", param="exact") for d in ("down", "up")]
            variants += [N(sums="blocked:8", rank="probs", mass="bottom"), N(sums="blocked:64", probs="log_softmax", shift="before"), N(sums="blocked:512", threshold="probs")]
            # the mass compared with the parameter at its own precision (run only for the samplers reading it)
            variants += [N(param="exact"), N(param="exact", sums="blocked:8"), N(param="exact", probs="log_softmax_stepwise", shift="before"),
                         N(param="exact", mass="bottom", probs="log_softmax", rank="probs")]
            # typical's score from the logarithm of the computed probabilities (llama.cpp's -logf(p)):
            # the tokens whose probability underflowed tie (run only for the samplers reading it)
            # (and eta's entropy: a C loop takes -p * log(p) of the probabilities its own normaliser gave)
            variants += [N(log_p="log")] + [N(log_p="log", sums=f"{s_}-scan", mass="top-shifted") for s_ in seq]
            variants += [N(log_p="log", sums=s_) for s_ in seq]
            # log-probabilities as x - logsumexp(x), the log-sum-exp rounded at the logits' magnitude
            variants += _logsumexp([N(probs="logsumexp"), N(probs="logsumexp", rank="probs", mass="bottom")], dtype, c)
            out += [Style(nm, c) for nm in _both_temperatures(variants, dtype, c)]
            out += _ranked([st for st in out if st.compute == c])
        elif kind == "ees":
            out += [
                Style(N(rank="probs"), c, "closed"),
                # ln k a Python float (math.log(k)) dividing H in the compute dtype: one rounding of
                # the quotient; in bfloat16 ln 2 then differs from the rounded ln 1/2 in H_2, so a
                # two-token uniform row crosses at 2 (Hbar_2 = 0.996)
                Style(N(), c, "closed-float-ln-k"),
                Style(N(probs="log_softmax", shift="before"), c, "closed"),
                Style(N(), c, "closed"),
                Style(N(), c, "weights"),
                Style(N(probs="log_softmax", shift="before", rank="probs"), c, "weights"),
            ]
            out += [Style(N(sums=s_), c, "closed") for s_ in seq]
            # the prefix sums in order, the softmax's normaliser by the library (numpy's cumsum beside
            # its pairwise sum): on a long flat row a half-precision running sum drifts up or down
            # with each p's rounding, so both ways of forming p
            out += [Style(N(sums=f"{s_}-scan"), c, "closed") for s_ in seq]
            out += [Style(N(sums=f"{s_}-scan", probs="log_softmax_stepwise", rank="probs"), c, "closed") for s_ in seq]
            # the shifted logits times 1/T rounded to the compute dtype (a multiplication instead of
            # a division: in half precision the rounded reciprocal is another temperature)
            out += [Style(N(shift="reciprocal", sums=s_, probs="log_softmax_stepwise", rank="probs"), c, "closed") for s_ in ("torch",) + tuple(f"{q}-scan" for q in seq)]
            if c == "input" and dtype == "float16":  # a float16 running sum: its error follows each p's rounding
                out += [Style(N(sums="sequential", rank="probs", shift="before"), c, "closed"),
                        Style(N(sums="sequential", probs="log_softmax", shift="before", rank="probs"), c, "closed")]
            out += [Style(N(probs="log_softmax_stepwise", rank="probs"), c, "closed")]
            out += [Style(N(sums="blocked:64", rank="probs"), c, "closed"), Style(N(sums="blocked:512"), c, "weights")]
            out += [Style(nm, c, "closed") for nm in _logsumexp([N(probs="logsumexp")], dtype, c)]
            if c == "input" and half:
                ees_styles = [st for st in out if st.compute == c]
                out += [replace(st, numerics=nm) for st, nm in zip(ees_styles, _both_temperatures([st.numerics for st in ees_styles], dtype, c)[len(ees_styles):])]
            out += _ranked([st for st in out if st.compute == c])
        elif kind == "entropy":
            out += [
                Style(N(), c, "closed"),
                Style(N(probs="log_softmax", shift="before"), c, "closed"),
                Style(N(), c, "weights"),
            ]
            out += [Style(N(sums=s_), c, "closed") for s_ in seq]
            out += [Style(N(probs="log_softmax_stepwise"), c, "closed")] + [Style(nm, c, "closed") for nm in _logsumexp([N(probs="logsumexp")], dtype, c)]
            out += [Style(N(sums="blocked:64"), c, "closed"), Style(N(sums="blocked:8", shift="before"), c, "weights")]
            out += _ranked([st for st in out if st.compute == c])
        else:
            raise ValueError(f"no styles of kind {kind!r}")
    return tuple(out)


#: the diagnosis the styles outside the set (:func:`outside_styles`) give an answer they produce
BFLOAT16_RUNNING_SUM = (
    "bfloat16-running-sum",
    "the answer of code whose sums (the softmax's normaliser, prefix masses, an entropy) are rounded to bfloat16 at every "
    "addition, as a loop over a bfloat16 type does: such a sum stops absorbing terms below 2**-9 of itself, so a prefix mass "
    "stalls on a long tail and a normaliser comes out short; accumulate in float32, as every library's bfloat16 reductions do",
)


def outside_styles(kind: str, dtype: str, accumulate: str) -> tuple[Style, ...]:
    """Styles that are *not* careful, run only to name a suspect or failed answer they produce:
    in bfloat16 with the input dtype as compute dtype, sums rounded to bfloat16 at every addition,
    in token-id and in ranking order (a C loop over sorted candidates), with the temperature a
    tensor or a Python number (:data:`BFLOAT16_RUNNING_SUM`). Empty in every other cell.

    >>> len(outside_styles("mask", "bfloat16", "input")), outside_styles("mask", "float16", "input")
    (12, ())
    """
    N = _numerics_module().Numerics
    if accumulate != "input" or dtype not in ("float16", "bfloat16"):
        return ()
    # the paper's incremental update of H_k carried in the half dtype (HALF_PRECISION_RECURRENCE)
    recurrence = [Style(nm, "input", form) for form in RECURRENCE_FORMS
                  for nm in _both_temperatures([N(), N(rank="probs"), N(shift="reciprocal", rank="probs")], dtype, "input")]
    if dtype != "bfloat16":
        return tuple(recurrence) if kind == "ees" else ()
    if kind == "mask":
        # every sum a loop (a C port), or the library's softmax beside a running sum in a loop
        variants = [N(sums="sequential"), N(sums="sequential", rank="probs", mass="top-shifted", param="exact"),
                    N(sums="sequential-scan"), N(sums="sequential-scan", mass="top-shifted", param="exact")]
        out = [Style(nm, "input") for nm in _both_temperatures(variants, dtype, "input")]
    elif kind == "ees":
        variants = [N(sums="sequential"), N(sums="sequential", rank="probs")]
        out = [Style(nm, "input", "closed") for nm in _both_temperatures(variants, dtype, "input")]
        return tuple(out + _ranked(out) + recurrence)
    elif kind == "entropy":
        out = [Style(N(sums="sequential"), "input", "closed")]
    else:
        raise ValueError(f"no styles of kind {kind!r}")
    return tuple(out + _ranked(out))


def outside_name(style: Style) -> tuple[str, str]:
    """The diagnosis ``(fault, why)`` an answer of ``style``, one of :func:`outside_styles`, gets."""
    return HALF_PRECISION_RECURRENCE if style.form in RECURRENCE_FORMS else BFLOAT16_RUNNING_SUM


def outside_draws(row: np.ndarray, tau: float, ranked_kept: Sequence[int], u: float, dtype: str, accumulate: str) -> set[int]:
    """The tokens an inverse-CDF draw at ``u`` over the kept tokens ``ranked_kept`` (most probable
    first) lands on in code outside the careful set whose sums are rounded to bfloat16 at every
    addition (:data:`BFLOAT16_RUNNING_SUM`: mirostat's draw as a C loop over a bfloat16 type);
    empty in every cell without :func:`outside_styles`.

    Each variant rounds every operation to bfloat16: the kept weights (the exact probabilities
    rounded, or a loop softmax ``exp((z - z_max) / T)`` over its running-sum normaliser, with ``T``
    as given or rounded), their total (a running sum, or float32's rounded once), the quotients
    and the running cumulative mass; the draw is the first token whose mass exceeds ``u``. One
    token of mass 0.453 and a flat tail of 40: the exact draw at ``u = 1/2`` is token 4, and the
    bfloat16 loops land two tokens either side:

    >>> row = np.array([0.0] + [-3.5] * 40)
    >>> sorted(outside_draws(row, 1.0, list(range(41)), 0.5, "bfloat16", "input"))
    [2, 4, 6]
    >>> outside_draws(row, 1.0, list(range(41)), 0.5, "float16", "input")
    set()
    """
    if not outside_styles("mask", dtype, accumulate) or not ranked_kept:
        return set()
    import torch

    from ..spec.formats import round_to_dtype

    nm = _numerics_module()

    def rnd(x):
        return round_to_dtype(np.asarray(x, dtype=np.float64).reshape(-1), "bfloat16")

    def running(v):  # the numerics' running sum, one bfloat16 rounding per addition
        with nm.using(nm.Numerics(sums="sequential")):
            return nm.cumsum(torch.tensor(np.asarray(v, dtype=np.float64)).to(torch.bfloat16)).double().numpy()

    z = np.asarray(row, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(z))
    ranked = finite[np.argsort(-z[finite], kind="stable")]
    kept = np.asarray(ranked_kept, dtype=np.int64)
    pos = {int(t): i for i, t in enumerate(ranked)}
    exact = np.exp((z[ranked] - z[ranked[0]]) / tau)
    weights = [rnd(exact / exact.sum())]
    for t in (tau, float(rnd(tau)[0])):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            e = rnd(np.exp(rnd(rnd(z[ranked] - z[ranked[0]]) / t)))
            weights.append(rnd(e / running(e)[-1]))
    found: set[int] = set()
    idx = np.asarray([pos[int(t)] for t in kept if int(t) in pos], dtype=np.int64)
    for w in weights:
        p = w[idx]
        for total in (running(p)[-1], float(rnd(np.float32(p.astype(np.float32).sum()))[0])):
            if not total > 0:
                continue
            cum = running(rnd(p / total))
            hit = np.flatnonzero(cum > u)
            found.add(int(ranked[idx[hit[0] if hit.size else len(idx) - 1]]))
    return found


def _logsumexp(variants: list, dtype: str, compute: str) -> list:
    """``variants`` (log-probabilities as ``x - logsumexp(x)``) where the compute dtype is float32
    or float64; none in half precision with the input dtype as compute dtype. There the
    log-sum-exp, rounded at the logits' magnitude, is off by ``|max| u``: at logits near 20 that
    is 2**-6 in float16 and 2**-3 in bfloat16 on every log-probability, so every probability
    moves by up to 1.6% or 12% alike; careful half-precision code shifts by the maximum first.

    >>> N = _numerics_module().Numerics
    >>> len(_logsumexp([N(probs="logsumexp")], "float32", "input")), len(_logsumexp([N(probs="logsumexp")], "bfloat16", "input"))
    (1, 0)
    """
    if compute == "input" and dtype in ("float16", "bfloat16"):
        return []
    return list(variants)


def _style_set(outside: bool):
    """:func:`outside_styles` (for a diagnosis) or the careful set, :func:`styles_for`."""
    return outside_styles if outside else styles_for


def _both_temperatures(variants: list, dtype: str, compute: str) -> list:
    """``variants``, and in half precision with the input dtype as compute dtype each again with
    the temperature a Python number (``temperature="scalar"``): torch divides a half-precision
    tensor by ``0.7`` in float32 and rounds ``z / 0.7`` once, numpy (and a tensor temperature) by
    ``0.7`` rounded to the half dtype; both are everyday careful code."""
    if compute != "input" or dtype not in ("float16", "bfloat16"):
        return list(variants)
    return list(variants) + [replace(nm, temperature="scalar") for nm in variants]


def _ranked(styles: list) -> list:
    """Copies of the styles whose normaliser is a sum rounded at every addition, with the row's
    sums in ranking order (``order="ranked"``): such a sum depends on its order (in float16 by whole
    tokens of a flat tail), and a
    loop over sorted candidates (llama.cpp's softmax, ported to a half-precision type) adds the
    largest terms first, after which the tail's terms fall below the running sum's rounding."""
    return [replace(st, order="ranked") for st in styles if st.numerics.sums == "sequential"]


def _in_ranking_order(style: Style, z, outcome):
    """``outcome(z)`` for a style in token-id order; for a ``ranked`` style, ``outcome`` of the row
    sorted by logit (ties in id order), its kept set, ranking values and recount mapped back to
    the token ids (the curve and the prefix sums run along the ranking either way)."""
    if style.order != "ranked":
        return outcome(z)
    import torch

    perm = torch.sort(z.double(), descending=True, stable=True)[1]
    o = outcome(z[perm])
    ids = perm.tolist()
    key = np.empty_like(o.key)
    key[np.asarray(ids, dtype=np.int64)] = o.key
    position = {t: j for j, t in enumerate(ids)}
    recount = None if o.recount is None else (lambda orders, _r=o.recount: _r([[position[int(t)] for t in order] for order in orders]))
    return replace(o, kept=frozenset(ids[j] for j in o.kept), key=key, recount=recount)


def _torch_dtypes(dtype: str, compute: str):
    import torch

    src = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    cd = src if (compute == "input" or src == torch.float64) else torch.float32
    return src, cd


@dataclass(frozen=True)
class MaskOutcome:
    """What one style keeps on a row, and the values it ranks tokens by (``-inf``: masked).

    A kept set is *produced* by the style when it has the style's count and is a prefix of the
    style's ranking up to ties of the ranking values (a sort may break those either way).
    """

    style: Style
    kept: frozenset
    key: np.ndarray
    #: EES only: the style's ``f(k)`` for ``k = 2..n`` along its own ranking
    curve: np.ndarray | None = None
    #: EES closed form only: the style's rounded prefix sums ``P_k`` and ``-sum p ln p`` (rows 0
    #: and 1) for ``k = 2..n``, which :func:`ees_curve_band` reads for the double-rounding term
    sums: np.ndarray | None = None
    #: ranking values this close (relative) count as tied. EES: ``2u`` of the compute dtype (one
    #: unit in the last place, or two at the top of a binade): another careful rounding of two
    #: values that close may make them equal, and a port's sort then orders them by position
    tie: float = 0.0
    #: the ranking values are probabilities, which a port may round as their logarithm
    #: (``exp(log_softmax)``): a unit of ``ln p`` is ``|ln p|`` times coarser, so the tie is too
    tie_log: bool = False
    #: ranking values this close (absolute) count as tied: typical's scores ``|-ln p - H|`` are
    #: differences of numbers near ``H``, so their rounding is a few units of ``H``, whatever the score
    tie_abs: float = 0.0
    #: typical only: the style's kept counts when its candidates come in other orders (a list of
    #: token-id lists), for a kept set that near-ties in the scores put first
    recount: Any = field(default=None, compare=False)

    def admits(self, kept: set) -> bool:
        """Whether ``kept`` is this style's answer up to ties of its ranking values (for typical,
        with the cut the style makes when the tied tokens come in the port's order)."""
        if len(kept) != len(self.kept):
            if self.recount is None or not kept or not self.ranks_first(kept):
                return False
            first = sorted(kept, key=lambda i: -self.key[i])
            rest = [int(i) for i in np.argsort(-self.key, kind="stable") if int(i) not in kept and np.isfinite(self.key[i])]
            # the cut reads the mass without and with the last of the kept tokens: any of them
            # tied with the least typical one may come last in the port's order
            lasts = [j for j in first if self.key[j] <= self.key[first[-1]] + self.tie_abs][-8:]
            return len(kept) in self.recount([[i for i in first if i != j] + [j] + rest for j in lasts])
        if kept == self.kept:
            return True
        return self.ranks_first(kept)

    def ranks_first(self, kept: set) -> bool:
        """Whether ``kept`` is the ``len(kept)`` tokens this style ranks first, up to ties of its
        ranking values (whatever count the style itself keeps)."""
        if not kept:
            return False
        ids = np.fromiter(kept, dtype=np.int64, count=len(kept))
        if ids.size and (ids.min() < 0 or ids.max() >= self.key.size):
            return False
        key = self.key
        inside = key[ids]
        if not np.all(np.isfinite(inside)):
            return False
        rest = np.ones(key.size, dtype=bool)
        rest[ids] = False
        outside = key[rest & np.isfinite(key)]
        if outside.size == 0:
            return True
        top = outside.max()
        slack = self.tie * abs(top)
        if self.tie_log and 0 < top < 1:
            slack *= max(1.0, -math.log(top))
        slack += self.tie_abs
        return bool(inside.min() >= top - slack)


def _key_numpy(t) -> np.ndarray:
    return t.detach().to(dtype=__import__("torch").float64).cpu().numpy()


def typical_score_tie(n: int, compute: str) -> float:
    """How far apart two typicality scores ``|-ln p_i - H|`` may be and still come out in either
    order from careful evaluations in the dtype ``compute`` on a row of ``n`` candidates.

    A score moves with the rounding of its ``-ln p_i`` (two units of the compute dtype at
    ``L = max(1, ln n)``, the size of ``-ln p`` near the cut) and with the rounding of ``H``, which
    every score shares but which moves the two sides of ``H`` in opposite directions. ``H`` is a sum
    of ``n`` terms of total at most ``L``: a summation tree of depth ``d`` is off by at most
    ``d u L``, and two evaluations, each a tree of depth at most ``ceil(log2 n)`` (pairwise, blocked
    and GPU tree reductions), differ by twice that; the styles run the sequential sums themselves.
    Two scores on opposite sides of ``H`` then move apart by twice each part:
    ``2 u L (2 + 2 ceil(log2 n))``.

    >>> round(typical_score_tie(64, "float32") / 2.0**-24, 1)   # 2 * 4.16 * (2 + 12) units
    116.4
    >>> typical_score_tie(1, "float16") == 2 * 2.0**-11 * 2
    True
    """
    u = UNIT_ROUNDOFF[compute]
    depth = math.ceil(math.log2(n)) if n > 1 else 0
    return 2.0 * u * max(1.0, math.log(max(n, 1))) * (2 + 2 * depth)


def _truncation_outcome(method: str, z, tau: float, policy: str, params: dict, style: Style, dtype: str) -> MaskOutcome:
    import torch

    from ..kernels.truncation import ranking_key, truncate_mask
    from ..core.truncation.registry import SAMPLERS

    nm = _numerics_module()
    acc = "input" if style.compute == "input" else "float32"
    with nm.using(style.numerics):
        mask = truncate_mask(method, z, tau, policy=policy, accumulate=acc, **params)
        key = ranking_key(z, tau, accumulate=acc, method=method)
    kept = frozenset(int(i) for i in torch.nonzero(mask).reshape(-1).tolist())
    key = _key_numpy(key)
    if SAMPLERS[method].keeps_suffix:  # it keeps the least probable tokens: rank from the bottom
        key = np.where(np.isfinite(key), -key, key)
    _, cd = _torch_dtypes(dtype, style.compute)
    if SAMPLERS[method].ranking != "typical-score":
        # ranking values one rounding apart count as tied, as for EES: another careful rounding of
        # two probabilities that close (of their logarithms, for a port taking exp(log_softmax))
        # may make them equal, and a port's sort then orders them its own way
        return MaskOutcome(style, kept, key, tie=2.0 * UNIT_ROUNDOFF[_dtype_name(cd)], tie_log=style.numerics.rank == "probs")
    # typical: scores count as tied within what another careful evaluation moves them by (the
    # cut is then the style's own along the port's order); see typical_score_tie
    from ..kernels.truncation import typical_counter

    tie_abs = typical_score_tie(int(np.isfinite(key).sum()), _dtype_name(cd))
    counter: list = []  # the style's counter, made at the first recount (most outcomes never need one)

    def recount(orders: list) -> list[int]:
        with nm.using(style.numerics):
            if not counter:
                counter.append(typical_counter(z, tau, policy=policy, accumulate=acc, **params))
            return counter[0](orders)

    return MaskOutcome(style, kept, key, tie_abs=tie_abs, recount=recount)


def _ees_outcome(z, tau: float, rule: str, m: int, style: Style) -> MaskOutcome:
    """EES under one style: the curve from the core formulas (:mod:`ees_theory.core.ees`), the
    prefix sums under the style's numerics, in the style's compute dtype."""
    import torch

    from ..core.ctx import torch_context
    from ..core.ees import count_first, count_last, curve_point, first_candidate

    nm = _numerics_module()
    _, cd = _torch_dtypes(_dtype_name(z.dtype), style.compute)
    ctx = torch_context()
    with nm.using(style.numerics):
        finite = torch.isfinite(z)
        n = int(finite.sum())
        x = nm.scale(z, torch.tensor([tau], dtype=torch.float64), cd)
        p_all = nm.softmax(x)
        key_all = p_all if style.numerics.rank == "probs" else x
        _, idx = torch.sort(key_all, descending=True, stable=True)
        idx = idx[:n]
        xs = x[idx]
        curve = sums = None
        if n < 2:
            k = n
        else:
            lnk64 = torch.log(torch.arange(1, n + 1, dtype=torch.float64))
            lnk64[0] = 1
            lnk = lnk64.to(cd)
            if style.form in RECURRENCE_FORMS:  # outside the set: H_k carried from step to step (a diagnosis)
                k = _recurrence_count(p_all[idx], lnk, style.form, rule, n, m)
                return MaskOutcome(style, frozenset(int(i) for i in idx[:k].tolist()), _key_numpy(key_all), None, None,
                                   tie=2.0 * UNIT_ROUNDOFF[_dtype_name(cd)], tie_log=style.numerics.rank == "probs")
            if style.form == "weights":  # relative weights e = p / p_max, as the kernels' curve
                top = xs.max()
                a = top - xs
                e = torch.exp(-a)
                S = nm.cumsum(e)
                A = nm.cumsum(torch.where(e > 0, e * a, torch.zeros_like(e)))
                C = nm.cumsum(torch.cat([torch.zeros(1, dtype=cd), e[1:]]))
                _, _, f = curve_point(S, A, lnk, S[-1], ctx, C_k=C)
            else:  # closed form on probabilities: H_k = ln P_k + (sum of -p ln p) / P_k
                if style.numerics.probs != "softmax":
                    lp = nm.log_softmax(x)[idx]
                    p = torch.exp(lp)
                else:
                    p = p_all[idx]
                    lp = torch.log(p)
                terms = torch.where(p > 0, -(p * lp), torch.zeros_like(p))
                P = nm.cumsum(p)
                Hs = nm.cumsum(terms)
                H = torch.log(P) + Hs / P
                if style.form == "closed-float-ln-k":
                    f = (H.to(torch.float64) / lnk64).to(cd) - P
                else:
                    f = H / lnk - P
                sums = torch.stack([P, Hs]).to(torch.float64).cpu().numpy()[:, 1:]
            curve = f.to(torch.float64).cpu().numpy()[1:]
            f = f.to(torch.float64).tolist()
            first = first_candidate(m)
            if rule == "last":
                k_last = max((i for i in range(2, n + 1) if not f[i - 1] < 0), default=0)
                k = count_last(k_last, n, m)
            else:
                i_star = next((i for i in range(first, n + 1) if f[i - 1] < 0), None)
                k = count_first(i_star, rule, n)
        kept = frozenset(int(i) for i in idx[:k].tolist())
    return MaskOutcome(style, kept, _key_numpy(key_all), curve, sums, tie=2.0 * UNIT_ROUNDOFF[_dtype_name(cd)], tie_log=style.numerics.rank == "probs")


#: the forms of the paper's incremental update of ``H_k`` (outside the careful set in half precision):
#: the authors' shape, ``H_k = a H_{k-1} + (a ln(P_k / P_{k-1}) - b ln b)`` with ``a = P_{k-1} / P_k``,
#: ``b = p_k / P_k`` over the library's prefix sums, and a loop carrying ``P_k`` too,
#: ``H_k = a (H_{k-1} + log1p(p_k / P_{k-1})) - b ln b``
RECURRENCE_FORMS = ("incremental", "incremental-log1p")

#: the diagnosis an answer of the incremental update in half precision gets
HALF_PRECISION_RECURRENCE = (
    "half-precision-recurrence",
    "the answer of the paper's incremental update of H_k (H_{k+1} = (P_k / P_{k+1}) (H_k + ln(P_{k+1} / P_k)) - q ln q) "
    "carried in the half-precision dtype: H_k is rounded at every step and the errors add up along the row, like a running "
    "sum rounded at every addition (and ln(P_{k+1} / P_k) of a ratio within a unit or two of 1 keeps no correct digit); "
    "compute H_k in closed form, ln P_k + S_k / P_k, from prefix sums accumulated in float32",
)


def _recurrence_count(p, lnk, form: str, rule: str, n: int, m: int) -> int:
    """The kept count of the paper's incremental update over the probabilities ``p`` (ranking
    order, a tensor of the compute dtype), every operation rounded to that dtype; the selection as
    :func:`~ees_theory.core.ees.count_first` / ``count_last`` over ``f(k) = H_k / ln k - P_k``."""
    import torch

    from ..core.ees import count_first, count_last, first_candidate

    H = torch.zeros((), dtype=p.dtype)
    if form == "incremental":  # every step's coefficients at once, over the library's prefix sums
        Ps = _numerics_module().cumsum(p)
        a = Ps[:-1] / Ps[1:]
        b = p[1:] / Ps[1:]
        u = a * torch.log(Ps[1:] / Ps[:-1]) - torch.where(b > 0, b * torch.log(b), torch.zeros_like(b))
    P = p[0]
    f = [0.0]
    for j in range(1, n):
        if form == "incremental":
            H = a[j - 1] * H + u[j - 1]
            P = Ps[j]
        else:
            pj = p[j]
            Pn = P + pj
            if float(pj) > 0:
                q = pj / Pn
                H = (P / Pn) * (H + torch.log1p(pj / P)) - q * torch.log(q)
            P = Pn
        f.append(float(H / lnk[j] - P))
        if rule != "last" and j + 1 >= first_candidate(m) and f[-1] < 0:
            break
    if rule == "last":
        return count_last(max((i for i in range(2, len(f) + 1) if not f[i - 1] < 0), default=0), n, m)
    i_star = next((i for i in range(first_candidate(m), len(f) + 1) if f[i - 1] < 0), None)
    return count_first(i_star, rule, n)


#: the widening terms of the EES curve band (:func:`ees_curve_band`), each of which can be left out
#: for an ablation: half the hull's width, one unit at 1/2 to 1 with the accumulator's ``2k`` unit
#: roundoffs, and the half-precision double rounding
CURVE_TERMS = ("widen", "unit", "double-rounding")


def ees_curve_band(outcomes: Sequence[MaskOutcome], n: int, dtype: str, accumulate: str, terms: Sequence[str] = CURVE_TERMS) -> tuple[np.ndarray, np.ndarray] | None:
    """Where careful implementations put the EES curve: at each ``k = 2..n`` (index ``k - 2``) the
    hull of the styles' ``f(k)``, widened on each side by the largest of half its width, one unit
    in the last place of the compute dtype at 1/2 to 1 (where ``Hbar_k`` and ``P_k`` lie), ``2k``
    unit roundoffs of the accumulator and, in half precision, the double-rounding term
    (:func:`_double_rounding`): reduction orders and block boundaries the set does not enumerate
    land between and around the enumerated ones. Returns ``(can_cross, can_stay)``: whether a
    value below 0, resp. at least 0, lies in the band; ``None`` without curves. ``terms``: the
    widening terms applied (:data:`CURVE_TERMS`, all by default; fewer only to measure what each
    one admits)."""
    curves = [o.curve for o in outcomes if o.curve is not None and o.curve.size == n - 1]
    if n < 2 or not curves:
        return None
    with np.errstate(invalid="ignore"):
        F = np.vstack(curves)
        lo, hi = np.nanmin(F, axis=0), np.nanmax(F, axis=0)
    cd = compute_dtype_name(dtype, accumulate)
    # f = Hbar_k - P_k is a difference of two numbers in [0.5, 1] near a crossing: one unit in the
    # last place there (2 u at 1/2: the unit roundoff u) is the step by which two careful evaluations differ
    # and a running sum of k terms carried in the accumulator (float32 for half precision) differs
    # between summation orders by up to 2k of its unit roundoffs (sorted terms make the error
    # systematic): orders the set does not enumerate
    unknown = set(terms) - set(CURVE_TERMS)
    if unknown:
        raise ValueError(f"unknown curve band term(s) {sorted(unknown)}; choose from {CURVE_TERMS}")
    k = np.arange(2, n + 1, dtype=np.float64)
    w = np.zeros(n - 1)
    if "widen" in terms:
        w = np.maximum(w, _WIDEN * (hi - lo))
    if "unit" in terms:
        w = np.maximum(w, np.maximum(UNIT_ROUNDOFF[cd], 2.0 * k * _accumulator_roundoff(cd)))
    if "double-rounding" in terms and cd in ("float16", "bfloat16"):
        w = np.maximum(w, _double_rounding(outcomes, n, cd))
    # two tokens have one summation order and the styles enumerate the formula's forms: no more
    # spread than theirs (on a two-token uniform row f(2) = 0 wherever ln 2 is rounded alike in H_2
    # and ln k; the float-ln-k style's own value shows where it is not)
    w[0] = _WIDEN * (hi[0] - lo[0]) if "widen" in terms else 0.0
    return lo - w < 0, hi + w >= 0


def _double_rounding(outcomes: Sequence[MaskOutcome], n: int, cd: str) -> np.ndarray:
    """How far ``f(k)`` moves when the prefix sums ``P_k`` and ``S_k = -sum p ln p`` it reads each
    land one unit in the last place of the half-precision compute dtype ``cd`` away from a style's
    (index ``k - 2``; the largest over the closed-form styles; zeros without them).

    A blocked scan that stores its in-block running sums in ``cd`` and adds the block offsets
    (kept in float32) rounds every prefix sum twice; where it does depends on block boundaries no
    style set can enumerate, and the second rounding can land one unit in the last place from the
    first. In half precision that unit is coarse: ``S_k`` lies in ``[2, 8)`` for a few hundred
    candidates, where one bfloat16 unit is 4 to 8 units of ``f`` at 1/2 (``f`` reads it divided by
    ``P_k ln k``). So ``f = (ln P + S / P) / ln k - P`` moves by ``ulp(S_k) / (P_k ln k) + ulp(P_k) (1 + |1 - S_k / P_k| / (P_k ln k))``
    (its partial derivatives). Independent careful bfloat16 ports land up to 3 units beyond the
    styles' hull of ``f`` (the verdict-quality sweep); this term covers them, where one unit in
    the last place did not.

    With ``P = (0.75, 1)``, ``S = (0.5, 1)`` at ``k = 2, 3``: ``1/(0.75 ln 2) + 1 + (1/3)/(0.75 ln 2)``
    units of ``2**-8`` at ``k = 2``, and ``2 (1/ln 3 + 1)`` at ``k = 3`` (``S = P = 1``: the unit is ``2**-7``):

    >>> o = MaskOutcome(None, frozenset(), np.zeros(3), np.zeros(2), np.array([[0.75, 1.0], [0.5, 1.0]]))
    >>> [round(float(d) / 2**-8, 2) for d in _double_rounding([o], 3, "bfloat16")]   # in units of 2**-8
    [3.56, 3.82]
    """
    from .bands import _half_ulp

    out = np.zeros(max(n - 1, 0))
    k = np.arange(2, n + 1, dtype=np.float64)
    lnk = np.log(k)
    for o in outcomes:
        if o.sums is None or o.sums.shape != (2, n - 1):
            continue
        P, S = o.sums
        with np.errstate(divide="ignore", invalid="ignore"):
            d = 2.0 * _half_ulp(S, cd) / (P * lnk) + 2.0 * _half_ulp(P, cd) * (1.0 + np.abs(1.0 - S / P) / (P * lnk))
        out = np.fmax(out, np.where(P > 0, d, 0.0))
    return out


def _dtype_name(t_dtype) -> str:
    return str(t_dtype).replace("torch.", "")


def _row_tensor(row: np.ndarray, dtype: str):
    import torch

    src, _ = _torch_dtypes(dtype, "input")
    return torch.tensor(np.asarray(row, dtype=np.float64)).to(src)


def produced(outcomes: Sequence[MaskOutcome], kept: set) -> tuple[MaskOutcome | None, str]:
    """Whether careful implementations produce ``kept``: ``(outcome, "style")`` when one style
    keeps exactly that set (up to ties of its ranking values); ``(outcome, "between")`` when its
    count lies between the smallest and the largest count the styles keep and it is a top set of
    some style's ranking (a reduction order the set does not enumerate lands between enumerated
    ones: the counts are monotone in the rounding of the deciding sums); ``(None, "")`` otherwise.
    """
    for o in outcomes:
        if o.admits(kept):
            return o, "style"
    if any(o.curve is not None for o in outcomes):  # EES: the curve's band decides (ees_curve_band)
        return None, ""
    counts = [len(o.kept) for o in outcomes]
    if counts and min(counts) <= len(kept) <= max(counts):
        for o in outcomes:
            if o.ranks_first(kept):
                return o, "between"
    return None, ""


def iter_mask_outcomes(method: str, row: np.ndarray, params: dict, dtype: str, accumulate: str, policy: str = "paper", rule: str = "first-exclusive", min_tokens_to_keep: int = 1, outside: bool = False) -> Iterator[MaskOutcome]:
    """What each style keeps for ``method`` on ``row`` (exact values of ``dtype``), one outcome per
    style, lazily (a caller that finds its answer stops early); a style that refuses the row (a
    value it cannot represent, say) is left out. ``outside``: the styles outside the careful set
    instead (:func:`outside_styles`), for a diagnosis."""
    prm = dict(params)
    tau = float(prm.pop("temperature"))
    z = _row_tensor(row, dtype)
    source = _style_set(outside)
    if method not in SAMPLERS:  # EES: the styles' own curves and selection rule
        for style in source("ees", dtype, accumulate):
            try:
                yield _in_ranking_order(style, z, lambda zz, st=style: _ees_outcome(zz, tau, rule, min_tokens_to_keep, st))
            except (ValueError, RuntimeError, OverflowError, ZeroDivisionError):
                continue
        return
    from ..core.records import port_params

    from ..core.truncation.registry import rule as truncation_rule

    prm = port_params(prm)
    reads = truncation_rule(method).numerics_read
    every = list(source("mask", dtype, accumulate))
    if "mass-before" in reads and not outside:  # both forms of the mass before a token, for every style
        known = set(every)
        every += [sh for st in every if st.numerics.mass == "top"
                  for sh in [replace(st, numerics=replace(st.numerics, mass="top-shifted"))] if sh not in known]
    for style in every:
        # the styles that differ from another only where a sampler reads what they change
        # (the choices each sampler's kernel reads are declared in its rule module: NUMERICS_READ)
        if style.numerics.log_p != "log_softmax" and "log-p" not in reads:
            continue
        if style.numerics.sums in ("sequential-down", "sequential-up"):
            if "running-sum" not in reads:
                continue
        elif ((style.numerics.param != "tensor" and "param" not in reads) or (style.numerics.mass == "top-shifted" and "mass-before" not in reads)
              or (style.numerics.variance != "scaled" and "variance" not in reads)):
            continue
        try:
            yield _in_ranking_order(style, z, lambda zz, st=style: _truncation_outcome(method, zz, tau, policy, prm, st, dtype))
        except (ValueError, RuntimeError, OverflowError, ZeroDivisionError):
            continue


def mask_outcomes(method: str, row: np.ndarray, params: dict, dtype: str, accumulate: str, policy: str = "paper", rule: str = "first-exclusive", min_tokens_to_keep: int = 1) -> list[MaskOutcome]:
    """Every style's outcome (:func:`iter_mask_outcomes`), as a list."""
    return list(iter_mask_outcomes(method, row, params, dtype, accumulate, policy, rule, min_tokens_to_keep))


# ---- temperatures -------------------------------------------------------------------------------


def _entropy(z, style: Style) -> float:
    """The row entropy (nats) under one style, in its compute dtype, as a float."""
    import torch

    nm = _numerics_module()
    _, cd = _torch_dtypes(_dtype_name(z.dtype), style.compute)
    with nm.using(style.numerics):
        finite = torch.isfinite(z)
        x = z.to(cd)
        if style.numerics.shift == "before":
            x = x - x[finite].max()
        x = x.masked_fill(~finite, -math.inf)
        if int(finite.sum()) <= 1:
            return 0.0
        if style.form == "weights":  # log1p(C) + A / (1 + C) over relative weights, as the kernels
            top = x.max()
            a = torch.where(finite, top - x, torch.zeros_like(x))
            e = torch.exp(-a).masked_fill(~finite, 0)
            arg = int(torch.argmax(x))
            e_rest = e.clone()
            e_rest[arg] = 0
            C = nm.total(e_rest)[0]
            A = nm.total(torch.where(e > 0, e * a, torch.zeros_like(e)))[0]
            H = torch.log1p(C) + A / (1 + C)
        else:
            if style.numerics.probs != "softmax":
                lp = nm.log_softmax(x)
                p = torch.exp(lp)
            else:
                p = nm.softmax(x)
                lp = torch.log(p)
            terms = torch.where(p > 0, -(p * lp), torch.zeros_like(p))
            H = nm.total(terms)[0]
        return float(H)


def iter_entropies(row: np.ndarray, dtype: str, accumulate: str, outside: bool = False) -> Iterator[tuple[Style, float]]:
    """The row entropy (nats) as each style computes it, one style at a time (EDT and dynatemp read
    the row only through it: their formulas are then judged with the rigorous per-operation
    rounding of :mod:`.bands`, fed with :func:`entropy_envelope`). ``outside``: the styles outside
    the careful set instead (:func:`outside_styles`), for a diagnosis."""
    import torch

    z = _row_tensor(row, dtype)
    for style in _style_set(outside)("entropy", dtype, accumulate):
        try:
            H = _entropy(z[torch.sort(z.double(), descending=True, stable=True)[1]] if style.order == "ranked" else z, style)
        except (ValueError, RuntimeError, OverflowError, ZeroDivisionError):
            continue
        if math.isfinite(H):
            yield style, H


def _ulp(x: float, dtype: str) -> float:
    if x == 0 or not math.isfinite(x):
        return 0.0
    _, e = math.frexp(abs(x))
    return math.ldexp(2.0 * UNIT_ROUNDOFF[dtype], e - 1)  # one unit in the last place of |x|


def _accumulator_roundoff(cd: str) -> float:
    """The unit roundoff of the sums careful code carries: float64's for float64, float32's
    otherwise (half-precision sums are carried in float32)."""
    return UNIT_ROUNDOFF["float64" if cd == "float64" else "float32"]


def entropy_sensitivity(row: np.ndarray) -> float:
    """``sum p_i |1 + ln p_i|`` over the row's candidates (float64): how much ``-sum p ln p``
    moves, relative to ``u``, when every ``p_i`` is rounded with relative error ``u``.

    >>> round(entropy_sensitivity(np.zeros(2)), 6)     # |1 - ln 2|
    0.306853
    """
    z = np.asarray(row, dtype=np.float64)
    z = z[np.isfinite(z)]
    if z.size <= 1:
        return 0.0
    e = np.exp(z - z.max())
    p = e / e.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.abs(1.0 + np.log(np.where(p > 0, p, 1.0))), 0.0)
    return float(t.sum())


def entropy_envelope(values: Sequence[float], dtype: str, accumulate: str, n: int = 1, sensitivity: float | None = None) -> tuple[float, float] | None:
    """Where careful implementations put the row entropy of ``n`` candidates: the hull of
    ``values`` (the styles' entropies and the exact one) widened on each side by half its width,
    by two units in the last place of the compute dtype, by eight unit roundoffs ``u`` of the
    compute dtype times ``sensitivity`` (:func:`entropy_sensitivity`; ``1 + H`` bounds it: rounding
    every ``p`` moves ``-sum p ln p`` by about ``u sum p |1 + ln p|``),
    and by ``2 n`` unit roundoffs of the accumulator times ``H`` (a running sum's error over
    summation orders the set does not enumerate: sorted terms make it systematic, so it grows
    like ``n``, not ``sqrt(n)``), whichever is largest. ``None`` for no values.

    >>> lo, hi = entropy_envelope([0.5, 0.5], "float32", "input")
    >>> lo < 0.5 < hi, hi - 0.5 < 1e-6
    (True, True)
    """
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    cd = compute_dtype_name(dtype, accumulate)
    scale = max(abs(lo), abs(hi))
    u = UNIT_ROUNDOFF[cd]
    # the terms -p ln p move by about u (1 + H) in all when each p is rounded (p near 1 included,
    # where ln p cancels, and the normaliser moves every p at once): eight of those; and a running sum's spread over summation orders
    B = (1.0 + scale) if sensitivity is None else sensitivity
    w = max(0.5 * (hi - lo), 2 * _ulp(scale, cd), 8.0 * u * B, 2.0 * max(n, 1) * _accumulator_roundoff(cd) * scale)
    return max(lo - w, 0.0), hi + w

"""Named, seeded, parametrised families of logit rows: the edge distributions samplers meet.

Every family draws one row of float64 logits (``-inf`` = masked, at least one finite entry) from a
``numpy.random.Generator``; the same generator state gives the same row. Families are the raw
material of the property tests, the claim searches (:mod:`ees_theory.ledger.claims`) and the stress runs.

================== ==========================================================================
family             shape of the row
================== ==========================================================================
``normal``         i.i.d. normal logits (a dense, generic row)
``peaked``         one logit far above the rest: near one-hot
``uniform``        all logits equal (exactly uniform)
``near_uniform``   equal logits with a tiny jitter
``bimodal``        two clusters of logits
``zipf``           ``p_i`` proportional to ``rank**-exponent``, ids shuffled
``head_tail``      a few dominant tokens over a long, nearly flat tail
``tied_top``       an exact tie among the top ``ties`` tokens
``tied_boundary``  an exact tie that straddles the EES decision boundary (float64 estimate)
``near_tie``       adjacent sorted logits exactly 1 ulp apart
``masked``         a normal row with a share of ``-inf`` (masked) entries
``wide_range``     logits spanning more than the exp-underflow range of ``underflow_dtype``
``fp16_subnormal`` a head whose tail probabilities fall in float16's subnormal range
================== ==========================================================================

Common parameters: ``vocab`` from 2 to 262,144 (:data:`MAX_VOCAB`); ``dtype`` (``"float64"``
default, or ``"float32"``, ``"float16"``, ``"bfloat16"``) rounds every logit to that format, so the
row is exactly representable there (it is still returned as float64). ``shuffle`` (default True)
permutes token ids, so that the canonical sorted order is not the id order.

>>> import numpy as np
>>> z = sample("peaked", np.random.default_rng(0), 5, gap=20.0)
>>> z.shape, z.dtype, int(np.argmax(z)) in range(5)
((5,), dtype('float64'), True)
>>> sample("uniform", np.random.default_rng(0), 4).tolist()
[0.0, 0.0, 0.0, 0.0]
>>> FAMILIES["zipf"]
Family('zipf', exponent=1.1, dtype='float64', shuffle=True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core.ees import count_first
from ..spec.formats import DTYPES, check_dtype, round_to_dtype
from ..spec.inputs import sorted_order

__all__ = [
    "FAMILY_NAMES",
    "FAMILIES",
    "Family",
    "MAX_VOCAB",
    "DTYPES",
    "UNDERFLOW_LOG",
    "sample",
    "describe",
    "round_to_dtype",
    "float_kstar",
]

#: Largest vocabulary a family draws (a vocabulary of :math:`2^{18}` tokens covers every current LLM tokenizer).
MAX_VOCAB = 262_144
#: ``ln`` of the smallest positive subnormal of each format: ``exp(x)`` underflows to 0 below it.
UNDERFLOW_LOG = {
    "float64": math.log(2.0**-1074),
    "float32": math.log(2.0**-149),
    "float16": math.log(2.0**-24),
    "bfloat16": math.log(2.0**-133),
}


def float_kstar(logits: np.ndarray, temperature: float = 1.0) -> int:
    """A float64 *estimate* of the EES ``k*`` (default rule), used only to place ties in a family.

    It evaluates the reference's float64 curve enclosure at its midpoints: good enough to aim a
    tie at the boundary, never a certificate (use :func:`ees_theory.reference.ees` for that).

    Parameters
    ----------
    logits : numpy.ndarray
        One row of logits (``-inf`` = masked).
    temperature : float
        The EES temperature (default 1).

    Returns
    -------
    int
        The estimated kept count, from 1 to the number of finite logits.

    Examples
    --------
    >>> float_kstar(np.array([2.0, 1.0, 0.0]))
    1
    """
    from ..reference import curve_enclosure
    from ..reference.rows import as_row

    row = as_row(logits)
    if row.n == 1:
        return 1
    f = curve_enclosure(row, temperature).f_mid[1:]
    neg = np.flatnonzero(f < 0)  # f[j] is f(j + 2)
    return int(count_first(int(neg[0]) + 2 if len(neg) else None, "first-exclusive", row.n))


# ---- samplers: each takes (rng, vocab, **params) and returns float64 logits in sorted-free order --


def _normal(rng, vocab, scale=2.0):
    return rng.normal(0.0, scale, vocab)


def _peaked(rng, vocab, gap=None, scale=1.0):
    gap = rng.uniform(6.0, 25.0) if gap is None else float(gap)
    z = rng.normal(0.0, scale, vocab)
    z[0] = z.max() + gap
    return z


def _uniform(rng, vocab, level=0.0):
    return np.full(vocab, float(level))


def _near_uniform(rng, vocab, jitter=1e-6):
    return rng.uniform(-jitter, jitter, vocab)


def _bimodal(rng, vocab, separation=None, spread=0.3, share=None):
    separation = rng.uniform(1.0, 8.0) if separation is None else float(separation)
    share = rng.uniform(0.05, 0.5) if share is None else float(share)
    upper = max(1, min(vocab - 1, int(round(share * vocab)))) if vocab > 1 else 1
    z = rng.normal(0.0, spread, vocab)
    z[:upper] += separation
    return z


def _zipf(rng, vocab, exponent=1.1):
    return -float(exponent) * np.log(np.arange(1, vocab + 1, dtype=np.float64))


def _head_tail(rng, vocab, heads=None, gap=None, head_spread=None, tail_jitter=None, drop=None):
    """Heads at 0 (spread ``head_spread``), a flat tail ``gap`` below (jitter ``tail_jitter``),
    and the last tail token ``drop`` further down (the shape that breaks EES-UNIQUE)."""
    heads = int(rng.integers(1, 4)) if heads is None else int(heads)
    heads = max(1, min(heads, vocab - 1)) if vocab > 1 else 1
    gap = rng.uniform(0.5, 12.0) if gap is None else float(gap)
    head_spread = rng.uniform(0.0, 2.0) if head_spread is None else float(head_spread)
    tail_jitter = 10.0 ** rng.uniform(-4, -0.5) if tail_jitter is None else float(tail_jitter)
    drop = rng.exponential(1.0) if drop is None else float(drop)
    z = np.empty(vocab)
    z[:heads] = -np.abs(rng.normal(0.0, head_spread, heads)) if head_spread > 0 else 0.0
    z[0] = 0.0
    z[heads:] = -gap + rng.uniform(-tail_jitter, tail_jitter, vocab - heads)
    if vocab - heads >= 2:
        z[-1] -= drop
    return z


def _tied_top(rng, vocab, ties=None, gap=None, scale=1.0):
    if ties is None:  # leave at least one untied token when the vocabulary allows it
        ties = int(rng.integers(2, max(3, min(vocab - 1, 8) + 1)))
    ties = max(1, min(int(ties), vocab))
    gap = rng.uniform(0.0, 4.0) if gap is None else float(gap)
    z = -gap - np.abs(rng.normal(0.0, scale, vocab))
    z[:ties] = 0.0
    return z


def _tied_boundary(rng, vocab, base="normal", attempts=8):
    """Tie the last kept token with the first dropped one (by the float64 estimate of ``k*``)
    until the boundary falls strictly inside a block of equal logits; a row that the tying turns
    uniform is redrawn."""
    z = FAMILIES[base].draw(rng, vocab, shuffle=False)
    for _ in range(attempts):
        trial = z.copy()
        for _ in range(attempts):
            order = sorted_order(trial)
            k = float_kstar(trial)
            n = int(np.isfinite(trial).sum())
            if k >= n:
                break
            last_kept, first_dropped = order[k - 1], order[k]
            if trial[last_kept] == trial[first_dropped]:
                return trial
            trial[first_dropped] = trial[last_kept]
        z = FAMILIES[base].draw(rng, vocab, shuffle=False)
    return z


def _near_tie(rng, vocab, pairs=None, scale=2.0):
    """Pairs of sorted-adjacent logits 1 ulp apart (the smallest possible non-tie)."""
    z = np.sort(rng.normal(0.0, scale, vocab))[::-1].copy()
    pairs = max(1, vocab // 4) if pairs is None else int(pairs)
    starts = rng.choice(np.arange(0, max(vocab - 1, 1), 2), size=min(pairs, max(1, vocab // 2)), replace=False) if vocab > 1 else []
    for i in starts:
        if i + 1 < vocab:
            z[i + 1] = np.nextafter(z[i], -np.inf)
    return z


def _masked(rng, vocab, share=None, scale=2.0):
    share = rng.uniform(0.1, 0.9) if share is None else float(share)
    z = rng.normal(0.0, scale, vocab)
    masked = rng.random(vocab) < share
    masked[int(rng.integers(vocab))] = False  # always keep a finite entry
    z[masked] = -np.inf
    return z


def _wide_range(rng, vocab, underflow_dtype="float32", factor=1.5):
    if underflow_dtype not in UNDERFLOW_LOG:
        raise ValueError(f"underflow_dtype must be one of {', '.join(UNDERFLOW_LOG)}; got {underflow_dtype!r}")
    span = float(factor) * abs(UNDERFLOW_LOG[underflow_dtype])
    z = -rng.uniform(0.0, span, vocab)
    z[0] = 0.0
    z[-1] = -span if vocab > 1 else 0.0
    return z


def _fp16_subnormal(rng, vocab, heads=1):
    """Tail logits in ``[ln 2**-24, ln 2**-14]`` below the head: fp16 subnormal probabilities."""
    heads = max(1, min(int(heads), vocab))
    z = rng.uniform(UNDERFLOW_LOG["float16"] + 0.05, math.log(2.0**-14), vocab)
    z[:heads] = 0.0
    return z


@dataclass(frozen=True)
class Family:
    """A named family: ``draw(rng, vocab, **params)`` gives one row; ``defaults`` are the fixed
    parameters (others are drawn from ``rng`` when not given).

    Parameters
    ----------
    name : str
        The family's name, a key of ``FAMILIES``.
    doc : str
        What a row looks like, in one line (:func:`describe` shows it).
    sampler : callable
        ``sampler(rng, vocab, **params)`` returns ``vocab`` float64 logits, sorted or not
        (``-inf`` for a masked token).
    defaults : dict
        Parameters fixed for this family (default empty); the others are drawn from ``rng``.
    ties : bool
        Whether the family produces exact ties on purpose (default ``False``).
    """

    name: str
    doc: str
    sampler: Callable[..., np.ndarray] = field(repr=False)
    defaults: dict = field(default_factory=dict)
    ties: bool = False  # whether the family produces exact ties on purpose

    def __repr__(self) -> str:
        params = dict(self.defaults, dtype="float64", shuffle=True)
        inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"Family({self.name!r}, {inner})"

    def draw(self, rng: np.random.Generator, vocab: int, dtype: str = "float64", shuffle: bool = True, **params: Any) -> np.ndarray:
        """One row of float64 logits of this family (what :func:`sample` calls).

        Parameters
        ----------
        rng : numpy.random.Generator
            The generator the row is drawn from; the same state gives the same row.
        vocab : int
            The row's length, 1 to :data:`MAX_VOCAB`.
        dtype : str
            ``"float64"`` (default), ``"float32"``, ``"float16"`` or ``"bfloat16"``: every logit is
            rounded to that format.
        shuffle : bool
            Permute the token ids (default); False keeps the family's own, mostly sorted, order.
        **params
            The family's own parameters, overriding its defaults.

        Returns
        -------
        numpy.ndarray
            Shape ``(vocab,)``, dtype float64, at least one finite entry.

        Examples
        --------
        >>> FAMILIES["uniform"].draw(np.random.default_rng(0), 3).tolist()
        [0.0, 0.0, 0.0]
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if isinstance(vocab, bool) or not isinstance(vocab, (int, np.integer)):
            raise TypeError(f"vocab must be an int, got {type(vocab).__name__}")
        if not 1 <= vocab <= MAX_VOCAB:
            raise ValueError(f"vocab must lie in 1..{MAX_VOCAB}, got {vocab}")
        check_dtype(dtype)
        kwargs = dict(self.defaults, **params)
        try:
            z = np.asarray(self.sampler(rng, int(vocab), **kwargs), dtype=np.float64)
        except TypeError as exc:
            raise TypeError(f"family {self.name!r}: {exc}") from None
        if shuffle and vocab > 1:
            z = z[rng.permutation(vocab)]
        z = round_to_dtype(z, dtype)
        if not np.isfinite(z).any():  # cannot happen by construction; a clear error if it ever does
            raise ValueError(f"family {self.name!r} drew a row with no finite logit")
        return z


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("normal", "i.i.d. normal logits (scale 2): a dense, generic row", _normal, {}),
        Family("peaked", "one logit `gap` (6..25) above the rest: near one-hot", _peaked, {}),
        Family("uniform", "all logits equal: exactly uniform", _uniform, {}, ties=True),
        Family("near_uniform", "equal logits jittered by at most `jitter` (1e-6)", _near_uniform, {}),
        Family("bimodal", "two clusters `separation` apart, the upper one a `share` of the vocabulary", _bimodal, {}),
        Family("zipf", "p_i proportional to rank**-exponent", _zipf, {"exponent": 1.1}),
        Family("head_tail", "1-3 dominant tokens over a long nearly flat tail `gap` below, last tail token lower", _head_tail, {}),
        Family("tied_top", "an exact tie among the top `ties` tokens", _tied_top, {}, ties=True),
        Family("tied_boundary", "an exact tie straddling the EES boundary (float64 estimate of k*)", _tied_boundary, {}, ties=True),
        Family("near_tie", "pairs of sorted-adjacent logits exactly 1 ulp apart", _near_tie, {}),
        Family("masked", "a normal row with a `share` of -inf (masked) entries", _masked, {}),
        Family("wide_range", "logits spanning `factor` x the exp-underflow range of `underflow_dtype`", _wide_range, {"underflow_dtype": "float32"}),
        Family("fp16_subnormal", "a head over a tail whose probabilities are float16 subnormals", _fp16_subnormal, {}),
    )
}

#: The family names, in a fixed order.
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def _family(name: str) -> Family:
    if not isinstance(name, str):
        raise TypeError(f"family must be a name (str), got {type(name).__name__}")
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; expected one of {', '.join(FAMILY_NAMES)}") from None


def sample(family: str, rng: np.random.Generator, vocab: int, **params: Any) -> np.ndarray:
    """One row of float64 logits from ``family`` (``-inf`` = masked; at least one finite entry).

    Parameters
    ----------
    family : str
        A name of :data:`FAMILY_NAMES` (``"peaked"``, ``"tied_boundary"``, ...).
    rng : numpy.random.Generator
        The generator the row is drawn from; the same state gives the same row.
    vocab : int
        The row's length, 1 to :data:`MAX_VOCAB`.
    **params
        The family's own parameters (``gap``, ``ties``, ``exponent``, ...; drawn from ``rng``
        when not given), and ``dtype`` (round every logit to ``"float32"``, ``"float16"`` or
        ``"bfloat16"``; default ``"float64"``) and ``shuffle`` (default True; False keeps the
        family's own, mostly sorted, id order).

    Returns
    -------
    numpy.ndarray
        Shape ``(vocab,)``, dtype float64, exactly representable in ``dtype``.

    Raises
    ------
    ValueError
        An unknown family, a vocabulary out of range or an unknown dtype.
    TypeError
        ``rng`` is not a generator, ``vocab`` not an int, or a parameter the family does not take.

    Examples
    --------
    >>> import numpy as np
    >>> z = sample("tied_top", np.random.default_rng(1), 6, ties=3, shuffle=False)
    >>> z[:3].tolist(), bool(np.all(z[3:] < 0))
    ([0.0, 0.0, 0.0], True)
    >>> sample("zipf", np.random.default_rng(0), 3, exponent=1.0, shuffle=False).round(4).tolist()
    [0.0, -0.6931, -1.0986]
    >>> sample("nope", np.random.default_rng(0), 3)
    Traceback (most recent call last):
    ...
    ValueError: unknown family 'nope'; expected one of normal, peaked, ...
    """
    return _family(family).draw(rng, vocab, **params)


def describe(family: str) -> str:
    """A one-line description of ``family``: its name, a colon, and what a row looks like.

    Parameters
    ----------
    family : str
        A name of :data:`FAMILY_NAMES`; another name raises ``ValueError``.

    Returns
    -------
    str
        ``"<name>: <what a row looks like>"``, the family's parameters in backticks.

    Examples
    --------
    >>> describe("peaked")
    'peaked: one logit `gap` (6..25) above the rest: near one-hot'
    """
    f = _family(family)
    return f"{f.name}: {f.doc}"

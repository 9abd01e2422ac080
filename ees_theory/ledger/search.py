"""The ledger's search and spot-check helpers, shared by the claim groups.

Structured families, a hill climb on a float score, certification of the first hit; spot checks
of proved claims on family rows; the re-certification of a stored counterexample.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from ..families import distributions as dist
from .registry import CheckContext, Counterexample


# ---- the search: structured families, temperature sweeps, a hill climb on the gap ------------

_SEARCH_FAMILIES = ("head_tail", "tied_top", "peaked", "bimodal", "zipf", "normal", "near_tie")


def _hill_climb(score: Callable[[np.ndarray], float], z: np.ndarray, rng: np.random.Generator, steps: int) -> tuple[np.ndarray, float]:
    """Targeted search: random coordinate perturbations of the logits that never lower the score."""
    best = score(z)
    step = 0.3
    for _ in range(steps):
        trial = z + rng.normal(0.0, step, z.shape) * (rng.random(z.shape) < 0.5)
        s = score(trial)
        if s >= best:
            z, best = trial, s
        else:
            step = max(step * 0.997, 1e-5)
    return z, best


def _serial_map(fn: Callable, calls: Iterable[tuple]) -> Iterator:
    """``fn(*args)`` for each ``args`` of ``calls``, here and lazily: the pieces of :func:`search_counterexample`
    without a cluster (with one, ``CheckContext.run`` is :func:`ees_theory.running.cluster.map_from_task`)."""
    return (fn(*args) for args in calls)


def _pool(score: Callable[[np.ndarray], float], base: int, n: int, draws: int, climbs: int) -> list:
    """The ``climbs`` best-scoring of ``draws`` rows of ``n`` candidates from the structured
    families, best first; the seed is ``(base, n)``, so each size is drawn alike wherever it runs."""
    rng = np.random.default_rng([base, n])
    pool = []
    for i in range(draws):
        fam = _SEARCH_FAMILIES[i % len(_SEARCH_FAMILIES)]
        z = dist.sample(fam, rng, n, shuffle=False)
        z = np.sort(z[np.isfinite(z)])[::-1]
        if len(z) < n:
            continue
        z = z - z[0]
        pool.append((score(z), z))
    pool.sort(key=lambda t: -t[0])
    return pool[:climbs]


def _climb(score: Callable, certify: Callable, base: int, n: int, c: int, s: float, z: np.ndarray, steps: int) -> Counterexample | None:
    """Climb ``c`` of size ``n`` (seed ``(base, n, c)``): hill-climb a row that does not yet look
    like a counterexample, certify one that does; the certified counterexample, or None."""
    if s <= 0:
        z, s = _hill_climb(score, z, np.random.default_rng([base, n, c]), steps)
    if s > 0:
        cex = certify(z)
        if cex is not None and cex.certified:
            return cex
    return None


def search_counterexample(score: Callable[[np.ndarray], float], certify: Callable[[np.ndarray], Counterexample | None], ctx: CheckContext,
            vocabs: Iterable[int], draws: int, climbs: int, steps: int):
    """Smallest vocabulary first: draw rows from the structured families, hill-climb the best few
    on ``score`` (> 0 means "looks like a counterexample" in float64), certify the first hit.

    Each size's draws and each climb have their own seed, derived from one draw of ``ctx.rng``:
    they are independent pieces, run by ``ctx.run`` (here one after another; on a cluster side
    by side, later ones ahead of need), and the first certified hit in this order is the answer
    either way, with the climbs counted up to it.

    Parameters
    ----------
    score : callable
        ``score(z) -> float`` on a float64 row; ``> 0`` means it looks like a counterexample.
    certify : callable
        ``certify(z) -> Counterexample or None``: the certified counterexample on ``z``, if any.
    ctx : CheckContext
        The claim's context: its generator seeds the search and its ``run`` runs the pieces.
    vocabs : iterable of int
        Row sizes to search, smallest first.
    draws : int
        Rows drawn per size.
    climbs : int
        How many of the best-scoring rows of each size are hill-climbed.
    steps : int
        Steps per climb.

    Returns
    -------
    tuple
        ``(counterexample or None, climbs tried)``.
    """
    run = ctx.run or _serial_map
    base = int(ctx.rng.integers(2**63))
    vocabs = list(vocabs)
    pools = run(_pool, ((score, base, n, draws, climbs) for n in vocabs))
    climbs_out = run(_climb, ((score, certify, base, n, c, s, z, steps) for n, pool in zip(vocabs, pools) for c, (s, z) in enumerate(pool)))
    tried = 0
    try:
        for cex in climbs_out:
            tried += 1
            if cex is not None:
                return cex, tried
    finally:
        for pieces in (climbs_out, pools):  # on a cluster: the pieces still out are cancelled
            getattr(pieces, "close", lambda: None)()
    return None, tried


# ---- spot checks of proved claims on family rows -----------------------------------------------


def check_rows(ctx: CheckContext, max_vocab: int = 40, families=dist.FAMILY_NAMES):
    """``ctx.rows`` rows cycling through the families (small vocabularies: certified checks are exact).

    Parameters
    ----------
    ctx : CheckContext
        How many rows (``ctx.rows``) and the generator they are drawn from (``ctx.rng``).
    max_vocab : int
        The largest row size; sizes are drawn from ``2..max_vocab`` (default 40).
    families : sequence of str
        Distribution families, used in turn (default: all).

    Yields
    ------
    tuple
        ``(family, row)``, the row a float64 array of logits.
    """
    for i in range(ctx.rows):
        fam = families[i % len(families)]
        yield fam, dist.sample(fam, ctx.rng, int(ctx.rng.integers(2, max_vocab + 1)))


def proof_verdict(what: str, checked: int, undecided: int, violations: list) -> tuple:
    """The ledger outcome of a claim proved in the spec, after ``checked`` certified spot checks of
    ``what``: ``proved``, or ``refuted`` by the first of ``violations`` (family, detail).

    Parameters
    ----------
    what : str
        What was checked, as the evidence text names it.
    checked : int
        How many certified spot checks held.
    undecided : int
        Spot checks that could not be certified (not counted).
    violations : list of tuple
        ``(family, detail)`` of each certified violation.

    Returns
    -------
    tuple
        ``(verdict, evidence, None, undecided)``, what a claim's check returns.

    Examples
    --------
    >>> proof_verdict("rows", 12, 0, [])[:2]
    ('proved', 'proof; rows: 12 certified spot checks, 0 violations')
    """
    if violations:
        fam, detail = violations[0]
        return "refuted", f"proof contradicted: certified violation on a {fam} row ({detail})", None, undecided
    extra = f", {undecided} undecided (not counted)" if undecided else ""
    return "proved", f"proof; {what}: {checked} certified spot checks, 0 violations{extra}", None, undecided


# ---- specification §5 ----------------------------------------------------------------------------


def _stored(ctx: CheckContext) -> Counterexample | None:
    c = ctx.recorded.get("counterexample")
    return Counterexample.from_json(c) if c else None


def refutation_verdict(ctx: CheckContext, recertify: Callable[[np.ndarray, Counterexample], Counterexample | None], search: Callable[[], tuple]) -> tuple:
    """Re-certify the stored counterexample; with ``ctx.search`` also search afresh and keep the smaller.

    Parameters
    ----------
    ctx : CheckContext
        The claim's context; its ``recorded`` entry holds the stored counterexample.
    recertify : callable
        ``recertify(row, stored) -> Counterexample or None``: the stored row certified again.
    search : callable
        ``search() -> (Counterexample or None, tried)``; also run when nothing is stored or the
        stored row fails to re-certify.

    Returns
    -------
    tuple
        ``("refuted", evidence, counterexample, 0)``, or ``("open", evidence, ...)`` when no
        certified counterexample is left.
    """
    stored = _stored(ctx)
    cex = recertify(stored.row, stored) if stored else None
    found_note = ""
    if ctx.search or cex is None:
        found, tried = search()
        if found is not None and (cex is None or found.n < cex.n):
            cex = found
        found_note = f"; search: {'found n=' + str(found.n) if found else 'nothing'} after {tried} climbs"
    if cex is None or not cex.certified:
        return "open", "no certified counterexample (stored one failed to re-certify)" + found_note, cex, 0
    return "refuted", f"certified counterexample, n={cex.n}: {cex.summary}" + found_note, cex, 0

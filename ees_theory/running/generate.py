"""Generated conformance cases: rows from the property suite's families, in the dtype under test.

Case ``i`` of a run depends only on ``(seed, i)`` (its own ``SeedSequence``), so a run with more
examples extends a shorter one and an interrupted run regenerates exactly the cases it planned.

>>> cases = generated_cases("ees", "float16", 3, seed=7)
>>> [c.id for c in cases], all("float16" in c.dtypes for c in cases)
(['gen7-ees-float16-0000', 'gen7-ees-float16-0001', 'gen7-ees-float16-0002'], True)
>>> generated_cases("ees", "float16", 3, seed=7)[2] == cases[2]
True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .cases import Case
from ..spec.formats import cast, check_dtype, exact_in
from ..judging.methods import get_method

__all__ = ["generated_cases", "family_names", "DEFAULT_VOCABS", "fit_to_dtype"]

#: vocabulary sizes drawn for generated cases (mostly small; a few large)
DEFAULT_VOCABS = (2, 3, 4, 5, 8, 12, 16, 32, 50, 64, 100, 128, 256, 512, 1000, 4096)
#: every ``COVERAGE_EVERY`` generated cases, one is cold (its temperature parameter drawn from
#: ``COLD_TEMPERATURES``; every other one of those, for the samplers that divide the logits by the
#: temperature, is the family's row times that temperature, so that it is not one-hot) and one has
#: more than 1,000 entries (``BIG_VOCABS``), so a fault that shows only there is found as fast as
#: one that shows on an eighth of the rows
COVERAGE_EVERY, COLD_SLOT, BIG_SLOT = 8, 3, 6
COLD_TEMPERATURES = (0.05, 0.1, 0.2)
BIG_VOCABS = (1100, 1500, 2048)


def family_names() -> tuple[str, ...]:
    """The property suite's family names.

    >>> "tied_boundary" in family_names()
    True
    """
    from ..families import distributions

    return tuple(distributions.FAMILY_NAMES)


def fit_to_dtype(logits: np.ndarray, dtype: str) -> np.ndarray:
    """Round a float64 row into ``dtype`` so that every value is exact there.

    The row is first shifted so its largest finite logit is 0 (EES, EDT and dynatemp are
    invariant to a common shift), so overflow cannot turn a logit into ``+inf``; a logit below the
    dtype's range becomes ``-inf`` (masked), which the case then is.

    >>> fit_to_dtype(np.array([70000.0, 69990.0]), "float16").tolist()
    [0.0, -10.0]
    """
    z = np.asarray(logits, dtype=np.float64)
    finite = np.isfinite(z)
    top = z[finite].max()
    if not exact_in(z, dtype) and np.isfinite(top):
        z = np.where(finite, z - top, z)
    out = cast(z, dtype).astype(np.float64)
    if not np.isfinite(out).any():  # every finite logit fell below the range: keep the top one
        out[int(np.argmax(np.where(finite, z, -np.inf)))] = 0.0
    return out


def generated_cases(
    method: str,
    dtype: str,
    count: int,
    seed: int = 0,
    families: Sequence[str] | None = None,
    vocabs: Sequence[int] | None = None,
    params: dict[str, Sequence[float]] | None = None,
) -> list[Case]:
    """``count`` cases for ``method`` in ``dtype``, round-robin over ``families``.

    ``vocabs`` and ``params`` (lists of values per parameter name) override the defaults.

    Parameters
    ----------
    method : str
        A registered method.
    dtype : str
        ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``: every row is representable
        in it exactly.
    count : int
        How many cases, ``>= 0``.
    seed : int
        Case ``i`` is drawn from the seed sequence ``(seed, i)``: the same seed, the same cases.
    families : sequence of str or None
        Distribution families to cycle through (default: all of them).
    vocabs : sequence of int or None
        Row lengths to draw from, each ``>= 1`` (default ``DEFAULT_VOCABS``, and every eighth
        case a row of more than 1000 entries).
    params : dict or None
        ``{name: values}``: a parameter's value is drawn from ``values`` instead of its grid.

    Returns
    -------
    list of Case
        ``count`` cases, ids ``gen<seed>-<method>-<dtype>-<i>``.

    Raises
    ------
    ValueError
        An unknown method, dtype or family, a negative ``count``, a size below 1, or a parameter
        the method does not have.

    Examples
    --------
    >>> [c.family for c in generated_cases("edt", "float16", 3, families=["zipf", "uniform"])]
    ['zipf', 'uniform', 'zipf']
    """
    from ..families import distributions

    m = get_method(method)
    check_dtype(dtype)
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    names = tuple(families) if families else tuple(distributions.FAMILY_NAMES)
    for f in names:
        if f not in distributions.FAMILY_NAMES:
            raise ValueError(f"unknown family {f!r}; expected one of {', '.join(distributions.FAMILY_NAMES)}")
    sizes = tuple(vocabs) if vocabs else DEFAULT_VOCABS
    if any(int(v) < 1 for v in sizes):
        raise ValueError(f"vocabulary sizes must be >= 1, got {list(sizes)}")
    overrides = {k: tuple(float(x) for x in v) for k, v in (params or {}).items()}
    for k in overrides:
        if k not in m.params:
            raise ValueError(f"method {method!r} has no parameter {k!r} (it has {', '.join(m.params)})")
    out = []
    for i in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), i]))
        extra = np.random.default_rng(np.random.SeedSequence([int(seed), i, 1]))  # the coverage draws below
        family = names[i % len(names)]
        vocab = int(rng.choice(sizes))
        if vocabs is None and i % COVERAGE_EVERY == BIG_SLOT:  # a bug that shows only on big rows
            vocab = int(extra.choice(BIG_VOCABS))
        z = distributions.sample(family, rng, vocab)
        z = fit_to_dtype(z, dtype)
        drawn = m.draw_params(rng)
        if i % COVERAGE_EVERY == COLD_SLOT and m.temperature_param in drawn:  # a bug that shows only when cold
            drawn[m.temperature_param] = float(extra.choice(COLD_TEMPERATURES))
            if i % (2 * COVERAGE_EVERY) == COLD_SLOT and m.temperature_param == "temperature":
                # every other cold row is the family's row times its temperature: the tempered
                # distribution keeps the family's spread (logits a few units apart are one-hot at
                # T = 0.05, where a rule that mishandles a cold temperature still keeps one token)
                z = fit_to_dtype(np.where(np.isfinite(z), z * drawn["temperature"], z), dtype)
        for k, values in overrides.items():
            drawn[k] = float(rng.choice(values))
        out.append(Case(f"gen{seed}-{method}-{dtype}-{i:04d}", method, family, z, drawn, f"generated: {family}, vocab {vocab}"))
    return out

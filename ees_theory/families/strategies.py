"""Public hypothesis strategies for logit rows, temperatures and sampler parameters.

Ports reuse these in their own test suites: the rows come from the named families of
:mod:`ees_theory.families.distributions` (structured edge cases) or are raw float arrays. Rows are **dense
by default**: no family that makes exact ties on purpose is drawn unless asked for
(``ties=True`` or naming it in ``families``), and :func:`raw_logits` draws distinct values
(hypothesis' ``arrays`` would otherwise fill most entries with one repeated value).

A port's test, checked against the certified reference::

    from hypothesis import given
    import ees_theory as et
    from ees_theory.families import strategies as ets

    @given(z=ets.logits(max_vocab=256), tau=ets.temperatures())
    def test_my_port_keeps_what_the_reference_keeps(z, tau):
        ref = et.reference.ees(z, temperature=tau)
        if ref.certified:
            assert my_port.ees_kept_count(z, tau) == ref.k

>>> from hypothesis import given, settings
>>> @settings(max_examples=5, derandomize=True)
... @given(logits(min_vocab=3, max_vocab=8))
... def check(z):
...     assert 3 <= z.shape[0] <= 8 and np.isfinite(z).any()
>>> check()
"""

from __future__ import annotations

import numpy as np
from hypothesis import find  # noqa: F401  (the runnable examples draw with it)
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import distributions as dist

__all__ = [
    "DENSE_FAMILIES",
    "families",
    "family_rows",
    "logits",
    "raw_logits",
    "temperatures",
    "logits_and_temperature",
    "edt_params",
    "dynatemp_params",
]

#: Families drawn by default: those that make no exact ties on purpose.
DENSE_FAMILIES: tuple[str, ...] = tuple(n for n in dist.FAMILY_NAMES if not dist.FAMILIES[n].ties)


def _check_vocab(min_vocab: int, max_vocab: int) -> None:
    for name, v in (("min_vocab", min_vocab), ("max_vocab", max_vocab)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if not 1 <= min_vocab <= max_vocab <= dist.MAX_VOCAB:
        raise ValueError(f"need 1 <= min_vocab <= max_vocab <= {dist.MAX_VOCAB}, got {min_vocab}, {max_vocab}")


def families(names=None, ties: bool = False) -> st.SearchStrategy[str]:
    """Family names: ``names`` if given, else the dense families (plus the tie families if ``ties``).

    Parameters
    ----------
    names : iterable of str, optional
        The families to draw from (each a name of ``FAMILY_NAMES``; an unknown one raises
        ``ValueError``, and so does an empty list).
    ties : bool
        Without ``names``: add the families that make exact ties on purpose.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of family names (``str``).

    Examples
    --------
    >>> find(families(["peaked", "zipf"]), lambda _: True) in ("peaked", "zipf")
    True
    """
    if names is None:
        names = dist.FAMILY_NAMES if ties else DENSE_FAMILIES
    names = tuple(names)
    if not names:
        raise ValueError("families: give at least one family name")
    for n in names:
        dist.describe(n)  # raises a clear ValueError for an unknown name
    return st.sampled_from(names)


@st.composite
def family_rows(draw, family: str, min_vocab: int = 2, max_vocab: int = 64, dtype: str = "float64", **params):
    """Rows of one family; the vocabulary and the generator seed are drawn (and shrunk) by hypothesis.

    Parameters
    ----------
    family : str
        A name of ``FAMILY_NAMES``.
    min_vocab, max_vocab : int
        The range of row lengths drawn (``2 <= min_vocab <= max_vocab``).
    dtype : str
        Round every row to this format (``"float64"`` keeps it as drawn).
    **params
        The family's own parameters, fixed for every row (:func:`~ees_theory.families.distributions.sample`).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of float64 rows (``numpy.ndarray`` of shape ``(vocab,)``).

    Examples
    --------
    >>> z = find(family_rows("peaked", 4, 4, gap=30.0), lambda _: True)
    >>> z.shape
    (4,)
    """
    _check_vocab(min_vocab, max_vocab)
    vocab = draw(st.integers(min_vocab, max_vocab))
    seed = draw(st.integers(0, 2**32 - 1))
    return dist.sample(family, np.random.default_rng(seed), vocab, dtype=dtype, **params)


@st.composite
def logits(draw, min_vocab: int = 2, max_vocab: int = 64, families=None, ties: bool = False, dtype: str = "float64"):
    """Float64 logit rows from the named families (dense ones by default).

    Parameters
    ----------
    min_vocab, max_vocab : int
        The range of row lengths drawn (``2 <= min_vocab <= max_vocab``).
    families : iterable of str, optional
        Restrict the families drawn (default: the dense ones, :data:`DENSE_FAMILIES`).
    ties : bool
        Also draw the families that make exact ties on purpose.
    dtype : str
        Round every row to this format (``"float32"``, ``"float16"``, ``"bfloat16"``).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of float64 rows, each with at least one finite entry.

    Examples
    --------
    >>> z = find(logits(min_vocab=2, max_vocab=5, families=["uniform"]), lambda _: True)
    >>> bool(np.all(z == z[0]))
    True
    """
    _check_vocab(min_vocab, max_vocab)
    name = draw(globals()["families"](families, ties=ties))
    return draw(family_rows(name, min_vocab, max_vocab, dtype=dtype))


def raw_logits(
    min_vocab: int = 2,
    max_vocab: int = 64,
    min_value: float = -30.0,
    max_value: float = 30.0,
    ties: bool = False,
    masked: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Raw float64 arrays of logits in ``[min_value, max_value]``, distinct unless ``ties``.

    Parameters
    ----------
    min_vocab, max_vocab : int
        The range of row lengths drawn.
    min_value, max_value : float
        The range of the finite entries (``min_value < max_value``).
    ties : bool
        Allow repeated values (by default every entry of a row is distinct).
    masked : bool
        Let entries be ``-inf`` (at least one stays finite).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of float64 arrays of shape ``(vocab,)``.

    Examples
    --------
    >>> z = find(raw_logits(3, 3), lambda _: True)
    >>> z.shape, len(set(z.tolist()))
    ((3,), 3)
    """
    _check_vocab(min_vocab, max_vocab)
    if not min_value < max_value:
        raise ValueError(f"need min_value < max_value, got {min_value}, {max_value}")
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    if masked:
        elements = st.one_of(elements, st.just(-np.inf))
    shape = st.integers(min_vocab, max_vocab)
    if ties:
        arrays = hnp.arrays(np.float64, shape, elements=elements)
    else:
        arrays = hnp.arrays(np.float64, shape, elements=elements, unique=True, fill=st.nothing())
    if masked:
        return arrays.filter(lambda z: bool(np.isfinite(z).any()))
    return arrays


def temperatures(min_value: float = 1e-2, max_value: float = 1e2) -> st.SearchStrategy[float]:
    """Temperatures spread evenly in ``log(tau)`` over ``[min_value, max_value]`` (both > 0).

    Parameters
    ----------
    min_value, max_value : float
        The range, ``0 < min_value <= max_value``; otherwise ``ValueError``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of floats in ``[min_value, max_value]``.

    Examples
    --------
    >>> 0.5 <= find(temperatures(0.5, 2.0), lambda _: True) <= 2.0
    True
    """
    if not 0 < min_value <= max_value:
        raise ValueError(f"need 0 < min_value <= max_value, got {min_value}, {max_value}")
    lo, hi = float(np.log(min_value)), float(np.log(max_value))
    return st.floats(lo, hi).map(lambda x: float(min(max(np.exp(x), min_value), max_value)))


def logits_and_temperature(min_vocab: int = 2, max_vocab: int = 64, families=None, ties: bool = False):
    """Pairs ``(row, tau)``: a row as ``logits`` draws it and a temperature as ``temperatures`` does.

    Parameters
    ----------
    min_vocab, max_vocab : int
        The range of row lengths drawn.
    families : iterable of str, optional
        Restrict the families drawn.
    ties : bool
        Also draw the families that make exact ties on purpose.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of tuples ``(numpy.ndarray, float)``.

    Examples
    --------
    >>> z, tau = find(logits_and_temperature(max_vocab=4), lambda _: True)
    >>> z.ndim, tau > 0
    (1, True)
    """
    return st.tuples(logits(min_vocab, max_vocab, families, ties), temperatures())


def edt_params() -> st.SearchStrategy[tuple[float, float, float]]:
    """``(T0, theta, N)`` in the EDT domain (specification §3): ``T0 > 0``, ``theta >= 0``, ``0 < N < 1``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of tuples ``(T0, theta, N)`` with ``T0`` in ``[0.05, 4]``, ``theta`` in ``[0, 5]`` and
        ``N`` in ``[0.01, 0.99]``.

    Examples
    --------
    >>> T0, theta, N = find(edt_params(), lambda _: True)
    >>> T0 > 0 and theta >= 0 and 0 < N < 1
    True
    """
    return st.tuples(
        st.floats(0.05, 4.0),
        st.floats(0.0, 5.0),
        st.floats(0.01, 0.99),
    )


def dynatemp_params(exponent_min: float = 0.0) -> st.SearchStrategy[tuple[float, float, float]]:
    """``(temp, delta, exponent)`` with ``delta > 0`` and ``exponent >= exponent_min``.

    Parameters
    ----------
    exponent_min : float
        The smallest exponent drawn (default 0: the range claim DYN-RANGE holds for it).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of tuples ``(temp, delta, exponent)`` with ``temp`` in ``[0, 3]``, ``delta`` in
        ``[0.01, 2]`` and ``exponent`` in ``[exponent_min, 4]``.

    Examples
    --------
    >>> temp, delta, e = find(dynatemp_params(), lambda _: True)
    >>> delta > 0 and e >= 0
    True
    """
    return st.tuples(st.floats(0.0, 3.0), st.floats(0.01, 2.0), st.floats(exponent_min, 4.0))

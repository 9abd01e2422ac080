"""The cases of a run: golden vectors followed by generated cases.

>>> [c.method for c in plan("edt", "float32", vectors=False, examples=2)]
['edt', 'edt']
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..judging.methods import get_method
from .cases import Case
from .generate import generated_cases
from .vectors import load_vectors

__all__ = ["plan"]


def plan(
    method: str,
    dtype: str,
    *,
    vectors: str | Path | bool = True,
    examples: int = 0,
    seed: int = 0,
    families: Sequence[str] | None = None,
) -> list[Case]:
    """The cases of a run: the golden vectors of ``method`` (``vectors=True``: the packaged file;
    a path: another file; ``False``: none) followed by ``examples`` generated cases.

    Parameters
    ----------
    method : str
        A registered method.
    dtype : str
        The dtype of the generated cases (the golden vectors hold several).
    vectors : bool, str or pathlib.Path
        ``True`` (default): the packaged golden vectors; a path: a vectors file; ``False``: none.
    examples : int
        How many generated cases follow the vectors (default 0).
    seed : int
        The seed of the generated cases (default 0).
    families : sequence of str or None
        Families the generated cases cycle through (default: all).

    Returns
    -------
    list of Case
        The vectors for ``method`` first, then the generated cases.

    Raises
    ------
    ValueError
        An unknown method; with ``examples``, an unknown dtype or family; a malformed vectors file.
    FileNotFoundError
        No vectors file at the path given.

    Examples
    --------
    >>> len(plan("edt", "float32", vectors=False, examples=5))
    5
    """
    get_method(method)
    cases: list[Case] = []
    if vectors:
        cases += load_vectors(None if vectors is True else vectors, method=method)
    if examples:
        cases += generated_cases(method, dtype, examples, seed=seed, families=families)
    return cases

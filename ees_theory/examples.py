"""Small example implementations for trying the harness and for the documentation's examples.

Neither is a correct sampler: they are stand-ins with a known, simple answer.

* :func:`greedy_ees`, a port of the ``ees`` method (``fn(logits, temperature)``) that keeps only
  the most likely token. ``ees-theory check ees_theory.examples:greedy_ees`` shows how a wrong port
  is reported.
* :func:`top_k_engine`, an engine adapter factory in the form the engine matrix expects
  (``factory(method, dtype, policy)`` returning a one-row port): top-k by the logits, ties by
  position.

>>> import numpy as np
>>> greedy_ees(np.array([0.5, 2.0, 1.0]), 1.0).tolist()
[False, True, False]
>>> top_k_engine("top-k", "float64")(np.array([0.5, 2.0, 1.0]), 1.0, k=2).tolist()
[False, True, True]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["greedy_ees", "top_k_engine"]


def greedy_ees(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Keep only the most likely token (the first of them on a tie), whatever EES would keep.

    Parameters
    ----------
    logits : numpy.ndarray
        One row of logits, ``-inf`` for a masked token.
    temperature : float
        Ignored: the most likely token does not depend on it.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` at the kept token.
    """
    mask = np.zeros(np.shape(logits), dtype=bool)
    mask[int(np.argmax(logits))] = True
    return mask


def top_k_engine(method: str, dtype: str, policy: str = "paper") -> Callable:
    """An engine adapter factory: a top-k port keeping the ``max(k, min_tokens_to_keep)`` largest
    finite logits, ties by position (every method, dtype and policy get the same port).

    Parameters
    ----------
    method, dtype, policy : str
        What the engine matrix asks the adapter for; not read.

    Returns
    -------
    callable
        ``port(logits, temperature, k, min_tokens_to_keep=1)`` returning a bool mask.
    """

    def top_k(logits, temperature, k, min_tokens_to_keep=1):
        z = np.asarray(logits, dtype=np.float64)
        order = np.argsort(-z, kind="stable")
        mask = np.zeros(len(z), dtype=bool)
        mask[order[: min(max(k, min_tokens_to_keep), int(np.isfinite(z).sum()))]] = True
        return mask

    return top_k

"""How one engine applies a truncation sampler's rule: its :class:`Policy`.

A sampler's rule names a comparison, ``lhs`` against ``rhs`` (:meth:`Policy.holds`); a policy
says whether a token is kept on equality (``strict``), under which parameters the sampler keeps
every candidate (``noop``), whether tokens tied with the boundary one are kept too (``ties``) and
what ``min_tokens_to_keep`` does (``min_keep``, one of :data:`MIN_KEEP`). Each sampler's module
under :mod:`ees_theory.core.truncation` holds its table ``POLICIES`` of these; the certified
reference decides the sign of ``lhs - rhs`` and reads ``strict`` from the same record as the
kernels, which evaluate :meth:`Policy.holds` on tensors.

>>> p = Policy(strict=True)
>>> p.holds(0.5, 0.5), Policy().holds(0.5, 0.5)
(False, True)
>>> Policy(min_keep="sometimes")
Traceback (most recent call last):
...
ValueError: min_keep must be one of floor, floor-ties, raises-k, fixed, none; got 'sometimes'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = ["Policy", "MIN_KEEP", "never", "describe"]

#: What ``min_tokens_to_keep`` (``m``) can do under a policy.
MIN_KEEP: Mapping[str, str] = {
    "floor": "at least m tokens of the canonical order are kept",
    "floor-ties": "at least m tokens are kept, and every token tied with the m-th",
    "raises-k": "k is raised to m",
    "fixed": "the engine has none: m must stay 1",
    "none": "the sampler takes no min_tokens_to_keep",
}


def never(params: Mapping[str, Any]) -> bool:
    """The no-op condition of a policy that has none.

    Parameters
    ----------
    params : mapping
        The sampler's parameters (not read).

    Returns
    -------
    bool
        ``False``.
    """
    return False


@dataclass(frozen=True)
class Policy:
    """One engine's convention for a sampler (see the module docstring).

    Parameters
    ----------
    strict : bool
        Keep a token when ``lhs > rhs`` (``True``) or ``lhs >= rhs`` (``False``, the default).
    noop : callable
        ``noop(params)`` is true for the parameters under which every candidate is kept (default
        :func:`never`).
    ties : bool
        Keep the tokens tied with the boundary token too (default ``False``).
    min_keep : str
        What ``min_tokens_to_keep`` does, a key of :data:`MIN_KEEP` (default ``"floor"``).
    noop_text : str
        The no-op condition in words, for the tables (default ``""``: none).
    off : mapping
        Parameter values that switch the sampler off; ``noop(off)`` must hold (default empty).

    Raises
    ------
    ValueError
        ``min_keep`` not a key of :data:`MIN_KEEP`, or ``off`` values that do not meet ``noop``.
    """

    #: a token is kept when ``lhs > rhs`` (True) or ``lhs >= rhs`` (False)
    strict: bool = False
    #: ``noop(params)``: the parameters under which every candidate is kept
    noop: Callable[[Mapping[str, Any]], bool] = never
    #: tokens tied with the boundary token (in the rule's ranking value) are kept too
    ties: bool = False
    #: what ``min_tokens_to_keep`` does (a key of :data:`MIN_KEEP`)
    min_keep: str = "floor"
    #: the no-op condition in words (for the tables; ``""``: none)
    noop_text: str = ""
    #: parameter values that switch the sampler off under this policy (``noop(off)`` holds)
    off: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_keep not in MIN_KEEP:
            raise ValueError(f"min_keep must be one of {', '.join(MIN_KEEP)}; got {self.min_keep!r}")
        if self.off and not self.noop(self.off):
            raise ValueError(f"the values {dict(self.off)} meant to switch the sampler off do not meet its no-op condition")

    def holds(self, lhs: Any, rhs: Any) -> Any:
        """The rule's comparison under this policy: ``lhs > rhs`` or ``lhs >= rhs`` (numbers,
        arrays, tensors).

        Parameters
        ----------
        lhs : number, numpy.ndarray or torch.Tensor
            The side of the rule's comparison that must reach ``rhs`` for a token to be kept
            (a probability, a score, ...).
        rhs : number, numpy.ndarray or torch.Tensor
            The threshold it is compared with; broadcast against ``lhs``.

        Returns
        -------
        bool or array
            Whether the token is kept, elementwise for arrays and tensors (``strict``: ``>``,
            else ``>=``).
        """
        return lhs > rhs if self.strict else lhs >= rhs


def describe(policy: Policy) -> str:
    """The policy in a few words.

    Parameters
    ----------
    policy : Policy
        The policy to describe.

    Returns
    -------
    str
        Its comparison, ties, no-op condition and ``min_tokens_to_keep`` rule, joined by ``"; "``.

    Examples
    --------
    >>> describe(Policy(strict=True, ties=True, noop=lambda p: p["k"] <= 0, noop_text="k <= 0"))
    'strict; ties kept; no-op when k <= 0; min_tokens_to_keep: floor'
    """
    parts = ["strict" if policy.strict else "non-strict"]
    if policy.ties:
        parts.append("ties kept")
    if policy.noop_text:
        parts.append(f"no-op when {policy.noop_text}")
    parts.append(f"min_tokens_to_keep: {policy.min_keep}")
    return "; ".join(parts)

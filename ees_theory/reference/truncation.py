"""The comparison family of truncation samplers, certified, with the engines' boundary policies.

``truncate(method, logits, temperature=1.0, policy="paper", **params)`` returns the kept token ids
(canonical order: probability descending, ties by id ascending) of one row, every boundary
comparison certified (see ``ees_theory.reference.trunc_exact``) or reported undecided. ``p = softmax(z / tau)``
as everywhere in the toolkit: the truncation sees the tempered distribution. (llama.cpp's default
chain applies temperature *after* its truncation samplers; to reproduce it pass ``temperature=1``.)

Methods (:data:`METHODS`), with what each policy means. ``paper`` is the default; ``transformers``
and ``llama.cpp`` reproduce those engines' conventions in exact arithmetic. The rules and the policy
records this module reads (strict or not, the no-op condition, tie extension, what
``min_tokens_to_keep`` does) are each sampler's module in :mod:`ees_theory.core.truncation`, and
so is the certifier of each (its ``certify``, written against ``trunc_exact.ExactContext``):
:func:`truncate` checks the arguments, builds the context and calls the certifier of the rule the
registry names.

* ``top-k`` (``k``): paper: the ``k`` most probable tokens, ties at the k-th value broken by the
  canonical order (exactly ``min(k, n)`` kept). transformers: ``k = max(k, min_tokens_to_keep)``,
  every token tied with the k-th value is kept (may keep more than ``k``). llama.cpp: ``k <= 0``
  is a no-op; exactly ``min(k, n)`` kept (llama.cpp's unstable partial sort picks any of a tie; the
  reference picks the canonical ones).
* ``top-p`` (``p``): keep the smallest sorted prefix whose mass reaches ``p`` (``P_k >= p``; the
  crossing token is kept). All three engines agree on this in exact arithmetic; they differ in the
  domain (paper ``0 < p <= 1``; transformers ``0 <= p <= 1``, ``p = 0`` keeps
  ``min_tokens_to_keep``; llama.cpp any ``p``, ``p >= 1`` a no-op).
* ``min-p`` (``min_p``): keep ``p_i >= min_p * p_max`` (decided in the log domain). llama.cpp:
  ``min_p <= 0`` is a no-op.
* ``typical`` (``mass``, Meister et al. 2022): order tokens by ``|-ln p_i - H|`` ascending (ties:
  canonical order), keep the shortest prefix of that order with mass ``>= mass``. transformers: the
  same cut, plus every later token whose score ties the boundary token's. llama.cpp: the cut is
  the first prefix with mass ``> mass`` (strict); ``mass >= 1`` is a no-op.
* ``epsilon`` (``epsilon``, Hewitt et al. 2022): paper keeps ``p_i > epsilon`` (strict);
  transformers keeps ``p_i >= epsilon`` and every token tied with the
  ``min_tokens_to_keep``-th largest.
* ``eta`` (``epsilon``): threshold ``eta = min(epsilon, sqrt(epsilon) exp(-H))``, ``H`` in nats;
  paper keeps ``p_i > eta``, transformers ``p_i >= eta`` (plus the ties as for ``epsilon``).
* ``p-less`` / ``p-less-norm`` (arXiv 2509.23234): keep ``p_i >= sum p^2``, resp.
  ``p_i >= (V sum p^2 - 1)/(V - 1)`` with ``V`` the row length (masked entries included).
* ``top-n-sigma`` (``n``, arXiv 2411.07641): keep ``l_i >= max l - n sigma`` over the scaled
  logits of the candidates; paper and llama.cpp use the population ``sigma`` (divide by ``N``),
  ``sample-std`` the unbiased one (``torch.std``'s default, divide by ``N - 1``); llama.cpp:
  ``n <= 0`` is a no-op.
* ``mirostat-v1`` (``tau``, ``eta``, ``mu``, ``u``, ``m=100``, ``n_vocab``; Basu et al. 2020) and
  ``mirostat-v2`` (``tau``, ``eta``, ``mu``, ``u``): stateful. The result carries the chosen
  ``token`` (inverse CDF of the renormalised kept set at the uniform draw ``u``: the first kept
  token whose cumulative mass exceeds ``u``) and the updated ``mu = mu - eta (surprise - tau)``,
  surprise in bits. paper: surprise under the untruncated distribution, v1 rounds the Zipf
  estimate ``k`` to nearest (half up); llama.cpp: surprise under the renormalised kept set, v1
  truncates ``k`` to an integer.

* ``xtc`` (``threshold``, ``probability``, ``u``), ``top-a`` (``a``) and ``tfs`` (``z``), the
  samplers of the wider field (specification §7; rules in :mod:`ees_theory.core.truncation`):
  XTC keeps a *suffix* of the canonical order (its gate opens for ``u < probability``, llama.cpp:
  ``u <= probability``; every token reaching the threshold but the last is dropped); top-a keeps
  ``p_i >= a p_max^2``; tail-free sampling cuts where the normalised cumulative
  ``|second difference|`` passes ``z``, the paper keeping one token more than llama.cpp.

Every method takes ``min_tokens_to_keep`` where an engine has it (default 1; the kept set is
never empty).

>>> truncate("top-p", [2.0, 1.0, 0.0, -1.0], p=0.9).kept
(0, 1, 2)
>>> truncate("min-p", [2.0, 1.0, 0.0], min_p=0.3).kept      # e**-1 = 0.37 >= 0.3 > e**-2
(0, 1)
>>> truncate("top-k", [1.0, 3.0, 3.0, 0.0], k=1, policy="transformers").kept   # both tied kept
(1, 2)
>>> truncate("xtc", [2.0, 1.0, 0.0, -1.0], threshold=0.1, probability=1.0, u=0.5).kept  # p = .64, .24 reach 0.1
(1, 2, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import mpmath

from .. import spec
from ..core.truncation.registry import SAMPLERS as METHODS
from ..core.truncation.registry import check_params
from ..spec.methods import DEFAULT_POLICY, POLICIES, MethodSpec
from ..core.truncation.registry import rule as truncation_rule
from ..core.certify import DEFAULT_MAX_PREC, precisions
from .rows import as_row
from .trunc_exact import Check, ExactContext

__all__ = ["truncate", "TruncationResult", "MethodSpec", "METHODS", "POLICIES", "check_params", "Check"]

# ---- the result ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TruncationResult:
    """The certified kept set of one truncation sampler on one row.

    ``kept`` are the kept ids in canonical order (probability descending, ties by id ascending),
    ``k = len(kept)``, ``n`` the number of candidates. ``certified`` is True when every decisive
    comparison (``decisions``) was certified; ``undecided`` lists those that were not (then
    ``kept`` follows their midpoints). Mirostat results also carry ``token`` (the chosen id) and
    ``mu`` (the updated state, correct to 30 digits) with ``surprise`` (bits); ``extras`` holds
    method-specific values (``s_hat``, ``k_hat`` of mirostat v1, the typical order, ...).

    Parameters
    ----------
    method : str
        The sampler's name (a key of ``METHODS``).
    policy : str
        The engine convention applied (one of ``POLICIES``).
    params : dict
        The sampler's parameters, defaults filled in (:func:`check_params`).
    temperature : float
        The temperature applied before truncation.
    kept : tuple of int
        The kept token ids, canonical order.
    certified : bool
        Whether every decisive comparison was certified.
    n : int
        The number of candidates.
    decisions : tuple of Check
        The decisive comparisons.
    token : int or None
        Mirostat: the chosen token id; ``None`` for the other samplers.
    mu : mpmath.mpf or None
        Mirostat: the updated state ``mu``.
    surprise : mpmath.mpf or None
        Mirostat: the chosen token's surprise, in bits.
    extras : dict
        Method-specific values.
    """

    method: str
    policy: str
    params: dict
    temperature: float
    kept: tuple[int, ...]
    certified: bool
    n: int
    decisions: tuple[Check, ...] = field(repr=False)
    token: Optional[int] = None
    mu: Optional[mpmath.mpf] = None
    surprise: Optional[mpmath.mpf] = None
    extras: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        """Number of kept tokens."""
        return len(self.kept)

    @property
    def undecided(self) -> tuple[Check, ...]:
        """Decisive comparisons that could not be certified within the precision limit."""
        return tuple(c for c in self.decisions if not c.certified)

    @property
    def margin(self) -> float:
        """Smallest certified ``|gap|`` over the decisive comparisons (``inf`` if none)."""
        return min((c.margin for c in self.decisions), default=math.inf)


# ---- the result of a rule's certifier ------------------------------------------------------
def _result(method, policy, params, tau, row, k, checks, **kw) -> TruncationResult:
    """``k``: the kept prefix length, or the kept sorted positions (a sampler that keeps a suffix)."""
    certified = all(c.certified for c in checks)
    kept = row.order[:k] if isinstance(k, int) else tuple(row.order[i] for i in k)
    return TruncationResult(method, policy, params, tau, kept, certified, row.n, tuple(checks), **kw)


# ---- the entry point ------------------------------------------------------------------------
def truncate(
    method: str,
    logits: Any,
    temperature: float = 1.0,
    policy: str = DEFAULT_POLICY,
    *,
    max_prec: int = DEFAULT_MAX_PREC,
    **params: Any,
) -> TruncationResult:
    """The certified kept set of ``method`` on one row (logits, or a ``from_probs`` row).

    Parameters
    ----------
    method : str
        A sampler of ``METHODS``: ``"top-k"``, ``"top-p"``, ``"min-p"``, ``"typical"``,
        ``"epsilon"``, ``"eta"``, ``"p-less"``, ``"p-less-norm"``, ``"top-n-sigma"``,
        ``"mirostat-v1"``, ``"mirostat-v2"``, ``"xtc"``, ``"top-a"``, ``"tfs"``.
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite.
    temperature : float
        Finite and ``> 0`` (default 1), applied before truncation.
    policy : str
        The engine convention, one of the method's policies (default ``"paper"``; see above).
    max_prec : int
        The highest ``mpmath`` precision in bits (``>= 64``, default 4096) before a comparison
        is reported undecided.
    **params
        The method's own parameters (``k``, ``p``, ``min_p``, ``mass``, ``epsilon``, ``n``,
        ``tau``/``eta``/``mu``/``u``, ``threshold``/``probability``, ``a``, ``z``) and
        ``min_tokens_to_keep`` where the engine has it; ranges depend on the policy.

    Returns
    -------
    TruncationResult
        The kept ids, whether they are certified, and (mirostat) the chosen token and new ``mu``.

    Raises
    ------
    ValueError
        An unknown method or a policy it does not have, a parameter out of its range under the
        policy, a bad row, or ``temperature`` / ``max_prec`` out of range.
    TypeError
        A parameter the method does not take, a required one missing, or a value of the wrong type.

    Examples
    --------
    >>> r = truncate("epsilon", [0.0, 0.0], epsilon=0.5)          # p = 0.5 each: 0.5 > 0.5 fails
    >>> r.kept, r.decisions[0].method
    ((0,), 'exact-lw')
    >>> truncate("epsilon", [0.0, 0.0], policy="transformers", epsilon=0.5).kept   # >= keeps both
    (0, 1)
    >>> r = truncate("mirostat-v2", [2.0, 1.0, 0.0], tau=1.0, eta=0.1, u=0.5)
    >>> r.kept, r.token, round(float(r.mu), 6)      # p = (.665, .245, .090); mu0 = 2 bits keeps p >= 1/4
    ((0,), 0, 2.041195)
    >>> # mu = 2 - 0.1 (-log2 0.665 - 1) = 2 - 0.1 (0.588 - 1)
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    prm = check_params(method, policy, params)
    precisions(max_prec)  # checked here, not only when a comparison needs the ladder
    ctx = ExactContext(row, tau, max_prec)
    rule = truncation_rule(method)
    # a rule's certifier (``certify`` of its module) returns the kept prefix length or sorted
    # positions, the decisive checks[, extras[, the state of a stateful sampler]]
    k, checks, extras, state = (*rule.module.certify(row, ctx, tau, rule.policy(policy), prm, rule, policy), {}, {})[:4]
    return _result(method, policy, prm, tau, row, k, checks, extras=extras, **state)

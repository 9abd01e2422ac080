"""Shrinking a failing case to a smaller input that still fails against the certified reference.

Three kinds of steps, greedily, within a budget of port calls: drop tokens (halves, then
quarters, ..., then single tokens), round the logits to fewer bits (integers, halves, quarters,
...), and set parameters to plain values. A step is kept when the port still fails the new input
with the *same fault class*, so the shrunk case shows the same fault, smaller.

>>> from ees_theory.judging.methods import Options
>>> from ees_theory.running.ports import InProcessPort
>>> def keeps_two(z, t):                      # keeps 2 tokens whatever the row
...     m = np.zeros(z.shape, bool); m[np.argsort(-z, kind="stable")[:2]] = True; return m
>>> case = Case("c", "ees", "demo", np.array([3.3, 1.1, -0.7, -2.9, -4.4, 0.15]), {"temperature": 0.8})
>>> small, verdict, calls = shrink_case(InProcessPort(keeps_two, "demo"), case, "float64", Options(), "crossing-included")
>>> small.logits.tolist(), small.params, verdict.fault
([-5.0, 0.0], {'temperature': 1.0}, 'crossing-included')
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ..core.truncation.registry import SAMPLERS
from .cases import Case
from ..judging.methods import Options, Verdict
from ..judging.outcomes import Status
from .ports import Port

__all__ = ["shrink_case", "evaluate"]

#: plain parameter values tried while shrinking (a sampler's own come from its record's ``plain``)
PLAIN = {"temperature": 1.0, "T0": 1.0, "theta": 1.0, "N": 0.5, "temp": 1.0, "delta": 0.5, "exponent": 1.0}


def evaluate(port: Port, case: Case, dtype: str, options: Options) -> tuple[Verdict, object]:
    """Run ``case`` through ``port`` and judge it; returns the verdict and the outcome.

    >>> from ees_theory.running.ports import InProcessPort
    >>> c = Case("u", "ees", "hand", np.zeros(3), {"temperature": 1.0})
    >>> evaluate(InProcessPort(lambda z, t: z == z.max(), "argmax"), c, "float64", Options())[0].status == Status.PASSED
    True
    """
    from ..judging.methods import get_method

    m = get_method(case.method)
    row = case.row(dtype)
    ref = m.reference(row, case.params, options)
    outcome = port.run(case.method, [row.copy()], [case.params], dtype)[0]
    if outcome.fault:
        return m.judge_fault(ref, outcome.fault, outcome.message, dtype), outcome
    return m.judge(row, case.params, ref, outcome.value, dtype, options), outcome


def shrink_case(
    port: Port | None, case: Case, dtype: str, options: Options, fault: str, max_calls: int = 150, max_seconds: float = 20.0,
    judge: Callable[[Case], Verdict] | None = None,
) -> tuple[Case, Verdict | None, int]:
    """The smallest variant of ``case`` found that still fails with ``fault``.

    ``judge(candidate)`` replaces the run-and-judge step (default :func:`evaluate` on ``port``;
    the draws judge passes its own). Returns ``(case, verdict, calls)``; ``verdict`` is None when
    no step succeeded.
    """
    calls = 0
    start = time.monotonic()
    best, best_verdict = case, None

    def still_fails(candidate: Case) -> Verdict | None:
        nonlocal calls
        if calls >= max_calls or time.monotonic() - start > max_seconds:
            return None
        if not np.isfinite(candidate.logits).any() or dtype not in candidate.dtypes:
            return None
        calls += 1
        try:
            verdict = judge(candidate) if judge is not None else evaluate(port, candidate, dtype, options)[0]
        except (ValueError, TypeError):  # the reference refuses this input: not a candidate
            return None
        return verdict if verdict.status == Status.FAILED and verdict.fault == fault else None

    # 1. drop tokens
    size = max(1, best.vocab // 2)
    while size >= 1 and best.vocab > 1:
        progress = False
        start_at = 0
        while start_at < best.vocab and best.vocab > 1:
            z = np.delete(best.logits, np.arange(start_at, min(start_at + size, best.vocab)))
            if len(z):
                v = still_fails(best.with_logits(z))
                if v is not None:
                    best, best_verdict, progress = best.with_logits(z), v, True
                    continue
            start_at += size
        if not progress:
            size //= 2
    # 2. fewer bits: shift the top to 0, then round to integers, halves, quarters, ...
    finite = np.isfinite(best.logits)
    top = best.logits[finite].max()
    for bits in range(0, 12):
        scale = 2.0**bits
        z = np.where(finite, np.round((best.logits - top) * scale) / scale + 0.0, -np.inf)  # + 0.0: no -0.0
        if np.array_equal(z, best.logits):
            break
        v = still_fails(best.with_logits(z))
        if v is not None:
            best, best_verdict = best.with_logits(z), v
            break
    # 3. plain parameters
    ms = SAMPLERS.get(best.method)
    own = {p: prm.plain for p, prm in ms.params.items() if prm.plain is not None} if ms else {}
    for name, plain in {**PLAIN, **own}.items():
        if name in best.params and best.params[name] != plain:
            params = dict(best.params, **{name: plain})
            v = still_fails(best.with_params(params))
            if v is not None:
                best, best_verdict = best.with_params(params), v
    return best, best_verdict, calls

"""Hunting: a hypothesis search for an input on which a port fails, steered toward close calls.

Where the planned cases sample, the hunt *searches*: rows come from the property suite's
strategies (:mod:`ees_theory.families.strategies`), parameters from its parameter strategies, and
``hypothesis.target`` pushes toward the cases the port finds hardest (EES: the smallest certified
margin relative to the error bound; temperatures: the largest error relative to the tolerance).
The first failure hypothesis finds is shrunk by hypothesis itself. The search is derandomised, so
the same arguments find the same case.

>>> from ees_theory.running.ports import InProcessPort
>>> def top1(z, t):                                   # always keeps one token
...     m = np.zeros(z.shape, bool); m[np.argmax(z)] = True; return m
>>> case, verdict, tried = hunt(InProcessPort(top1, "top1"), "ees", "float64", examples=50)
>>> str(verdict.status), case.vocab <= 3
('fail', True)
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

from .cases import Case
from ..spec.formats import check_dtype
from .generate import fit_to_dtype
from ..judging.methods import Options, Verdict, get_method
from ..judging.outcomes import Status
from .ports import Port
from .shrink import evaluate

__all__ = ["hunt", "param_strategy"]


def param_strategy(method: str) -> st.SearchStrategy[dict]:
    """The property suite's parameter strategy for ``method``, as a dict of parameters.

    >>> from hypothesis import find
    >>> sorted(find(param_strategy("dynatemp"), lambda p: True))
    ['delta', 'exponent', 'temp']
    """
    from ..families import strategies

    m = get_method(method)
    # the methods with a strategy of their own in the property suite; the others draw from their grids
    own = {
        "ees": lambda: strategies.temperatures().map(lambda t: {"temperature": t}),
        "edt": lambda: strategies.edt_params().map(lambda p: dict(zip(m.params, p))),
        "dynatemp": lambda: strategies.dynatemp_params().map(lambda p: dict(zip(m.params, p))),
    }
    if method in own:
        return own[method]()
    return st.fixed_dictionaries({p: st.sampled_from(m.grid[p]) for p in m.params})


def hunt(
    port: Port,
    method: str,
    dtype: str,
    *,
    examples: int = 200,
    max_vocab: int = 64,
    options: Options = Options(),
    ties: bool = True,
) -> tuple[Case | None, Verdict | None, int]:
    """Search for a failing input; returns ``(case, verdict, inputs tried)``, the case shrunk by
    hypothesis, or ``(None, None, tried)`` when none was found within ``examples`` inputs.

    Inputs the reference refuses (a ``ValueError`` or ``ZeroDivisionError``) are not cases and do
    not count as failures. The search is derandomised: the same arguments try the same inputs.

    Parameters
    ----------
    port : Port
        The opened port (``open_port``).
    method : str
        A registered method.
    dtype : str
        ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    examples : int
        How many inputs hypothesis tries at most (at least 1; default 200).
    max_vocab : int
        The longest row tried (default 64).
    options : Options
        How answers are judged (default ``Options()``).
    ties : bool
        Whether the rows drawn include tied logits (default True).

    Returns
    -------
    tuple
        ``(case, verdict, tried)``: the shrunk failing case and its verdict, or ``None`` twice.

    Raises
    ------
    ValueError
        An unknown method or dtype.
    """
    from ..families import strategies

    get_method(method)
    check_dtype(dtype)
    found: dict = {}
    tried = [0]

    @settings(
        max_examples=max(1, int(examples)),
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        phases=(Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(row=strategies.logits(min_vocab=1, max_vocab=max_vocab, ties=ties), params=param_strategy(method))
    def probe(row, params):
        tried[0] += 1
        case = Case(f"hunt-{method}-{dtype}", method, "hunt", fit_to_dtype(row, dtype), params, "found by a hypothesis search")
        try:
            verdict, _ = evaluate(port, case, dtype, options)
        except (ValueError, ZeroDivisionError):  # outside the domain of the reference: not a case
            return
        target(float(min(verdict.severity, 1e9)) if math.isfinite(verdict.severity) else 1e9, label="severity")
        if verdict.status == Status.FAILED:
            found["case"], found["verdict"] = case, verdict
            raise AssertionError(verdict.message)

    try:
        probe()
    except AssertionError:
        return found["case"], found["verdict"], tried[0]
    return None, None, tried[0]

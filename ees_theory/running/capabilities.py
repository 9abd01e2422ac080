"""What a port can be asked: parameters it does not have, and cases where the answer cannot matter.

**Parameters a port does not have.** Many engines have no ``min_tokens_to_keep`` (they always keep
at least one token). Such a port is not wrong on a case that asks for 2; it cannot be asked.
``unsupported`` names those parameters (``check --unsupported``, :class:`Options <ees_theory.judging.methods.Options>`,
an engine row's ``unsupported``). Each must have a value meaning "off" in the method's parameter
table (:data:`ees_theory.spec.methods.OFF_VALUES`): cases that hold another value are skipped
with that reason and counted; the others run as always, the parameter left out of the call.

**Answers that cannot matter.** A temperature on a row with at most one finite candidate changes
nothing: every temperature gives the same one-token distribution. A method whose answer is a
temperature (``edt``, ``dynatemp``, ``temperature``) is not judged there (:func:`ineffective`),
as the engine adapters that cannot read such a temperature back do.

>>> check_unsupported("top-p", "min_tokens_to_keep")
('min_tokens_to_keep',)
>>> skip_reason("top-p", np.zeros(3), {"temperature": 1.0, "p": 0.5, "min_tokens_to_keep": 2}, ("min_tokens_to_keep",))
'the port has no min_tokens_to_keep (--unsupported): the case needs a value other than 1'
>>> skip_reason("dynatemp", np.array([0.0, -np.inf]), {"temp": 1.0, "delta": 0.5, "exponent": 1.0})
'the temperature cannot change the distribution: the row has one finite candidate'
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..core.truncation.registry import SAMPLERS
from ..spec.methods import OFF_VALUES, TRANSFORMS
from ..judging.methods import get_method
from .ports import WithoutParams, without_params

__all__ = ["check_unsupported", "skip_reason", "ineffective", "split_cases", "WithoutParams", "without_params", "TEMPERATURE_METHODS"]

#: methods whose answer is a temperature (or temperature-scaled logits)
TEMPERATURE_METHODS = ("edt", "dynatemp", "temperature")


def check_unsupported(method: str, names: Any) -> tuple[str, ...]:
    """The parameters a port of ``method`` lacks, checked: ``names`` is a comma-separated string
    or an iterable of names; each must be a parameter of ``method`` with a value meaning "off".

    >>> check_unsupported("top-k", ["k"])
    Traceback (most recent call last):
    ...
    ValueError: parameter 'k' of top-k has no value meaning "off", so a port must take it; a port may lack: min_tokens_to_keep
    >>> check_unsupported("ees", "min_tokens_to_keep")
    Traceback (most recent call last):
    ...
    ValueError: ees has no parameter 'min_tokens_to_keep'; its parameters: temperature
    """
    if names is None:
        return ()
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    m = get_method(method)
    record = SAMPLERS.get(method) or TRANSFORMS.get(method)
    off = record.off if record is not None else {}
    out: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"an unsupported parameter is named by a string, got {type(name).__name__}")
        if name not in m.params:
            raise ValueError(f"{method} has no parameter {name!r}; its parameters: {', '.join(m.params) or 'none'}")
        if name not in off:
            raise ValueError(f"parameter {name!r} of {method} has no value meaning \"off\", so a port must take it; "
                             f"a port may lack: {', '.join(off) or 'nothing'}")
        if name not in out:
            out.append(name)
    return tuple(out)


def ineffective(method: str, row: np.ndarray) -> str | None:
    """Why the answer of ``method`` cannot matter on ``row`` (None: it can)."""
    if method in TEMPERATURE_METHODS and int(np.isfinite(np.asarray(row, dtype=np.float64)).sum()) <= 1:
        return "the temperature cannot change the distribution: the row has one finite candidate"
    return None


def skip_reason(method: str, row: np.ndarray, params: dict, unsupported: Iterable[str] = ()) -> str | None:
    """Why a case is not judged for a port lacking ``unsupported`` (None: it is judged)."""
    for name in unsupported:
        if name in params and params[name] != OFF_VALUES[name]:
            return f"the port has no {name} (--unsupported): the case needs a value other than {OFF_VALUES[name]!r}"
    return ineffective(method, row)


def split_cases(cases: list, method: str, dtype: str, unsupported: Iterable[str] = ()) -> tuple[list, list[dict]]:
    """``(judged, skipped)``: the cases of ``method`` that :func:`skip_reason` refuses go to
    ``skipped`` with the reason (counted by the report, never dropped)."""
    unsupported = tuple(unsupported)
    kept, skipped = [], []
    for c in cases:
        reason = skip_reason(method, c.row(dtype), c.params, unsupported) if c.method == method and dtype in c.dtypes else None
        if reason:
            skipped.append({"case": c.id, "family": c.family, "reason": reason})
        else:
            kept.append(c)
    return kept, skipped

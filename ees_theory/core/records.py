"""Every method's record in one table: the temperature methods and logit transforms of
:mod:`ees_theory.spec.methods` and the truncation samplers, each declared in its own module
(:data:`ees_theory.core.truncation.registry.SAMPLERS`); what the command line's help and the port
protocol's table of methods are generated from.

>>> record("xtc").keeps_suffix, record("edt").form
(True, 'temperature')
"""

from __future__ import annotations

from typing import Any

from ..spec.methods import OTHER_METHODS, TRANSFORMS, MethodSpec
from .truncation.registry import SAMPLERS

__all__ = [
    "RECORDS",
    "record",
    "method_names",
    "method_help",
    "INT_PARAMS",
    "port_params",
    "FORM_RETURNS",
    "TABLE_BEGIN",
    "TABLE_END",
    "signature",
    "method_table",
    "with_method_table",
    "replace_generated",
]


#: Every method's record: the temperature methods, the logit transforms and the truncation samplers.
RECORDS: dict[str, MethodSpec] = {**OTHER_METHODS, **TRANSFORMS, **SAMPLERS}


def record(method: Any) -> MethodSpec:
    """The record of ``method``.

    Parameters
    ----------
    method : str
        A method's name (a temperature method, a logit transform or a truncation sampler).

    Returns
    -------
    MethodSpec
        Its record in :data:`RECORDS`.

    Raises
    ------
    ValueError
        An unknown method (the message lists the known ones).

    Examples
    --------
    >>> record("edt").temperature_param, record("quadratic").form, record("mirostat-v1").stateful
    ('T0', 'logits', True)
    >>> record("top-q")
    Traceback (most recent call last):
    ...
    ValueError: unknown method 'top-q'; expected one of ees, edt, dynatemp, temperature, quadratic, or a truncation sampler (top-k, top-p, ...)
    """
    if not isinstance(method, str) or method not in RECORDS:
        others = ", ".join(n for n in RECORDS if n not in SAMPLERS)
        raise ValueError(f"unknown method {method!r}; expected one of {others}, or a truncation sampler ({', '.join(SAMPLERS)})")
    return RECORDS[method]


def method_names() -> tuple[str, ...]:
    """Every method a port can be checked for, in the records' order (the command line's
    ``--method`` choices).

    >>> method_names()[:6]
    ('ees', 'edt', 'dynatemp', 'temperature', 'quadratic', 'top-k')
    """
    return tuple(RECORDS)


def method_help() -> str:
    """The methods a port can be checked for, with each sampler's parameters, from the records
    (the command line's ``--method`` help).

    >>> method_help().split(": ")[0]
    'ees, edt, dynatemp, temperature, quadratic (smoothing_factor, smoothing_curve), or a truncation sampler (parameters)'
    >>> "xtc (threshold, probability, u, min_tokens_to_keep)" in method_help()
    True
    """
    def listed(ms: MethodSpec) -> str:
        shown = [p for p, prm in ms.params.items() if prm.grid]
        return f"{ms.name} ({', '.join(shown)})" if shown else ms.name

    others = ", ".join(ms.name if ms.name in OTHER_METHODS else listed(ms) for ms in RECORDS.values() if ms.name not in SAMPLERS)
    samplers = ", ".join(listed(ms) for ms in SAMPLERS.values())
    return f"{others}, or a truncation sampler (parameters): {samplers}"


# ---- the method table of the port protocol (ees_theory/harness/PROTOCOL.md) ---------------------
#: What a Python port returns, by output form.
FORM_RETURNS = {
    "mask": "`numpy.ndarray[bool]` of shape `(V,)`, `True` = kept",
    "temperature": "`float` (`0.0` = greedy), or `None` for a row the method leaves alone",
    "logits": "the `V` transformed logits (a float array, `-inf` where the input is masked)",
    "mask-with-state": "`(mask, token, new_mu)`",
    "draws": "`draws` token ids",
}
TABLE_BEGIN = "<!-- methods table: generated from ees_theory.core.records.RECORDS by method_table(); edit the records -->"
TABLE_END = "<!-- end of the methods table -->"


def signature(ms: MethodSpec) -> str:
    """A Python port's call for ``ms``: a sampler takes the temperature, then its parameters by
    name; every other method its parameters in the record's order.

    Parameters
    ----------
    ms : MethodSpec
        A method's record.

    Returns
    -------
    str
        The call, such as ``"fn(logits, temperature, p=, min_tokens_to_keep=)"``.

    Examples
    --------
    >>> signature(SAMPLERS["top-p"]), signature(OTHER_METHODS["edt"])
    ('fn(logits, temperature, p=, min_tokens_to_keep=)', 'fn(logits, T0, theta, N)')
    """
    if ms.temperature_param and ms.temperature_param not in ms.params:
        named = ", ".join(f"{p}=" for p, prm in ms.params.items() if prm.grid)
        return f"fn(logits, {ms.temperature_param}{', ' + named if named else ''})"
    return f"fn(logits, {', '.join(ms.params)})"


def method_table() -> str:
    """The protocol's table of methods, one row per record, between its two marker lines.

    >>> method_table().splitlines()[3].split(" | ")[:2]
    ['| `ees`', '`fn(logits, temperature)`']
    """
    lines = [TABLE_BEGIN, "| method | signature | returns | policies | stateful |", "|---|---|---|---|---|"]
    for ms in RECORDS.values():
        lines.append(f"| `{ms.name}` | `{signature(ms)}` | {FORM_RETURNS[ms.form]} | {', '.join(ms.policies)} | {'yes' if ms.stateful else 'no'} |")
    return "\n".join(lines + [TABLE_END])


def with_method_table(text: str) -> str:
    r"""``text`` (the protocol) with its generated table replaced by :func:`method_table`.

    Parameters
    ----------
    text : str
        Text holding the marker lines ``TABLE_BEGIN`` and ``TABLE_END``, in that order.

    Returns
    -------
    str
        ``text`` with everything from the first marker to the second replaced by
        :func:`method_table`.

    Raises
    ------
    ValueError
        A marker line missing, or the two out of order.

    Examples
    --------
    >>> with_method_table("a\n" + TABLE_BEGIN + "\nold\n" + TABLE_END + "\nb").splitlines()[-1]
    'b'
    >>> with_method_table("no table")
    Traceback (most recent call last):
    ...
    ValueError: the text has no generated methods table (its marker lines are missing)
    """
    return replace_generated(text, TABLE_BEGIN, TABLE_END, method_table(), "methods table")


def replace_generated(text: str, begin: str, end: str, table: str, what: str) -> str:
    r"""``text`` with everything from the marker line ``begin`` to the marker line ``end`` replaced
    by ``table`` (which carries both markers): a generated section of a hand-written document.

    Parameters
    ----------
    text : str
        The document.
    begin, end : str
        The marker lines, in that order.
    table : str
        The generated section, markers included.
    what : str
        What the section is, for the error message.

    Returns
    -------
    str
        The document with its section regenerated.

    Raises
    ------
    ValueError
        A marker line missing, or the two out of order.

    Examples
    --------
    >>> replace_generated("a\n<b>\nold\n<e>\nz", "<b>", "<e>", "<b>\nnew\n<e>", "table").split()
    ['a', '<b>', 'new', '<e>', 'z']
    """
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"the text has no generated {what} (its marker lines are missing)")
    return text[:i] + table + text[j + len(end):]


#: Parameters that count tokens: a port receives them as Python ints.
INT_PARAMS = frozenset(name for ms in SAMPLERS.values() for name, prm in ms.params.items() if prm.integer)


def port_params(params: dict[str, float]) -> dict[str, Any]:
    """A case's parameters as a port receives them (ints where the sampler counts tokens).

    Parameters
    ----------
    params : dict
        ``{name: value}``, every value a real number.

    Returns
    -------
    dict
        The same parameters, each an ``int`` where it is in :data:`INT_PARAMS` (else a ``float``).

    Raises
    ------
    ValueError
        A parameter that counts tokens with a value that is not a whole number.

    Examples
    --------
    >>> port_params({"temperature": 1.0, "k": 3.0})
    {'temperature': 1.0, 'k': 3}
    """
    out: dict[str, Any] = {}
    for name, v in params.items():
        if name in INT_PARAMS:
            if float(v) != int(v):
                raise ValueError(f"parameter {name} must be a whole number, got {v!r}")
            out[name] = int(v)
        else:
            out[name] = float(v)
    return out

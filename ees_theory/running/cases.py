"""Conformance cases: one row of logits, a method, its parameters, and where it came from.

A :class:`Case` stores its logits as float64 values; :meth:`Case.row` hands them to a port in the
dtype under test and refuses values that dtype cannot hold exactly (the reference must judge the
very numbers the port saw).

>>> c = Case("demo-1", "ees", "hand", np.array([2.0, 1.0, -np.inf]), {"temperature": 1.0})
>>> c.row("float16").dtype, c.vocab
(dtype('float16'), 3)
>>> Case.from_json(c.to_json()) == c
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, TypedDict

import numpy as np

from ..spec.formats import DTYPES, cast, exact_in, from_hex, from_hex_list, hex_list, to_hex

__all__ = ["Case", "CaseRecord", "ShrunkCase", "params_from_json", "params_to_json", "port_batches"]


class ShrunkCase(TypedDict):
    """The smallest failing form of a failed case (``CaseRecord["shrunk"]``): its vocabulary, logits
    and parameters, the verdict's message on it, its own repro line and the port calls it took."""

    vocab: int
    logits: list
    params: dict
    message: str
    repro: str
    port_calls: int


class CaseRecord(TypedDict, total=False):
    """One judged case as a run records it (``Report.records``, one line of the journal), for both
    answer forms; every key a record may hold is declared here (``tests/test_report.py`` checks
    the records of real runs against it).

    ``case``, ``family``, ``vocab``, ``params``, ``comment``: the case; ``status`` (an
    :class:`~ees_theory.judging.outcomes.Status` word), ``fault``, ``message``, ``certified``,
    ``severity``, ``details`` (the judge's numbers: bounds, admissible counts, grade, diagnosis):
    the verdict; ``answer``: the port's answer, encoded; ``elapsed_s``: the call's time;
    ``logits`` (hex, small rows), ``repro``, ``shrunk``: a failure's evidence; ``kind``: the
    journal line's kind (``"case"``). Draws form: ``seed``, ``draws``, ``pvalue`` (before the
    family-wise step), ``certain`` (a failure no sample size undoes), ``diagnosis`` (the fault
    the test would name, where the case passes), ``threshold`` (the family-wise step's level a
    rejected case's p-value fell below).
    """

    case: str
    family: str
    vocab: int
    params: dict
    comment: str
    status: str
    fault: Optional[str]
    message: str
    certified: bool
    severity: Optional[float]
    details: dict
    answer: Any
    elapsed_s: float
    logits: list
    repro: str
    shrunk: ShrunkCase
    kind: str
    seed: int
    draws: int
    pvalue: Optional[float]
    certain: bool
    diagnosis: dict
    threshold: float


def params_to_json(params: dict[str, float]) -> dict[str, str]:
    """Method parameters as hex strings (exact).

    >>> params_to_json({"temperature": 0.5})
    {'temperature': '0x1.0000000000000p-1'}
    """
    return {k: to_hex(v) for k, v in params.items()}


def params_from_json(params: dict[str, Any]) -> dict[str, float]:
    """Inverse of :func:`params_to_json` (also accepts plain JSON numbers).

    >>> params_from_json({"T0": "0x1p+0", "theta": 0.5})
    {'T0': 1.0, 'theta': 0.5}
    """
    return {k: from_hex(v) for k, v in params.items()}


@dataclass(frozen=True, eq=False)
class Case:
    """One conformance case. ``logits`` are float64 values; ``comment`` says why the case exists.

    Parameters
    ----------
    id : str
        A name unique within a run (``"gen0-ees-float32-0003"``, a golden vector's id, ...).
    method : str
        The registered method the case is for.
    family : str
        Where the row comes from: a distribution family, ``"hand"``, ``"hunt"``, ...
    logits : numpy.ndarray
        The row, 1-D float64 (``-inf`` masks a token); :meth:`row` casts it to a dtype exactly.
    params : dict
        ``{name: value}`` for every parameter of the method, floats.
    comment : str
        Why the case exists (default empty).
    expected : dict or None
        A recorded reference answer (golden vectors), or ``None``.
    """

    id: str
    method: str
    family: str
    logits: np.ndarray
    params: dict[str, float]
    comment: str = ""
    expected: dict | None = field(default=None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Case):
            return NotImplemented
        return (self.id, self.method, self.family, self.params, self.comment) == (
            other.id, other.method, other.family, other.params, other.comment
        ) and np.array_equal(self.logits, other.logits)

    __hash__ = None  # type: ignore[assignment]

    @property
    def vocab(self) -> int:
        """Length of the row (masked entries included)."""
        return int(self.logits.shape[0])

    @property
    def dtypes(self) -> tuple[str, ...]:
        """The dtypes that hold every logit of this case exactly."""
        return tuple(d for d in DTYPES if exact_in(self.logits, d))

    def row(self, dtype: str) -> np.ndarray:
        """The logits in the port's numpy type for ``dtype`` (a fresh, writable array).

        Parameters
        ----------
        dtype : str
            One of the ``DTYPES`` that holds every logit exactly (see
            :attr:`dtypes`); ``"bfloat16"`` rows come as float32 arrays (numpy has no bfloat16).

        Returns
        -------
        numpy.ndarray
            A copy the port may write to.

        Raises
        ------
        ValueError
            If a logit is not exactly representable in ``dtype``.

        Examples
        --------
        >>> Case("c", "ees", "hand", np.array([0.5, -np.inf]), {}).row("float16").tolist()
        [0.5, -inf]
        """
        if not exact_in(self.logits, dtype):
            raise ValueError(f"case {self.id}: its logits are not exactly representable in {dtype}")
        return np.array(cast(self.logits, dtype), copy=True)

    def with_logits(self, logits: np.ndarray, suffix: str = "") -> "Case":
        """A copy with other logits (used while shrinking).

        Parameters
        ----------
        logits : array_like
            The new row, read as float64.
        suffix : str
            Appended to the case's ``id`` (default: the same id).

        Returns
        -------
        Case
            The copy; method, family, parameters and comment unchanged.
        """
        return Case(self.id + suffix, self.method, self.family, np.asarray(logits, dtype=np.float64), dict(self.params), self.comment)

    def with_params(self, params: dict[str, float], suffix: str = "") -> "Case":
        """A copy with other parameters.

        Parameters
        ----------
        params : dict
            ``{name: value}`` for every parameter of the method (copied).
        suffix : str
            Appended to the case's ``id`` (default: the same id).

        Returns
        -------
        Case
            The copy; id (with ``suffix``), method, family, logits and comment unchanged.
        """
        return Case(self.id + suffix, self.method, self.family, self.logits, dict(params), self.comment)

    def to_json(self) -> dict:
        """The case as a JSON object (floats as hex strings)."""
        out = {
            "id": self.id,
            "method": self.method,
            "family": self.family,
            "params": params_to_json(self.params),
            "logits": hex_list(self.logits),
        }
        if self.comment:
            out["comment"] = self.comment
        if self.expected is not None:
            out["expected"] = self.expected
        return out

    def to_line(self) -> str:
        """One JSON line."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, obj: dict, default_id: str = "case") -> "Case":
        """Read a case written by :meth:`to_json` (``id``/``family``/``comment`` optional).

        Parameters
        ----------
        obj : dict
            The JSON object: ``logits`` (hex floats, required), ``method`` (default ``"ees"``),
            ``params`` (hex floats), ``id``, ``family``, ``comment``, ``expected``.
        default_id : str
            The id when ``obj`` has none.

        Returns
        -------
        Case
            The case, floats read exactly from their hex strings.

        Raises
        ------
        ValueError
            If ``obj`` has no ``logits``.

        Examples
        --------
        >>> Case.from_json({"logits": ["0x1p-1", "-inf"]}).logits.tolist()
        [0.5, -inf]
        """
        if "logits" not in obj:
            raise ValueError("a case needs 'logits' (a list of hex floats)")
        method = obj.get("method", "ees")
        return cls(
            str(obj.get("id", default_id)),
            str(method),
            str(obj.get("family", "given")),
            from_hex_list(obj["logits"]),
            params_from_json(obj.get("params", {})),
            str(obj.get("comment", "")),
            obj.get("expected"),
        )


def port_batches(cases: list[Case], size: int) -> list[list[Case]]:
    """The calls a run makes to a port: runs of consecutive cases of one vocabulary size, at most
    ``size`` long (a batched port takes each run as one 2-D array), in plan order. Every executor
    cuts the plan this way, so a port sees the same calls wherever it runs.

    >>> z = lambda i, v: Case(str(i), "ees", "hand", np.zeros(v), {"temperature": 1.0})
    >>> [[c.id for c in b] for b in port_batches([z(0, 2), z(1, 2), z(2, 2), z(3, 3)], 2)]
    [['0', '1'], ['2'], ['3']]
    """
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    out: list[list[Case]] = []
    for c in cases:
        if out and len(out[-1]) < size and out[-1][0].vocab == c.vocab:
            out[-1].append(c)
        else:
            out.append([c])
    return out

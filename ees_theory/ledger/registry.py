"""The claims ledger's registry: verdict records, the registration decorator, the runner, the tables.

This module imports no claim module: the claim groups (``ees_claims``, ``temperature_claims``,
``truncation_claims``) import it and register their checks with :func:`register_claim`;
``ees_theory.ledger.claims`` loads every group. :func:`run_ledger` runs what is registered.

A verdict is **proved** (a written proof, exercised by a property test and by a certified spot
check), **refuted** (a counterexample whose every sign is certified by the exact reference, stored
as hex floats in ``ledger/verdicts.json`` and re-certified on every run) or **open** (with the
evidence gathered).

>>> to_hex([1.5, -float("inf")]), from_hex(["0x1.8p+0", "-inf"]).tolist()
(['0x1.8000000000000p+0', '-inf'], [1.5, -inf])
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .. import spec
from ..core.certify import Decision
from ..spec.formats import from_hex_list, hex_list
from .minimality import format_minimality, minimality_for

__all__ = [
    "VERDICTS",
    "GapRow",
    "Counterexample",
    "Verdict",
    "Claim",
    "CheckContext",
    "CLAIM_REGISTRY",
    "register_claim",
    "run_ledger",
    "recorded_verdicts",
    "write_ledger",
    "format_table",
    "format_detail",
    "to_hex",
    "from_hex",
    "LEDGER_PATH",
    "PROOFS_DIR",
]

VERDICTS = ("proved", "refuted", "open")
LEDGER_PATH = Path(__file__).resolve().parent / "verdicts.json"
PROOFS_DIR = "proofs"


# ---- exact float I/O (the one hex codec of spec.formats) ----------------------------------------

def to_hex(values: Iterable[float]) -> list[str]:
    """Floats as exact hex strings (``-inf`` as ``"-inf"``), by :func:`ees_theory.spec.formats.hex_list`.

    Parameters
    ----------
    values : iterable of float
        Any numbers or array (flattened), read as float64.

    Returns
    -------
    list of str
        One hex string per value; reading it back gives the same float64 exactly.

    Examples
    --------
    >>> to_hex([1.5])
    ['0x1.8000000000000p+0']
    """
    return hex_list(values)


def from_hex(values: Iterable[str]) -> np.ndarray:
    """The inverse of :func:`to_hex`, as a float64 array (:func:`ees_theory.spec.formats.from_hex_list`).

    Parameters
    ----------
    values : iterable of str
        Hex float strings (decimal strings, ``"inf"``/``"-inf"``/``"nan"`` and JSON numbers are
        read too).

    Returns
    -------
    numpy.ndarray
        The values, float64.

    Raises
    ------
    ValueError
        A string that is not a float.
    TypeError
        A boolean, or something that is neither a string nor a number.

    Examples
    --------
    >>> from_hex(["0x1.8p+0", "-inf"]).tolist()
    [1.5, -inf]
    """
    return from_hex_list(values)


# ---- verdicts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapRow:
    """The certified sign of ``f(k)`` with bounds ``f_lo <= f(k) <= f_hi``.

    ``negative`` decides ``f(k) < 0`` and ``positive`` decides ``f(k) > 0`` (undecided where only
    ``f >= 0`` is certified). :attr:`sign` is the label the tables and ``verdicts.json`` show.

    Parameters
    ----------
    k : int
        The index, ``k >= 2``.
    f_lo, f_hi : float
        Certified bounds on ``f(k)``.
    negative : Decision
        The decision of ``f(k) < 0``.
    positive : Decision
        The decision of ``f(k) > 0``.
    method : str
        What decided it (``"structure"``, ``"float64"``, ``"mpmath-<bits>"``).

    Examples
    --------
    >>> g = GapRow.of_comparison(3, Decision.FALSE, 0.0, 0.5, "structure")
    >>> g.sign, GapRow.from_json(g.to_json()) == g
    ('>=0', True)
    """

    k: int
    f_lo: float
    f_hi: float
    negative: Decision
    positive: Decision
    method: str

    @classmethod
    def of_comparison(cls, k: int, negative: Decision, f_lo: float, f_hi: float, method: str) -> "GapRow":
        """From the decision of ``f(k) < 0`` and certified bounds (``f > 0`` is certain when ``f_lo > 0``).

        Parameters
        ----------
        k : int
            The index, ``k >= 2``.
        negative : Decision
            The certified decision of ``f(k) < 0``.
        f_lo, f_hi : float
            Certified bounds ``f_lo <= f(k) <= f_hi``.
        method : str
            What decided it (``"structure"``, ``"float64"``, ``"mpmath-<bits>"``).

        Returns
        -------
        GapRow
            With ``positive`` derived: the opposite of a decided ``negative`` (only when
            ``f_lo > 0`` for a false one, as ``f(k) = 0`` is not excluded otherwise), else undecided.
        """
        if negative is Decision.TRUE:
            positive = Decision.FALSE
        elif negative is Decision.FALSE:
            positive = Decision.TRUE if f_lo > 0 else Decision.UNDECIDED
        else:
            positive = Decision.UNDECIDED
        return cls(k, f_lo, f_hi, negative, positive, method)

    @property
    def sign(self) -> str:
        """``"+"`` (``f > 0``), ``">=0"`` (``f >= 0``, 0 not excluded), ``"-"`` (``f < 0``) or ``"?"``
        (undecided within the precision limit)."""
        if self.negative is Decision.TRUE:
            return "-"
        if self.negative is Decision.UNDECIDED:
            return "?"
        return "+" if self.positive is Decision.TRUE else ">=0"

    def to_json(self) -> dict:
        return {"k": self.k, "f_lo": self.f_lo, "f_hi": self.f_hi, "sign": self.sign, "method": self.method}

    @classmethod
    def from_json(cls, d: dict) -> "GapRow":
        """Read a row written by ``to_json`` (the ``verdicts.json`` form).

        Parameters
        ----------
        d : dict
            ``k``, ``f_lo``, ``f_hi``, ``method`` and ``sign`` (one of the labels of :attr:`sign`).

        Returns
        -------
        GapRow
            The row, its two decisions read back from the sign label.
        """
        negative, positive = _SIGN_LABELS[d["sign"]]
        return cls(int(d["k"]), float(d["f_lo"]), float(d["f_hi"]), negative, positive, str(d["method"]))


#: The labels of :attr:`GapRow.sign`, read back as ``(negative, positive)``.
_SIGN_LABELS = {
    "-": (Decision.TRUE, Decision.FALSE),
    "+": (Decision.FALSE, Decision.TRUE),
    ">=0": (Decision.FALSE, Decision.UNDECIDED),
    "?": (Decision.UNDECIDED, Decision.UNDECIDED),
}


@dataclass
class Counterexample:
    """A certified counterexample: logits (exact hex floats), the parameters, the gap table.

    Parameters
    ----------
    logits : list of str
        The row as exact hex floats (:func:`to_hex`).
    n : int
        The number of candidates (finite logits).
    temperatures : list of float
        The temperatures the claim fails at (empty when it does not involve one).
    params : dict
        The sampler's parameters, for a claim about a truncation sampler.
    summary : str
        What the row shows, in one line.
    gaps : list of GapRow
        The certified gap table of the row (default empty).
    certified : bool
        Whether every sign the refutation rests on is certified (default False).
    """

    logits: list[str]
    n: int
    temperatures: list[float]
    params: dict
    summary: str
    gaps: list[GapRow] = field(default_factory=list)
    certified: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d["gaps"] = [g.to_json() for g in self.gaps]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Counterexample":
        """Read a counterexample written by ``to_json`` (the ``verdicts.json`` form).

        Parameters
        ----------
        d : dict
            The fields of the class, ``gaps`` as a list of :meth:`GapRow.from_json` objects.

        Returns
        -------
        Counterexample
            A new one; ``d`` is not modified.
        """
        d = dict(d)
        d["gaps"] = [GapRow.from_json(g) for g in d.get("gaps", [])]
        return cls(**d)

    @property
    def row(self) -> np.ndarray:
        return from_hex(self.logits)


@dataclass
class Verdict:
    """The ledger entry of one claim.

    Parameters
    ----------
    claim_id : str
        The claim's id (``"EES-MONO"``, ...).
    statement : str
        The claim as the specification states it.
    verdict : str
        ``"proved"``, ``"refuted"`` or ``"open"``.
    evidence : str
        What the check found (rows checked, the counterexample's summary, ...).
    proof : str
        The path of the claim's page (``proofs/<id>.md``).
    test : str
        The pytest node id of the property test that exercises the claim.
    counterexample : Counterexample or None
        The certified counterexample of a refuted claim.
    undecided : int
        Comparisons the check could not certify (default 0).
    seconds : float
        How long the check ran.
    minimality : dict or None
        For a refuted claim, whether the counterexample's size is the smallest possible
        (``{"status", "size", ...}``; see ``minimality_for``).
    """

    claim_id: str
    statement: str
    verdict: str
    evidence: str
    proof: str
    test: str
    counterexample: Counterexample | None = None
    undecided: int = 0
    seconds: float = 0.0
    minimality: dict | None = None  # refuted claims: is the counterexample's size the smallest possible?

    def to_json(self) -> dict:
        d = asdict(self)
        d["counterexample"] = self.counterexample.to_json() if self.counterexample else None
        return d


@dataclass
class CheckContext:
    """What a check gets: whether to search, the row budget, a seeded generator, the stored record,
    and how the search runs its independent pieces (``run(fn, calls)``, lazily and in order: None
    for here, one after another).

    Parameters
    ----------
    search : bool
        Search afresh (True) or re-certify the stored record (False).
    rows : int
        How many rows the spot checks or the search may use.
    rng : numpy.random.Generator
        The claim's own seeded generator.
    recorded : dict
        The claim's entry of ``verdicts.json`` (empty when there is none).
    run : callable or None
        ``run(fn, calls)`` for the search's independent pieces (a cluster); ``None``: here, in order.
    """

    search: bool
    rows: int
    rng: np.random.Generator
    recorded: dict
    run: Callable | None = None


@dataclass(frozen=True)
class Claim:
    """A registered claim: its check returns ``(verdict, evidence, counterexample, undecided)``.

    Parameters
    ----------
    claim_id : str
        The claim's id.
    statement : str
        The claim's statement.
    check : callable
        ``check(ctx: CheckContext) -> (verdict, evidence, counterexample or None, undecided)``.
    proof : str
        The path of its page.
    test : str
        The pytest node id of its property test.
    """

    claim_id: str
    statement: str
    check: Callable[[CheckContext], tuple]
    proof: str
    test: str


#: Registered claims, by id, in registration order.
CLAIM_REGISTRY: dict[str, Claim] = {}


def register_claim(claim_id: str, statement: str | None = None, *, proof: str | None = None, test: str):
    """Decorator registering ``check(ctx) -> (verdict, evidence, counterexample | None, undecided)``.

    ``statement`` defaults to ``spec.CLAIMS[claim_id]``; ``proof`` to ``proofs/<id lower>.md``;
    ``test`` names the property test (a pytest node id) that exercises the claim.

    Parameters
    ----------
    claim_id : str
        The claim's id; registering an id again replaces the earlier check.
    statement : str or None
        The claim; ``None`` (default) reads it from the specification's claims.
    proof : str or None
        The path of its page (default ``proofs/<id lower case>.md``).
    test : str
        The pytest node id of its property test (required).

    Returns
    -------
    callable
        The decorator; it returns the check unchanged.

    Raises
    ------
    ValueError
        No ``statement`` given for an id that is not in the specification.

    Examples
    --------
    >>> @register_claim("DEMO-ONE", "1 + 1 = 2", test="tests/test_claims.py::test_registry")
    ... def _demo(ctx):
    ...     return "proved", "arithmetic", None, 0
    >>> run_ledger(ids=["DEMO-ONE"])[0].verdict
    'proved'
    >>> _ = CLAIM_REGISTRY.pop("DEMO-ONE")
    """
    if statement is None:
        if claim_id not in spec.CLAIMS:
            raise ValueError(f"claim {claim_id!r} is not in specification §5: give its statement")
        statement = spec.CLAIMS[claim_id]

    def wrap(check):
        CLAIM_REGISTRY[claim_id] = Claim(claim_id, statement, check, proof or f"{PROOFS_DIR}/{claim_id.lower()}.md", test)
        return check

    return wrap


def recorded_verdicts(path: Path | str | None = None) -> dict[str, dict]:
    """The verdicts recorded in the repository (``ledger/verdicts.json``), by claim id.

    Parameters
    ----------
    path : str, pathlib.Path or None
        Another ledger file (default ``None``: the packaged ``verdicts.json``).

    Returns
    -------
    dict
        ``{claim_id: {"verdict": ..., "counterexample": ... or None}}``; empty when the file
        does not exist.

    Examples
    --------
    >>> recorded_verdicts()["EES-MONO"]["verdict"]
    'refuted'
    """
    p = Path(LEDGER_PATH if path is None else path)
    if not p.exists():
        return {}
    return json.loads(p.read_text(encoding="utf-8"))["claims"]


def write_ledger(verdicts: list[Verdict], path: Path | str | None = None) -> None:
    """Record verdicts (with their counterexamples) as the repository's ledger.

    Parameters
    ----------
    verdicts : list of Verdict
        The verdicts to record (the file holds exactly these).
    path : str, pathlib.Path or None
        Where to write (default ``None``: the packaged ``verdicts.json``, overwritten).
    """
    data = {"format": 1, "claims": {v.claim_id: {"verdict": v.verdict, "counterexample": v.counterexample.to_json() if v.counterexample else None} for v in verdicts}}
    Path(LEDGER_PATH if path is None else path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _run_check(check: Callable[[CheckContext], tuple], search: bool, rows: int, rng_seed: list, recorded: dict,
               run: Callable | None = None) -> tuple:
    """One claim's check and its seconds (on a cluster: a task, its search's pieces sent out by ``run``)."""
    t0 = time.perf_counter()
    out = check(CheckContext(search, rows, np.random.default_rng(rng_seed), recorded, run))
    return out, time.perf_counter() - t0


def run_ledger(search: bool = False, ids: Iterable[str] | None = None, rows: int | None = None, seed: int = 0, path: Path | str | None = None,
               *, executor=None) -> list[Verdict]:
    """Run the checks (every registered claim, or ``ids``) and return their verdicts.

    ``search=False`` re-certifies the stored counterexamples and spot-checks the proved claims on
    ``rows`` rows (default 12); ``search=True`` searches afresh and checks 10x more rows. With
    ``executor`` (a ``distributed.Client``) each claim is a task on its cluster and each search
    sends its sizes' draws and its climbs out as tasks of their own; the verdicts are the same
    (their ``seconds`` apart), since every piece has its own seed.

    Parameters
    ----------
    search : bool
        Search for counterexamples afresh (default False: re-certify the stored ones).
    ids : iterable of str or None
        The claims to run, in that order (default: every registered claim).
    rows : int or None
        Rows per spot check or search (default 12, or 120 with ``search``).
    seed : int
        The base seed (default 0); a claim's generator is seeded with ``[seed, len(claim_id)]``.
    path : str, pathlib.Path or None
        The recorded ledger to re-certify (default the packaged ``verdicts.json``).
    executor : object
        A ``distributed.Client`` to run the checks on (default ``None``: here).

    Returns
    -------
    list of Verdict
        One per claim, in the order asked.

    Raises
    ------
    ValueError
        An unknown claim id, or a check that returns a verdict outside ``VERDICTS``.
    """
    recorded = recorded_verdicts(path)
    wanted = list(CLAIM_REGISTRY) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in CLAIM_REGISTRY]
    if unknown:
        raise ValueError(f"unknown claim id(s) {', '.join(unknown)}; known: {', '.join(CLAIM_REGISTRY)}")
    budget = rows if rows is not None else (120 if search else 12)
    calls = [(CLAIM_REGISTRY[cid].check, search, budget, [seed, len(cid)], recorded.get(cid, {})) for cid in wanted]
    if executor is None:
        results = (_run_check(*c) for c in calls)
    else:
        from ..running.cluster import map_from_task, map_in_order

        results = map_in_order(executor, _run_check, [c + (map_from_task,) for c in calls])
    out = []
    for cid, ((verdict, evidence, cex, undecided), seconds) in zip(wanted, results):
        claim = CLAIM_REGISTRY[cid]
        if verdict not in VERDICTS:
            raise ValueError(f"check of {cid} returned {verdict!r}, not one of {VERDICTS}")
        mini = minimality_for(cid, cex.n) if verdict == "refuted" and cex is not None else None
        out.append(Verdict(cid, claim.statement, verdict, evidence, claim.proof, claim.test, cex, undecided, seconds, mini))
    return out


def format_table(verdicts: list[Verdict], recorded: dict | None = None) -> str:
    """The ledger as a text table: id, claim, verdict, evidence (one line each).

    Parameters
    ----------
    verdicts : list of Verdict
        The rows of the table.
    recorded : dict or None
        Recorded verdicts by claim id (default: :func:`recorded_verdicts`); a verdict that differs
        from its record is flagged ``(recorded: ...!)``.

    Returns
    -------
    str
        A header, a rule and one line per verdict; statements over 60 characters are shortened.
    """
    recorded = recorded_verdicts() if recorded is None else recorded
    rows = [("id", "verdict", "claim", "evidence")]
    for v in verdicts:
        was = recorded.get(v.claim_id, {}).get("verdict")
        flag = "" if was in (None, v.verdict) else f" (recorded: {was}!)"
        claim = v.statement if len(v.statement) <= 60 else v.statement[:57] + "..."
        rows.append((v.claim_id, v.verdict + flag, claim, v.evidence))
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}" for r in rows]
    lines.insert(1, "-" * min(200, sum(w) + 6 + max(len(r[3]) for r in rows)))
    return "\n".join(lines)


def format_detail(v: Verdict) -> str:
    """One claim in detail, with its counterexample's certified gap table.

    Parameters
    ----------
    v : Verdict
        The verdict to show.

    Returns
    -------
    str
        Its statement, verdict, evidence, proof and test, then (refuted) the counterexample's
        exact logits, gap table and minimality.
    """
    lines = [f"{v.claim_id}: {v.statement}", f"verdict:  {v.verdict}", f"evidence: {v.evidence}", f"proof:    {v.proof}", f"test:     {v.test}"]
    if v.undecided:
        lines.append(f"undecided comparisons: {v.undecided}")
    c = v.counterexample
    if c is not None:
        lines += [f"counterexample (n = {c.n}, certified = {c.certified}): {c.summary}", f"  temperatures: {c.temperatures}", f"  params: {c.params}"]
        lines.append("  logits (exact): [" + ", ".join(c.logits) + "]")
        if c.gaps:
            lines.append(f"  {'k':>6}  {'sign':>4}  {'f_lo':>24}  {'f_hi':>24}  method")
            for g in c.gaps:
                lines.append(f"  {g.k:>6}  {g.sign:>4}  {g.f_lo:>24.17g}  {g.f_hi:>24.17g}  {g.method}")
    if v.minimality is not None:
        lines.append(format_minimality(v.minimality))
    return "\n".join(lines)

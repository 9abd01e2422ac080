"""Judging samplers by their draws: token-level conformance with certified support and
controlled-error statistics.

Many engines never expose a kept mask; they return token ids. A *draws port* is called once per
case and returns ``n`` token ids drawn from the truncated distribution of one row:

* Python: ``fn(logits, temperature, n, seed, **params) -> n token ids`` with the mask form's
  parameters (``PROTOCOL.md``; mirostat takes ``tau``, ``eta``, ``mu`` and draws ``n`` successive
  tokens, carrying its state, with no ``u``: the port uses its own randomness). A batched form
  ``fn_batched(rows, temperature, n, seeds, **params) -> (B, n)`` (attribute ``fn.batched`` or a
  module-level ``<fn>_batched``) is used for rows of one length.
* JSON Lines: the mask form's request plus ``"draws": n, "seed": s``; the answer is
  ``{"id": ..., "tokens": [...]}``.

Every case is judged in two steps.

1. **Certain failures.** The certified reference (:func:`ees_theory.reference.truncate`,
   :func:`ees_theory.reference.ees`) gives the exact kept set; the admissible band of the mask
   judge (comparisons inside the dtype's error bound, near-ties at the boundary) gives every kept
   set a correct float port may use. One draw outside all of them is a certain failure: the token,
   its certified probability, the draw's index and seed and a ``reproduce:`` line are reported.
2. **Statistics** (``ees_theory.judging.gof``). The draws are tested against the exact renormalised
   distribution of each admissible kept set (exact ties pooled, since which of several tied tokens
   a port keeps is free); a case is rejected only if every admissible distribution is rejected, so
   its p-value is a valid bound whichever one the port implements. The admissible sets are the
   prefixes of the reference's order that the band allows, every set a careful style keeps
   (``ees_theory.errormodel.styles``: where rounding orders near-equal values, typical's scores on a near-uniform
   row, such a set can differ in tokens, not only in length), and the set of tokens drawn when
   careful code keeps it. Draws that lie beyond every one of them (a near-tie swap) leave the case
   untested, counted with that reason. Across cases Holm's procedure
   holds the family-wise false-alarm rate at ``alpha`` (default ``1e-6``). With no ``draws`` given,
   the number per case is planned (``gof.plan_draws``) to detect any deviation of total
   variation ``tv`` (default 0.02) with probability ``power`` (default 0.99). Mirostat's draws form
   a sequence whose distribution moves with its state; the judge replays the state exactly from the
   port's own tokens and tests the probability integral transforms (``gof.ks_uniform_pvalue``).

Seeds are derived from the run's seed and the case index, so every verdict is reproducible;
failures are shrunk like the mask judge's (same fault, smaller input).

A Python draws port named by a string runs, as a mask port does, in the isolated worker
(``ees_theory.running.worker``, ``--draws``): in its own process group, its import and every call bounded by the
timeout, so a port that exits, hangs, raises ``KeyboardInterrupt`` or patches the judge costs its
own case, never the run's verdict. ``isolate=False`` (``--in-process``) calls it in this process:
faster, and not evidence against a hostile port. The draws in flight are bounded by
:data:`DRAWS_MEMORY_BUDGET`: a plan beyond :data:`MAX_DRAWS` per case is refused before any port
runs. Outcomes use the mask report's words (``pass``, ``admissible``, ``fail``, ``skipped``); a run
with no case judged is ``NO VERDICT`` and not ``ok``. With ``journal`` each case is recorded as it
is judged (with its draws, compactly), and ``resume=True`` continues a run from its journal.

>>> from ees_theory.running.cases import Case
>>> def inverse_cdf(z, t, n, seed, p, min_tokens_to_keep):   # a correct top-p sampler
...     ref = reference.truncate("top-p", z, t, p=p, min_tokens_to_keep=min_tokens_to_keep)
...     pr = np.array([float(x) for x in reference.softmax(z, t)])[list(ref.kept)]
...     u = np.random.default_rng(seed).random(n)
...     return np.asarray(ref.kept)[np.searchsorted(np.cumsum(pr / pr.sum()), u, side="right").clip(0, ref.k - 1)]
>>> case = Case("c", "top-p", "hand", np.array([2.0, 1.0, 0.0, -1.0]), {"temperature": 1.0, "p": 0.9, "min_tokens_to_keep": 1})
>>> r = check_draws(InProcessDrawsPort(inverse_cdf, "demo"), "top-p", cases=[case], draws=5000)
>>> r.ok, str(r.records[0]["status"])
(True, 'pass')
"""

from __future__ import annotations

import collections
import math
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .. import reference
from ..judging import gof
from .cases import Case, CaseRecord, params_from_json, params_to_json
from ..spec.formats import cast, from_hex_list, hex_list
from ..core.records import record
from ..core.truncation.registry import SAMPLERS as TRUNCATION_SAMPLERS
from ..judging.methods import Options, OutputFault, to_numpy, get_method
from ..judging.outcomes import Status
from .ports import (IMPORT_TIMEOUT_S, Outcome, PortTimeout, SubprocessPort, Alarm, batchable, find_batched, try_batched, same_array, SigintWatch, worker_env,
                    answer_limit, load_callable)
from .runner import DRAWS_JOURNAL_FORMAT, Journal, JudgedRun, fingerprint, repro_line
from ..judging.truncation import INT_PARAMS, port_params
from ..judging.draws import DrawVerdict, MIROSTAT, judge_draws

__all__ = [
    "DrawsPort",
    "InProcessDrawsPort",
    "ExecDrawsPort",
    "open_draws_port",
    "check_draws",
    "DrawsReport",
    "case_seed",
    "draws_repro_line",
    "answer_draws",
    "DRAWS_MEMORY_BUDGET",
    "MAX_DRAWS",
]


#: default draws (steps) per mirostat case: each step replays the state through the reference
MIROSTAT_DRAWS = 400


#: bytes the draws in flight may take: a plan beyond it is a usage error before any port runs
DRAWS_MEMORY_BUDGET = 1 << 30


#: bytes one draw may cost at the peak of a call: a Python int in a list on both sides of the
#: worker's pipe (36 each), its JSON text (up to 16) and the int64 the judge reads (8)
BYTES_PER_DRAW = 96


#: the most draws one case may take under the budget (11 184 810)
MAX_DRAWS = DRAWS_MEMORY_BUDGET // BYTES_PER_DRAW


def case_seed(seed: int, index: int) -> int:
    """The draw seed of case ``index`` of a run with ``seed`` (a 31-bit int, any engine takes it).

    Parameters
    ----------
    seed : int
        The run's seed.
    index : int
        The case's position in the plan, from 0.

    Returns
    -------
    int
        In ``0 .. 2**31 - 1``; a different one for every case of the run.

    Examples
    --------
    >>> case_seed(0, 0) == case_seed(0, 0), case_seed(0, 0) != case_seed(0, 1)
    (True, True)
    """
    return int(np.random.SeedSequence([int(seed), int(index), 0x64726177]).generate_state(1)[0] & 0x7FFFFFFF)


# ---- ports --------------------------------------------------------------------------------------
def _port_params(method: str, params: dict[str, float]) -> dict[str, Any]:
    prm = port_params({k: v for k, v in params.items() if k != "u"})
    if method in MIROSTAT and "mu" in prm and isinstance(prm["mu"], float) and math.isnan(prm["mu"]):
        prm["mu"] = None
    return prm


def _tokens(raw: Any, n: int, vocab: int) -> np.ndarray:
    raw = to_numpy(raw)
    if raw is None:
        raise OutputFault("bad-output", f"returned None, expected {n} token ids")
    arr = np.asarray(raw) if isinstance(raw, (list, tuple, np.ndarray)) else None
    if arr is None:
        raise OutputFault("bad-output", f"returned {type(raw).__name__}, expected a sequence of {n} token ids")
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise OutputFault("bad-output", f"returned token ids of dtype {arr.dtype}, expected integers")
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (n,):
        raise OutputFault("bad-output", f"returned {arr.shape} token ids, expected ({n},)")
    bad = np.flatnonzero((arr < 0) | (arr >= vocab))
    if bad.size:
        raise OutputFault("bad-output", f"token id {int(arr[bad[0]])} (draw {int(bad[0])}) is outside 0..{vocab - 1}")
    return arr.astype(np.int64)


class DrawsPort:
    """Base: ``draw(method, rows, params, n, seeds, dtype)`` returns one :class:`~ees_theory.harness.Outcome` per row,
    its value the ``n`` token ids."""

    name = "port"
    #: True when the port runs outside this process (its verdict then stands against a hostile port)
    isolated = False

    def draw(self, method: str, rows: list[np.ndarray], params: list[dict], n: int, seeds: list[int], dtype: str = "float64") -> list[Outcome]:
        """Ask the port for ``n`` draws of each row; a port that raises, hangs, crashes or answers
        nonsense gets a fault, never an exception here.

        Parameters
        ----------
        method : str
            ``"ees"`` or a truncation sampler's name.
        rows : list of numpy.ndarray
            The 1-D logit rows, in the port's numpy type for ``dtype``.
        params : list of dict
            ``{name: value}`` for each row (``temperature`` among them).
        n : int
            Draws per row, ``1 .. MAX_DRAWS``.
        seeds : list of int
            The seed the port draws each row with (:func:`case_seed`).
        dtype : str
            The dtype under test (default ``"float64"``).

        Returns
        -------
        list of Outcome
            One per row: its value the ``n`` token ids (int64), or a fault.
        """
        raise NotImplementedError  # pragma: no cover

    def close(self) -> None:
        """Release the port's resources."""


class InProcessDrawsPort(DrawsPort):
    """A Python draws callable, called in this process (with its batched form when it has one).

    Fast, but not evidence against a hostile port: a port that ends the process, or patches the
    judge it shares the process with, is not caught. :func:`open_draws_port` isolates by default.

    Parameters
    ----------
    fn : callable
        ``fn(logits, temperature, n, seed, **params) -> n token ids``.
    name : str
        The port's name in reports and reproduce lines.
    batched : callable or None
        Its batched form ``fn_batched(rows, temperature, n, seeds, **params) -> (B, n)``, used
        for rows of one length (default ``None``: one call per row).
    timeout : float or None
        Seconds each call may take (default 60; ``None``: no limit).
    """

    def __init__(self, fn: Callable, name: str, batched: Callable | None = None, timeout: float | None = 60.0):
        self.fn, self.name, self.batched_fn, self.timeout = fn, name, batched, timeout

    def _one(self, method, row, params, n, seed) -> Outcome:
        original = row.copy()
        prm = _port_params(method, params)
        t0 = time.perf_counter()
        watch = SigintWatch()
        try:
            with watch, Alarm(self.timeout):
                raw = self.fn(row, prm.pop("temperature"), n, seed, **prm)
        except PortTimeout:
            return Outcome(fault="timeout", message=f"no answer within {self.timeout:g} s")
        except KeyboardInterrupt as exc:
            if watch.hit or not watch.active:
                raise  # the user interrupted the run
            return Outcome(fault="raised", message=f"the port raised KeyboardInterrupt({exc})")
        except SystemExit as exc:
            return Outcome(fault="crashed", message=f"the port called sys.exit({exc.code!r})")
        except BaseException as exc:  # noqa: BLE001 - any error of the port is a verdict
            return Outcome(fault="raised", message=f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - t0
        if not same_array(row, original):
            return Outcome(fault="mutated-input", message="the port modified its input logits in place", elapsed=elapsed)
        try:
            return Outcome(value=_tokens(raw, n, row.shape[-1]), elapsed=elapsed)
        except OutputFault as exc:
            return Outcome(fault=exc.fault, message=exc.message, elapsed=elapsed)

    def _batch(self, method, rows, params, n, seeds) -> list[Outcome] | None:
        prms = [_port_params(method, p) for p in params]
        cols = {k: np.array([p[k] for p in prms], dtype=np.int64 if k in INT_PARAMS else np.float64) for k in prms[0]}
        temperature = cols.pop("temperature")

        def split(raw, stacked):
            arr = np.asarray(to_numpy(raw))
            if arr.shape != (len(rows), n):
                raise OutputFault("bad-output", f"batched draws of shape {arr.shape}, expected {(len(rows), n)}")
            return [_tokens(a, n, stacked.shape[-1]) for a in arr]

        done = try_batched(lambda stacked: self.batched_fn(stacked, temperature, n, np.array(seeds, dtype=np.int64), **cols), rows, split,
                           self.timeout)
        return None if done is None else [Outcome(value=v) for v in done[0]]

    def draw(self, method, rows, params, n, seeds, dtype="float64"):
        if batchable(self.batched_fn, rows) and method not in MIROSTAT:
            out = self._batch(method, rows, params, n, seeds)
            if out is not None:
                return out
        return [self._one(method, r, p, n, s) for r, p, s in zip(rows, params, seeds)]


class ExecDrawsPort(SubprocessPort, DrawsPort):
    """A program speaking the JSON Lines protocol, asked for draws (``"draws"``, ``"seed"``); the
    isolated worker of a Python draws port is one.

    Parameters
    ----------
    command : list of str
        The program and its arguments (started on first use).
    name : str
        The port's name in reports.
    timeout : float or None
        Seconds each answer may take (default 10; ``None``: no limit).
    env : dict or None
        The process's environment (default: this process's).
    handshake : bool
        Whether the process first reports that its port loaded (the isolated worker; default False).
    import_timeout : float or None
        Seconds the port's import may take after a handshake starts (default 120).
    """

    def _draw_one(self, method, row, params, n, seed, dtype) -> Outcome:
        prm = {k: v for k, v in params.items() if k != "u" and not (isinstance(v, float) and math.isnan(v))}
        request = {"method": method, "dtype": dtype, "logits": hex_list(row), "params": params_to_json(prm), "draws": int(n), "seed": int(seed)}
        limit = answer_limit(row.shape[-1]) + 24 * int(n)  # room for n ids
        obj, failed, elapsed = self._exchange(request, limit, f"the answer line is longer than any answer of {n} token ids")
        if failed is not None:
            return failed
        if obj.get("mutated"):  # what the isolated worker reports of a Python port
            return Outcome(fault="mutated-input", message="the port modified its input logits in place", elapsed=elapsed)
        if "fault" in obj:
            return Outcome(fault=str(obj["fault"])[:60], message=str(obj.get("message", ""))[:2000], elapsed=elapsed)
        if "tokens" not in obj:
            return Outcome(fault="bad-output", message="a draws answer needs 'tokens' (a list of token ids)")
        toks = obj["tokens"]
        if not isinstance(toks, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in toks):
            return Outcome(fault="bad-output", message="'tokens' must be a list of integer token ids")
        vocab = row.shape[-1]
        # range first, in Python ints: an id past int64 is bad output, not an OverflowError
        bad = next((j for j, i in enumerate(toks) if not 0 <= i < vocab), None)
        if bad is not None:
            return Outcome(fault="bad-output", message=f"token id {str(toks[bad])[:40]} (draw {bad}) is outside 0..{vocab - 1}", elapsed=elapsed)
        try:
            return Outcome(value=_tokens(np.array(toks, dtype=np.int64), n, vocab), elapsed=elapsed)
        except OutputFault as exc:
            return Outcome(fault=exc.fault, message=exc.message)

    def draw(self, method, rows, params, n, seeds, dtype="float64"):
        return [self._draw_one(method, r, p, n, s, dtype) for r, p, s in zip(rows, params, seeds)]


def answer_draws(fn: Callable, request: dict) -> dict:
    """The isolated worker's answer to one draws request (never raises for a fault of the port):
    ``{"id", "tokens"}``, or a ``fault``, ``error`` or ``mutated`` reply as for the mask form.

    Parameters
    ----------
    fn : callable
        The Python draws port, ``fn(logits, temperature, n, seed, **params)``.
    request : dict
        One JSON Lines request: ``id``, ``method``, ``logits`` (hex floats), ``dtype``, ``params``
        (hex floats), ``draws`` (an int in ``1 .. MAX_DRAWS``) and ``seed`` (an int).

    Returns
    -------
    dict
        The reply line's object; a malformed request is a ``protocol-error`` fault.

    Examples
    --------
    >>> answer_draws(lambda z, t, n, seed, **params: [0] * n, {"id": "a", "method": "top-k", "logits": ["0x0p+0", "0x0p+0"],
    ...              "params": {"temperature": 1, "k": 1}, "draws": 3, "seed": 5})
    {'id': 'a', 'tokens': [0, 0, 0]}
    """
    rid = request.get("id")
    try:
        method = request["method"]
        get_method(method)
        row = np.array(cast(from_hex_list(request["logits"]), request.get("dtype", "float64")), copy=True)
        params = params_from_json(request.get("params", {}))
        n, seed = request["draws"], request["seed"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DRAWS or isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"'draws' must be an int in 1..{MAX_DRAWS} and 'seed' an int")
        if method in MIROSTAT:
            params.setdefault("mu", math.nan)  # absent mu: the port's default, as in process
        prm = _port_params(method, params)
        temperature = prm.pop("temperature")
    except (KeyError, ValueError, TypeError) as exc:
        return {"id": rid, "fault": "protocol-error", "message": f"bad request: {exc}"}
    original = row.copy()
    try:
        raw = fn(row, temperature, n, seed, **prm)
    except SystemExit as exc:
        return {"id": rid, "fault": "crashed", "message": f"the port called sys.exit({exc.code!r})"}
    except KeyboardInterrupt as exc:  # the worker has its own session: no terminal sends it SIGINT
        return {"id": rid, "fault": "raised", "message": f"the port raised KeyboardInterrupt({exc})"}
    except Exception as exc:  # noqa: BLE001 - the port's error is the answer
        return {"id": rid, "error": f"{type(exc).__name__}: {exc}"}
    if not same_array(row, original):
        return {"id": rid, "mutated": True}
    try:
        tokens = _tokens(raw, n, row.shape[-1])
    except OutputFault as exc:
        return {"id": rid, "fault": exc.fault, "message": exc.message}
    return {"id": rid, "tokens": tokens.tolist()}


def open_draws_port(spec: str, timeout: float | None = 60.0, isolate: bool = True, import_timeout: float | None = IMPORT_TIMEOUT_S) -> DrawsPort:
    """Open a draws port: ``exec:COMMAND ...`` or ``module:callable`` / ``file.py:callable``, the
    latter in the isolated worker (``isolate=False``: in this process, not evidence against a
    hostile port). ``timeout`` bounds every call, ``import_timeout`` a Python port's import (as
    for a mask port). (``engine:NAME``, a built-in token-level engine, is opened by the command
    line.)

    Parameters
    ----------
    spec : str
        ``"exec:COMMAND ..."``, ``"module:callable"`` or ``"path/file.py:callable"``.
    timeout : float or None
        Seconds each call may take, positive (default 60; ``None``: no limit).
    isolate : bool
        Run a Python port in the isolated worker (default ``True``).
    import_timeout : float or None
        Seconds a Python port's import may take, positive (default 120; ``None``: no limit).

    Returns
    -------
    DrawsPort
        An :class:`ExecDrawsPort` (a program, or the isolated worker) or an
        :class:`InProcessDrawsPort`.

    Raises
    ------
    ValueError
        A timeout that is not a positive number, or a Python port without ``:callable``.

    Examples
    --------
    >>> open_draws_port("ees_theory.running.draws:case_seed", isolate=False).name
    'ees_theory.running.draws:case_seed'
    """
    for name, t in (("timeout", timeout), ("import_timeout", import_timeout)):
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {t!r}")
    if spec.startswith("exec:"):
        command = shlex.split(spec[len("exec:"):])
        return ExecDrawsPort(command, spec, timeout)
    if ":" not in spec:
        raise ValueError(f"a Python draws port is 'module:callable' or 'path/file.py:callable', got {spec!r}")
    if isolate:
        # imported in the worker only: its import, its calls and anything it patches stay there
        port = ExecDrawsPort([sys.executable, "-m", "ees_theory.running.worker", "--handshake", "--draws", spec], spec, timeout,
                             env=worker_env(), handshake=True, import_timeout=import_timeout)
        port._start()
        return port
    fn = load_callable(spec, import_timeout)
    return InProcessDrawsPort(fn, spec, find_batched(fn, spec), timeout)


# ---- a run -----------------------------------------------------------------------------------
def draws_repro_line(port_spec: str, case: Case, dtype: str, options: Options, n: int, seed: int) -> str:
    """A shell line that re-runs exactly this case's draws.

    Parameters
    ----------
    port_spec : str
        The port as given to ``ees-theory check``.
    case : Case
        The case (its row and parameters go on the line as hex floats).
    dtype : str
        The dtype under test.
    options : Options
        The run's judging options (policy, unsupported parameters, ...).
    n : int
        Draws per case.
    seed : int
        The case's draw seed (``--draw-seed``).

    Returns
    -------
    str
        The ``ees-theory check`` command line.

    Examples
    --------
    >>> c = Case("x", "top-k", "hand", np.array([1.0, 0.0]), {"temperature": 1.0, "k": 1.0})
    >>> draws_repro_line("m:f", c, "float32", Options(), 100, 7)[:77]
    'ees-theory check m:f --method top-k --dtype float32 --draws 100 --draw-seed 7'
    """
    return repro_line(port_spec, case, dtype, options, draws=n, seed=seed)


@dataclass
class DrawsReport(JudgedRun):
    """The outcome of a draws run: one record per case (``status``: ``pass``, ``admissible``,
    ``fail`` or ``skipped``, the mask report's words), the plan, and the verdict ``ok``: at least
    one case judged and none failed (nothing judged is ``NO VERDICT``, not ``ok``).

    Parameters
    ----------
    port, method, dtype : str
        What was run.
    options : Options
        The judging options of the run.
    draws : int
        Draws per case.
    alpha : float
        The family-wise false-alarm rate, in ``(0, 1)``.
    plan : dict
        How the number of draws was chosen, and what it can detect (``statement``).
    records : list of dict
        One record per case, in plan order.
    journal : str or None
        The journal file, when one was written.
    isolated : bool
        False when the port ran in this process (default ``True``).
    """

    port: str
    method: str
    dtype: str
    options: Options
    draws: int
    alpha: float
    plan: dict
    records: list = field(default_factory=list)
    journal: str | None = None
    #: False when the port ran in this process (its verdict is no evidence against a hostile port)
    isolated: bool = True

    def counts(self) -> dict:
        """Totals in the mask report's words (``cases``: the judged ones), failures split into
        certain and statistical."""
        n = collections.Counter(Status(r["status"]) for r in self.records)
        certain = sum(1 for r in self.failures if r.get("certain"))
        return {"cases": len(self.records) - n[Status.SKIPPED], "passed": n[Status.PASSED], "admissible": n[Status.ADMISSIBLE],
                "failed": n[Status.FAILED], "skipped": n[Status.SKIPPED], "certain": certain, "statistical": n[Status.FAILED] - certain}

    def header(self) -> str:
        pl = self.plan
        lines = [
            f"ees-theory check (draws): port {self.port}, method {self.method}, dtype {self.dtype}, policy {self.options.policy}",
            f"  {len(self.records)} case(s), {self.draws} draws each; family-wise false-alarm rate {self.alpha:g} (Holm over the tested cases)",
            "  " + pl["statement"],
        ]
        if not self.isolated:
            lines.append("  the port ran in this process: a port that exits or patches the judge is not caught (not evidence against a hostile port)")
        return "\n".join(lines)

    def verdict_line(self) -> str:
        """The last line of the report: CONFORMS, DOES NOT CONFORM or NO VERDICT, with the counts."""
        c = self.counts()
        if not self.records:
            return "NO VERDICT: no case was run"
        if c["cases"] == 0:
            return f"NO VERDICT: no case was judged (every case was skipped: {c['skipped']})"
        if self.ok:
            return f"CONFORMS: {c['cases']} cases judged: {c['passed']} passed, {c['admissible']} admissible, 0 failed; {c['skipped']} skipped"
        return (f"DOES NOT CONFORM: {c['failed']} failed ({c['certain']} certain, {c['statistical']} statistical) of {c['cases']} judged: "
                f"{c['passed']} passed, {c['admissible']} admissible; {c['skipped']} skipped")

    def text(self) -> str:
        out = [self.header(), ""]
        for r in self.failures:
            out.append(f"FAIL {r['case']} [{r['fault']}] ({r['family']}, V={r['vocab']}): {r['message']}")
            if r.get("pvalue") is not None and not r.get("certain"):
                out.append(f"     p-value {r['pvalue']:.3g} <= Holm threshold {r.get('threshold', float('nan')):.3g}")
            sh = r.get("shrunk")
            if sh:
                out.append(f"     shrunk to V={sh['vocab']}: {sh['message']}")
            out.append(f"     reproduce: {r['repro'] if not sh else sh['repro']}")
        for r in self.records:
            if r["status"] == Status.SKIPPED:
                out.append(f"skipped {r['case']}: {r['message']}")
        out.append(self.verdict_line())
        if self.journal:
            out.append(f"results: {self.journal}")
        return "\n".join(out)


def plan_statement(method: str, draws: int, alpha: float, cases: int, tv: float, power: float) -> dict:
    """The sample-size plan and its statement for the report header.

    >>> plan_statement("top-p", 1000, 1e-6, 1, 0.02, 0.99)["detectable_tv"] > 0.1
    True
    """
    level = alpha / max(cases, 1)
    if method in MIROSTAT:
        beta = 1 - power
        d = math.sqrt(math.log(2 / level) / (2 * draws)) + math.sqrt(math.log(1 / beta) / (2 * draws))
        return {"level": level, "detectable_ks": d, "statement":
                f"mirostat: KS test of the probability integral transforms; with {draws} steps a KS distance >= {d:.3g} is detected "
                f"with power >= {power:g} at the per-case level {level:.3g} (DKW-Massart)"}
    d = gof.detectable_tv(draws, power, level)
    planned = gof.plan_draws(tv, power, level)
    return {"level": level, "detectable_tv": d, "planned_draws": planned, "statement":
            f"plan: {planned} draws per case detect total variation >= {tv:g} (on <= {gof.MAX_BINS} bins) with power >= {power:g} "
            f"at the per-case level {level:.3g}; with {draws} draws the detectable total variation is {d:.3g}"}


def check_draws_budget(draws: int, planned_from: tuple[float, float, float] | None = None) -> None:
    """Refuse a number of draws per case beyond :data:`MAX_DRAWS` (the memory budget), naming
    the way out; ``planned_from`` is ``(tv, power, level)`` when the number was planned.

    >>> check_draws_budget(MAX_DRAWS)
    >>> check_draws_budget(10 ** 12)
    Traceback (most recent call last):
    ...
    ValueError: 1000000000000 draws per case exceed the memory budget of the draws in flight (1 GiB, 96 bytes a draw: at most 11184810 draws per case); give draws (--draws N) of at most 11184810
    """
    if draws <= MAX_DRAWS:
        return
    budget = (f"the memory budget of the draws in flight ({DRAWS_MEMORY_BUDGET / 2 ** 30:g} GiB, {BYTES_PER_DRAW} bytes a draw: "
              f"at most {MAX_DRAWS} draws per case)")
    if planned_from is None:
        raise ValueError(f"{draws} draws per case exceed {budget}; give draws (--draws N) of at most {MAX_DRAWS}")
    tv, power, level = planned_from
    raise ValueError(f"the plan needs {draws:.3g} draws per case (to detect total variation {tv:g} with power {power:g} at the per-case "
                     f"level {level:.3g}), beyond {budget}; raise tv (--tv) or lower power (--power), or give draws (--draws N) "
                     f"of at most {MAX_DRAWS}")


def _judge_outcome(method: str, row: np.ndarray, params: dict, out: Outcome, dtype: str, options: Options, seed: int) -> DrawVerdict:
    """The case's own verdict from what the port answered (before the family-wise step)."""
    if out.fault:
        return DrawVerdict(Status.FAILED, out.message, out.fault, pvalue=0.0)
    try:
        return judge_draws(method, row, params, out.value, dtype, options, seed)
    except (ValueError, TypeError) as exc:  # the reference refuses the case
        return DrawVerdict(Status.SKIPPED, f"the reference refuses this case: {exc}")


def _answer_of(method: str, out: Outcome) -> dict:
    """What the port answered, compactly, so a resumed run can judge it again: mirostat's tokens
    in order (a sequence), else the count of each token drawn (all the judge reads)."""
    if out.fault:
        return {"fault": out.fault, "message": out.message}
    if method in MIROSTAT:
        return {"tokens": [int(t) for t in out.value]}
    ids, counts = np.unique(out.value, return_counts=True)
    return {"drawn": [[int(i), int(n)] for i, n in zip(ids, counts)]}


def _outcome_of(answer: Any, n: int, vocab: int) -> Outcome:
    """The :class:`Outcome` a recorded answer stands for (``ValueError`` when it cannot be read)."""
    if not isinstance(answer, dict):
        raise ValueError("no recorded answer")
    if "fault" in answer:
        return Outcome(fault=str(answer["fault"]), message=str(answer.get("message", "")))
    if "tokens" in answer:
        tokens = answer["tokens"]
    elif "drawn" in answer:
        pairs = answer["drawn"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and all(type(x) is int for x in p) for p in pairs):
            raise ValueError("'drawn' is not a list of [token, count] pairs")
        tokens = [t for t, c in pairs for _ in range(c)] if sum(max(c, 0) for _, c in pairs) <= n else []
    else:
        raise ValueError("the answer holds neither tokens nor a fault")
    if not isinstance(tokens, list) or not all(type(t) is int and 0 <= t < vocab for t in tokens):
        raise ValueError(f"the recorded tokens are not ids in 0..{vocab - 1}")
    try:
        return Outcome(value=_tokens(np.array(tokens, dtype=np.int64), n, vocab))
    except OutputFault as exc:
        raise ValueError(exc.message) from None


def _case_record(c: Case, v: DrawVerdict, seed: int, draws: int, answer: dict | None) -> CaseRecord:
    """A case's journal record: its own verdict (``pass``/``admissible`` carry the p-value that
    the family-wise step reads, and the diagnosis it reports if it rejects the case)."""
    rec = {"case": c.id, "family": c.family, "vocab": c.vocab, "params": params_to_json(c.params), "seed": seed, "draws": draws,
           "certified": v.certified, "details": v.details, "pvalue": None if math.isnan(v.pvalue) else v.pvalue}
    if v.status == Status.FAILED:
        rec.update(status=Status.FAILED, fault=v.fault, message=v.message, certain=True)
    elif v.status == Status.TESTED:
        rec.update(status=Status.ADMISSIBLE if v.admissible else Status.PASSED, fault=None, message=v.admissible,
                   diagnosis={"fault": v.fault, "message": v.message})
    else:
        rec.update(status=Status.SKIPPED, fault=None, message=v.message)
    if answer is not None:
        rec["answer"] = answer
    return rec


def check_draws(
    port: DrawsPort | str,
    method: str,
    dtype: str = "float64",
    *,
    cases: Sequence[Case] | None = None,
    examples: int = 20,
    vectors: bool | str = True,
    draws: int | None = None,
    seed: int = 0,
    draw_seed: int | None = None,
    alpha: float = 1e-6,
    tv: float = 0.02,
    power: float = 0.99,
    options: Options = Options(),
    shrink: bool = True,
    families: Sequence[str] | None = None,
    journal: str | None = None,
    resume: bool = False,
    progress: Callable | None = None,
    skip_case: Callable[[np.ndarray, dict], str | None] | None = None,
    timeout: float | None = 60.0,
    isolate: bool = True,
    import_timeout: float | None = IMPORT_TIMEOUT_S,
) -> DrawsReport:
    """Judge a draws port on ``cases`` (default: the golden vectors and ``examples`` generated
    cases of ``method``): certain failures first, then the statistics, Holm at ``alpha``.

    ``draws=None`` plans the number per case from ``tv`` and ``power`` (mirostat:
    ``MIROSTAT_DRAWS`` steps); a number beyond :data:`MAX_DRAWS` is a ``ValueError`` before the
    port is opened or called. ``draw_seed`` fixes the seed of every case (a reproduction);
    otherwise case ``i`` draws with :func:`case_seed` ``(seed, i)``. ``skip_case(row, params)``
    names the cases a port cannot express (a sampler without ``min_tokens_to_keep``, say): they
    are not drawn and are counted ``skipped`` with that reason. A port named by a string is
    opened by :func:`open_draws_port` with ``timeout``, ``isolate`` and ``import_timeout``.

    ``journal`` records each case as it is judged (the runner's ``Journal``, format
    ``ees-theory-draws/2``): a case line holds the case's own verdict and its draws (the count of
    each token; mirostat's in order); the family-wise step runs over every case at the end and
    its rejections are in the summary line (``holm``). ``resume=True`` continues the run a
    journal holds (same port, method, dtype, options and plan): every recorded case is judged
    again from its recorded draws, and only the others are drawn.

    Parameters
    ----------
    port : DrawsPort or str
        The port, or its name for :func:`open_draws_port`.
    method : str
        ``"ees"`` or a truncation sampler's name (a method whose answer is a kept set).
    dtype : str
        The dtype under test (default ``"float64"``); cases it cannot hold exactly are left out.
    cases : sequence of Case or None
        The cases to judge (default ``None``: the planned ones).
    examples : int
        Generated cases after the golden vectors when planning (default 20).
    vectors : bool or str
        ``True`` (default): the packaged golden vectors; a path: a vectors file; ``False``: none.
    draws : int or None
        Draws per case, ``1 .. MAX_DRAWS`` (default ``None``: planned from ``tv`` and ``power``).
    seed : int
        The run's seed: generated cases and, through :func:`case_seed`, each case's draws.
    draw_seed : int or None
        One seed for every case's draws (a reproduction; default ``None``).
    alpha : float
        The family-wise false-alarm rate, in ``(0, 1)`` (default ``1e-6``).
    tv : float
        The total-variation deviation the plan must detect, in ``(0, 1]`` (default 0.02).
    power : float
        The probability of detecting it, in ``(0, 1)`` (default 0.99).
    options : Options
        The judging options: policy, unsupported parameters, ...
    shrink : bool
        Shrink each failing case to a small input (default ``True``).
    families : sequence of str or None
        The distribution families of the generated cases (default ``None``: all).
    journal : str or None
        A JSON Lines file recording each case as it is judged (default ``None``: none).
    resume : bool
        Continue the run ``journal`` holds (default ``False``).
    progress : callable or None
        ``progress(done, total)``, called as the cases are judged (default ``None``).
    skip_case : callable or None
        ``skip_case(row, params) -> str | None``: a reason not to draw a case (default ``None``).
    timeout : float or None
        Seconds each call may take, when ``port`` is a name (default 60).
    isolate : bool
        Run a Python port named by a string in the isolated worker (default ``True``).
    import_timeout : float or None
        Seconds its import may take (default 120).

    Returns
    -------
    DrawsReport
        One record per case, the plan, and the verdict ``ok``.

    Raises
    ------
    ValueError
        A method whose answer is no kept set, a parameter out of its domain, ``draws`` beyond the
        memory budget, ``resume`` without ``journal``, or a journal of another run.
    """
    from .plan import plan as plan_cases

    get_method(method)
    if record(method).form not in ("mask", "mask-with-state"):
        raise ValueError(f"the draws judge takes ees or a truncation sampler, not {method!r} (its answer is {record(method).form}, not a kept set)")
    for name, x in (("alpha", alpha), ("power", power)):
        if not (isinstance(x, (int, float)) and 0 < x < 1):
            raise ValueError(f"{name} must lie in (0, 1), got {x!r}")
    if not (isinstance(tv, (int, float)) and 0 < tv <= 1):
        raise ValueError(f"tv must lie in (0, 1], got {tv!r}")
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1):
        raise ValueError(f"draws must be a positive int, got {draws!r}")
    if resume and not journal:
        raise ValueError("resume continues the run recorded in a journal; give journal (--json OUT)")
    if cases is None:
        cases = plan_cases(method, dtype, vectors=vectors, examples=examples, seed=seed, families=families)
    cases = [c for c in cases if dtype in c.dtypes]
    planned_from = None
    if draws is None:
        level = alpha / max(len(cases), 1)
        draws = MIROSTAT_DRAWS if method in MIROSTAT else gof.plan_draws(tv, power, level)
        planned_from = None if method in MIROSTAT else (tv, power, level)
    draws = int(draws)
    check_draws_budget(draws, planned_from)
    pl = plan_statement(method, draws, alpha, len(cases), tv, power)
    spec = port if isinstance(port, str) else port.name
    refused: dict[int, str] = {}
    if method in TRUNCATION_SAMPLERS:  # a case outside the policy's parameter domain is not run (counted as skipped)
        from ..reference.truncation import check_params

        for i, c in enumerate(cases):
            try:
                prm = _port_params(method, {k: v for k, v in c.params.items() if k != "temperature"})
                if "u" in get_method(method).params:
                    prm["u"] = 0.5  # a draws port draws its own uniforms (mirostat's, XTC's gate); any u validates the rest
                check_params(method, options.policy, prm)
            except (ValueError, TypeError) as exc:
                refused[i] = f"outside the {options.policy} policy's domain: {exc}"
    if skip_case is not None:  # cases the port cannot express (counted as skipped, with the reason)
        for i, c in enumerate(cases):
            why = None if i in refused else skip_case(c.row(dtype), c.params)
            if why:
                refused[i] = why
    seeds = [draw_seed if draw_seed is not None else case_seed(seed, i) for i in range(len(cases))]
    index = {c.id: i for i, c in enumerate(cases)}
    if len(index) != len(cases):
        raise ValueError("two planned cases share an id; a draws run names each case once")

    def verdict_of(i: int, out: Outcome | None) -> DrawVerdict:
        if i in refused:
            return DrawVerdict(Status.SKIPPED, refused[i])
        c = cases[i]
        return _judge_outcome(method, c.row(dtype), c.params, out, dtype, options, seeds[i])

    def replay(rec: dict) -> str | None:
        # the recorded verdict must be what the recorded draws are judged now
        i = index[rec["case"]]
        if rec.get("seed") != seeds[i] or rec.get("draws") != draws:
            return f"case {rec['case']!r} is recorded with another seed or number of draws"
        try:
            out = None if i in refused else _outcome_of(rec.get("answer"), draws, cases[i].vocab)
        except ValueError as exc:
            return f"case {rec['case']!r}: its recorded answer cannot be read ({exc})"
        again = _case_record(cases[i], verdict_of(i, out), seeds[i], draws, None)
        for key in ("status", "fault", "pvalue"):
            if rec.get(key) != again.get(key):
                return f"case {rec['case']!r} is recorded with {key} {rec.get(key)!r} but its recorded draws are judged {again.get(key)!r}"
        return None

    log = None
    if journal:
        header = {"format": DRAWS_JOURNAL_FORMAT, "port": spec, "method": method, "dtype": dtype,
                  "options": {"accumulate": options.accumulate, "rule": options.rule, "strict_ties": options.strict_ties,
                              "policy": options.policy, "strict": options.strict},
                  "plan": {"cases": len(cases), "fingerprint": fingerprint(cases), "draws": draws, "alpha": alpha, "seed": seed,
                           "draw_seed": draw_seed, "skipped": sorted(cases[i].id for i in refused)},
                  "draws": draws, "alpha": alpha, "statement": pl["statement"]}
        log = Journal(journal, header, resume, check_line=replay, planned=set(index))
    done = {r["case"]: r for r in (log.records if log else [])}
    p = open_draws_port(port, timeout, isolate, import_timeout) if isinstance(port, str) else port
    report = DrawsReport(spec, method, dtype, options, draws, alpha, pl, journal=str(journal) if journal else None,
                         isolated=p.isolated)
    records: list[dict | None] = [done.get(c.id) for c in cases]
    try:
        # a batched form takes up to 16 rows a call, the draws in flight within the budget; any
        # other port one row a call, so each case is recorded as soon as it is judged
        batch = max(1, min(16, DRAWS_MEMORY_BUDGET // (BYTES_PER_DRAW * draws))) if getattr(p, "batched_fn", None) else 1
        pending = [i for i in range(len(cases)) if records[i] is None]
        if progress:
            progress(len(cases) - len(pending), len(cases))
        for start in range(0, len(pending), batch):
            chunk = pending[start:start + batch]
            drawn = [i for i in chunk if i not in refused]
            rows = [cases[i].row(dtype) for i in drawn]
            outs = dict(zip(drawn, p.draw(method, rows, [cases[i].params for i in drawn], draws, [seeds[i] for i in drawn], dtype)
                            if drawn else []))
            for i in chunk:
                c, out = cases[i], outs.get(i)
                v = verdict_of(i, out)
                rec = _case_record(c, v, seeds[i], draws, None if out is None else _answer_of(method, out))
                if rec["status"] == Status.FAILED:  # a certain failure: reproduce and shrink it now
                    _complete_failure(rec, p, spec, c, dtype, options, shrink, v, None)
                if log:
                    log.append(rec)
                    rec = log.records[-1]
                records[i] = rec
                if progress:
                    progress(len(cases) - len(pending) + start + chunk.index(i) + 1, len(cases))
        # the family-wise step over every case's p-value (recorded and new alike)
        pvalues = [r["pvalue"] if r["status"] in (Status.PASSED, Status.ADMISSIBLE) and r.get("pvalue") is not None else math.nan for r in records]
        rejected = gof.holm(pvalues, alpha)
        tested = sorted((x, i) for i, x in enumerate(pvalues) if not math.isnan(x))
        thresholds = {i: alpha / (len(tested) - r) for r, (_, i) in enumerate(tested)}
        holm = []
        for i, rec in enumerate(records):
            if rejected[i]:
                rec = records[i] = dict(rec)
                diag = rec.get("diagnosis") or {}
                rec.update(status=Status.FAILED, fault=diag.get("fault") or "distribution", message=diag.get("message", ""), certain=False,
                           threshold=thresholds[i])
                _complete_failure(rec, p, spec, cases[i], dtype, options, shrink, None, thresholds[i])
                holm.append({k: rec.get(k) for k in ("case", "pvalue", "threshold", "fault", "message", "repro", "shrunk") if k in rec})
            report.records.append(rec)
    finally:
        if isinstance(port, str):
            p.close()
    if log:
        log.finish({"ok": report.ok, **report.counts(), "holm": holm})
    return report


def _complete_failure(rec: dict, port: DrawsPort, spec: str, c: Case, dtype: str, options: Options, shrink: bool,
                      verdict: DrawVerdict | None, threshold: float | None) -> None:
    """A failing record's reproduction line, logits (small rows) and shrunk case."""
    rec["repro"] = draws_repro_line(spec, c, dtype, options, rec["draws"], rec["seed"])
    if c.vocab <= 4096:
        rec["logits"] = hex_list(c.logits)
    if shrink and rec["fault"] not in ("timeout", "crashed"):
        _attach_shrunk(rec, port, spec, c, dtype, options, rec["draws"], rec["seed"], verdict, threshold)


def _attach_shrunk(rec, port, spec, case, dtype, options, draws, seed, verdict, threshold) -> None:
    """Shrink a failing case: the same fault, and for a statistical one a p-value still at or below
    the threshold it failed at."""
    from ..judging.methods import Verdict
    from .shrink import shrink_case

    def judge(candidate: Case) -> Verdict:
        row = candidate.row(dtype)
        out = port.draw(case.method, [row], [candidate.params], draws, [seed], dtype)[0]
        if out.fault:
            return Verdict(Status.FAILED, out.message, out.fault)
        v = judge_draws(case.method, row, candidate.params, out.value, dtype, options, seed)
        failed = v.status == Status.FAILED or (v.status == Status.TESTED and threshold is not None and v.pvalue <= threshold)
        return Verdict(Status.FAILED if failed else Status.PASSED, v.message, v.fault)

    small, sv, _ = shrink_case(None, case, dtype, options, rec["fault"], max_calls=40, max_seconds=20.0, judge=judge)
    if sv is not None and small.vocab < case.vocab or (sv is not None and small.params != case.params):
        rec["shrunk"] = {"vocab": small.vocab, "logits": hex_list(small.logits), "params": params_to_json(small.params),
                         "message": sv.message, "repro": draws_repro_line(spec, small, dtype, options, draws, seed)}

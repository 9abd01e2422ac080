"""The engine registry: which real engines the toolkit checks, how, and how a row is run.

An *engine row* (:class:`EngineRow`) is one line of the ``ees-theory engines`` matrix: an engine
(``transformers``, ``llama.cpp``, ``torch``, ``vllm``, ``flashinfer``, the toolkit's own
``ees_theory.kernels`` and ``ees_theory.hf``), one method it implements (a harness method name:
``top-k``, ``dynatemp``, ``temperature``, ...), the ``policy`` (engine convention) its answers
are judged under, and the *form* of what is judged:

* ``form="mask"``: the engine is wrapped as a port the harness already understands (``adapter``
  names a factory ``module:function`` called as ``factory(method, dtype, policy)`` that returns
  the one-row callable of ``PROTOCOL.md``); the row runs the golden vectors and generated cases
  through :func:`ees_theory.harness.run_check`. The same adapter is reachable from the command
  line as the port ``engine:ENGINE:METHOD`` (``ees-theory check engine:llama.cpp:top-k
  --method top-k --policy llama.cpp``).
* ``form="draws"``: token-level rows (samplers judged on the tokens they draw). Such a row gives
  its own ``runner(row, dtype, examples, seed) -> RowResult``.

A row that cannot run here (engine not installed, needs CUDA, a dtype the engine cannot take)
is still listed, with verdict ``not-run`` and the reason: counted, never dropped.

Adding rows (any module may do this; the built-in ones are registered by
:mod:`ees_theory.engines.catalog`, and :mod:`ees_theory.engines.table` looks rows up)::

    from ees_theory.engines.registry import EngineRow, register
    register(EngineRow("myengine", "top-k", "paper", adapter="mypkg.adapters:make",
                       version=lambda: "1.0", dtypes=("float32",)))

``available`` returns ``None`` when the row can run, else the reason it cannot; ``version``
returns the engine's version string (``None`` when not installed); ``skip_case(row, params)``
returns a reason when the adapter cannot observe the answer for that input, or the engine cannot
express the case (such cases are skipped and counted, never judged on a guess); ``unsupported``
names parameters the engine does not have (``ees_theory.running.capabilities``: cases that
need them at a value other than "off" are skipped with that reason, the rest run without them).

>>> r = EngineRow("demo", "top-k", "paper", adapter="ees_theory.examples:top_k_engine",
...               version=lambda: "0")
>>> r.port, r.key
('engine:demo:top-k', ('demo', 'top-k', 'paper'))
>>> fn = r.make_adapter("top-k", "float64")
>>> fn(np.array([0.0, 2.0, 1.0]), 1.0, k=2, min_tokens_to_keep=1).tolist()
[False, True, True]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from ..judging.outcomes import RowVerdict, Status

__all__ = ["EngineRow", "RowResult", "register", "registered", "not_run_reason", "split_cases", "run_row", "table_entry", "FORMS", "VERDICTS"]

#: what a row judges: a kept mask / value through the port harness, or drawn tokens
FORMS = ("mask", "draws")
#: the verdicts a matrix row can have (the words of :class:`~ees_theory.judging.outcomes.RowVerdict`)
VERDICTS = tuple(v.value for v in RowVerdict)


def table_entry(table: dict, method: str, module: Any, missing: str, have: Iterable[str]) -> tuple[Callable, Callable]:
    """An adapter's constructor for ``method`` and its argument builder, from the adapter's table
    ``{method: (name in module, args(params))}``; a ValueError saying ``missing`` and what the
    adapter has otherwise.

    >>> import math
    >>> ctor, args = table_entry({"top-k": ("floor", lambda p: (p["k"],))}, "top-k", math, "demo has no sampler", ["top-k"])
    >>> ctor(*args({"k": 2.5}))
    2
    >>> table_entry({}, "top-p", math, "demo has no sampler", ["top-k", "temperature"])
    Traceback (most recent call last):
    ...
    ValueError: demo has no sampler for 'top-p'; it has: top-k, temperature
    """
    if method not in table:
        raise ValueError(f"{missing} for {method!r}; it has: {', '.join(have)}")
    name, args = table[method]
    return getattr(module, name), args


@dataclass(frozen=True)
class EngineRow:
    """One engine x method x policy row of the matrix (see the module docstring).

    Parameters
    ----------
    engine : str
        The engine's name, non-empty, without ``:`` (``"transformers"``, ``"llama.cpp"``, ...).
    method : str
        The harness method it implements (``"top-k"``, ``"dynatemp"``, ...).
    policy : str
        The engine convention its answers are judged under (default ``"paper"``).
    adapter : str or None
        ``"module:factory"``; ``factory(method, dtype, policy)`` returns the one-row port callable.
        Required for a ``"mask"`` row.
    form : str
        What is judged, one of ``FORMS``: ``"mask"`` (the default: answers through the port
        harness) or ``"draws"`` (drawn tokens; needs ``runner``).
    dtypes : tuple of str
        The dtypes the matrix runs by default (default ``("float32",)``).
    supported_dtypes : tuple of str or None
        Every dtype the adapter accepts (default ``None``: ``dtypes``).
    version : callable
        ``version() -> str | None``: the engine's version, ``None`` when not installed.
    available : callable
        ``available() -> str | None``: ``None`` when the row can run here, else the reason.
    skip_case : callable or None
        ``skip_case(row, params) -> str | None``: a reason to skip a case the adapter cannot
        observe or the engine cannot express (default ``None``: none skipped).
    unsupported : tuple of str
        Parameters the engine does not have (cases that need them are skipped).
    runner : callable or None
        A ``"draws"`` row's own run: ``runner(row, dtype, examples, seed) -> RowResult``.
    calls : str
        The engine's own name for what is called (``"TopKLogitsWarper"``).
    observes : str
        What the adapter can and cannot observe, in a sentence or two.
    revision : int
        The adapter's revision, raised whenever what it computes changes (default 1).

    Raises
    ------
    ValueError
        An engine name that is empty or holds ``:``, an unknown ``form``, a mask row without an
        adapter or a draws row without a runner.
    """

    engine: str
    method: str
    policy: str = "paper"
    #: ``module:factory``; ``factory(method, dtype, policy)`` returns the one-row port callable
    adapter: str | None = None
    form: str = "mask"
    #: dtypes the matrix runs by default
    dtypes: tuple[str, ...] = ("float32",)
    #: every dtype the adapter accepts (a requested dtype outside it is ``not-run`` with the reason)
    supported_dtypes: tuple[str, ...] | None = None
    version: Callable[[], str | None] = field(default=lambda: None, compare=False, repr=False)
    available: Callable[[], str | None] = field(default=lambda: None, compare=False, repr=False)
    skip_case: Callable[[np.ndarray, dict], str | None] | None = field(default=None, compare=False, repr=False)
    #: parameters the engine does not have (``check --unsupported``): cases that need them are skipped
    unsupported: tuple[str, ...] = ()
    runner: Callable[..., "RowResult"] | None = field(default=None, compare=False, repr=False)
    #: the engine's own name for what is called (``TopKLogitsWarper``, ``llama_sampler_init_top_k``)
    calls: str = ""
    #: what the adapter can and cannot observe, in a sentence or two
    observes: str = ""
    #: the adapter's revision: raised whenever what the adapter computes changes, so a recorded
    #: verdict of an older revision that cannot be re-run here is stale (``matrix.merge_records``)
    revision: int = field(default=1, compare=False)

    def __post_init__(self):
        if ":" in self.engine or not self.engine:
            raise ValueError(f"an engine name must be non-empty and contain no ':', got {self.engine!r}")
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}, got {self.form!r}")
        if self.form == "mask" and self.adapter is None:
            raise ValueError(f"the mask row {self.engine}/{self.method} needs an adapter 'module:factory'")
        if self.form == "draws" and self.runner is None:
            raise ValueError(f"the draws row {self.engine}/{self.method} needs a runner")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.engine, self.method, self.policy)

    @property
    def port(self) -> str:
        """The port name the harness (and ``ees-theory check``) knows this row's adapter by."""
        return f"engine:{self.engine}:{self.method}"

    def accepts(self, dtype: str) -> bool:
        """Whether the adapter takes ``dtype``.

        Parameters
        ----------
        dtype : str
            A dtype name (``"float32"``, ...).

        Returns
        -------
        bool
            ``dtype`` is in ``supported_dtypes`` (``dtypes`` when that is ``None``).
        """
        return dtype in (self.supported_dtypes or self.dtypes)

    def make_adapter(self, method: str, dtype: str) -> Callable:
        """The one-row callable for ``method`` in ``dtype`` (imports the engine).

        Parameters
        ----------
        method : str
            The harness method the callable is for (the row's own, as a rule).
        dtype : str
            The dtype the callable receives its rows in.

        Returns
        -------
        callable
            The port callable of ``PROTOCOL.md``, made by the ``adapter`` factory under the row's
            policy.
        """
        from ..running.ports import load_callable

        return load_callable(self.adapter)(method, dtype, self.policy)

    def engine_version(self) -> str | None:
        try:
            return self.version()
        except Exception:  # noqa: BLE001 - a broken install reads as "not installed"
            return None


@dataclass
class RowResult:
    """What one row produced: the verdict and counts of one engine x method x policy x dtype.

    Parameters
    ----------
    engine, engine_version, method, policy, dtype, form : str
        The row run (``engine_version`` ``None`` when the engine is not installed).
    verdict : str
        One of ``VERDICTS``: ``"conforms"``, ``"fails"`` or ``"not-run"``.
    reason : str
        Why the row fails or did not run (default empty).
    passed, admissible, failed, skipped, cases : int
        Case counts by verdict, and the cases judged (default 0).
    port : str
        The port name of a mask row (``"engine:ENGINE:METHOD"``).
    calls : str
        The engine's own name for what was called.
    examples, seed : int
        The generated cases after the golden vectors, and their seed: what a re-run repeats.
    first_failure : dict or None
        The first failing case, shrunk, with its reproduce line.
    failures : list of dict
        The first few failing cases, in the same form.
    skipped_reasons : dict
        ``{reason: count}`` of the skipped cases.
    adapter_revision : int
        The revision of the adapter that produced the row (default 1).
    """

    engine: str
    engine_version: str | None
    method: str
    policy: str
    dtype: str
    form: str
    verdict: str
    reason: str = ""
    passed: int = 0
    admissible: int = 0
    failed: int = 0
    skipped: int = 0
    cases: int = 0
    port: str = ""
    calls: str = ""
    #: the generated cases and their seed (after the golden vectors): what a re-run repeats
    examples: int = 0
    seed: int = 0
    first_failure: dict | None = None
    failures: list[dict] = field(default_factory=list)
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    #: the revision of the adapter that produced the row (:attr:`EngineRow.revision`; a record
    #: written before revisions were recorded reads as 1)
    adapter_revision: int = 1

    @classmethod
    def from_json(cls, obj: dict) -> "RowResult":
        """A row read back from its JSON object (unknown keys are an error).

        Parameters
        ----------
        obj : dict
            What :meth:`to_json` wrote (``adapter_revision`` may be missing: 1).

        Returns
        -------
        RowResult
            The row.

        Examples
        --------
        >>> r = RowResult("e", "1", "top-k", "paper", "float32", "mask", "conforms", passed=2, cases=2)
        >>> RowResult.from_json(r.to_json()) == r
        True
        """
        return cls(**obj)

    def to_json(self) -> dict:
        """The row as one JSON object (the ``--json`` line)."""
        return {
            "engine": self.engine,
            "engine_version": self.engine_version,
            "method": self.method,
            "policy": self.policy,
            "dtype": self.dtype,
            "form": self.form,
            "verdict": self.verdict,
            "reason": self.reason,
            "cases": self.cases,
            "passed": self.passed,
            "admissible": self.admissible,
            "failed": self.failed,
            "skipped": self.skipped,
            "skipped_reasons": self.skipped_reasons,
            "port": self.port,
            "calls": self.calls,
            "examples": self.examples,
            "seed": self.seed,
            "first_failure": self.first_failure,
            "failures": self.failures,
            "adapter_revision": self.adapter_revision,
        }


_ROWS: dict[tuple[str, str, str], EngineRow] = {}


def register(row: EngineRow, *, replace: bool = False) -> EngineRow:
    """Add ``row`` to the matrix; a second row with the same (engine, method, policy) is an error
    unless ``replace``.

    Parameters
    ----------
    row : EngineRow
        The row to add.
    replace : bool
        Replace a registered row with the same key instead of refusing it (default ``False``).

    Returns
    -------
    EngineRow
        ``row``.

    Raises
    ------
    TypeError
        ``row`` is not an :class:`EngineRow`.
    ValueError
        Its key is registered already and ``replace`` is false.

    Examples
    --------
    >>> r = register(EngineRow("demo", "top-k", "paper", adapter="ees_theory.examples:top_k_engine"), replace=True)
    >>> registered()[-1] is r
    True
    >>> _ = _ROWS.pop(r.key)
    """
    if not isinstance(row, EngineRow):
        raise TypeError(f"register takes an EngineRow, got {type(row).__name__}")
    if row.key in _ROWS and not replace:
        raise ValueError(f"engine row {row.key} is already registered")
    _ROWS[row.key] = row
    return row


def registered() -> list[EngineRow]:
    """The rows registered so far, in registration order (:func:`ees_theory.engines.table.rows`
    adds the built-in catalogue first)."""
    return list(_ROWS.values())


def not_run_reason(row: EngineRow, dtype: str) -> str | None:
    """Why ``row`` cannot run in ``dtype`` here, or ``None``."""
    if not row.accepts(dtype):
        return f"{row.engine} takes {', '.join(row.supported_dtypes or row.dtypes)} for {row.method}, not {dtype}"
    try:
        why = row.available()
    except Exception as exc:  # noqa: BLE001 - a broken install is a reason, not a crash
        why = f"{type(exc).__name__}: {exc}"
    return why or None


def split_cases(row: EngineRow, cases: list, dtype: str) -> tuple[list, list[dict]]:
    """``(judged, skipped)``: the cases that need a parameter the row does not have, or that the
    row's ``skip_case`` refuses, go to ``skipped`` with the reason."""
    from ..running.capabilities import check_unsupported
    from ..running.capabilities import split_cases as split_unsupported

    cases, skipped = split_unsupported(list(cases), row.method, dtype, check_unsupported(row.method, row.unsupported))
    if row.skip_case is None:
        return cases, skipped
    kept = []
    for c in cases:
        reason = row.skip_case(c.row(dtype), c.params) if c.method == row.method and dtype in c.dtypes else None
        if reason:
            skipped.append({"case": c.id, "family": c.family, "reason": reason})
        else:
            kept.append(c)
    return kept, skipped


def _summarise_failure(rec: dict) -> dict:
    s = rec.get("shrunk") or {}
    return {
        "case": rec["case"],
        "family": rec.get("family"),
        "fault": rec.get("fault"),
        "message": rec.get("message"),
        "vocab": s.get("vocab", rec.get("vocab")),
        "logits": s.get("logits", rec.get("logits")),
        "params": s.get("params", rec.get("params")),
        "shrunk_message": s.get("message"),
        "reproduce": s.get("repro", rec.get("repro")),
    }


def run_row(row: EngineRow, dtype: str, *, examples: int = 50, seed: int = 0, shrink: bool = True, max_failures: int = 5) -> RowResult:
    """Run one row in ``dtype``: the golden vectors and ``examples`` generated cases through the
    harness (mask rows), or the row's own runner (draws rows).

    Parameters
    ----------
    row : EngineRow
        The row to run.
    dtype : str
        The dtype under test; one the row does not accept gives a ``not-run`` result.
    examples : int
        Generated cases after the golden vectors (default 50).
    seed : int
        Their seed (default 0).
    shrink : bool
        Shrink each failing case to a small input (default ``True``).
    max_failures : int
        At most this many failures are kept in the result (default 5).

    Returns
    -------
    RowResult
        Its verdict and counts; a row that cannot run here is ``not-run`` with the reason.

    Examples
    --------
    >>> r = EngineRow("demo", "top-k", "paper", adapter="ees_theory.examples:top_k_engine", dtypes=("float64",))
    >>> res = run_row(r, "float64", examples=10)
    >>> str(res.verdict), res.failed, res.passed + res.admissible == res.cases
    ('conforms', 0, True)
    >>> run_row(r, "float16").reason
    'demo takes float64 for top-k, not float16'
    """
    base = dict(engine=row.engine, engine_version=row.engine_version(), method=row.method, policy=row.policy,
                dtype=dtype, form=row.form, port=row.port if row.form == "mask" else "", calls=row.calls,
                examples=examples, seed=seed, adapter_revision=row.revision)
    why = not_run_reason(row, dtype)
    if why:
        return RowResult(verdict=RowVerdict.NOT_RUN, reason=why, **base)
    if row.runner is not None:
        result = row.runner(row, dtype, examples=examples, seed=seed)
        result.adapter_revision = row.revision  # the row's own runner is its adapter
        return result
    from .. import harness as cf
    from ..running.ports import InProcessPort

    cases = cf.plan(row.method, dtype, vectors=True, examples=examples, seed=seed)
    kept, skipped = split_cases(row, cases, dtype)
    fn = row.make_adapter(row.method, dtype)
    port = InProcessPort(fn, row.port, None, timeout=60.0)
    options = cf.Options(policy=row.policy, unsupported=row.unsupported)
    report = cf.run_check(port, row.method, dtype, kept, options=options, port_spec=row.port, shrink=shrink, skipped=skipped)
    counts = report.counts()
    reasons: dict[str, int] = {}
    for s in report.skipped:
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    for r in report.records:
        if r["status"] == Status.SKIPPED:  # the reference's own words on why the input is outside the domain
            key = r.get("message") or "the reference refuses the input"
            reasons[key] = reasons.get(key, 0) + 1
    failures = [_summarise_failure(r) for r in report.failures[:max_failures]]
    if counts["failed"]:
        verdict, reason = RowVerdict.FAILS, f"{counts['failed']} case(s) fail"
    elif counts["cases"]:
        verdict, reason = RowVerdict.CONFORMS, ""
    else:
        verdict, reason = RowVerdict.NOT_RUN, "no case could be judged"
    return RowResult(verdict=verdict, reason=reason, passed=counts["passed"], admissible=counts["admissible"],
                     failed=counts["failed"], skipped=counts["skipped"], cases=counts["cases"],
                     first_failure=failures[0] if failures else None, failures=failures,
                     skipped_reasons=reasons, **base)


"""Port validation: is someone's EES, EDT, dynatemp or truncation-sampler implementation right?

A *port* (a Python callable, or a program in any language speaking the JSON Lines protocol of
``PROTOCOL.md``) is run on the golden vectors and on generated cases from the property suite's
families, and every answer is judged against the certified reference:

* EES: the kept set must equal the reference's wherever every decisive comparison's band (what a
  careful float port can compute for this row, :mod:`bands <ees_theory.errormodel.bands>`) excludes 0; inside the band either
  decision is *admissible*; an exact tie decided by rounding is admissible in its own category
  (``strict`` fails it);
* EDT / dynatemp: the temperature must lie in the row's band (:func:`bands.edt_band <ees_theory.errormodel.bands.edt_band>`,
  :func:`bands.dynatemp_band <ees_theory.errormodel.bands.dynatemp_band>`: every value a careful float port can compute from the row's
  entropy band, one rounding per operation);
* the truncation samplers (:mod:`truncation <ees_theory.judging.truncation>`, under a ``policy``): the kept set (mirostat: also
  the chosen token and the new ``mu``) must be the reference's wherever every deciding comparison
  lies outside the row's bounds (``bands.truncation_row_bounds``); inside, either outcome is admissible.

A port that raises, returns the wrong shape or type, returns NaN, mutates its input, hangs or kills
its process gets a verdict for that case, and the run goes on. Failures are shrunk to a small input
and printed with a line that reproduces them. The methods live in a registry
(:data:`METHODS`), so further samplers plug in with :func:`register_method`.

>>> from ees_theory import harness as cf
>>> report = cf.check("tests.ports.numpy_port:ees", "ees", "float32", isolate=False, examples=20)
>>> report.ok, report.counts()["failed"]
(True, 0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..running.cases import Case
from ..spec.formats import DTYPES
from ..running.generate import generated_cases
from ..running.hunt import hunt
from ..judging.methods import METHODS, Method, Options, OutputFault, Verdict, get_method, judge, register_method
from ..judging.truncation import TRUNCATION_METHODS, Truncation
from ..judging import scaling  # noqa: F401 - registers --method temperature (plain temperature scaling)
from ..judging import quadratic  # noqa: F401 - registers --method quadratic (a logit transform, judged like temperature)
from ..running.ports import InProcessPort, Outcome, Port, SubprocessPort, load_callable, open_port
from ..engines.builtin import register as _register_builtin
from ..running.plan import plan
from ..running.runner import JudgedRun, Journal, Report, repro_line, run_check
from ..running.vectors import is_current, load_vectors, regen, vectors_path

_register_builtin()  # the toolkit's own kernels as the port "builtin"

__all__ = [
    "check",
    "check_builtin",
    "plan",
    "Case",
    "DTYPES",
    "METHODS",
    "Method",
    "Options",
    "OutputFault",
    "Verdict",
    "get_method",
    "judge",
    "register_method",
    "TRUNCATION_METHODS",
    "Truncation",
    "Port",
    "InProcessPort",
    "SubprocessPort",
    "Outcome",
    "open_port",
    "load_callable",
    "Report",
    "JudgedRun",
    "Journal",
    "run_check",
    "repro_line",
    "generated_cases",
    "hunt",
    "load_vectors",
    "regen",
    "is_current",
    "vectors_path",
]


def check(
    port: str,
    method: str,
    dtype: str = "float64",
    *,
    vectors: str | Path | bool = True,
    examples: int = 0,
    seed: int = 0,
    families: Sequence[str] | None = None,
    options: Options = Options(),
    isolate: bool = True,
    timeout: float | None = 10.0,
    import_timeout: float | None = 120.0,
    unsupported: Sequence[str] | str = (),
    journal: str | Path | None = None,
    resume: bool = False,
    shrink: bool = True,
    progress=None,
    executor=None,
    port_on: str = "workers",
) -> Report:
    """Check the port named ``port`` (see :func:`open_port`) for ``method`` in ``dtype``;
    ``executor`` (a ``distributed.Client``) judges the cases on a Dask cluster, the port opened
    on its workers or, with ``port_on="client"``, called here (``ees_theory.running.cluster``).

    ``timeout`` bounds each call of the port, ``import_timeout`` its import. ``unsupported``
    names parameters the port does not have (added to ``options``; see
    ``ees_theory.running.capabilities``): cases that need them are skipped and counted.

    Parameters
    ----------
    port : str
        The port's name: ``"module:callable"``, ``"path/file.py:callable"``,
        ``"exec:COMMAND ARGS..."``, ``"builtin"`` / ``"builtin:float32"``, or an engine's scheme.
    method : str
        A registered method (``"ees"``, ``"edt"``, ``"dynatemp"``, a truncation sampler, ...).
    dtype : str
        ``"float64"`` (default), ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    vectors : bool, str or pathlib.Path
        ``True`` (default): the packaged golden vectors; a path: a vectors file; ``False``: none.
    examples : int
        Generated cases after the vectors (default 0).
    seed : int
        The seed of the generated cases (default 0).
    families : sequence of str or None
        Distribution families of the generated cases (default: all).
    options : Options
        How answers are judged (default ``Options()``).
    isolate : bool
        Run a Python port in a worker subprocess (default True).
    timeout : float or None
        Seconds per call, ``> 0`` (default 10; ``None``: no limit).
    import_timeout : float or None
        Seconds a Python port's import may take, ``> 0`` (default 120).
    unsupported : sequence of str or str
        Parameters the port does not have (default none).
    journal : str, pathlib.Path or None
        A JSON Lines results file to write (default none).
    resume : bool
        Go on from the cases already in ``journal`` (default False).
    shrink : bool
        Shrink each failure to a small input (default True).
    progress : callable or None
        ``progress(done, total)`` as cases finish.
    executor : object
        A ``distributed.Client`` (default ``None``: judge here).
    port_on : str
        With ``executor``: ``"workers"`` (default) or ``"client"``.

    Returns
    -------
    Report
        Per-case records and totals; ``ok`` when cases were judged and none failed.

    Raises
    ------
    ValueError
        An unknown method, dtype, family or parameter name, a policy the method does not have, a
        bad timeout, or a port that cannot be opened or loaded.

    Examples
    --------
    >>> r = check("tests.meta.mutant_ports:edt_bits", "edt", vectors=False, examples=10, isolate=False, shrink=False)
    >>> r.ok, sorted({f["fault"] for f in r.failures})
    (False, ['entropy-in-bits'])
    """
    _register_builtin()
    from dataclasses import replace

    from ..running.capabilities import check_unsupported

    if unsupported:
        options = replace(options, unsupported=tuple(dict.fromkeys(options.unsupported + check_unsupported(method, unsupported))))
    cases = plan(method, dtype, vectors=vectors, examples=examples, seed=seed, families=families)
    p = open_port(port, method, dtype, isolate=isolate, timeout=timeout, policy=options.policy, import_timeout=import_timeout,
                  unsupported=check_unsupported(method, options.unsupported))
    return run_check(p, method, dtype, cases, options=options, port_spec=port, journal=journal, resume=resume, shrink=shrink, progress=progress,
                     executor=executor, port_on=port_on)


def check_builtin(
    methods: Sequence[str] = ("ees", "edt", "dynatemp", "quadratic") + TRUNCATION_METHODS,
    dtypes: Sequence[str] = DTYPES,
    accumulate: Sequence[str] = ("input", "float32"),
    *,
    examples: int = 0,
    seed: int = 0,
    policies: Sequence[str] | None = None,
) -> list[Report]:
    """Check the built-in float variants (``ees_theory.torch``) on the golden vectors (and
    ``examples`` generated cases) for every method, dtype and accumulation mode; one report each.
    A truncation sampler (``TRUNCATION_METHODS``) is checked under each of its policies
    (``policies`` limits them).

    Every report must be ``ok``: the toolkit's own kernels conform in every dtype.

    Parameters
    ----------
    methods : sequence of str
        Methods to check (default: EES, EDT, dynatemp, quadratic and every truncation sampler).
    dtypes : sequence of str
        Dtypes to check (default: all four).
    accumulate : sequence of str
        Accumulation modes of the kernels, ``"input"`` and/or ``"float32"`` (default both).
    examples : int
        Generated cases per report besides the vectors (default 0).
    seed : int
        The seed of the generated cases (default 0).
    policies : sequence of str or None
        Limit a truncation sampler to these policies (default: all it has).

    Returns
    -------
    list of Report
        One per method, dtype, accumulation mode and policy, in that nesting order.

    Raises
    ------
    ValueError
        An unknown method, dtype or accumulation mode.

    Examples
    --------
    >>> [(r.dtype, r.options.accumulate, r.ok) for r in check_builtin(["ees"], ["float16"])]
    [('float16', 'input', True), ('float16', 'float32', True)]
    >>> [(r.options.policy, r.ok) for r in check_builtin(["min-p"], ["bfloat16"], ["input"])]
    [('paper', True), ('transformers', True), ('llama.cpp', True)]
    """
    from ..core.truncation.registry import SAMPLERS

    reports = []
    for method in methods:
        pols = SAMPLERS[method].policies if method in SAMPLERS else ("paper",)
        pols = tuple(p for p in pols if policies is None or p in policies)
        for dtype in dtypes:
            for acc in accumulate:
                for pol in pols:
                    reports.append(
                        check(f"builtin:{acc}", method, dtype, examples=examples, seed=seed, options=Options(accumulate=acc, policy=pol), isolate=False, shrink=True)
                    )
    return reports

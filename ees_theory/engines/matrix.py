"""The engine matrix: run the registered rows and print / write what they gave.

:func:`run_matrix` runs every selected row in every selected dtype (a row's default dtypes, or
the ones asked for; a dtype a row cannot take is a ``not-run`` row with the reason) and returns
one :class:`~.registry.RowResult` each. :func:`format_matrix` prints the table -- engine and its
version, method, policy, dtype, verdict, passed / admissible / failed / skipped counts -- and
then every failure: the shrunk case, the diagnosis and a ``reproduce:`` line.

>>> from ees_theory.engines.registry import EngineRow, RowResult
>>> r = RowResult("demo", "1.0", "top-k", "paper", "float32", "mask", "not-run", reason="needs CUDA")
>>> print(format_matrix([r]))                                   # doctest: +NORMALIZE_WHITESPACE
engine  version  method  policy  dtype    form  verdict  passed  admiss.  failed  skipped  note
------  -------  ------  ------  -------  ----  -------  ------  -------  ------  -------  ----------
demo    1.0      top-k   paper   float32  mask  not-run  -       -        -       -        needs CUDA
<BLANKLINE>
0 conform, 0 fail, 1 not run
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..judging.outcomes import RowVerdict
from .registry import EngineRow, RowResult, run_row
from .table import find_rows

__all__ = ["run_matrix", "format_matrix", "write_jsonl", "read_jsonl", "merge_records", "stale_reason", "RESULTS_PATH"]

#: the committed matrix (``ees-theory engines --json`` regenerates it; the book chapter reads it)
RESULTS_PATH = Path(__file__).with_name("results.jsonl")


def run_matrix(
    engines: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    *,
    examples: int = 50,
    seed: int = 0,
    progress: Callable[[EngineRow, str], None] | None = None,
    executor=None,
) -> list[RowResult]:
    """Run the selected rows (see the module docstring); ``dtypes=None`` runs each row's defaults.

    With ``executor`` (a ``distributed.Client``) each row in each dtype is a task on its cluster
    (every worker needs the row's engine); the results come back in the order of a run here, the
    same results (``progress`` is then called as each row's result arrives).
    """
    plan = [(row, dtype) for row in find_rows(engines, methods) for dtype in dtypes or row.dtypes]
    if executor is None:
        out = []
        for row, dtype in plan:
            if progress:
                progress(row, dtype)
            out.append(run_row(row, dtype, examples=examples, seed=seed))
        return out
    import functools

    from ..running.cluster import map_in_order

    out = []
    for (row, dtype), result in zip(plan, map_in_order(executor, functools.partial(run_row, examples=examples, seed=seed), plan)):
        if progress:
            progress(row, dtype)
        out.append(result)
    return out


def _cell(x) -> str:
    return "-" if x is None else str(x)


def format_matrix(results: Iterable[RowResult], failures: bool = True) -> str:
    """The matrix as text, then (``failures``) each failing row's failures."""
    results = list(results)
    head = ["engine", "version", "method", "policy", "dtype", "form", "verdict", "passed", "admiss.", "failed", "skipped", "note"]
    table = []
    for r in results:
        ran = r.verdict != RowVerdict.NOT_RUN
        note = r.reason if r.verdict == RowVerdict.NOT_RUN else (r.first_failure or {}).get("fault") or ""
        table.append([r.engine, _cell(r.engine_version), r.method, r.policy, r.dtype, r.form, r.verdict,
                      _cell(r.passed if ran else None), _cell(r.admissible if ran else None),
                      _cell(r.failed if ran else None), _cell(r.skipped if ran else None), note])
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    n = {v: sum(r.verdict == v for r in results) for v in RowVerdict}
    lines += ["", f"{n[RowVerdict.CONFORMS]} conform, {n[RowVerdict.FAILS]} fail, {n[RowVerdict.NOT_RUN]} not run"]
    if failures:
        for r in results:
            if r.verdict != RowVerdict.FAILS:
                continue
            lines += ["", f"{r.engine} {r.engine_version or ''} {r.method} (policy {r.policy}, {r.dtype}): {r.failed} failed"]
            for f in r.failures:
                lines.append(f"  [{f['fault']}] {f['case']} ({f['family']}): {f['message']}")
                if f.get("shrunk_message"):
                    lines.append(f"    shrunk to vocab {f['vocab']}: {f['shrunk_message']}")
                if f.get("reproduce"):
                    rep = f["reproduce"]
                    lines.append(f"    reproduce: {rep}" if len(rep) <= 1500 else "    reproduce: (a long line; see the JSON results)")
            if r.failed > len(r.failures):
                lines.append(f"  ... and {r.failed - len(r.failures)} more")
    return "\n".join(lines)


def write_jsonl(results: Iterable[RowResult | dict], path: str | Path) -> None:
    """One JSON object per row (keys of :meth:`RowResult.to_json`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r if isinstance(r, dict) else r.to_json(), sort_keys=True) + "\n")


def merge_records(recorded: Iterable[dict], now: Iterable[dict]) -> list[dict]:
    """``now`` over ``recorded``, row by row (engine, method, policy, dtype): a row that ran now
    replaces its record; a row that could not run here (``not-run``) keeps a recorded verdict, so a
    GPU run's rows survive a regeneration on a machine without one, unless its adapter has changed
    since (:func:`stale_reason`): then it is ``not-run``, saying so; rows only recorded stay.

    >>> old = [{"engine": "g", "method": "m", "policy": "p", "dtype": "f", "verdict": "conforms"}]
    >>> new = [dict(old[0], verdict="not-run"), {"engine": "c", "method": "m", "policy": "p", "dtype": "f", "verdict": "fails"}]
    >>> [r["verdict"] for r in merge_records(old, new)]
    ['conforms', 'fails']
    >>> [r["verdict"] for r in merge_records(old, [dict(new[0], adapter_revision=2)])]
    ['not-run']
    """
    def key(r):
        return (r["engine"], r["method"], r["policy"], r["dtype"])

    out = {key(r): r for r in recorded}
    for r in now:
        k = key(r)
        if r["verdict"] != RowVerdict.NOT_RUN or out.get(k, {}).get("verdict", RowVerdict.NOT_RUN) == RowVerdict.NOT_RUN:
            out[k] = r
        elif stale_reason(out[k], r):
            out[k] = dict(r, reason=stale_reason(out[k], r))
    return list(out.values())


def stale_reason(recorded: dict, now: dict) -> str | None:
    """Why a recorded verdict no longer stands, when ``now`` (the same row, not run here) comes from
    another adapter revision than the record (a record without one is revision 1); else ``None``.

    >>> rec = {"verdict": "fails", "engine_version": "torch 2.11 on H200"}
    >>> print(stale_reason(rec, {"verdict": "not-run", "reason": "needs CUDA", "adapter_revision": 2}))
    stale, not re-run: recorded as fails (torch 2.11 on H200) by adapter revision 1; the adapter is at revision 2 since, and the row cannot run here: needs CUDA
    >>> stale_reason(rec, {"verdict": "not-run", "reason": "needs CUDA"}) is None
    True
    """
    was, is_ = recorded.get("adapter_revision", 1), now.get("adapter_revision", 1)
    if recorded.get("verdict") == RowVerdict.NOT_RUN or was == is_:
        return None
    return (f"stale, not re-run: recorded as {recorded.get('verdict')} ({recorded.get('engine_version')}) by adapter revision {was}; "
            f"the adapter is at revision {is_} since, and the row cannot run here: {now.get('reason')}")


def read_jsonl(path: str | Path) -> list[dict]:
    """The rows of a results file written by :func:`write_jsonl`."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]

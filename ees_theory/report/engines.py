"""The engines chapter: the matrix of real engines as a compact grid, its counts as a CSV, and
each failure with its reproduce command folded away.

Everything shown is what the matrix rows (``ees_theory.engines.registry.RowResult``, or objects
with the same fields) record; this module only arranges it.

* :func:`engine_grid`: one line per method and policy, one column per engine, one mark per dtype;
* :func:`engine_totals`: per engine, its rows by verdict and its cases by outcome;
* :func:`engine_csv` and :class:`Download`: every row's counts as a CSV the page offers for download;
* :func:`failure_details`: each failure's message, with its ``reproduce`` line in a collapsible
  monospace block (a ``reproduce`` line may hold hundreds of hex digits);
* :func:`reason_in_words`: a not-run reason without the code it was measured with.

>>> from types import SimpleNamespace as NS
>>> row = dict(engine_version="1", policy="paper", form="mask", reason="", passed=3, admissible=0, failed=0, skipped=1,
...            failures=[], skipped_reasons={})
>>> rs = [NS(engine="e", method="ees", dtype="float32", verdict="conforms", **row),
...       NS(engine="e", method="ees", dtype="float16", verdict="fails", **row)]
>>> print(engine_grid(rs))
Marks per dtype (float32 float16 bfloat16)
method, policy  e
--------------  ---
ees · paper     ✓✗·
✓ conforms, ✗ fails, ○ not run here, · no such row; counts in the CSV
"""

from __future__ import annotations

import csv
import html
import io
import re
import urllib.parse
from typing import Any, Iterable, Mapping, Sequence

from ..judging.outcomes import RowVerdict
from .tables import Code, Table

__all__ = ["DTYPE_ORDER", "MARKS", "engine_grid", "engine_totals", "engine_csv", "Download", "failure_details", "reason_in_words"]

#: The order of the marks in a grid cell.
DTYPE_ORDER: tuple[str, ...] = ("float32", "float16", "bfloat16")
#: One mark per verdict; ``·``: the engine has no row in that dtype.
MARKS = {RowVerdict.CONFORMS: "✓", RowVerdict.FAILS: "✗", RowVerdict.NOT_RUN: "○"}
_NONE = "·"
_LEGEND = "✓ conforms, ✗ fails, ○ not run here, · no such row; counts in the CSV"
#: The CSV's columns, in order (the fields of a matrix row).
CSV_COLUMNS = ("engine", "engine_version", "method", "policy", "dtype", "form", "verdict", "passed", "admissible", "failed",
               "skipped", "reason")


#: Each mark's colour (the shape alone tells them apart; the colour helps the eye).
_COLOURS = {"✓": "#1a7f37", "✗": "#cf222e", "○": "#6e7781", _NONE: "#6e7781"}


class _Marks(Code):
    """A grid cell: the marks in a monospace font, large enough to tell apart, one colour each."""

    def html(self) -> str:
        spans = "".join(f'<span style="color:{_COLOURS.get(m, "inherit")}">{html.escape(m)}</span>' for m in self.text)
        return f'<span style="font-family:monospace;font-size:1.2em;letter-spacing:0.15em;white-space:nowrap">{spans}</span>'


def _ordered(values: Iterable[Any]) -> list[Any]:
    seen: dict[Any, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def engine_grid(results: Iterable[Any], dtypes: Sequence[str] = DTYPE_ORDER, caption: str | None = None,
                labels: Mapping[str, str] | None = None) -> Table:
    """The matrix as a grid: a line per method and policy, a column per engine, and in each cell one
    mark per dtype (in the order of ``dtypes``). A dtype not in ``dtypes`` is an error, not dropped.
    ``labels`` gives an engine's column a shorter heading.

    >>> from types import SimpleNamespace as NS
    >>> engine_grid([NS(engine="e", method="ees", policy="paper", dtype="float64", verdict="conforms")])
    Traceback (most recent call last):
    ...
    ValueError: engine_grid: dtype 'float64' of e ees is not among the grid's dtypes ('float32', 'float16', 'bfloat16')
    """
    results = list(results)
    for r in results:
        if r.dtype not in dtypes:
            raise ValueError(f"engine_grid: dtype {r.dtype!r} of {r.engine} {r.method} is not among the grid's dtypes {tuple(dtypes)}")
    engines = _ordered(r.engine for r in results)
    lines = _ordered((r.method, r.policy) for r in results)
    verdict = {(r.engine, r.method, r.policy, r.dtype): r.verdict for r in results}
    rows = []
    for method, policy in lines:
        cells = []
        for e in engines:
            marks = [MARKS[verdict[(e, method, policy, d)]] if (e, method, policy, d) in verdict else _NONE for d in dtypes]
            cells.append(_Marks("".join(marks)) if any(m != _NONE for m in marks) else None)
        rows.append([f"{method} · {policy}", *cells])
    labels = labels or {}
    return Table(rows, ["method, policy", *(labels.get(e, e) for e in engines)], compact=True, note=_LEGEND,
                 caption=caption or f"Marks per dtype ({' '.join(dtypes)})")


def engine_totals(results: Iterable[Any], caption: str | None = None) -> Table:
    """Per engine: its version, its rows by verdict and the cases of the rows that ran, by outcome.

    >>> from types import SimpleNamespace as NS
    >>> r = NS(engine="e", engine_version="1.0", verdict="conforms", passed=5, admissible=1, failed=0, skipped=2)
    >>> engine_totals([r, r]).rows[0]
    ['e', '1.0', 2, 0, 0, 10, 2, 0, 4]
    """
    results = list(results)
    rows = []
    for e in _ordered(r.engine for r in results):
        mine = [r for r in results if r.engine == e]
        ran = [r for r in mine if r.verdict != RowVerdict.NOT_RUN]
        versions = _ordered(r.engine_version for r in mine if r.engine_version)
        rows.append([e, "; ".join(versions) or None, *(sum(r.verdict == v for r in mine) for v in RowVerdict),
                     *(sum(getattr(r, c) for r in ran) for c in ("passed", "admissible", "failed", "skipped"))])
    return Table(rows, ["engine", "version", "rows conform", "rows fail", "rows not run", "cases passed", "admissible", "failed",
                        "skipped"], compact=True, caption=caption)


def engine_csv(results: Iterable[Any]) -> str:
    """Every row's verdict and counts as CSV text (columns :data:`CSV_COLUMNS`).

    >>> from types import SimpleNamespace as NS
    >>> r = NS(engine="e", engine_version=None, method="ees", policy="paper", dtype="float32", form="mask",
    ...        verdict="conforms", passed=5, admissible=1, failed=0, skipped=2, reason="")
    >>> print(engine_csv([r]).strip())
    engine,engine_version,method,policy,dtype,form,verdict,passed,admissible,failed,skipped,reason
    e,,ees,paper,float32,mask,conforms,5,1,0,2,
    """
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in results:
        w.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in CSV_COLUMNS])
    return out.getvalue()


class Download:
    """A link that downloads ``text`` as the file ``filename`` (the data travels inside the page).

    >>> print(Download("a,b\\n1,2\\n", "t.csv", "the counts"))
    the counts (t.csv)
    >>> Download("a\\n", "t.csv", "the counts")._repr_html_()[:61]
    '<p><a download="t.csv" href="data:text/csv;charset=utf-8,a%0A'
    """

    def __init__(self, text: str, filename: str, label: str, mime: str = "text/csv") -> None:
        self.text, self.filename, self.label, self.mime = text, filename, label, mime

    def _repr_html_(self) -> str:
        href = f"data:{self.mime};charset=utf-8," + urllib.parse.quote(self.text)
        return (f'<p><a download="{html.escape(self.filename, quote=True)}" href="{html.escape(href, quote=True)}">'
                f"{html.escape(self.label)}</a> ({html.escape(self.filename)})</p>")

    def __str__(self) -> str:
        return f"{self.label} ({self.filename})"

    __repr__ = __str__


class _Details:
    """Failures as HTML: a line each, and the reproduce command in a ``<details>`` block."""

    def __init__(self, items: list[tuple[str, str, str | None]]) -> None:
        self.items = items

    def _repr_html_(self) -> str:
        out = []
        pre = "white-space:pre-wrap;overflow-wrap:anywhere;font-size:0.8em;max-height:12em;overflow-y:auto"
        for head, message, command in self.items:
            block = (f'<details><summary>reproduce</summary><pre style="{pre}">{html.escape(command)}</pre></details>'
                     if command else "")
            out.append(f'<div class="ees-failure" style="margin:0.5em 0"><p style="margin:0"><strong>{html.escape(head)}</strong>: '
                       f"{html.escape(message)}</p>{block}</div>")
        return "".join(out)

    def __str__(self) -> str:
        return "\n".join(f"{h}: {m}" + (f"\n  reproduce: {c}" if c else "") for h, m, c in self.items)

    __repr__ = __str__


def failure_details(results: Iterable[Any]) -> _Details:
    """Each recorded failure of the failing rows: the row, the case and its fault, the message of the
    shrunk case where there is one, and the ``reproduce`` line folded in a monospace block.

    >>> from types import SimpleNamespace as NS
    >>> f = {"fault": "wrong-kept-set", "case": "gen-3", "family": "ties", "message": "kept {0, 1}", "reproduce": "ees-theory check ..."}
    >>> r = NS(engine="e", method="top-p", policy="transformers", dtype="float32", verdict="fails", failures=[f])
    >>> print(failure_details([r]))
    e top-p (transformers, float32), gen-3 (ties), wrong-kept-set: kept {0, 1}
      reproduce: ees-theory check ...
    >>> "<details>" in failure_details([r])._repr_html_()
    True
    """
    items = []
    for r in results:
        if r.verdict != RowVerdict.FAILS:
            continue
        for f in r.failures:
            head = f"{r.engine} {r.method} ({r.policy}, {r.dtype}), {f['case']} ({f['family']}), {f['fault']}"
            items.append((head, f.get("shrunk_message") or f["message"], f.get("reproduce")))
    return _Details(items)


_WORDS = [
    (re.compile(r"torch\.cuda\.is_available\(\) is False"), "no CUDA device on this machine"),
    (re.compile(r"^not run: needs CUDA$"), "needs a CUDA device"),
    (re.compile(r"^needs CUDA: "), "needs a CUDA device: "),
    (re.compile(r"not installed \(pip install ([\w.-]+)\)"), r"\1 is not installed"),
]


def reason_in_words(reason: str | None) -> str | None:
    """Why a row did not run, without the code it was found with.

    >>> reason_in_words("needs CUDA: torch.cuda.is_available() is False; not installed (pip install vllm)")
    'needs a CUDA device: no CUDA device on this machine; vllm is not installed'
    >>> reason_in_words("not run: needs CUDA")
    'needs a CUDA device'
    """
    if not reason:
        return reason
    for pattern, words in _WORDS:
        reason = pattern.sub(words, reason)
    return reason

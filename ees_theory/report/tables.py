"""Tables for the book and the notebooks: rows in, an HTML table out (wrapped, never cut off).

Every table a page shows goes through :class:`Table`, so that all of them look alike and none is a
padded ``print`` dump that runs past the right edge of the column. A :class:`Table` displays itself
as HTML in Jupyter and in the book (``_repr_html_``), as MyST/GFM markdown when asked
(:meth:`Table.markdown`, used where the cells hold links that Sphinx should resolve and check), and
as aligned plain text in a terminal (``str``).

The domain helpers build a :class:`Table` from the project's own objects, calling their owners for
every number (they never recompute a verdict, a count or a bound):

* :func:`ledger_table`: claims ledger verdicts (``ees_theory.ledger.claims.Verdict``);
* :func:`claim_table` and :func:`gap_table`: one claim's record and its certified gap evidence;
* :func:`port_table`: a port report (``ees_theory.harness.Report``), one row per family.

>>> t = Table([("EES-MONO", "refuted", 3), ("EES-EXIST", "proved", None)], ["claim", "verdict", "n"])
>>> print(t)
claim      verdict  n
---------  -------  -
EES-MONO   refuted  3
EES-EXIST  proved   –
>>> "<table" in t._repr_html_() and "ees-table" in t._repr_html_()
True
"""

from __future__ import annotations

import html
import math
import os
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..judging.outcomes import RowVerdict
from .typeset import Prose, _md_escape, typeset

__all__ = ["Table", "Link", "Code", "table", "claim_link", "ledger_table", "claim_table", "gap_table", "port_table", "engine_matrix_table", "relative_path", "band_text", "EMPTY"]

#: What an empty cell shows (``None`` or a missing key).
EMPTY = "–"

#: Inline style of the wrapper: the table may scroll sideways as a last resort, but the cells wrap
#: first (words at spaces; monospace cells, such as hex floats and paths, anywhere), so nothing is
#: cut off and no word is split that fits on a line.
_WRAP_STYLE = "max-width:100%;overflow-x:auto"
_TABLE_STYLE = "border-collapse:collapse;width:auto;max-width:100%;font-size:0.9em;margin:0.4em 0"
_CELL_STYLE = "padding:0.15em 0.6em;border-bottom:1px solid #ccc;vertical-align:top;overflow-wrap:break-word;word-break:normal"


@dataclass(frozen=True)
class Link:
    """A cell that links somewhere: ``href`` is a page path relative to the page that shows it.

    In markdown a ``.md`` target is resolved and checked by Sphinx; in HTML the ``.md`` suffix is
    written as ``.html`` (the built page).

    >>> Link("EES-MONO", "ees-mono.md").html()
    '<a href="ees-mono.html">EES-MONO</a>'
    >>> Link("EES-MONO", "ees-mono.md").markdown()
    '[EES-MONO](ees-mono.md)'
    """

    text: str
    href: str

    def html(self) -> str:
        href = self.href[:-3] + ".html" if self.href.endswith(".md") else self.href
        return f'<a href="{html.escape(href, quote=True)}">{html.escape(self.text)}</a>'

    def markdown(self) -> str:
        return f"[{_md_escape(self.text)}]({self.href})"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Code:
    """A cell shown in a monospace font (identifiers, hex floats, command lines).

    >>> Code("0x1.8p+0").html()
    '<code style="overflow-wrap:anywhere">0x1.8p+0</code>'
    """

    text: str

    def html(self) -> str:
        return f'<code style="overflow-wrap:anywhere">{html.escape(self.text)}</code>'

    def markdown(self) -> str:
        return "`" + self.text.replace("`", "'") + "`"

    def __str__(self) -> str:
        return self.text


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) or type(v).__module__ == "numpy" and hasattr(v, "dtype") and v.dtype.kind in "iuf"


def _text(v: Any, fmt: str | Callable[[Any], str] | None) -> str:
    if v is None:
        return EMPTY
    if fmt is not None and not isinstance(v, (Link, Code)):
        return fmt(v) if callable(fmt) else format(v, fmt)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.6g}"
    return str(v)


@dataclass
class Table:
    """Rows of cells with column names; displays as an HTML table in notebooks and the book.

    ``rows`` are sequences (in column order) or mappings (by column name; a missing key is an
    empty cell). ``fmt`` maps a column name to a format spec (``".3g"``) or a function. Numbers are
    right-aligned, everything else left-aligned; ``caption`` is shown above the table and
    ``note`` below it (say there what is counted and what is left out). ``compact`` sets a
    smaller font and tighter cells, for a table with many columns. ``math`` typesets the
    quantities in the text cells, the column names, the caption and the note in HTML and
    markdown (:func:`~ees_theory.report.typeset.typeset`: ``k*`` shows as :math:`k^*`); the plain
    text of ``str`` is left as it is.

    >>> t = Table([{"dtype": "float16", "rows": 260, "share": 0.01923}], ["dtype", "rows", "share"],
    ...           fmt={"share": ".1%"}, caption="Disagreements")
    >>> print(t)
    Disagreements
    dtype    rows  share
    -------  ----  -----
    float16   260   1.9%
    >>> print(t.markdown())
    **Disagreements**
    <BLANKLINE>
    | dtype | rows | share |
    |:---|---:|---:|
    | float16 | 260 | 1.9% |
    >>> Table([(1, 2)], ["a"])
    Traceback (most recent call last):
    ...
    ValueError: table row 0 has 2 cells for 1 column(s) ['a']
    """

    rows: Sequence[Sequence[Any] | Mapping[str, Any]]
    columns: Sequence[str]
    fmt: Mapping[str, str | Callable[[Any], str]] = field(default_factory=dict)
    caption: str | None = None
    note: str | None = None
    compact: bool = False
    math: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.columns, str) or not all(isinstance(c, str) for c in self.columns):
            raise TypeError(f"table columns must be a sequence of strings, got {self.columns!r}")
        unknown = [c for c in self.fmt if c not in self.columns]
        if unknown:
            raise ValueError(f"fmt names column(s) {unknown} that the table does not have; columns: {list(self.columns)}")
        cells = []
        for i, r in enumerate(self.rows):
            if isinstance(r, Mapping):
                extra = [k for k in r if k not in self.columns]
                if extra:
                    raise ValueError(f"table row {i} has key(s) {extra} that are not columns {list(self.columns)}")
                r = [r.get(c) for c in self.columns]
            elif isinstance(r, (str, bytes)) or not isinstance(r, Sequence):
                raise TypeError(f"table row {i} must be a sequence or a mapping, got {type(r).__name__}")
            if len(r) != len(self.columns):
                raise ValueError(f"table row {i} has {len(r)} cells for {len(self.columns)} column(s) {list(self.columns)}")
            cells.append(list(r))
        self._cells = cells

    def _numeric(self, j: int) -> bool:
        vals = [r[j] for r in self._cells if r[j] is not None]
        return bool(vals) and all(_is_number(v) for v in vals)

    def _strings(self) -> list[list[str]]:
        return [[_text(v, self.fmt.get(c)) for v, c in zip(r, self.columns)] for r in self._cells]

    def __len__(self) -> int:
        return len(self._cells)

    def __str__(self) -> str:
        body = self._strings()
        w = [max([len(c)] + [len(r[j]) for r in body]) for j, c in enumerate(self.columns)]
        num = [self._numeric(j) for j in range(len(self.columns))]

        def line(cells):
            return "  ".join(s.rjust(w[j]) if num[j] else s.ljust(w[j]) for j, s in enumerate(cells)).rstrip()

        out = ([self.caption] if self.caption else []) + [line(self.columns), "  ".join("-" * x for x in w)]
        out += [line(r) for r in body]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def _cell_html(self, v: Any, c: str) -> str:
        if isinstance(v, (Link, Code, Prose)) and c not in self.fmt:
            return v.html()
        if self.math and isinstance(v, str) and c not in self.fmt:
            return typeset(v).html()
        return html.escape(_text(v, self.fmt.get(c)))

    def _html(self, s: str) -> str:
        """A column name, the caption or the note in HTML (typeset when ``math``)."""
        return typeset(s).html() if self.math else html.escape(s)

    def _md(self, s: str) -> str:
        return typeset(s).markdown() if self.math else _md_escape(s)

    def _repr_html_(self) -> str:
        num = [self._numeric(j) for j in range(len(self.columns))]
        al = ["right" if n else "left" for n in num]
        cell = _CELL_STYLE + (";padding:0.1em 0.35em" if self.compact else "")
        head = "".join(f'<th style="{cell};text-align:{a}">{self._html(c)}</th>' for c, a in zip(self.columns, al))
        body = "".join(
            "<tr>" + "".join(f'<td style="{cell};text-align:{a}">{self._cell_html(v, c)}</td>' for v, c, a in zip(r, self.columns, al)) + "</tr>"
            for r in self._cells
        )
        cap = f'<caption style="caption-side:top;text-align:left;font-weight:bold">{self._html(self.caption)}</caption>' if self.caption else ""
        note = f'<p class="ees-table-note" style="font-size:0.85em;margin:0.2em 0 0.6em 0">{self._html(self.note)}</p>' if self.note else ""
        style = _TABLE_STYLE + (";font-size:0.8em" if self.compact else "")
        return (f'<div class="ees-table-wrap" style="{_WRAP_STYLE}"><table class="ees-table" style="{style}">{cap}'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>")

    def markdown(self) -> str:
        """The table as GFM markdown (links stay page links, so Sphinx resolves and checks them)."""
        num = [self._numeric(j) for j in range(len(self.columns))]
        out = []
        if self.caption:
            out += [f"**{self._md(self.caption)}**", ""]
        out.append("| " + " | ".join(self._md(c) for c in self.columns) + " |")
        out.append("|" + "|".join("---:" if n else ":---" for n in num) + "|")
        for r in self._cells:
            cells = [v.markdown() if isinstance(v, (Link, Code, Prose)) and c not in self.fmt
                     else self._md(v) if self.math and isinstance(v, str) and c not in self.fmt
                     else _md_escape(_text(v, self.fmt.get(c))) for v, c in zip(r, self.columns)]
            out.append("| " + " | ".join(cells) + " |")
        if self.note:
            out += ["", self._md(self.note)]
        return "\n".join(out)


def table(rows: Iterable[Sequence[Any] | Mapping[str, Any]], columns: Sequence[str] | None = None, **kw: Any) -> Table:
    """A :class:`Table` from rows; with mappings and no ``columns``, the keys of the first row.

    >>> print(table([{"k": 2, "sign": "-"}, {"k": 3, "sign": "+"}]))
    k  sign
    -  ----
    2  -
    3  +
    """
    rows = list(rows)
    if columns is None:
        if not rows or not isinstance(rows[0], Mapping):
            raise ValueError("table(): give the column names (rows are not mappings, or there are none)")
        columns = list(rows[0])
    return Table(rows, list(columns), **kw)


def band_text(half_width: float | None, spec: str = ".2g") -> str:
    """A band's half-width for a table cell: ``∞`` where the band makes no claim.

    An error band whose analysis does not hold on a row (on long rows summed in float16 or
    bfloat16 the running sums' relative error may reach one half) is the whole float range:
    the harness writes its sides as minus and plus the largest float64 (or as infinities), so
    its half-width is at least ``sys.float_info.max``. Showing that as ``1.8e+308`` would read
    as a (huge) finite bound; it is none.

    >>> band_text(1.5e-4), band_text(float("inf")), band_text(1.7976931348623157e308), band_text(None)
    ('0.00015', '∞', '∞', '–')
    """
    if half_width is None:
        return EMPTY
    if not half_width < sys.float_info.max:
        return "∞"
    return format(half_width, spec)


def relative_path(path: str | os.PathLike, start: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``start`` (default: the working directory), for printing on a page.

    Book pages must never show the build machine's temporary or home paths; a path outside
    ``start`` is shown by its file name only.

    >>> relative_path("/tmp/ees-ports-x1/port.py", "/tmp/ees-ports-x1")
    'port.py'
    >>> relative_path("/somewhere/else/results.jsonl", "/tmp/work")
    'results.jsonl'
    """
    p = Path(path).resolve()
    base = Path(start if start is not None else os.getcwd()).resolve()
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return p.name


# ---- the project's objects as tables ---------------------------------------------------------


def claim_link(v: Any, page_dir: str | None) -> Link | str:
    """A claim id linked to the page the ledger names for it (``Verdict.proof``, a path from the
    repository root), written relative to ``page_dir``, the folder of the page that shows it;
    the bare id when ``page_dir`` is ``None``.

    >>> from types import SimpleNamespace as NS
    >>> claim_link(NS(claim_id="EES-MONO", proof="proofs/ees-mono.md"), "notebooks").markdown()
    '[EES-MONO](../proofs/ees-mono.md)'
    """
    return v.claim_id if page_dir is None else Link(v.claim_id, posixpath.relpath(v.proof, page_dir))


def ledger_table(verdicts: Iterable[Any], *, page_dir: str | None = None, statements: bool = True, caption: str | None = None) -> Table:
    """The claims ledger: one row per verdict (id, verdict, statement, evidence, undecided count).

    ``page_dir`` (the folder of the showing page, from the repository root: ``"notebooks"``,
    ``"proofs"``, ``"."``) turns each id into a link to its page (:func:`claim_link`). The
    ``undecided`` column is always shown: a comparison the reference could not certify is
    counted, never hidden.

    >>> from ees_theory.ledger import claims
    >>> t = ledger_table(claims.run_ledger(ids=["EES-INCR"]), page_dir="proofs")
    >>> t.columns
    ['claim', 'verdict', 'statement', 'evidence', 'undecided']
    >>> print(t.markdown().splitlines()[2].split(" | ")[:2])
    ['| [EES-INCR](ees-incr.md)', 'proved']
    """
    cols = ["claim", "verdict"] + (["statement"] if statements else []) + ["evidence", "undecided"]
    rows = []
    for v in verdicts:
        r = [claim_link(v, page_dir), v.verdict] + ([v.statement] if statements else []) + [v.evidence, int(v.undecided)]
        rows.append(r)
    return Table(rows, cols, caption=caption, math=True)


def gap_table(gaps: Iterable[Any], caption: str | None = None) -> Table:
    """Certified gap enclosures ``f_lo <= f(k) <= f_hi`` (``GapRow`` objects or their dicts), with
    the quantities typeset in the book (:math:`f(k)`, :math:`k`).

    The bounds are printed with 17 significant digits, so the printed interval still encloses
    the certified one after the reader parses it back to float64 (it is the same float).

    >>> from ees_theory.ledger.claims import certified_gaps
    >>> # p = softmax(2, 1, 0): f(2) = H(0.731, 0.269)/ln 2 - 0.910 = -0.070 by hand
    >>> print(gap_table(certified_gaps([2.0, 1.0, 0.0])))
    k  sign      lower end of f(k)      upper end of f(k)  method
    -  ----  ---------------------  ---------------------  -------
    2  -     -0.070027888848932768  -0.070027888843967018  float64
    3  -      -0.24232088934019524   -0.24232088933663976  float64
    """
    rows = []
    for g in gaps:
        get = g.__getitem__ if isinstance(g, Mapping) else lambda name: getattr(g, name)
        rows.append([int(get("k")), get("sign"), float(get("f_lo")), float(get("f_hi")), get("method")])
    lo, hi = "lower end of f(k)", "upper end of f(k)"
    return Table(rows, ["k", "sign", lo, hi, "method"], fmt={lo: ".17g", hi: ".17g"}, caption=caption, math=True)


def claim_table(v: Any) -> Table:
    """One claim's ledger record as a two-column table (the counterexample's gaps: :func:`gap_table`).

    >>> from ees_theory.ledger import claims
    >>> t = claim_table(claims.run_ledger(ids=["EES-MONO"])[0])
    >>> [r[0] for r in t.rows][:4]
    ['claim', 'verdict', 'evidence', 'undecided comparisons']
    """
    rows: list[list[Any]] = [["claim", v.statement], ["verdict", v.verdict], ["evidence", v.evidence],
                             ["undecided comparisons", int(v.undecided)], ["proof", Code(v.proof)], ["test", Code(v.test)]]
    c = v.counterexample
    if c is not None:
        rows += [["counterexample", f"n = {c.n}, certified = {'yes' if c.certified else 'no'}: {c.summary}"],
                 ["temperatures", ", ".join(f"{t:g}" for t in c.temperatures)],
                 ["parameters", _params(c.params)],
                 ["logits (exact)", Code(", ".join(c.logits))]]
        rows += _decimal_rows(c)
    m = getattr(v, "minimality", None)
    if m:
        rows += [["minimal size", f"{m['size']} candidates: {m['status']}" + ("" if m["size"] == c.n else f" (this row has {c.n})")],
                 ["why", m.get("argument")]]
    return Table(rows, ["", v.claim_id], math=True)


def _params(params: Mapping[str, Any]) -> Prose | str:
    """A counterexample's parameters, ``name = value``, the names as code (they are arguments)."""
    parts: list[tuple[str, str]] = []
    for i, (k, val) in enumerate(params.items()):
        parts += ([("text", ", ")] if i else []) + [("code", str(k)), ("text", f" = {val}")]
    return Prose(tuple(parts), ", ".join(f"{k} = {val}" for k, val in params.items())) if parts else EMPTY


def _decimal_rows(c: Any) -> list[list[Any]]:
    """The counterexample's logits and probabilities in decimal, beside the exact hex: the logits to
    6 significant digits, the probabilities (reference softmax at the first stored temperature) to 4."""
    from ..reference import softmax
    from ..spec.formats import from_hex_list

    z = from_hex_list(c.logits)
    tau = c.temperatures[0] if c.temperatures else 1.0
    p = softmax(z, temperature=tau, dps=15)
    return [["logits (decimal)", ", ".join(f"{x:.6g}" for x in z)],
            [f"probabilities (T = {tau:g})", ", ".join(f"{float(x):.4g}" for x in p)]]


def port_table(report: Any, caption: str | None = None) -> Table:
    """A port report (``ees_theory.harness.Report``) per family, with the totals as the last row.

    Numbers come from ``report.by_family()`` and ``report.counts()``; the verdict line is the
    last line of ``report.text()`` (the report owns its wording).

    >>> import numpy as np
    >>> from ees_theory.harness import run_check
    >>> from ees_theory.running.cases import Case
    >>> from ees_theory.running.ports import InProcessPort
    >>> keep_all = InProcessPort(lambda z, t: np.isfinite(z), "keep-all")   # EES keeps 1 of these 3
    >>> t = port_table(run_check(keep_all, "ees", "float64", [Case("a", "ees", "hand", np.array([2.0, 1.0, 0.0]), {"temperature": 1.0})], shrink=False))
    >>> [r[:5] for r in t.rows]
    [['hand', 1, 0, 0, 1], ['total', 1, 0, 0, 1]]
    >>> t.note.startswith("DOES NOT CONFORM: 1 failed (keeps-all x1)")
    True
    """
    sev_name = {"ees": "bound/margin", "edt": "err/tol", "dynatemp": "err/tol"}.get(report.method, "1 = inside the bound")
    rows = []
    for fam, r in report.by_family().items():
        worst = f"{r['worst']} ({r['worst_severity']:.3g}{', ' + r['worst_fault'] if r['worst_fault'] else ''})"
        rows.append([fam, r["cases"], r["passed"], r["admissible"], r["failed"], r["uncertified"], worst])
    t = report.counts()
    rows.append(["total", t["cases"], t["passed"], t["admissible"], t["failed"], t["uncertified"], None])
    verdict = [ln for ln in report.text().splitlines() if ln.startswith(("CONFORMS", "DOES NOT CONFORM", "NO VERDICT"))]
    note = "; ".join(verdict[:1] + [f"skipped: {t['skipped']} case(s)"])
    return Table(rows, ["family", "cases", "passed", "admissible", "failed", "uncertified", f"worst case ({sev_name})"],
                 caption=caption or f"{report.port}: method {report.method}, dtype {report.dtype}", note=note)


def engine_matrix_table(results: Iterable[Any], caption: str | None = None) -> Table:
    """The engines matrix (``ees_theory.engines`` row results): one row per engine, method, policy,
    dtype and form, with its verdict and counts; a row not run shows its reason instead of counts,
    a failing row its first fault. The note tallies the verdicts.

    >>> from types import SimpleNamespace as NS
    >>> ok = NS(engine="kernels", engine_version="0.1", method="ees", policy="paper", dtype="float32", form="mask",
    ...         verdict="conforms", passed=9, admissible=1, failed=0, skipped=2, reason=None, first_failure=None)
    >>> gpu = NS(engine="vllm", engine_version=None, method="top-p", policy="paper", dtype="float32", form="mask",
    ...          verdict="not-run", passed=0, admissible=0, failed=0, skipped=0, reason="needs CUDA", first_failure=None)
    >>> t = engine_matrix_table([ok, gpu])
    >>> t.rows[0][:3]
    ['kernels 0.1', 'ees', 'paper, float32, mask']
    >>> [r[3:] for r in t.rows]
    [['conforms', 9, 1, 0, 2, None], ['not-run', None, None, None, None, 'needs CUDA']]
    >>> t.note.split(" (")[0]
    '1 conform, 0 fail, 1 not run'
    """
    rows = []
    results = list(results)
    for r in results:
        ran = r.verdict != RowVerdict.NOT_RUN
        note = r.reason if not ran else (r.first_failure or {}).get("fault")
        counts = [r.passed, r.admissible, r.failed, r.skipped] if ran else [None] * 4
        engine = r.engine + (f" {r.engine_version}" if r.engine_version else "")
        rows.append([engine, r.method, f"{r.policy}, {r.dtype}, {r.form}", r.verdict, *counts, note or None])
    n = {v: sum(r.verdict == v for r in results) for v in RowVerdict}
    # short count headers keep nine columns inside the text column; the note spells them out
    return Table(rows, ["engine", "method", "policy, dtype, form", "verdict", "pass", "adm.", "fail", "skip", "note"],
                 caption=caption, compact=True, note=f"{n[RowVerdict.CONFORMS]} conform, {n[RowVerdict.FAILS]} fail, {n[RowVerdict.NOT_RUN]} not run "
                                       "(cases: pass = passed, adm. = admissible, fail = failed, skip = skipped)")

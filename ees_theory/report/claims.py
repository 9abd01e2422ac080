"""The claims part of the book: the ledger index and each claim page's evidence.

Everything shown is what :func:`ees_theory.ledger.claims.run_ledger` returns when the page is
built; this module only arranges it. :func:`evidence_size` reads the size of the evidence (the
counterexample's vocabulary, or the number of certified spot checks) from the verdict.

>>> from ees_theory.ledger import claims
>>> v = claims.run_ledger(ids=["SEED-TAU"])[0]
>>> evidence_size(v)
'counterexample, n = 2'
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from .tables import Table, claim_link, claim_table, gap_table

__all__ = ["evidence_size", "minimal_size", "claims_index", "Evidence", "claim_evidence", "gap_figure"]

# "12 certified spot checks", "12 60-digit spot checks", "12 rows, certified": the ledger's wording
_SPOT = re.compile(r"(\d+) (?:[\w-]+ )?(?:certified )?(?:spot checks|rows)")


def evidence_size(v: Any) -> str | None:
    """How much evidence backs a verdict: ``"counterexample, n = 3"`` or ``"12 spot checks"``.

    ``None`` when the evidence text names no count (shown as an empty cell, never invented).

    >>> from types import SimpleNamespace as NS
    >>> evidence_size(NS(counterexample=None, evidence="proof; rows: 12 certified spot checks, 0 violations"))
    '12 spot checks'
    >>> evidence_size(NS(counterexample=None, evidence="a proof")) is None
    True
    """
    if v.counterexample is not None:
        return f"counterexample, n = {v.counterexample.n}"
    m = _SPOT.search(v.evidence)
    return f"{m.group(1)} spot checks" if m else None


def claims_index(verdicts: Iterable[Any], page_dir: str | None = "proofs", statements: bool = True) -> Table:
    """The index of the claims part: every claim, its verdict, its evidence size, its page.

    Each id links to its page (:func:`~ees_theory.report.tables.claim_link`), written relative to
    ``page_dir``, the folder of the page that shows the index (``None``: no links).

    >>> from ees_theory.ledger import claims
    >>> t = claims_index(claims.run_ledger(ids=["EES-MONO", "EES-EXIST"]))
    >>> t.rows[0][0].markdown()
    '[EES-MONO](ees-mono.md)'
    >>> t = claims_index(claims.run_ledger(ids=["EES-MONO", "EES-EXIST"]), page_dir=None)
    >>> print(t)
    claim      verdict  evidence               minimal size  undecided  statement
    ---------  -------  ---------------------  ------------  ---------  ...
    EES-MONO   refuted  counterexample, n = 3  3 (proved)            0  f(k) = Hbar_k - P_k is strictly decreasing in k
    EES-EXIST  proved   10 spot checks         –                     0  for every non-uniform ...
    """
    rows = [[claim_link(v, page_dir), v.verdict, evidence_size(v), minimal_size(v), int(v.undecided)] + ([v.statement] if statements else [])
            for v in verdicts]
    return Table(rows, ["claim", "verdict", "evidence", "minimal size", "undecided"] + (["statement"] if statements else []))


def minimal_size(v: Any) -> str | None:
    """For a refuted claim, the smallest size of a counterexample and whether it is proved
    (``Verdict.minimality``, the ledger's record); ``None`` otherwise.

    >>> from types import SimpleNamespace as NS
    >>> minimal_size(NS(minimality={"status": "minimal size proved", "size": 3}))
    '3 (proved)'
    >>> minimal_size(NS(minimality={"status": "smallest found", "size": 5}))
    '5 (smallest found)'
    >>> minimal_size(NS(minimality=None)) is None
    True
    """
    m = getattr(v, "minimality", None)
    if not m:
        return None
    return f"{m['size']} ({'proved' if m['status'] == 'minimal size proved' else m['status']})"


class Evidence:
    """Several tables shown one after the other (a claim's record, then its gap enclosures)."""

    def __init__(self, *tables: Table) -> None:
        self.tables = tables

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self.tables)

    def __str__(self) -> str:
        return "\n\n".join(str(t) for t in self.tables)

    __repr__ = __str__


def claim_evidence(claim_id: str) -> tuple[Any, Evidence]:
    """Re-establish one claim now; return its verdict and the tables a claim page shows.

    >>> v, ev = claim_evidence("EES-MONO")
    >>> v.verdict, [len(t) for t in ev.tables]
    ('refuted', [14, 2])
    >>> claim_evidence("NO-SUCH")
    Traceback (most recent call last):
    ...
    ValueError: unknown claim id(s) NO-SUCH; known: ...
    """
    from ..ledger import claims

    v = claims.run_ledger(ids=[claim_id])[0]
    tables = [claim_table(v)]
    if v.counterexample is not None and v.counterexample.gaps:
        tables.append(gap_table(v.counterexample.gaps, caption="Certified enclosures of the gap f(k) on the counterexample"))
    return v, Evidence(*tables)


def gap_figure(row: Any, temperature: float = 1.0, ax: Any = None, label: str | None = None, *,
               yscale: str = "linear", inset: tuple[int, int] | None = None, **style: Any):
    """Plot the certified enclosure of ``f(k)`` for ``k = 2..n`` on one row (reference enclosures).

    Returns the axes. The band is the certified interval; on most rows it is thinner than the line.

    Parameters
    ----------
    row
        The logits (any sequence of floats; ``-inf`` masks a token).
    temperature
        The temperature the gap is taken at.
    ax
        Axes to draw on (default: a new column-wide figure).
    label
        Legend label of the curve.
    yscale
        ``"linear"``, or ``"symlog"``: a symmetric-log axis whose linear part ends below the
        smallest ``|f(k)|``, so that sign changes close to 0 stay visible next to large values.
    inset
        ``(k0, k1)``: add an inset that zooms on ``f(k) - f(k0)`` for ``k0 <= k <= k1``, so that a
        change far smaller than ``|f|`` (a rise of ``1e-3`` at ``f = -0.99``) can be seen.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = gap_figure([0.0, -1.0, -1.0, -3.0])
    >>> ax.lines[0].get_xdata().tolist()
    [2, 3, 4]
    >>> ax = gap_figure([0.0, -1.0, -1.0, -3.0], yscale="symlog", inset=(2, 3))
    >>> ax.get_yscale(), len(ax.child_axes)
    ('symlog', 1)
    >>> gap_figure([0.0, -1.0], yscale="log")
    Traceback (most recent call last):
    ...
    ValueError: gap_figure: yscale must be 'linear' or 'symlog', got 'log'
    """
    import math

    import numpy as np

    from ..reference import ees
    from .figures import figure

    if yscale not in ("linear", "symlog"):
        raise ValueError(f"gap_figure: yscale must be 'linear' or 'symlog', got {yscale!r}")
    r = ees(row, temperature=temperature)
    if inset is not None and not (isinstance(inset, tuple) and len(inset) == 2 and 2 <= inset[0] < inset[1] <= r.n):
        raise ValueError(f"gap_figure: inset must be a pair (k0, k1) with 2 <= k0 < k1 <= n = {r.n}, got {inset!r}")
    if ax is None:
        _, ax = figure(squeeze=True)
    enc = r.enclosure
    k = list(range(2, r.n + 1))
    line = ax.plot(k, enc.f_mid[1:], marker="o" if r.n <= 30 else None, markersize=3, label=label or "f(k), certified", **style)[0]
    ax.fill_between(k, enc.f_lo[1:], enc.f_hi[1:], color=line.get_color(), alpha=0.3, linewidth=0)
    ax.axhline(0.0, color="black", lw=0.7)
    ax.set_xlabel("k (tokens in sorted order)")
    ax.set_ylabel(r"$f(k) = \bar H_k - P_k$")
    if yscale == "symlog":
        f = np.abs(np.asarray(enc.f_mid[1:], dtype=float))
        f = f[np.isfinite(f) & (f > 0)]
        # the linear part ends a decade below the smallest |f|: every value sits on the log part
        linthresh = 10.0 ** math.floor(math.log10(f.min()) - 1) if f.size else 1e-3
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.set_ylabel(r"$f(k) = \bar H_k - P_k$ (symmetric log)")
    if inset is not None:
        k0, k1 = inset
        ks = list(range(k0, k1 + 1))
        base = float(enc.f_mid[k0 - 1])
        sub = ax.inset_axes([0.55, 0.42, 0.4, 0.4])
        sub.plot(ks, [float(enc.f_mid[j - 1]) - base for j in ks], marker="o", markersize=3, color=line.get_color())
        sub.axhline(0.0, color="black", lw=0.5)
        sub.set_xticks(ks)
        sub.set_title(f"zoom: $f(k) - f({k0})$", fontsize=8, loc="right")  # the offset text sits left
        sub.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        sub.tick_params(labelsize=7)
    return ax

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

__all__ = ["evidence_size", "minimal_size", "claims_index", "Evidence", "claim_evidence", "gap_figure", "shared_ledger", "LEDGER_CACHE_ENV"]

#: The environment variable naming the file in which a book build keeps the ledger's verdicts
#: (``.ci/book`` sets it to a file in ``book/_build``), so that the landing page, the claims index,
#: the gallery and every claim page show one run of the ledger instead of each running its own.
LEDGER_CACHE_ENV = "EES_LEDGER_CACHE"

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
    return Table(rows, ["claim", "verdict", "evidence", "minimal size", "undecided"] + (["statement"] if statements else []), math=True)


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


def shared_ledger(ids: Iterable[str] | None = None) -> list[Any]:
    """The claims ledger's verdicts (every claim, or ``ids`` in that order), run once per book build.

    With :data:`LEDGER_CACHE_ENV` set to a file path, the first page that asks runs
    :func:`~ees_theory.ledger.registry.run_ledger` for every claim and stores the verdicts there,
    stamped with a hash of the ledger's inputs (the recorded verdicts and the sources it runs);
    later pages read them back while the stamp matches. Without it, every call runs the ledger (for
    ``ids`` only). Each claim's check has its own seed, so a claim's verdict is the same whether it
    was run alone or with the others.

    >>> [v.claim_id for v in shared_ledger(ids=["EES-INCR", "EES-MONO"])]
    ['EES-INCR', 'EES-MONO']
    >>> shared_ledger(ids=["NO-SUCH"])
    Traceback (most recent call last):
    ...
    ValueError: unknown claim id(s) NO-SUCH; known: ...
    """
    import os

    from ..ledger import claims

    cache = os.environ.get(LEDGER_CACHE_ENV)
    if not cache:
        return claims.run_ledger(ids=ids)
    verdicts = {v.claim_id: v for v in _cached_ledger(cache)}
    wanted = list(verdicts) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in verdicts]
    if unknown:
        raise ValueError(f"unknown claim id(s) {', '.join(unknown)}; known: {', '.join(verdicts)}")
    return [verdicts[i] for i in wanted]


def _ledger_stamp() -> str:
    """A hash of what the ledger's verdicts depend on: the sources and data files of the layers it
    runs (the definitions, the formulas, the reference, the families and the ledger itself)."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    parts = ("spec", "core", "reference", "families", "ledger", "tolerances.py")
    h = hashlib.sha256()
    for f in sorted(p for part in parts for p in ([root / part] if part.endswith(".py") else (root / part).rglob("*"))):
        if f.is_file() and f.suffix in (".py", ".json", ".gz") and "__pycache__" not in f.parts:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _cached_ledger(path: str) -> list[Any]:
    import os
    import pickle
    from pathlib import Path

    from ..ledger import claims

    file = Path(path)
    stamp = _ledger_stamp()
    if file.exists():
        try:
            saved_stamp, verdicts = pickle.loads(file.read_bytes())
        except Exception:  # a file from another version of the package: run the ledger again
            saved_stamp, verdicts = None, None
        if saved_stamp == stamp:
            return verdicts
    verdicts = claims.run_ledger()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps((stamp, verdicts)))
    os.replace(tmp, file)  # a page read at the same time sees the old file or the new one, never half
    return verdicts


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
    v = shared_ledger(ids=[claim_id])[0]
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
    line = ax.plot(k, enc.f_mid[1:], marker="o" if r.n <= 30 else None, markersize=3, label=label or "$f(k)$, certified", **style)[0]
    ax.fill_between(k, enc.f_lo[1:], enc.f_hi[1:], color=line.get_color(), alpha=0.3, linewidth=0)
    ax.axhline(0.0, color="black", lw=0.7)
    ax.set_xlabel("$k$ (tokens in sorted order)")
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

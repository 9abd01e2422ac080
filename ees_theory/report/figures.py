"""Figures for the book: sized for the text column, readable ticks, one legend outside the data.

The book's text column is about 7 inches wide at the resolution pages are drawn (1400 px screen,
sphinx-book-theme); a figure drawn wider is shrunk by the browser and its labels become
unreadable. Use :func:`figure` instead of ``plt.subplots`` and :func:`shared_legend` instead of
one ``ax.legend()`` per panel. Captions and alt text are the page's business: put them in the
code cell's ``mystnb`` metadata (``figure: {caption, name}`` and ``image: {alt}``), so that every
figure is numbered and described (see ``book/README.md``).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> fig, axes = figure(1, 2)
>>> for i, ax in enumerate(axes.flat):
...     for j in range(3):
...         _ = ax.plot([1, 10, 100], [j, j + i, j], label=f"line {j}", **line_style(j))
>>> leg = shared_legend(fig)
>>> len(leg.get_texts()), float(fig.get_figwidth())
(3, 7.0)
"""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMN_WIDTH", "STYLE", "figure", "line_style", "shared_legend", "side_legend", "log_ticks", "LINESTYLES", "COLORS"]

#: Width in inches of a figure that fills the text column.
COLUMN_WIDTH = 7.0

#: rcParams applied by :func:`figure`: font sizes that survive the column width, light grid.
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
}

#: Distinguishable without colour (print, colour-blind readers): solid, dashed, dotted, dash-dot,
#: and two custom dash patterns.
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
#: The tab10 colours by name (matplotlib's default cycle).
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
_MARKERS = ("o", "s", "^", "v", "D", "x", "P", "*")


def line_style(i: int, markers: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``ax.plot`` giving series ``i`` its own colour *and* dash pattern.

    Colours repeat after 10 series and dash patterns after 6; the pair repeats only after 30.

    >>> line_style(0)
    {'color': 'tab:blue', 'linestyle': '-'}
    >>> line_style(7, markers=True)
    {'color': 'tab:gray', 'linestyle': '--', 'marker': '*', 'markersize': 3}
    >>> line_style(-1)
    Traceback (most recent call last):
    ...
    ValueError: line_style: series index must be a non-negative int, got -1
    """
    if not isinstance(i, int) or isinstance(i, bool) or i < 0:
        raise ValueError(f"line_style: series index must be a non-negative int, got {i!r}")
    kw: dict[str, Any] = {"color": COLORS[i % len(COLORS)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}
    if markers:
        kw.update(marker=_MARKERS[i % len(_MARKERS)], markersize=3)
    return kw


def figure(nrows: int = 1, ncols: int = 1, *, height: float | None = None, width: float = COLUMN_WIDTH, **kw: Any):
    """``plt.subplots`` sized for the text column, with constrained layout and the book's style.

    ``height`` defaults to 2.6 inches per row (3.2 for a single row). Returns ``(fig, axes)``
    with ``axes`` always a 2-D numpy array unless ``squeeze=True`` is passed.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = figure(squeeze=True)
    >>> fig.get_size_inches().tolist()
    [7.0, 3.2]
    >>> figure(0, 1)
    Traceback (most recent call last):
    ...
    ValueError: figure: nrows and ncols must be positive ints, got 0 x 1
    """
    import matplotlib.pyplot as plt

    if not all(isinstance(x, int) and x > 0 for x in (nrows, ncols)):
        raise ValueError(f"figure: nrows and ncols must be positive ints, got {nrows!r} x {ncols!r}")
    if height is None:
        height = 3.2 if nrows == 1 else 2.6 * nrows
    plt.rcParams.update(STYLE)
    _sharp_inline_figures()
    kw.setdefault("squeeze", False)
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kw)


def _sharp_inline_figures() -> None:
    """In a notebook, show figures at twice their pixel density (the same size on the page, sharp
    on high-density screens and when zoomed); outside a notebook nothing changes."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the docs extra
        return
    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


def shared_legend(fig: Any, axes: Any = None, *, ncol: int | None = None, loc: str = "outside lower center", **kw: Any):
    """One legend for the whole figure, outside the data (below the panels by default).

    Handles are collected from ``axes`` (default: every axes of ``fig``), one per label, in the
    order first seen. Needs a figure with constrained layout (:func:`figure` makes one).
    Raises ``ValueError`` when no plotted artist has a label.
    """
    axs = fig.axes if axes is None else list(getattr(axes, "flat", axes))
    seen: dict[str, Any] = {}
    for ax in axs:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in seen and not lab.startswith("_"):
                seen[lab] = h
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not seen:
        raise ValueError("shared_legend: no labelled line or patch in these axes")
    if ncol is None:
        ncol = min(len(seen), 4)
    return fig.legend(list(seen.values()), list(seen), loc=loc, ncol=ncol, frameon=False, **kw)


def side_legend(ax: Any, **kw: Any):
    """The legend of one panel, to the right of it (outside the data); for stacked panels whose
    series differ, so that one shared legend would mix them.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = figure(squeeze=True)
    >>> _ = ax.plot([0, 1], [0, 1], label="a")
    >>> side_legend(ax).get_texts()[0].get_text()
    'a'
    """
    return ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, **kw)


def log_ticks(ax: Any, axis: str = "x", numticks: int = 5) -> None:
    """Readable ticks on a log axis: at most ``numticks`` labelled decades, unlabelled minor ticks.

    Matplotlib labels minor ticks of a log axis that spans less than about a decade, and on a
    narrow panel those labels run into each other; this keeps only decade labels (or, for a
    short range, a few plain-number labels).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = figure(squeeze=True)
    >>> ax.set_xscale("log"); _ = ax.set_xlim(1, 1e6)
    >>> log_ticks(ax)
    >>> log_ticks(ax, "z")
    Traceback (most recent call last):
    ...
    ValueError: log_ticks: axis must be 'x' or 'y', got 'z'
    """
    from matplotlib.ticker import LogLocator, NullFormatter, LogFormatterSciNotation, MaxNLocator, ScalarFormatter

    if axis not in ("x", "y"):
        raise ValueError(f"log_ticks: axis must be 'x' or 'y', got {axis!r}")
    a = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    if lo > 0 and hi / lo < 30:
        # less than ~1.5 decades: plain numbers at a few nice positions read better than 10^x
        a.set_major_locator(MaxNLocator(nbins=numticks))
        fmt = ScalarFormatter()
        fmt.set_scientific(False)
        a.set_major_formatter(fmt)
    else:
        a.set_major_locator(LogLocator(base=10, numticks=numticks))
        a.set_major_formatter(LogFormatterSciNotation())
    a.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10)), numticks=12))
    a.set_minor_formatter(NullFormatter())

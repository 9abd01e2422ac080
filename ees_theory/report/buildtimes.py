"""How long each page of the book took to execute, read from the build's execution cache.

The book executes its pages through jupyter-cache (``execute_notebooks: cache``), which records
each page's execution time. ``python -m ees_theory.report.buildtimes book/_build/.jupyter_cache``
prints them, slowest first, with the total: the number to watch when a page gets slower.

>>> rows = [("notebooks/stress.md", 3.5), ("intro.md", 1.25)]
>>> print(format_times(rows))
page                 seconds
-------------------  -------
notebooks/stress.md     3.50
intro.md                1.25
total (2 pages)         4.75
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["page_times", "format_times", "main"]


def page_times(cache_dir: str | Path, root: str | Path | None = None) -> list[tuple[str, float]]:
    """``(page, seconds)`` for every page in the jupyter-cache at ``cache_dir``, slowest first;
    pages are named relative to ``root`` (default: the folder that holds ``_build``)."""
    from jupyter_cache import get_cache

    cache_dir = Path(cache_dir)
    if not (cache_dir / "global.db").exists():
        raise ValueError(f"{cache_dir} is not a jupyter-cache folder (no global.db): build the book first")
    base = Path(root) if root is not None else cache_dir.resolve().parent.parent
    out = []
    for rec in get_cache(str(cache_dir)).list_cache_records():
        seconds = (rec.data or {}).get("execution_seconds")
        if seconds is None:
            continue
        uri = Path(rec.uri)
        try:
            name = uri.relative_to(base.resolve()).as_posix()
        except ValueError:
            name = uri.name
        out.append((name, float(seconds)))
    return sorted(out, key=lambda r: -r[1])


def format_times(rows: list[tuple[str, float]]) -> str:
    """The times as a plain-text table with the total as its last line."""
    from .tables import Table

    total = sum(s for _, s in rows)
    body = [[name, s] for name, s in rows] + [[f"total ({len(rows)} pages)", total]]
    return str(Table(body, ["page", "seconds"], fmt={"seconds": ".2f"}))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ees_theory.report.buildtimes BOOK/_build/.jupyter_cache", file=sys.stderr)
        return 2
    print(format_times(page_times(args[0])))
    return 0


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())

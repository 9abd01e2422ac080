"""How the book and the notebooks show results: HTML tables and column-sized figures.

This package belongs to the "uses" layer: it formats what the reference, the ledger and the
harness computed, and never computes a verdict, a count or a bound itself.

* :mod:`.tables`: :class:`Table` (HTML in notebooks and the book, markdown, plain text) and the
  ledger, claim, gap-evidence and port-report tables built from the project's own objects;
* :mod:`.engines`: the engines chapter's grid, totals, CSV download and folded failures;
* :mod:`.figures`: :func:`figure` (sized for the text column), :func:`line_style`,
  :func:`shared_legend` (one legend outside the data), :func:`side_legend` and :func:`log_ticks`.

>>> from ees_theory.report import Table
>>> print(Table([("float32", 0)], ["dtype", "failed"]))
dtype    failed
-------  ------
float32       0
"""

from .claims import Evidence, claim_evidence, claims_index, evidence_size, gap_figure, shared_ledger
from .engines import Download, engine_csv, engine_grid, engine_totals, failure_details, reason_in_words
from .figures import COLUMN_WIDTH, figure, line_style, log_ticks, shared_legend, side_legend
from .tables import Code, Link, Table, band_text, claim_link, claim_table, engine_matrix_table, gap_table, ledger_table, port_table, relative_path, table

__all__ = ["Table", "Link", "Code", "table", "claim_link", "ledger_table", "claim_table", "gap_table", "port_table", "engine_matrix_table", "relative_path", "band_text",
           "COLUMN_WIDTH", "figure", "line_style", "shared_legend", "side_legend", "log_ticks",
           "Evidence", "claim_evidence", "claims_index", "evidence_size", "gap_figure", "shared_ledger",
           "engine_grid", "engine_totals", "engine_csv", "Download", "failure_details", "reason_in_words"]

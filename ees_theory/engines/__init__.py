"""Real engines, checked by the toolkit itself.

Adapters that wrap existing engines as ports the harness understands (``transformers_engine``,
``llamacpp_engine``, ``own``, ``builtin``, ``gpu``), the registry of matrix rows
(``registry``; built-in rows in ``catalog``; look-ups and the ``engine:`` scheme in
``table``) and the matrix run (``matrix``) behind
``ees-theory engines``. An adapter is reachable as the port ``engine:ENGINE:METHOD``::

    ees-theory check engine:llama.cpp:top-k --method top-k --policy llama.cpp

>>> from ees_theory.engines import EngineRow, register, rows
>>> isinstance(rows()[0], EngineRow)
True
"""

from .registry import EngineRow, RowResult, register, run_row
from .table import find_rows, get_row, resolve_port, rows
from .builtin import register as _register_builtin

_register_builtin()  # the toolkit's own kernels are an engine too: the port "builtin"

__all__ = ["EngineRow", "RowResult", "register", "rows", "get_row", "find_rows", "resolve_port", "run_row"]

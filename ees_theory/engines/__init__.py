"""Real engines, checked by the toolkit itself.

Adapters that wrap existing engines as ports the harness understands (:mod:`.transformers_engine`,
:mod:`.llamacpp_engine`, :mod:`.own`, :mod:`.builtin`, :mod:`.gpu`), the registry of matrix rows
(:mod:`.registry`; built-in rows in :mod:`.catalog`; look-ups and the ``engine:`` scheme in
:mod:`.table`) and the matrix run (:mod:`.matrix`) behind
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

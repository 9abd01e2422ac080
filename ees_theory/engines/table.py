"""Looking rows up: the matrix's rows (the built-in :mod:`.catalog` first, then any registered
with :func:`ees_theory.engines.registry.register`), and the ``engine:ENGINE[:METHOD]`` port
scheme, registered with the harness's scheme table on import.

>>> get_row("llama.cpp", "top-k").calls
'llama_sampler_init_top_k'
"""

from __future__ import annotations

import sys
from typing import Callable, Iterable

from . import catalog  # noqa: F401 - registers the built-in rows
from .registry import EngineRow, not_run_reason, registered, split_cases

__all__ = ["rows", "find_rows", "get_row", "resolve_port", "engine_port", "split_skipped"]


def rows() -> list[EngineRow]:
    """Every registered row, in registration order (the built-in catalogue first)."""
    return registered()


def find_rows(engines: Iterable[str] | None = None, methods: Iterable[str] | None = None) -> list[EngineRow]:
    """The rows whose engine is in ``engines`` and method in ``methods`` (``None``: all).

    Parameters
    ----------
    engines : iterable of str or None
        Engine names, each one the matrix has (default ``None``: every engine).
    methods : iterable of str or None
        Method names, each one some row has (default ``None``: every method).

    Returns
    -------
    list of EngineRow
        In registration order.

    Raises
    ------
    ValueError
        An engine or method no row has.

    Examples
    --------
    >>> find_rows(["no-such-engine"])
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'no-such-engine'; the matrix has: ...
    """
    all_rows = rows()
    names = {r.engine for r in all_rows}
    for e in engines or ():
        if e not in names:
            raise ValueError(f"unknown engine {e!r}; the matrix has: {', '.join(sorted(names))}")
    meths = {r.method for r in all_rows}
    for m in methods or ():
        if m not in meths:
            raise ValueError(f"no engine row for method {m!r}; the matrix has: {', '.join(sorted(meths))}")
    return [r for r in all_rows if (not engines or r.engine in engines) and (not methods or r.method in methods)]


def get_row(engine: str, method: str, policy: str | None = None) -> EngineRow:
    """The mask row of ``engine`` for ``method`` (and ``policy`` when given; otherwise the only
    or first registered one).

    Parameters
    ----------
    engine : str
        An engine name of the matrix.
    method : str
        A method that engine has a row for.
    policy : str or None
        The row's policy (default ``None``: the first registered row).

    Returns
    -------
    EngineRow
        The row.

    Raises
    ------
    ValueError
        An unknown engine, or no row of it for ``method`` (under ``policy``), naming what it has.
    """
    found = [r for r in rows() if r.engine == engine and r.method == method and (policy is None or r.policy == policy)]
    if not found:
        have = sorted(r.method for r in rows() if r.engine == engine)
        if not have:
            raise ValueError(f"unknown engine {engine!r}; the matrix has: {', '.join(sorted({r.engine for r in rows()}))}")
        raise ValueError(f"engine {engine!r} has no row for method {method!r}" + (f" under policy {policy!r}" if policy else "") + f"; it has: {', '.join(have)}")
    return found[0]


def resolve_port(spec: str, method: str, dtype: str, policy: str) -> tuple[EngineRow, Callable]:
    """Resolve ``engine:ENGINE[:METHOD]`` to its row and the adapter for ``method`` in ``dtype``.

    The adapter's method must be ``method``; a row that cannot run here raises ValueError with
    the reason (engine not installed, needs CUDA, a dtype it does not take).

    Parameters
    ----------
    spec : str
        The port name, ``"engine:ENGINE:METHOD"`` or ``"engine:ENGINE"`` (the method then is
        ``method``).
    method : str
        The method the check runs (``--method``).
    dtype : str
        The dtype under test.
    policy : str
        The preferred policy: the row with it, else the first mask row of the engine and method.

    Returns
    -------
    tuple
        ``(row, adapter)``: the :class:`EngineRow` and its one-row
        callable for ``method`` in ``dtype``.

    Examples
    --------
    >>> resolve_port("engine:llama.cpp:top-k", "top-p", "float32", "llama.cpp")
    Traceback (most recent call last):
    ...
    ValueError: port engine:llama.cpp:top-k implements top-k, but --method is top-p
    """
    parts = spec.split(":")
    if parts[0] != "engine" or len(parts) not in (2, 3) or not parts[1]:
        raise ValueError(f"an engine port is 'engine:ENGINE:METHOD' (or 'engine:ENGINE'), got {spec!r}")
    engine = parts[1]
    wanted = parts[2] if len(parts) == 3 and parts[2] else method
    if wanted != method:
        raise ValueError(f"port {spec} implements {wanted}, but --method is {method}")
    candidates = [r for r in rows() if r.engine == engine and r.method == method and r.form == "mask"]
    row = next((r for r in candidates if r.policy == policy), None) or (candidates[0] if candidates else None)
    if row is None:
        get_row(engine, method)  # raises the precise error
        raise ValueError(f"engine {engine!r} has no port form for {method!r} (its rows judge draws)")
    why = not_run_reason(row, dtype)
    if why:
        raise ValueError(f"{spec} cannot run here: {why}")
    return row, row.make_adapter(method, dtype)


def engine_port(spec: str, method: str, dtype: str, *, isolate: bool = True, timeout: float | None = 10.0, policy: str = "paper"):
    """The harness port for ``engine:ENGINE[:METHOD]``: the adapter in a worker subprocess
    (``isolate``, the command line's default) or called in process."""
    from ..running.ports import InProcessPort, SubprocessPort, worker_env

    row, fn = resolve_port(spec, method, dtype, policy)
    if isolate:
        command = [sys.executable, "-m", "ees_theory.engines.worker", spec, method, dtype, policy]
        return SubprocessPort(command, spec, timeout, env=worker_env())
    return InProcessPort(fn, spec, None, timeout)


def _open_engine(rest: str, spec: str, method: str, dtype: str, *, isolate: bool, timeout: float | None, policy: str):
    return engine_port(spec, method, dtype, isolate=isolate, timeout=timeout, policy=policy)


def split_skipped(spec: str, cases: list, method: str, dtype: str, policy: str) -> tuple[list, list[dict]]:
    """Cases an ``engine:`` port cannot be judged on (its row's ``skip_case``), moved to a
    skipped list with the reason (counted by the report, never dropped silently)."""
    row, _ = resolve_port(spec, method, dtype, policy)
    return split_cases(row, cases, dtype)


def _register_scheme() -> None:
    from ..running.ports import register_scheme

    register_scheme("engine", _open_engine)


_register_scheme()

"""Ports: how the harness calls an implementation, in process or isolated in a subprocess.

A port is named by a string (``PORT`` on the command line):

* ``package.module:callable`` or ``path/to/file.py:callable`` -- a Python port, one row at a time
  (``fn(logits, *params)``, see ``PROTOCOL.md``). An optional batched form -- an attribute
  ``callable.batched`` or a module-level ``<callable>_batched`` taking a 2-D array and one array
  per parameter -- is used when present (in process). With ``isolate=True`` (the command line's
  default) the port runs in a worker subprocess that speaks the JSON Lines protocol, so a port
  that kills its process or hangs costs one case, not the run.
* ``exec:COMMAND ARGS...`` -- a port in any language speaking the JSON Lines protocol on
  stdin/stdout, run as a subprocess.
* ``builtin`` or ``builtin:ACCUMULATE`` -- the toolkit's own float variants (``ees_theory.torch``)
  in the dtype under test, reductions in the input dtype or in float32.
* ``engine:ENGINE:METHOD`` -- a real engine's implementation through its built-in adapter
  (``ees_theory.engines``, which registers the scheme on import: ``transformers``,
  ``llama.cpp``, ...), isolated like a Python port.

The schemes are a table (:data:`PORT_SCHEMES`); ``ees_theory.engines.builtin`` registers
``builtin`` with :func:`register_scheme`, as an engine adapter would register its own.

Every call yields an :class:`Outcome`: a normalised answer, or a fault (``raised``,
``bad-output``, ``nan``, ``mutated-input``, ``timeout``, ``crashed``, ``protocol-error``) with a
message.

Nothing a port does can end the run silently: a Python port is imported in its worker, so an
import that exits, raises or hangs (past ``import_timeout``, 120 s by default: ``import torch``
alone can take tens of seconds on a loaded machine) is a :class:`PortLoadError` for the run; a
subprocess port runs in its own process group, which is killed with it, and so is every process it
spawned, even one that left the group (``ees_theory.running.reap``); writing a request and
reading an answer are both bounded by ``timeout``; an answer line longer than
:func:`answer_limit` or nested too deeply to parse is a ``protocol-error``. A port called in this
process (``isolate=False``, ``--in-process``) shares it: ``os._exit`` is turned into a ``crashed``
verdict, but such a port can still alter the judge, so its verdict is no evidence against a
hostile port (the report says so).

>>> port = open_port("ees_theory.examples:greedy_ees", "ees", "float64", isolate=False)
>>> out = port.run("ees", [np.array([2.0, 1.0, 0.0])], [{"temperature": 1.0}])[0]
>>> out.fault, out.value.tolist()
(None, [True, False, False])
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..spec.formats import check_dtype, hex_list
from ..spec.methods import OFF_VALUES
from . import reap
from .cases import params_to_json
from ..judging.methods import OutputFault, get_method

__all__ = ["Outcome", "Port", "InProcessPort", "SubprocessPort", "open_port", "load_callable", "PortTimeout", "PortLoadError",
           "answer_limit", "PORT_SCHEMES", "register_scheme", "scheme_of", "WithoutParams", "without_params", "IMPORT_TIMEOUT_S",
           "port_identity"]


@dataclass
class Outcome:
    """What one call produced: ``value`` (normalised) or a ``fault`` class with a ``message``.

    Parameters
    ----------
    value : object
        The normalised answer (a mask, a temperature, ...); ``None`` when the call faulted.
    fault : str or None
        ``"raised"``, ``"bad-output"``, ``"nan"``, ``"mutated-input"``, ``"timeout"``,
        ``"crashed"`` or ``"protocol-error"``; ``None`` for an answer.
    message : str
        What went wrong (default empty).
    elapsed : float
        Seconds the call took (default 0).
    """

    value: Any = None
    fault: str | None = None
    message: str = ""
    elapsed: float = 0.0


class PortTimeout(Exception):
    """Raised inside an in-process port call that ran past its time limit."""


class PortLoadError(ValueError):
    """The port could not be loaded: its import raised, exited or hung (a verdict on the run)."""


#: seconds the Python worker may take to start before it imports the port (then ``import_timeout`` applies)
WORKER_START_S = 120.0
#: default bound (seconds) on a Python port's import, apart from the per-call ``timeout``
IMPORT_TIMEOUT_S = 120.0


def answer_limit(vocab: int) -> int:
    """The longest answer line (bytes) accepted for a row of ``vocab`` tokens: room for every
    token as a hex float with its id, plus 1 MiB; a longer line is a ``protocol-error``.

    >>> answer_limit(4)
    1048832
    """
    return (1 << 20) + 64 * int(vocab)


def _import_module(mod_name: str) -> Any:
    if mod_name.endswith(".py") or os.sep in mod_name:
        path = Path(mod_name)
        if not path.is_file():
            raise FileNotFoundError(f"port file {path} does not exist")
        name = "_ees_port_" + path.stem
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(mod_name)


def load_callable(spec: str, timeout: float | None = None) -> Callable:
    """Import ``module:attr`` (dotted module or a ``.py`` file path; ``attr`` may be dotted).

    An import that raises, calls ``sys.exit`` or runs past ``timeout`` seconds is a
    ``PortLoadError`` (``ees_theory.running.ports``) naming the module.

    Parameters
    ----------
    spec : str
        ``"module:attr"`` or ``"path/to/file.py:attr"``.
    timeout : float or None
        Seconds the import may take (default ``None``: no limit).

    Returns
    -------
    callable
        The object ``attr`` names.

    Raises
    ------
    ValueError
        No ``:`` in ``spec``, or the module has no such attribute; ``PortLoadError`` (a
        ValueError) when the import raises, exits or runs past ``timeout``.
    TypeError
        The attribute is not callable.
    FileNotFoundError
        A ``.py`` path that does not exist.

    Examples
    --------
    >>> load_callable("math:sqrt")(4.0)
    2.0
    >>> load_callable("no_such_module_here:f")
    Traceback (most recent call last):
    ...
    ees_theory.running.ports.PortLoadError: importing the port module no_such_module_here failed: ModuleNotFoundError: No module named 'no_such_module_here'
    """
    if ":" not in spec:
        raise ValueError(f"a Python port is 'module:callable' or 'path/file.py:callable', got {spec!r}")
    mod_name, _, attr = spec.rpartition(":")
    try:
        with Alarm(timeout):
            module = _import_module(mod_name)
    except PortTimeout:
        raise PortLoadError(f"importing the port module {mod_name} did not finish within {timeout:g} s") from None
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:  # an import that exits must not end the harness (with status 0)
        raise PortLoadError(f"importing the port module {mod_name} called sys.exit({exc.code!r})") from None
    except _PortExit as exc:  # (an in-process import, under _ExitGuard)
        raise PortLoadError(f"importing the port module {mod_name} called os._exit({exc.status!r})") from None
    except FileNotFoundError:
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure of the port's import is a verdict
        raise PortLoadError(f"importing the port module {mod_name} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{mod_name} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    return obj


def find_batched(fn: Callable, spec: str | None) -> Callable | None:
    """The batched form of a Python port: its ``batched`` attribute, or ``NAME_batched`` beside
    ``NAME`` in the port's module (``spec`` is ``module:NAME``); ``None`` when it has none."""
    batched = getattr(fn, "batched", None)
    if callable(batched):
        return batched
    if spec:
        mod_name, _, attr = spec.rpartition(":")
        module = sys.modules.get(mod_name) or sys.modules.get("_ees_port_" + Path(mod_name).stem)
        if module is not None and "." not in attr:
            cand = getattr(module, attr + "_batched", None)
            if callable(cand):
                return cand
    return None


class Port:
    """Base class: ``run(method, rows, params)`` returns one :class:`Outcome` per row."""

    name = "port"
    isolated = False
    batched = False
    #: the arguments :func:`open_port` opened it with (None: built by hand)
    recipe: dict | None = None

    def run(self, method: str, rows: list[np.ndarray], params: list[dict[str, float]], dtype: str = "float64") -> list[Outcome]:
        """Call the port once per row (a batched port: once per run of rows) and collect what each
        call produced; a port that raises, hangs, crashes or answers nonsense gets a fault, never
        an exception here.

        Parameters
        ----------
        method : str
            A registered method name (``"ees"``, ``"edt"``, ``"top-p"``, ...).
        rows : list of numpy.ndarray
            The 1-D logit rows, already in the port's numpy type for ``dtype`` (``Case.row``).
        params : list of dict
            ``{name: value}`` for each row, same length as ``rows``.
        dtype : str
            The dtype under test (one of ``DTYPES``); a subprocess port receives it in the request.

        Returns
        -------
        list of Outcome
            One per row, in order.
        """
        raise NotImplementedError  # pragma: no cover

    def close(self) -> None:
        """Release the port's resources (a subprocess)."""


class Alarm:
    """SIGALRM-based time limit for in-process calls (main thread only; elsewhere no limit)."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.active = bool(seconds) and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")

    def __enter__(self):
        if self.active:
            def on_alarm(signum, frame):
                raise PortTimeout()

            self.previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


class SigintWatch:
    """Tells a real interrupt (SIGINT: the user stops the run) from a port that raises
    ``KeyboardInterrupt`` itself (a fault of the port). Main thread only."""

    def __init__(self):
        self.hit = False
        self.active = threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self.active:
            def on_sigint(signum, frame):
                self.hit = True
                raise KeyboardInterrupt

            self.previous = signal.signal(signal.SIGINT, on_sigint)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.signal(signal.SIGINT, self.previous)
        return False


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``b`` is ``a`` unchanged: dtype, shape and every value (NaN equal to NaN).

    >>> same_array(np.array([1.0, np.nan]), np.array([1.0, np.nan])), same_array(np.zeros(2), np.zeros(2, np.float32))
    (True, False)
    """
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


class _PortExit(BaseException):
    """Raised in place of ``os._exit`` while a port's code runs in this process."""

    def __init__(self, status: Any):
        super().__init__(status)
        self.status = status


_REAL_EXIT = os._exit
_guard = {"depth": 0, "pid": None}


def _exit_in_port(status: int = 0) -> None:
    # the stand-in for os._exit while guarded; harmless afterwards (a port that kept a reference
    # to it gets the real exit), and a forked child of the port exits for real
    if _guard["depth"] and _guard["pid"] == os.getpid():
        raise _PortExit(status)
    _REAL_EXIT(status)


def _exit_during_port_call() -> None:
    if _guard["depth"] and _guard["pid"] == os.getpid():
        sys.stderr.write("ees-theory: the process was ending while a port called in it was running; no verdict (exit status 70)\n")
        sys.stderr.flush()
        _REAL_EXIT(70)


class _ExitGuard:
    """While a port's code runs in this process (``--in-process``), ``os._exit`` raises
    :class:`_PortExit` (a ``crashed`` verdict on the case) instead of ending the run with the
    port's exit status, and an interpreter exit that still happens during the call ends it with
    status 70 and a message, never with 0. A port sharing the process can always get around this
    (it can kill the process, or rewrite the judge): in-process runs are for trusted ports."""

    _atexit_registered = False

    def __enter__(self):
        if not _ExitGuard._atexit_registered:
            import atexit

            atexit.register(_exit_during_port_call)
            _ExitGuard._atexit_registered = True
        if not _guard["depth"]:
            _guard["saved"] = os._exit
            os._exit = _exit_in_port
        _guard["depth"] += 1
        _guard["pid"] = os.getpid()
        return self

    def __exit__(self, *exc):
        _guard["depth"] -= 1
        if not _guard["depth"]:
            os._exit = _guard.pop("saved", _REAL_EXIT)
        return False


def batchable(batched: Callable | None, rows: list[np.ndarray]) -> bool:
    """Whether ``rows`` go to a port's batched form in one call: it has one, and there are several
    rows of one shape (they stack into one 2-D array).

    >>> batchable(print, [np.zeros(3), np.ones(3)]), batchable(print, [np.zeros(3), np.ones(4)]), batchable(None, [np.zeros(3)] * 2)
    (True, False, False)
    """
    return batched is not None and len(rows) > 1 and len({r.shape for r in rows}) == 1


def try_batched(call: Callable[[np.ndarray], Any], rows: list[np.ndarray], split: Callable[[Any, np.ndarray], list[Any]],
                timeout: float | None) -> tuple[list[Any], float] | None:
    """Call a port's batched form once on ``rows`` stacked into a 2-D array, and split its answer
    with ``split(raw, stacked)`` into one value per row: ``(values, seconds per row)``.

    ``None`` means "run these rows one by one": the batched call raised, exited, ran past
    ``timeout``, wrote to its input, or its answer did not split into exactly one valid answer per
    row. Run alone, each row then gets its own fault and message. A Ctrl-C of the user (not one
    the port raised) still ends the run.

    >>> rows = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    >>> values, per_row = try_batched(lambda a: a * 2, rows, lambda raw, a: list(raw), None)
    >>> [v.tolist() for v in values]
    [[2.0, 4.0], [6.0, 8.0]]
    >>> try_batched(lambda a: a[:1], rows, lambda raw, a: list(raw), None) is None  # one answer for two rows
    True
    >>> try_batched(lambda a: a.fill(0), rows, lambda raw, a: list(a), None) is None  # wrote to its input
    True
    """
    stacked = np.stack(rows)
    original = stacked.copy()
    t0 = time.perf_counter()
    watch = SigintWatch()
    try:
        with watch, Alarm(timeout), _ExitGuard():
            raw = call(stacked)
        if not same_array(stacked, original):
            return None  # attribute the mutation row by row
        values = list(split(raw, stacked))
    except KeyboardInterrupt:
        if watch.hit or not watch.active:
            raise
        return None
    except BaseException:  # noqa: BLE001 - fall back to single rows to attribute the fault
        return None
    if len(values) != len(rows):
        return None
    return values, (time.perf_counter() - t0) / len(rows)


class InProcessPort(Port):
    """A Python callable called in this process (fast; a crash of the port ends the run, and
    ``os._exit`` in it is a ``crashed`` verdict: see ``_ExitGuard``).

    Parameters
    ----------
    fn : callable
        The one-row port, ``fn(logits, *params)``.
    name : str
        The port's name in reports.
    batched : callable or None
        Its batched form (a 2-D array and one array per parameter), used when given.
    timeout : float or None
        Seconds each call may take (default 10; ``None``: no limit).
    """

    def __init__(self, fn: Callable, name: str, batched: Callable | None = None, timeout: float | None = 10.0):
        self.fn = fn
        self.name = name
        self.batched_fn = batched
        self.batched = batched is not None
        self.timeout = timeout

    def _one(self, method, row: np.ndarray, params: dict) -> Outcome:
        m = get_method(method)
        original = row.copy()
        t0 = time.perf_counter()
        watch = SigintWatch()
        try:
            with watch, Alarm(self.timeout), _ExitGuard():
                raw = m.call(self.fn, row, params)
        except PortTimeout:
            return Outcome(fault="timeout", message=f"no answer within {self.timeout:g} s", elapsed=time.perf_counter() - t0)
        except _PortExit as exc:
            return Outcome(fault="crashed", message=f"the port called os._exit({exc.status!r})", elapsed=time.perf_counter() - t0)
        except KeyboardInterrupt as exc:
            if watch.hit or not watch.active:
                raise  # the user interrupted the run
            return Outcome(fault="raised", message=f"the port raised KeyboardInterrupt({exc})", elapsed=time.perf_counter() - t0)
        except SystemExit as exc:
            return Outcome(fault="crashed", message=f"the port called sys.exit({exc.code!r})", elapsed=time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - any error of the port is a verdict
            return Outcome(fault="raised", message=f"{type(exc).__name__}: {exc}", elapsed=time.perf_counter() - t0)
        elapsed = time.perf_counter() - t0
        if not same_array(row, original):
            where = np.flatnonzero(~((row == original) | (np.isnan(row) & np.isnan(original))))
            return Outcome(fault="mutated-input", message=f"the port modified its input logits in place (first changed position {int(where[0]) if len(where) else '?'}); a sampler must not write to the caller's logits", elapsed=elapsed)
        try:
            return Outcome(value=m.normalize(raw, row.shape[-1]), elapsed=elapsed)
        except OutputFault as exc:
            return Outcome(fault=exc.fault, message=exc.message, elapsed=elapsed)

    def _batch(self, method, rows, params) -> list[Outcome] | None:
        m = get_method(method)
        done = try_batched(lambda stacked: m.call_batched(self.batched_fn, stacked, params), rows,
                           lambda raw, stacked: [m.normalize(p, stacked.shape[-1]) for p in m.split_batched(raw, len(rows))], self.timeout)
        if done is None:
            return None
        values, per = done
        return [Outcome(value=v, elapsed=per) for v in values]

    def run(self, method, rows, params, dtype="float64"):
        if batchable(self.batched_fn, rows):
            out = self._batch(method, rows, params)
            if out is not None:
                return out
        return [self._one(method, r, p) for r, p in zip(rows, params)]


class SubprocessPort(Port):
    """A port process speaking the JSON Lines protocol; restarted after a crash or a timeout.

    The process runs in its own process group (session), killed as a whole when the port is
    stopped, with every process below it and every process carrying its environment mark (a child
    that left the group with ``setsid()``; see ``ees_theory.running.reap``), so nothing it
    spawned outlives it. With ``handshake=True`` (the Python worker) the
    process first reports whether the port loaded; a load that fails or takes longer than
    ``import_timeout`` raises ``PortLoadError``.

    Parameters
    ----------
    command : list of str
        The program and its arguments (started on first use).
    name : str
        The port's name in reports.
    timeout : float or None
        Seconds each answer may take (default 10; ``None``: no limit).
    env : dict or None
        The process's environment (default: this process's).
    handshake : bool
        Whether the process first reports that its port loaded (the Python worker; default False).
    import_timeout : float or None
        Seconds the port's import may take after a handshake starts (default 120).

    Raises
    ------
    ValueError
        An empty ``command``.
    """

    isolated = True

    def __init__(self, command: list[str], name: str, timeout: float | None = 10.0, env: dict | None = None, handshake: bool = False,
                 import_timeout: float | None = IMPORT_TIMEOUT_S):
        if not command:
            raise ValueError("an external port needs a command")
        self.command = command
        self.name = name
        self.timeout = timeout
        self.import_timeout = import_timeout
        self.env = env
        self.handshake = handshake
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.counter = 0
        self.mark = reap.new_mark()  # in the environment of the port and all it spawns

    def _start(self) -> None:
        self.stderr = tempfile.TemporaryFile()
        try:
            env = dict(os.environ if self.env is None else self.env, **{reap.ENV_MARK: self.mark})
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
                                         start_new_session=True)
        except OSError as exc:
            raise ValueError(f"cannot start port {self.command!r}: {exc}") from None
        os.set_blocking(self.proc.stdin.fileno(), False)  # a port that never reads must not block the harness
        self.buffer = b""
        if self.handshake:
            self._await_ready()

    def _await_ready(self) -> None:
        # first the worker's own start (Python and this package: slow on a loaded machine, so a
        # generous fixed bound), then the port's import, bounded by import_timeout
        line = self._handshake_line(time.monotonic() + WORKER_START_S, "start its worker")
        if line is not None:
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                obj = None
            if isinstance(obj, dict) and obj.get("loading") is True:
                line = self._handshake_line(None if not self.import_timeout else time.monotonic() + self.import_timeout, "finish loading")
        if line is None:
            status = self._stop()
            raise PortLoadError(f"the port {self.name} could not be loaded: its worker exited with status {status} while importing it{self._stderr_tail()}")
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            obj = None
        if not isinstance(obj, dict) or obj.get("ready") is not True:
            why = obj.get("error") if isinstance(obj, dict) and obj.get("error") else f"unexpected first line {line[:120]!r}"
            self._stop()
            raise PortLoadError(f"the port {self.name} could not be loaded: {why}")

    def _handshake_line(self, deadline: float | None, what: str) -> bytes | None:
        try:
            return self._readline(deadline, 1 << 20)
        except PortTimeout:
            self._stop()
            hint = " (an import that hangs?)" if what == "finish loading" else ""
            limit = f"{self.import_timeout:g} s (--import-timeout)" if what == "finish loading" else f"{WORKER_START_S:g} s"
            raise PortLoadError(f"the port {self.name} did not {what} within {limit}{hint}") from None
        except _Oversized:
            return b""

    def _stderr_tail(self) -> str:
        try:
            self.stderr.seek(0)
            text = self.stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return (" | stderr: " + text[-300:].replace("\n", " / ")) if text else ""

    def _stop(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        # what the port spawned dies with it: first the tree below it while it stands (with the
        # orphans the Python worker adopted as a subreaper), then its group, then any process
        # still carrying its mark (a child that left the group with setsid())
        reap.kill_all(proc.pid if proc.poll() is None else None, self.mark)  # (a reaped pid may be reused)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            if proc.poll() is None:
                proc.kill()
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
            return None
        finally:
            reap.kill_all(None, self.mark)
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    def _write(self, data: bytes, deadline: float | None) -> None:
        """Write a request; raises PortTimeout past the deadline (a port that does not read)."""
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise PortTimeout()
            _, ready, _ = select.select([], [fd], [], wait)
            if not ready:
                continue
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue

    def _readline(self, deadline: float | None, limit: int) -> bytes | None:
        """One line from the port; None on end of file; raises PortTimeout past the deadline and
        _Oversized when the line grows past ``limit`` bytes."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if len(self.buffer) > limit:
                raise _Oversized()
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise PortTimeout()
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > limit:
            raise _Oversized()
        return line

    def _crash_outcome(self, t0: float) -> Outcome:
        status = self._stop()
        tail = self._stderr_tail()
        if status is not None and status < 0:
            try:
                how = f"killed by {signal.Signals(-status).name}"
            except ValueError:
                how = f"killed by signal {-status}"
        else:
            how = f"exited with status {status}"
        return Outcome(fault="crashed", message=f"the port process {how} before answering{tail}", elapsed=time.perf_counter() - t0)

    def _exchange(self, request: dict, limit: int, oversized: str) -> tuple[dict | None, Outcome | None, float]:
        """Send one request (an ``id`` is added) and read its answer object: ``(answer, None,
        elapsed)``, or ``(None, outcome, elapsed)`` when the exchange itself failed: the port could
        not be restarted, did not read or answer within the timeout, died, answered a line over
        ``limit`` bytes (``oversized`` says why that is too long), an unreadable or mismatched
        line, or an ``"error"`` reply."""
        t0 = time.perf_counter()
        if self.proc is None or self.proc.poll() is not None:
            self._stop()
            try:
                self._start()
            except PortLoadError as exc:  # it loaded once: failing to load again is this case's fault
                return None, Outcome(fault="crashed", message=f"restarting the port failed: {exc}", elapsed=time.perf_counter() - t0), 0.0
        self.counter += 1
        rid = f"r{self.counter}"
        deadline = None if not self.timeout else time.monotonic() + self.timeout
        try:
            self._write((json.dumps({"id": rid, **request}, separators=(",", ":")) + "\n").encode(), deadline)
        except PortTimeout:
            self._stop()
            return None, Outcome(fault="timeout", message=f"the port did not read its request within {self.timeout:g} s (the port process was killed and restarted)", elapsed=time.perf_counter() - t0), 0.0
        except (BrokenPipeError, OSError):
            return None, self._crash_outcome(t0), 0.0
        try:
            line = self._readline(deadline, limit)
        except PortTimeout:
            self._stop()
            return None, Outcome(fault="timeout", message=f"no answer within {self.timeout:g} s (the port process was killed and restarted)", elapsed=time.perf_counter() - t0), 0.0
        except _Oversized:
            self._stop()  # the stream is out of step; start afresh
            return None, Outcome(fault="protocol-error", message=oversized, elapsed=time.perf_counter() - t0), 0.0
        elapsed = time.perf_counter() - t0
        if line is None:
            return None, self._crash_outcome(t0), elapsed
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except RecursionError:
            self._stop()
            return None, Outcome(fault="protocol-error", message=f"answer is nested too deeply to read: {line[:60]!r}...", elapsed=elapsed), elapsed
        except ValueError:
            self._stop()  # the stream is out of step; start afresh
            return None, Outcome(fault="protocol-error", message=f"answer is not a JSON object: {line[:120]!r}", elapsed=elapsed), elapsed
        if obj.get("id") != rid:
            self._stop()
            return None, Outcome(fault="protocol-error", message=f"answer id {str(obj.get('id'))[:60]!r} does not match request id {rid!r}", elapsed=elapsed), elapsed
        if "error" in obj:
            return None, Outcome(fault="raised", message=str(obj["error"])[:2000], elapsed=elapsed), elapsed
        return obj, None, elapsed

    def _one(self, method: str, row: np.ndarray, params: dict, dtype: str) -> Outcome:
        m = get_method(method)
        V = row.shape[-1]
        request = {"method": method, "dtype": dtype, "logits": hex_list(row), "params": params_to_json(params)}
        obj, failed, elapsed = self._exchange(request, answer_limit(V), f"answer line longer than {answer_limit(V)} bytes for a {V}-token row")
        if failed is not None:
            return failed
        if obj.get("mutated"):
            return Outcome(fault="mutated-input", message="the port modified its input logits in place; a sampler must not write to the caller's logits", elapsed=elapsed)
        if "fault" in obj:
            return Outcome(fault=str(obj["fault"])[:60], message=str(obj.get("message", ""))[:2000], elapsed=elapsed)
        try:
            return Outcome(value=m.decode(obj, row.shape[-1]), elapsed=elapsed)
        except OutputFault as exc:
            return Outcome(fault=exc.fault, message=exc.message, elapsed=elapsed)
        except (RecursionError, ValueError, TypeError, OverflowError) as exc:
            return Outcome(fault="protocol-error", message=f"answer cannot be read: {type(exc).__name__}: {str(exc)[:200]}", elapsed=elapsed)

    def run(self, method, rows, params, dtype="float64"):
        return [self._one(method, r, p, dtype) for r, p in zip(rows, params)]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()


class _Oversized(Exception):
    """An answer line past the size limit."""


def worker_env() -> dict:
    """The environment of a port's worker process: this one's, with the working directory on
    ``PYTHONPATH`` (a port named ``module:callable`` is importable from where the check runs)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    return env


#: Port schemes, by name: ``opener(rest, spec, method, dtype, isolate=, timeout=, policy=) -> Port``,
#: where ``rest`` is what follows ``<scheme>:`` in the port's name. ``module`` and ``file`` (Python
#: ports) have no prefix; other modules add schemes with :func:`register_scheme` (``builtin`` does).
PORT_SCHEMES: dict[str, Callable[..., Port]] = {}


def register_scheme(name: str, opener: Callable[..., Port]) -> None:
    """Register a port scheme: a port named ``<name>`` or ``<name>:<rest>`` is opened by ``opener``.

    >>> {'exec', 'file', 'module'} <= set(PORT_SCHEMES)    # 'builtin' and 'engine' once ees_theory.engines is imported
    True
    """
    PORT_SCHEMES[name] = opener


#: files larger than this are identified by size and modification time instead of their bytes
IDENTITY_READ_MAX = 64 << 20


def _module_file(mod_name: str) -> Path | None:
    """The source file of a dotted module, found on ``sys.path`` (and the working directory)
    without importing anything: a port's import runs only in its worker."""
    import importlib.machinery

    path = [os.getcwd(), *sys.path]
    found = None
    for part in mod_name.split("."):
        try:
            found = importlib.machinery.PathFinder.find_spec(part if found is None else f"{found.name}.{part}", path)
        except (ImportError, ValueError, AttributeError):
            return None
        if found is None:
            return None
        path = list(found.submodule_search_locations or [])
    origin = getattr(found, "origin", None)
    return Path(origin) if origin and os.path.isfile(origin) else None


def port_identity(spec: str) -> str | None:
    """A digest of the files a port runs, recorded in a journal so that resuming it with another
    port (or the same one edited) is refused: a Python port's module file, or an ``exec:`` port's
    program and every file its command names. ``None`` for ports with no such file (``builtin``,
    ``engine:``: the toolkit's version and the engine's name identify them). It tells an accidental
    mix-up, not a forgery: nothing stops anyone from writing a journal by hand.

    >>> port_identity("builtin") is None, len(port_identity("ees_theory.examples:greedy_ees"))
    (True, 16)
    """
    import hashlib
    import shutil

    scheme, rest = scheme_of(spec)
    if scheme in ("module", "file"):
        mod_name = rest.rpartition(":")[0]
        files = [Path(mod_name)] if scheme == "file" else [_module_file(mod_name)]
    elif scheme == "exec":
        try:
            argv = shlex.split(rest)
        except ValueError:
            return None
        files = [Path(shutil.which(argv[0]) or argv[0])] if argv else []
        files += [Path(a) for a in argv[1:]]
    else:
        return None
    h = hashlib.sha256()
    seen = False
    for f in files:
        if f is None or not f.is_file():
            continue
        seen = True
        st = f.stat()
        if st.st_size > IDENTITY_READ_MAX:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(f.read_bytes())
    return h.hexdigest()[:16] if seen else None


def scheme_of(spec: str) -> tuple[str, str]:
    """``(scheme, rest)`` of a port name: a registered prefix, else a Python ``module`` or ``file``.

    >>> scheme_of("exec:./port --fast"), scheme_of("pkg.mod:fn"), scheme_of("ports/p.py:fn")
    (('exec', './port --fast'), ('module', 'pkg.mod:fn'), ('file', 'ports/p.py:fn'))
    """
    head, _, rest = spec.partition(":")
    if head in PORT_SCHEMES and head not in ("module", "file"):
        return head, rest
    mod_name = spec.rpartition(":")[0]
    return ("file" if mod_name.endswith(".py") or os.sep in mod_name else "module"), spec


def _open_exec(rest: str, spec: str, method: str, dtype: str, *, isolate: bool, timeout: float | None, policy: str) -> Port:
    return SubprocessPort(shlex.split(rest), spec, timeout)


def _open_python(rest: str, spec: str, method: str, dtype: str, *, isolate: bool, timeout: float | None, policy: str,
                 import_timeout: float | None = IMPORT_TIMEOUT_S) -> Port:
    if ":" not in spec:
        raise ValueError(f"a Python port is 'module:callable' or 'path/file.py:callable', got {spec!r}")
    if isolate:
        # the port's module is imported in the worker only: whatever its import does (exit,
        # raise, hang) happens there and comes back as a PortLoadError, here, before any case
        port = SubprocessPort([sys.executable, "-m", "ees_theory.running.worker", "--handshake", spec], spec, timeout,
                              env=worker_env(), handshake=True, import_timeout=import_timeout)
        port._start()
        return port
    with _ExitGuard():
        fn = load_callable(spec, import_timeout)
    return InProcessPort(fn, spec, find_batched(fn, spec), timeout)


class WithoutParams(Port):
    """``port`` called without the parameters in ``unsupported`` (it has no such parameter, see
    ``ees_theory.running.capabilities``); a call that needs one of them at a value other than
    "off" is a ValueError (a search or a shrink step then drops that input).

    >>> port = WithoutParams(InProcessPort(lambda z, t, p: z == z.max(), "no-min-keep"), ("min_tokens_to_keep",))
    >>> port.run("top-p", [np.array([1.0, 0.0])], [{"temperature": 1.0, "p": 0.5, "min_tokens_to_keep": 1}])[0].value.tolist()
    [True, False]
    """

    def __init__(self, port: Port, unsupported: tuple[str, ...]):
        self.port = port
        self.unsupported = tuple(unsupported)
        self.name = port.name
        self.isolated = port.isolated
        self.batched = port.batched
        recipe = getattr(port, "recipe", None)
        self.recipe = None if recipe is None else dict(recipe, unsupported=self.unsupported)

    def run(self, method, rows, params, dtype="float64"):
        for p in params:
            for name in self.unsupported:
                if name in p and p[name] != OFF_VALUES[name]:
                    raise ValueError(f"the port has no {name}: it cannot be asked for {name} = {p[name]!r}")
        stripped = [{k: v for k, v in p.items() if k not in self.unsupported} for p in params]
        return self.port.run(method, rows, stripped, dtype)

    def close(self) -> None:
        self.port.close()


def without_params(port: Port, unsupported: Iterable[str]) -> Port:
    """``port`` itself when it lacks nothing (or is already so wrapped), else ``WithoutParams``."""
    unsupported = tuple(unsupported)
    if not unsupported or tuple(getattr(port, "unsupported", ())) == unsupported:
        return port
    return WithoutParams(port, unsupported)


register_scheme("exec", _open_exec)
register_scheme("module", _open_python)
register_scheme("file", _open_python)


def open_port(spec: str, method: str, dtype: str, *, isolate: bool = True, timeout: float | None = 10.0, policy: str = "paper",
              import_timeout: float | None = IMPORT_TIMEOUT_S, unsupported: tuple[str, ...] = ()) -> Port:
    """Open the port named by ``spec`` (see the module docstring) for ``method`` in ``dtype``;
    ``policy`` is the engine convention a built-in truncation sampler follows. ``timeout`` bounds
    each call, ``import_timeout`` a Python port's import; ``unsupported`` names parameters the
    port does not take (``WithoutParams``).

    Parameters
    ----------
    spec : str
        ``"module:callable"``, ``"path/file.py:callable"``, ``"exec:COMMAND ARGS..."``,
        ``"builtin"`` / ``"builtin:ACCUMULATE"``, or a scheme an engine adapter registered.
    method : str
        A registered method.
    dtype : str
        ``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
    isolate : bool
        Run a Python port in a worker subprocess (default True) rather than in this process.
    timeout : float or None
        Seconds per call, finite and ``> 0`` (default 10; ``None``: no limit).
    policy : str
        The engine convention a built-in truncation sampler follows (default ``"paper"``).
    import_timeout : float or None
        Seconds a Python port's import may take, finite and ``> 0`` (default 120).
    unsupported : tuple of str
        Parameters the port does not take (default none).

    Returns
    -------
    Port
        The opened port; call ``close()`` when done.

    Raises
    ------
    ValueError
        An unknown method or dtype, a bad timeout, a malformed ``spec``, a process that cannot
        start, or ``PortLoadError`` (a ValueError) for a Python port whose import fails.

    Examples
    --------
    >>> port = open_port(f"exec:{sys.executable} tests/ports/jsonl_port.py", "edt", "float32", timeout=20)
    >>> out = port.run("edt", [np.zeros(2, np.float32)], [{"T0": 1.0, "theta": 0.5, "N": 0.8}], "float32")[0]
    >>> port.close(); out.fault, round(out.value, 6)           # T = 0.8**(0.5 / ln 2)
    (None, 0.851323)
    """
    get_method(method)
    check_dtype(dtype)
    if timeout is not None and (not math.isfinite(timeout) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if import_timeout is not None and (not math.isfinite(import_timeout) or import_timeout <= 0):
        raise ValueError(f"import_timeout must be a positive number of seconds, got {import_timeout!r}")
    scheme, rest = scheme_of(spec)
    opener = PORT_SCHEMES[scheme]
    # only a Python port is imported by the harness; other schemes keep their own signature
    extra = {"import_timeout": import_timeout} if scheme in ("module", "file") else {}
    port = opener(rest, spec, method, dtype, isolate=isolate, timeout=timeout, policy=policy, **extra)
    port = without_params(port, unsupported)
    # how to open the same port elsewhere (a cluster's workers), with the module that registers its scheme
    port.recipe = {"spec": spec, "method": method, "dtype": dtype, "isolate": isolate, "timeout": timeout, "policy": policy,
                   "import_timeout": import_timeout, "unsupported": tuple(unsupported), "registers": opener.__module__}
    return port

"""Judging a run on a Dask cluster: ``--cluster ADDRESS`` of ``check`` and ``stress``.

The cases of a run go to the workers of a Dask scheduler (``tcp://host:port``) or of a
``LocalCluster`` of N worker processes that the command starts and closes (``local:N``); the
records come back to the checking process, which alone writes the journal, in plan order. So the
records, the journal and the report are those of a run without a cluster (same seed, same plan),
and ``--resume`` works as it does there. Dask is imported only here, only when a cluster is asked for.

* Work goes out in *tasks*: runs of whole port calls (:func:`~ees_theory.running.cases.port_batches`,
  the calls a run without a cluster makes) of :data:`MIN_TASK_CASES` to :data:`MAX_TASK_CASES`
  cases, about :data:`TASKS_PER_THREAD` per worker thread, so one task's scheduling (a few
  milliseconds) is well under 5% of its judging (about 10 to 40 ms a case). The tasks taper: none
  takes more than half a thread's share of the work left (work: the cases' vocabularies), so the
  run ends in short tasks and the threads finish together. A task goes out when a thread is free
  (one unfinished task per thread: none waits behind another on a busy worker while a thread
  idles), and at most :data:`WINDOW_PER_THREAD` tasks per thread are out or held: the scheduler and
  the checking process hold a bounded number of tasks and results, whatever the size of the run.
* ``port_on="workers"`` (the default): each worker opens the port itself from its
  :attr:`~ees_theory.running.ports.Port.recipe`, isolated as it is locally (a Python port in its
  own subprocess, so a port that kills its process gets the verdict ``crashed`` there as here),
  and also shrinks the failures. Before any work every worker opens the port once (an exec port's
  program must exist on every worker; a Python port must import there): a worker that cannot is
  an error naming it. ``port_on="client"``: the port is called in the checking process (a port
  that lives on one machine, a GPU) and only the judging goes out.
* A ``local:N`` cluster's workers are forks of one server that imported torch, mpmath and the
  judges once (:data:`WORKER_PRELOAD`; the command line starts it as soon as it reads the option,
  so its imports overlap with the command's own), not fresh interpreters that each import them.
  The command line does not wait for them: while they start, the checking process opens its port
  and judges the first cases itself, in plan order, then hands the rest to the workers.
* A worker that dies mid-task loses nothing: Dask runs its tasks again elsewhere, and a task's
  records count only when its result reaches the checking process, once.

>>> parse_address("local:2"), parse_address("tcp://10.0.0.5:8786")
(('local', 2), ('remote', 'tcp://10.0.0.5:8786'))
>>> parse_address("10.0.0.5")
Traceback (most recent call last):
...
ValueError: --cluster expects tcp://HOST:PORT (a Dask scheduler) or local:N (N local worker processes), got '10.0.0.5'

Other work with independent pieces goes out through :func:`map_in_order` (results in the order of
a loop here, a bounded number of tasks out at once): ``claims --cluster`` (one task per claim, and
per hill climb of a counterexample search), the minimality search (per pair, and per group of
sub-boxes of a big pair) and ``engines --cluster`` (per row), each with the answer of a run here.

From Python (``executor`` takes any ``distributed.Client``)::

    from distributed import Client
    from ees_theory import harness
    report = harness.check("mypkg.sampler:ees", "ees", "float16", examples=100_000,
                           executor=Client("tcp://scheduler:8786"))
"""

from __future__ import annotations

import collections
import contextlib
import gc
import importlib
import logging
import math
import os
import re
import shutil
import threading
import time
from typing import Any, Callable, Iterator

from .cases import Case
from ..judging.methods import Options, get_method
from .ports import PORT_SCHEMES, Port, SubprocessPort, open_port, scheme_of

__all__ = ["parse_address", "cluster_client", "judge_on_cluster", "check_workers", "task_chunks", "map_in_order", "map_from_task",
           "require_client",            "ClusterError", "CONNECT_TIMEOUT_S", "PORT_ON"]

#: seconds to reach a scheduler (and for it to have a worker) before the run is refused
CONNECT_TIMEOUT_S = 10.0
#: where the port runs: on every worker, or in the checking process with only the judging sent out
PORT_ON = ("workers", "client")
#: tasks per worker thread a run is cut into (load balance: the last task ends the run) ...
TASKS_PER_THREAD = 4
#: ... each of at least this many cases (a task costs a few ms to schedule, a case 10 to 40 ms) ...
MIN_TASK_CASES = 16
#: ... and long enough that the scheduler is asked for fewer tasks a second than it can place
#: (a Dask scheduler spends a few hundred microseconds per task) when every thread judges the
#: fastest cases (EES: about 110 a second on one core) ...
SCHEDULER_TASKS_PER_S = 1000
FAST_CASES_PER_S = 100
#: ... and at most this many cases or tokens (what a worker's death costs, a message's size)
MAX_TASK_CASES = 8192
MAX_TASK_TOKENS = 1 << 22
#: the work left, over this many tasks per thread, bounds a task's work (the run ends in short tasks)
TAPER_TASKS_PER_THREAD = 2
#: tasks out or held (results waiting for their turn) per worker thread; the rest wait to be sent
WINDOW_PER_THREAD = 3

_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/:]+(:\d+)?$|^(tcp|tls)://\[[0-9a-fA-F:.]+\](:\d+)?$")


class ClusterError(ValueError):
    """The cluster cannot be used: not reachable, no workers, or a worker cannot open the port."""


def parse_address(text: str) -> tuple[str, Any]:
    """``("local", N)`` for ``local:N``, ``("remote", address)`` for a scheduler's address."""
    if not isinstance(text, str):
        raise TypeError(f"--cluster expects a string, got {type(text).__name__}")
    if text.startswith("local:"):
        n = text[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--cluster local:N needs a number of worker processes N >= 1, got {text!r}")
        return "local", int(n)
    if _ADDRESS.match(text):
        return "remote", text
    raise ValueError(f"--cluster expects tcp://HOST:PORT (a Dask scheduler) or local:N (N local worker processes), got {text!r}")


#: what a local cluster's fork server imports once; each worker then starts as a fork of it instead
#: of a fresh interpreter importing torch, mpmath and the judges (about 2 s of CPU per worker, which
#: on a small machine competes with the judging itself); the runner holds the functions a task
#: names (the verdict, the record's completion, the journal line)
WORKER_PRELOAD = ("distributed", "numpy", "mpmath", "torch", "ees_theory.running.cluster", "ees_theory.judging.methods",
                  "ees_theory.judging.truncation", "ees_theory.engines.builtin", "ees_theory.running.runner")


def _fork_server_usable() -> bool:
    import multiprocessing

    # EES_CLUSTER_SPAWN=1 keeps Dask's default (a fresh interpreter per worker), for comparison
    return "forkserver" in multiprocessing.get_all_start_methods() and not os.environ.get("EES_CLUSTER_SPAWN")


def prestart_fork_server() -> None:
    """Start the fork server of the local workers now: it imports :data:`WORKER_PRELOAD` while
    this process goes on with its own imports and its plan (the command line calls it as soon as
    it has read ``--cluster local:N``). Without a fork server (not POSIX) this does nothing."""
    if not _fork_server_usable():
        return
    import multiprocessing
    import multiprocessing.forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))
    multiprocessing.forkserver.ensure_running()


@contextlib.contextmanager
def _forked_workers() -> Iterator[None]:
    """Start the local workers created inside this block from a fork server that has imported
    :data:`WORKER_PRELOAD` (POSIX only; elsewhere Dask's default start method stays)."""
    if not _fork_server_usable():
        yield
        return
    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        # after Dask's own list, replacing it (no effect once the server runs: prestart_fork_server)
        get_mp_context().set_forkserver_preload(list(WORKER_PRELOAD))
        yield


#: Dask settings of a local cluster (its workers get them from their nanny): no statistical profile
#: of the tasks (a sample of the judging thread's stack every 10 ms, for a dashboard no one reads),
#: and the event loop's health checks rarer (each wakes a thread that takes the GIL from the judging)
LOCAL_SETTINGS = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
                  "distributed.admin.system-monitor.interval": "5s"}


@contextlib.contextmanager
def _local_config() -> Iterator[None]:
    import dask

    with dask.config.set(LOCAL_SETTINGS), _forked_workers():
        yield


@contextlib.contextmanager
def cluster_client(address: str, *, timeout: float | None = None, wait: bool = True) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address`` (see :func:`parse_address`); a ``local:N``
    cluster is started here and closed on exit. A scheduler that cannot be reached within
    ``timeout`` seconds (default :data:`CONNECT_TIMEOUT_S`), or that has no worker by then, is a
    :class:`ClusterError` before any work.

    ``wait=False`` (the command line's ``check`` and ``stress``): a ``local:N`` client comes back
    as soon as its scheduler runs, and the workers join in the background (seconds: their
    processes start and connect); :func:`judge_on_cluster` judges here meanwhile. A remote
    scheduler is reached, and has a worker, before the client comes back either way."""
    kind, where = parse_address(address)
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    try:
        import distributed
    except ImportError:
        raise ClusterError("--cluster needs Dask's distributed package: pip install 'ees_theory[cluster]'") from None
    cluster = client = None
    try:
        with _local_config() if kind == "local" else contextlib.nullcontext():  # also for a nanny's restart
            if kind == "local":
                # processes (a port or the reference holds the GIL), one thread each, loopback only, no
                # dashboard; the workers are asked for once the scheduler runs, and not waited for here
                cluster = distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1",
                                                   dashboard_address=None, silence_logs=logging.ERROR)
                client = distributed.Client(cluster)
                cluster.scale(where)
                joining = _JOINING[id(client)] = _Joining(client, where, max(timeout, LOCAL_START_TIMEOUT_S))
                if wait:
                    joining.wait()
            else:
                try:
                    client = distributed.Client(where, timeout=timeout)
                except (OSError, TimeoutError) as exc:
                    raise ClusterError(f"cannot reach the Dask scheduler at {where} within {timeout:g} s: {exc}") from None
                try:
                    client.wait_for_workers(1, timeout=timeout)
                except (OSError, TimeoutError):
                    raise ClusterError(f"the Dask scheduler at {address} has no worker (waited {timeout:g} s)") from None
            yield client
    finally:
        if client is not None:
            _JOINING.pop(id(client), None)
            client.close()
        if cluster is not None:
            cluster.close()


#: seconds a local cluster's workers may take to start (a loaded machine: their imports take seconds)
LOCAL_START_TIMEOUT_S = 120.0


class _Joining:
    """The workers of a local cluster joining in the background (:func:`cluster_client` with
    ``wait=False``): :meth:`ready` asks without waiting, :meth:`wait` waits."""

    def __init__(self, client: Any, n: int, timeout: float) -> None:
        self.n, self.timeout = n, timeout
        self._done = threading.Event()
        self._error: BaseException | None = None
        threading.Thread(target=self._watch, args=(client,), name="ees-cluster-join", daemon=True).start()

    def _watch(self, client: Any) -> None:
        try:
            client.wait_for_workers(self.n, timeout=self.timeout)
        except BaseException as exc:  # noqa: BLE001 - raised where the run waits (wait)
            self._error = exc
        finally:
            self._done.set()

    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self) -> None:
        self._done.wait()
        if self._error is not None:
            raise ClusterError(f"the {self.n} workers of the local cluster did not all start within {self.timeout:g} s "
                               f"({type(self._error).__name__}: {self._error})") from None


#: the local clusters started here (their workers perhaps still joining), by id of their client, while open
_JOINING: dict[int, _Joining] = {}


def _threads(client: Any) -> int:
    return max(1, sum(client.nthreads().values()))


def task_chunks(batches: list[list[Case]], threads: int) -> list[list[list[Case]]]:
    """Consecutive port calls (``batches``) grouped into tasks for ``threads`` worker threads
    (see the module docstring for the sizes).

    >>> import numpy as np
    >>> calls = [[Case(str(i), "ees", "hand", np.zeros(4), {"temperature": 1.0})] for i in range(100)]
    >>> [sum(map(len, t)) for t in task_chunks(calls, 2)]
    [16, 16, 16, 16, 16, 16, 4]
    >>> [sum(map(len, t)) for t in task_chunks(calls, 1)] == [25] * 4
    True
    >>> [sum(map(len, t)) for t in task_chunks(calls, 800)]     # 800 threads: 80 cases a task at least
    [80, 20]
    >>> calls = [[Case(str(i), "ees", "hand", np.zeros(1000), {"temperature": 1.0})] for i in range(400)]
    >>> [sum(map(len, t)) for t in task_chunks(calls, 2)]       # tapered: the run ends in short tasks
    [50, 50, 50, 50, 50, 37, 28, 21, 16, 16, 16, 16]
    """
    cases = sum(len(b) for b in batches)
    for_scheduler = math.ceil(threads * FAST_CASES_PER_S / SCHEDULER_TASKS_PER_S)
    smallest = max(MIN_TASK_CASES, for_scheduler)
    per_task = min(MAX_TASK_CASES, max(smallest, math.ceil(cases / (TASKS_PER_THREAD * threads))))
    # tapered: a task takes at most its share of the work left (2 tasks per thread), so the last
    # tasks are short and the threads finish together (a case costs about its vocabulary)
    left = sum(_work(c) for b in batches for c in b)
    chunks: list[list[list[Case]]] = []
    n = tokens = 0
    work = goal = 0.0
    for b in batches:
        t = sum(c.vocab for c in b)
        w = sum(_work(c) for c in b)
        if chunks and n + len(b) <= per_task and tokens + t <= MAX_TASK_TOKENS and (n < smallest or work + w <= goal):
            chunks[-1].append(b)
            n, tokens, work = n + len(b), tokens + t, work + w
        else:
            goal = left / (TAPER_TASKS_PER_THREAD * threads) if threads > 1 else math.inf
            chunks.append([b])
            n, tokens, work = len(b), t, w
        left -= w
    return chunks


def _work(case: Case) -> float:
    """A case's share of a task's length: its vocabulary plus a fixed cost of judging a row."""
    return case.vocab + 64.0


# -- on the workers ---------------------------------------------------------------------------

_IDLE: dict[tuple, list[Port]] = collections.defaultdict(list)
_LOCK = threading.Lock()
_FROZEN: list[bool] = []


def _key(recipe: dict) -> tuple:
    return tuple(sorted(recipe.items()))


def _take_port(recipe: dict) -> Port:
    """An open port for ``recipe`` in this worker process: an idle one, else a new one (a task
    thread owns it until :func:`_give_port`)."""
    with _LOCK:
        idle = _IDLE[_key(recipe)]
        if idle:
            return idle.pop()
    # the module that registers the scheme of the port (its name alone may read as a module name)
    importlib.import_module(recipe["registers"])
    args = {k: v for k, v in recipe.items() if k != "registers"}
    return open_port(args.pop("spec"), args.pop("method"), args.pop("dtype"), **args)


def _give_port(recipe: dict, port: Port) -> None:
    with _LOCK:
        _IDLE[_key(recipe)].append(port)


def _preflight(recipe: dict) -> str | None:
    """Open the port here once (kept for the first task); what is wrong, or None."""
    try:
        port = _take_port(recipe)
    except Exception as exc:  # noqa: BLE001 - reported to the checking process, naming the worker
        return f"{type(exc).__name__}: {exc}"
    inner = getattr(port, "port", port)  # a port called without some parameters wraps the opened one
    if isinstance(inner, SubprocessPort) and not inner.handshake:  # an exec port starts on its first case
        program = inner.command[0]
        if shutil.which(program) is None:
            port.close()
            return f"its program {program!r} is not found there (or is not executable)"
    _give_port(recipe, port)
    return None


def _run_chunk(recipe: dict, spec: str, method: str, dtype: str, options: Options, shrink: bool, chunk: list[list[Case]],
               verdict: Callable, complete: Callable, encode: Callable | None, freeze: bool = False) -> tuple[list, float]:
    """On a worker: call the port on each batch of ``chunk``, judge and complete every record
    (and ``encode`` it: the checking process then only writes it). ``freeze`` (a local cluster's
    worker): what the process holds before its first task is left out of garbage collection."""
    t0 = time.perf_counter()
    if freeze and not _FROZEN:
        # torch, mpmath, the judges and Dask: about 200,000 objects that live as long as the process;
        # each full collection would walk them all (about 0.1 s of CPU) and copy the pages the fork shares
        gc.freeze()
        _FROZEN.append(True)
    port = _take_port(recipe)
    try:
        records = _judge_batches(port, spec, method, dtype, options, shrink, chunk, verdict, complete, encode)
    except BaseException:
        port.close()  # in an unknown state: the next task opens a fresh one
        raise
    _give_port(recipe, port)
    return records, time.perf_counter() - t0


def _judge_batches(port: Port, spec: str, method: str, dtype: str, options: Options, shrink: bool, batches: list[list[Case]],
                   verdict: Callable, complete: Callable, encode: Callable | None) -> list:
    """Call ``port`` on each batch, judge and complete every record (and ``encode`` it): a
    task's work on a worker, and the checking process's own while a local cluster's workers start."""
    m = get_method(method)
    records = []
    for batch in batches:
        rows = [c.row(dtype) for c in batch]
        outcomes = port.run(method, [r.copy() for r in rows], [c.params for c in batch], dtype)
        for c, row, out in zip(batch, rows, outcomes):
            rec = complete(verdict(m, c, row, out, dtype, options), port, spec, c, dtype, options, shrink)
            records.append(encode(rec) if encode else rec)
    return records


def _judge_items(method: str, dtype: str, options: Options, items: list[tuple], verdict: Callable) -> tuple[list[dict], float]:
    """On a worker: judge answers the port gave in the checking process."""
    t0 = time.perf_counter()
    m = get_method(method)
    return [verdict(m, c, row, out, dtype, options) for c, row, out in items], time.perf_counter() - t0


# -- any independent pieces of work, in order ---------------------------------------------------

_END = object()


def require_client(client: Any) -> None:
    """A ``TypeError`` unless ``client`` is a ``distributed.Client`` (what ``executor=`` takes)."""
    if not (hasattr(client, "submit") and hasattr(client, "scheduler_info") and hasattr(client, "nthreads")):
        raise TypeError(f"executor must be a distributed.Client, got {type(client).__name__}")


def map_in_order(client: Any, fn: Callable, calls, *, stats: dict | None = None) -> Iterator:
    """``fn(*args)`` for each ``args`` of the iterable ``calls``, each a task on the cluster of
    ``client``, yielded in the order of ``calls``: what a loop over ``calls`` gives here. At most
    :data:`WINDOW_PER_THREAD` tasks per worker thread are out at once (``calls`` is read only that
    far ahead, so it may be a generator fed by earlier results), and those still out are cancelled
    when the caller stops early (closes the generator). A task that killed every worker that ran it
    is a :class:`ClusterError`. ``stats``, when given, receives the tasks submitted and the wall seconds.

    The ledger's search (one task per hill climb), the minimality search (one per pair or group of
    sub-boxes) and the engine matrix (one per row) go out through this."""
    require_client(client)
    from distributed import KilledWorker

    window = WINDOW_PER_THREAD * _threads(client)
    calls = iter(calls)
    out: collections.deque = collections.deque()
    t_start = time.perf_counter()
    submitted = 0
    try:
        while True:
            while len(out) < window:
                args = next(calls, _END)
                if args is _END:
                    break
                out.append(client.submit(fn, *args, pure=False))
                submitted += 1
            if not out:
                return
            try:
                result = out.popleft().result()
            except KilledWorker as exc:
                raise ClusterError(f"a task of {getattr(fn, '__name__', fn)} killed every worker that ran it ({exc})") from None
            yield result
    finally:
        if out:
            client.cancel(list(out))
        if stats is not None:
            stats.update(tasks=submitted, threads=_threads(client), wall_s=time.perf_counter() - t_start)


def map_from_task(fn: Callable, calls) -> Iterator:
    """:func:`map_in_order` from inside a task running on a worker: the task hands its thread back
    to the worker while it waits (``distributed.worker_client``), so its pieces run beside it."""
    from distributed import worker_client

    with worker_client() as client:
        yield from map_in_order(client, fn, calls)


# -- in the checking process ------------------------------------------------------------------

def check_workers(client: Any, recipe: dict) -> None:
    """Open the port on every worker of ``client`` before any work; a :class:`ClusterError`
    names each worker that cannot (an exec port's program missing, a Python port that does not
    import there)."""
    workers = sorted(client.scheduler_info()["workers"])
    futures = {w: client.submit(_preflight, recipe, workers=[w], allow_other_workers=False, pure=False) for w in workers}
    problems = [f"{w}: {why}" for w, why in zip(futures, client.gather(list(futures.values()))) if why]
    if problems:
        raise ClusterError(f"the port {recipe['spec']} cannot be opened on every worker of the cluster: " + "; ".join(problems))


def judge_on_cluster(client: Any, port: Port, spec: str, method: str, dtype: str, batches: list[list[Case]], options: Options, *,
                     shrink: bool, verdict: Callable, complete: Callable, encode: Callable | None = None,
                     port_on: str = "workers", stats: dict | None = None) -> Iterator[list]:
    """The complete records of the cases of ``batches`` (the port calls of a run, in plan
    order), one list per task, in plan order, judged on the cluster of ``client``: ``verdict``
    and ``complete`` are the runner's (``ees_theory.running.runner``), called on the workers
    (``complete`` here with ``port_on="client"``); with ``encode`` (the runner's journal line)
    each record comes as that line, encoded on the worker. While the workers of a local cluster
    started with ``wait=False`` (:func:`cluster_client`) are still joining, the first port calls
    are judged here with ``port``, one list per call, as a run without a cluster judges them.
    ``stats``, when given, receives the number of tasks, their seconds of work on the workers,
    the cases judged here and the wall seconds."""
    require_client(client)
    if port_on not in PORT_ON:
        raise ValueError(f"port_on must be one of {', '.join(PORT_ON)}, got {port_on!r}")
    recipe = port.recipe
    if recipe is not None and "unsupported" in recipe:  # the run may have wrapped the port after it was opened
        recipe = dict(recipe, unsupported=tuple(getattr(port, "unsupported", ())))
    if port_on == "workers":
        if recipe is None:
            raise ValueError(f"the port {port.name} was not opened by open_port, so the cluster's workers cannot open it; "
                             "pass port_on='client' to call it here")
    from distributed import KilledWorker, wait

    t_start = time.perf_counter()
    work = 0.0
    threads, chunks, here = 0, [], 0

    def submit(chunk: list[list[Case]]):
        if port_on == "workers":
            return client.submit(_run_chunk, recipe, spec, method, dtype, options, shrink, chunk, verdict, complete, encode, local,
                                 pure=False)
        items = []
        for batch in chunk:  # the port is called here, in plan order; the workers judge
            rows = [c.row(dtype) for c in batch]
            outs = port.run(method, [r.copy() for r in rows], [c.params for c in batch], dtype)
            items += zip(batch, rows, outs)
        return client.submit(_judge_items, method, dtype, options, items, verdict, pure=False)

    out: collections.deque = collections.deque()
    try:
        # a local cluster's workers still starting: the first port calls are judged here, in plan
        # order, one at a time, until all have joined (this process would otherwise only wait)
        joining = _JOINING.get(id(client))
        local = joining is not None  # a local cluster: its workers are this command's own processes
        while joining is not None and here < len(batches) and not joining.ready():
            yield _judge_batches(port, spec, method, dtype, options, shrink, batches[here:here + 1], verdict, complete, encode)
            here += 1
        if here == len(batches):
            return
        if joining is not None:
            joining.wait()
        if port_on == "workers":
            check_workers(client, recipe)
        threads = _threads(client)
        chunks = task_chunks(batches[here:], threads)
        window = WINDOW_PER_THREAD * threads
        nxt = 0
        while nxt < len(chunks) or out:
            # one unfinished task per thread: the next waits here, not queued behind a running task on
            # a worker (the other worker would idle until the scheduler moves it), and is sent to the
            # first thread free; at most `window` tasks' results are held until their turn
            unfinished = [f for _, f in out if not f.done()]
            while nxt < len(chunks) and len(unfinished) < threads and len(out) < window:
                out.append((chunks[nxt], submit(chunks[nxt])))
                unfinished.append(out[-1][1])
                nxt += 1
            if not out[0][1].done() and nxt < len(chunks) and len(out) < window:
                wait(unfinished, return_when="FIRST_COMPLETED")  # a thread is free: feed it
                continue
            chunk, fut = out.popleft()
            try:
                records, seconds = fut.result()
            except KilledWorker as exc:
                first = chunk[0][0].id
                raise ClusterError(f"the task of cases {first} ... killed every worker that ran it ({exc}); a port that kills "
                                   "its process must run isolated (without --in-process)") from None
            work += seconds
            if port_on == "client":
                cases = [c for batch in chunk for c in batch]
                records = [complete(rec, port, spec, c, dtype, options, shrink) for c, rec in zip(cases, records)]
                records = [encode(rec) for rec in records] if encode else records
            yield records
    finally:
        if out:
            client.cancel([f for _, f in out])
        if stats is not None:
            stats.update(tasks=len(chunks), threads=threads, work_s=work, wall_s=time.perf_counter() - t_start,
                         cases=sum(len(b) for b in batches), here=sum(len(b) for b in batches[:here]))

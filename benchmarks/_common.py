"""What every benchmark script shares: the machine's description and interleaved median timing.

On a shared, noisy machine the peers of a ratio are timed in the same run, interleaved round by
round (each round calls every function once), and each is summarised by its median over the
rounds: background load then hits every peer alike, and the median ignores the rounds that a
burst of load disturbed. The order of the calls changes from round to round by a Williams design
(:func:`balanced_orders`): every function takes every position, and follows every other
function, equally often. Position matters on a throttled virtual machine (stalls that recur with
a fixed period land on the same position of every round), and so does the predecessor: a call
that follows a peer with large temporaries finds the caches cold (about 1.3 ms at 8 x 131,072),
and a random shuffle with few rounds hands that penalty to some functions more than others.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU model from ``/proc/cpuinfo`` (or what the platform module knows)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine(extra: str = "") -> str:
    """One line naming the machine: CPU model, cores, OS, Python and what ``extra`` adds."""
    try:
        load = "load average %.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        load = "load unknown"
    text = (
        f"CPU {cpu_model()}, {os.cpu_count()} cores ({load} at the start); "
        f"{platform.platform()}; Python {platform.python_version()}"
    )
    return f"{text}; {extra}" if extra else text


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None] = lambda: None) -> dict[str, float]:
    """Median wall time (seconds) of each function over ``repeats`` interleaved rounds (after one
    warm-up call each)."""
    return {name: statistics.median(ts) for name, ts in interleaved_times(fns, repeats, sync).items()}


def balanced_orders(n: int) -> list[list[int]]:
    """A Williams design for ``n`` functions: orders in which every function takes every position
    equally often and follows every other function equally often (``n`` orders for even ``n``,
    ``2n`` for odd), so a function that leaves the caches cold (a peer's large temporaries) slows
    each of the others equally often.

    >>> balanced_orders(4)
    [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]
    >>> rows = balanced_orders(3)
    >>> sorted((r[i], r[i + 1]) for r in rows for i in range(2)) == sorted([(a, b) for a in range(3) for b in range(3) if a != b] * 2)
    True
    """
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + i) % n for x in first] for i in range(n)]
    return rows if n % 2 == 0 else rows + [r[::-1] for r in rows]


def interleaved_times(fns: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    """Every wall time (seconds) of each function over ``repeats`` interleaved rounds (after one
    warm-up call each). The rounds follow :func:`balanced_orders`; ``repeats`` is rounded up to a
    whole number of its orders."""
    for fn in fns.values():
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    items = list(fns.items())
    orders = balanced_orders(len(items))
    rounds = -(-repeats // len(orders)) * len(orders)
    for r in range(rounds):
        for i in orders[r % len(orders)]:
            name, fn = items[i]
            t = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t)
    return times


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def run_check_builtin(method: str, extra: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (the command's processes together), judged cases and the verdict
    line of one ``ees-theory check builtin -m METHOD --quiet EXTRA...`` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "ees_theory", "check", "builtin", "-m", method, "--quiet", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = (proc.stdout.strip().splitlines() or [proc.stderr.strip()])[-1]
    counts = [int(k) for k in re.findall(r"(\d+) (?:passed|admissible|failed)", line)]
    if proc.returncode not in (0, 1) or not counts:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-800:]}")
    return wall, cpu, sum(counts), line

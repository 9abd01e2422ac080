"""What every benchmark script shares: the machine's description and interleaved median timing.

On a shared, noisy machine the peers of a ratio are timed in the same run, interleaved round by
round (each round calls every function once, in an order shuffled afresh), and each is
summarised by its median over the rounds: background load then hits every peer alike, and the
median ignores the rounds that a burst of load disturbed. The shuffle matters on a throttled
virtual machine: stalls that recur with a fixed period otherwise land on the same position of
every round, always on the same function.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from typing import Callable


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


def interleaved_times(fns: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    """Every wall time (seconds) of each function over ``repeats`` interleaved rounds."""
    for fn in fns.values():
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns.items())
    rng = random.Random(0)
    for _ in range(repeats):
        rng.shuffle(order)
        for name, fn in order:
            t = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t)
    return times


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

"""Throughput of ``ees-theory check builtin`` on a Dask cluster against ``--workers``.

Two measurements, peers interleaved round by round, medians:

1. **The command line as a user runs it** (process start, cluster start and close included):
   ``check builtin -m METHOD -n N --quiet`` with ``--workers 1`` (every case judged in the checking
   process), ``--workers 2``, ``--cluster local:1`` and ``--cluster local:2``; cases per second.
2. **A running cluster** (``ees_theory.harness.run_check`` with ``executor=`` a ``LocalCluster``
   client started once, against ``workers=1`` in this process): cases per second while judging,
   the tasks a run was cut into, the scheduling overhead per task (``threads x wall - work``
   over the tasks: everything a task costs beyond its judging, the tail of the run included),
   the efficiency (``work / (threads x wall)``), and the bare round trip of an empty task.

Usage: ``python benchmarks/bench_cluster.py [--methods top-p ees] [-n 400] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, run_check_builtin, stamp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = {"workers 1": ["--workers", "1"], "workers 2": ["--workers", "2"], "local:1": ["--cluster", "local:1"],
           "local:2": ["--cluster", "local:2"]}


def run_cli(method: str, n: int, extra: list[str]) -> tuple[float, int, str, float]:
    """Wall seconds, judged cases, the verdict line and the CPU seconds of one command (its
    processes together: a LocalCluster's workers are its children)."""
    wall, cpu, cases, line = run_check_builtin(method, ["-n", str(n), *extra])
    return wall, cases, line, cpu


def _noop() -> None:
    return None


def round_trip(client, tasks: int = 200) -> float:
    """Seconds per empty task, submitted and collected one after another (a task's bare cost)."""
    t = time.perf_counter()
    for _ in range(tasks):
        client.submit(_noop, pure=False).result()
    return (time.perf_counter() - t) / tasks


def capacity(client, method: str, cases) -> float:
    """How many cores' worth of judging two workers get at once: 2 x (one task alone) / (the same
    task on both workers at once), median of 3. 2.0: two free cores; 1.0: one core's worth (the
    other busy, or two virtual CPUs that share one)."""
    from ees_theory import harness as cf
    from ees_theory.harness import cluster, runner
    from ees_theory.harness.cases import port_batches

    port = cf.open_port("builtin", method, "float64")
    args = (port.recipe, "builtin", method, "float64", cf.Options(), True, port_batches(cases, 32), runner._verdict_record,
            runner._complete_record, None)
    workers = sorted(client.scheduler_info()["workers"])[:2]
    ratios = []
    for _ in range(3):
        alone = client.submit(cluster._run_chunk, *args, workers=[workers[0]], pure=False).result()[1]
        both = [f.result()[1] for f in [client.submit(cluster._run_chunk, *args, workers=[w], pure=False) for w in workers]]
        ratios.append(2 * alone / max(both))
    return statistics.median(ratios)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["top-p", "ees"])
    ap.add_argument("-n", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steady-repeats", type=int, default=1, help="rounds of measurement 2 (after a short warm-up run)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "cluster-cpu.md"))
    args = ap.parse_args(argv)

    from ees_theory import harness as cf
    from ees_theory.harness import cluster

    lines = [
        "# `ees-theory check builtin` on a Dask cluster",
        "",
        f"{stamp()}. Machine: {machine()}",
        "",
        f"## 1. The command line (median of {args.repeats} interleaved runs; process, cluster start and close included)",
        "",
        f"`check builtin -m METHOD -n {args.n} --quiet` (golden vectors and generated cases). `workers 1`: judged in the checking "
        "process; `workers 2`: two local judging processes; `local:N`: a LocalCluster of N worker processes, each opening the port "
        "and judging. CPU: milliseconds of CPU time per case, all the run's processes together (on a machine whose cores are busy "
        "with other work the wall times cannot show a speed-up; the CPU per case says what each configuration costs). "
        "Same verdict line in every run (checked).",
        "",
        "| method | cases | workers 1: s | cases/s | workers 2: s | cases/s | local:1: s | cases/s | local:2: s | cases/s | local:2 vs workers 1 "
        "| CPU ms/case: workers 1 / workers 2 / local:1 / local:2 | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for method in args.methods:
        res: dict[str, list] = {k: [] for k in CONFIGS}
        for _ in range(args.repeats):
            for name, extra in CONFIGS.items():
                res[name].append(run_cli(method, args.n, extra))
        first = res["workers 1"][0]
        same = all(r[1] == first[1] and r[2] == first[2] for rs in res.values() for r in rs)
        med = {k: statistics.median(r[0] for r in rs) for k, rs in res.items()}
        cases = first[1]
        cells = " | ".join(f"{med[k]:.1f} | {cases / med[k]:.1f}" for k in CONFIGS)
        cpu = " / ".join(f"{1e3 * statistics.median(r[3] for r in res[k]) / cases:.0f}" for k in CONFIGS)
        line = (f"| {method} | {cases} | {cells} | {med['workers 1'] / med['local:2']:.2f} | {cpu} | "
                f"{first[2].split(':')[0]}{'' if same else ' (RUNS DIFFER)'} |")
        print(line, flush=True)
        lines.append(line)

    lines += [
        "",
        f"## 2. A running cluster (median of {args.steady_repeats} interleaved runs of `run_check` after a warm-up; cluster started once)",
        "",
        "`here`: `run_check(workers=1)` in this process (the port and the judging); `local:N`: `run_check(executor=client)`. "
        "Overhead per task: (threads x wall - work in the tasks) / tasks, so it includes the wait for the last task; "
        "efficiency: work / (threads x wall); speed-up: cases/s against `here`. Cores' worth: 2 x the time of one task alone over "
        "the time of the same task on both workers at once (2.0: two free cores; a speed-up cannot exceed it).",
        "",
        "| method | cases | here: cases/s | cluster | tasks | cases/s | speed-up | overhead per task, ms | task length, ms | overhead share "
        "| efficiency | empty task round trip, ms | cores' worth two workers got |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines[-5:]), flush=True)
    for n_workers in (1, 2):
        with cluster.cluster_client(f"local:{n_workers}") as client:
            rt = round_trip(client)
            for method in args.methods:
                cases = cf.plan(method, "float64", vectors=True, examples=args.n, seed=0)

                def here():
                    t = time.perf_counter()
                    cf.run_check(cf.open_port("builtin", method, "float64"), method, "float64", cases, workers=1)
                    return time.perf_counter() - t, None

                def spread(cases=cases):
                    stats: dict = {}
                    real = cluster.judge_on_cluster
                    cluster.judge_on_cluster = lambda *a, **k: real(*a, **k, stats=stats)
                    try:
                        t = time.perf_counter()
                        cf.run_check(cf.open_port("builtin", method, "float64"), method, "float64", cases, executor=client)
                        return time.perf_counter() - t, stats
                    finally:
                        cluster.judge_on_cluster = real

                spread(cases[:40])  # warm: the workers import torch and open the port once
                cap = f"{capacity(client, method, cases[-60:]):.2f}" if n_workers == 2 else "-"
                h, s = [], []
                for _ in range(args.steady_repeats):
                    h.append(here()[0])
                    s.append(spread())
                wall_h = statistics.median(h)
                wall_s = statistics.median(w for w, _ in s)
                st = sorted(s, key=lambda x: x[0])[len(s) // 2][1]
                over = (st["threads"] * st["wall_s"] - st["work_s"]) / st["tasks"]
                eff = st["work_s"] / (st["threads"] * st["wall_s"])
                line = (f"| {method} | {len(cases)} | {len(cases) / wall_h:.1f} | local:{n_workers} | {st['tasks']} | {len(cases) / wall_s:.1f} | "
                        f"{wall_h / wall_s:.2f} | {1e3 * over:.1f} | {1e3 * st['work_s'] / st['tasks']:.0f} | "
                        f"{over / (over + st['work_s'] / st['tasks']):.1%} | {eff:.2f} | {1e3 * rt:.1f} | {cap} |")
                print(line, flush=True)
                lines.append(line)
    try:
        load = "load average %.1f %.1f %.1f at the end" % os.getloadavg()
    except OSError:
        load = "load unknown"
    lines += ["", f"Finished {stamp()} ({load})."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

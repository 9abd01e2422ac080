"""Throughput of ``ees-theory check builtin``, a stress campaign and the minimality search on a
Dask cluster against ``--workers``.

Four measurements, peers interleaved round by round, medians:

1. **The command line as a user runs it** (process start, cluster start and close included):
   ``check builtin -m METHOD -n N --quiet`` with ``--workers 1`` (every case judged in the checking
   process), ``--workers 2``, ``--cluster local:1`` and ``--cluster local:2``; cases per second.
2. **A running cluster** (``ees_theory.harness.run_check`` with ``executor=`` a ``LocalCluster``
   client started once, against ``workers=1`` in this process): cases per second while judging,
   the tasks a run was cut into, the scheduling overhead per task (``threads x wall - work``
   over the tasks: everything a task costs beyond its judging, the tail of the run included),
   the efficiency (``work / (threads x wall)``), and the bare round trip of an empty task.
3. **A stress campaign** (``ees-theory stress --impl float16:input`` in this process, the cluster
   started and closed by the command): ``--workers 1``, ``--workers 2`` and ``--cluster local:2``;
   rows per second, and on the cluster the tasks, overhead per task and efficiency.
4. **The minimality search** (``build_certificate`` of sizes 4 to ``--max-n``): here against a
   ``local:2`` cluster started once (``--workers`` does not apply: the search has no local
   processes); boxes per second, tasks, overhead per task (the growing of the big pairs' first
   levels here counts as overhead) and efficiency.

Usage: ``python benchmarks/bench_cluster.py [--sections check stress minimality] [--methods top-p ees]
[-n 400] [--repeats 3] [--stress-n 200] [--max-n 7]``. Without ``check`` among the sections the
results file keeps its sections 1 and 2 and gets new sections 3 and 4.
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
    from ees_theory.running import cluster, runner
    from ees_theory.running.cases import port_batches

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
    ap.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    ap.add_argument("--stress-n", type=int, default=200, help="rows of the stress campaign")
    ap.add_argument("--max-n", type=int, default=7, help="largest size of the minimality search")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "cluster-cpu.md"))
    args = ap.parse_args(argv)

    lines = check_sections(args) if "check" in args.sections else _kept_sections(Path(args.out))
    if {"stress", "minimality"} & set(args.sections):
        lines += ["", f"Sections 3 and 4: {stamp()}. Machine: {machine()}. Other processes (test runs and builds) ran on the "
                  "machine throughout: the wall times include their contention, and a worker's share of a core is not a whole core."]
    lines += [""] + (stress_section(args) if "stress" in args.sections else [])
    lines += [""] + (minimality_section(args) if "minimality" in args.sections else [])
    try:
        load = "load average %.1f %.1f %.1f at the end" % os.getloadavg()
    except OSError:
        load = "load unknown"
    lines += ["", f"Finished {stamp()} ({load})."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")
    return 0


SECTIONS = ("check", "stress", "minimality")


def _kept_sections(path: Path) -> list[str]:
    """Sections 1 and 2 of an earlier results file (up to its section 3)."""
    text = path.read_text() if path.exists() else ""
    return text.split("\n## 3.")[0].rstrip("\n").splitlines()


def _rusage_cpu() -> float:
    import resource

    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))


def _spy(module, name: str, stats: dict, work: list | None = None):
    """Wrap ``module.name`` (a function that takes ``stats=``) to fill ``stats``; with ``work``, also
    add each result's ``seconds`` (the work a task did) to it. Returns the undo."""
    real = getattr(module, name)

    def spy(*a, **k):
        it = real(*a, **k, stats=stats)
        if work is None:
            return it
        return (work.append(getattr(r, "seconds", 0.0)) or r for r in it)

    setattr(module, name, spy)
    return lambda: setattr(module, name, real)


def stress_section(args) -> list[str]:
    """Section 3: a stress campaign with --workers 1, --workers 2 and --cluster local:2."""
    import tempfile

    from ees_theory.cli import main as cli_main
    from ees_theory.running import cluster

    configs = {"workers 1": ["--workers", "1"], "workers 2": ["--workers", "2"], "local:2": ["--cluster", "local:2"]}
    base = ["stress", "--impl", "float16:input", "--vocab", "64,512", "--no-progress"]
    res: dict[str, list] = {k: [] for k in configs}
    with tempfile.TemporaryDirectory() as tmp:
        cli_main(base + ["-n", "10", "--workers", "1", "--out", f"{tmp}/warm.jsonl"])  # imports, the reference's caches
        for r in range(args.repeats):
            for name, extra in configs.items():
                stats: dict = {}
                undo = _spy(cluster, "judge_on_cluster", stats)
                try:
                    cpu, t = _rusage_cpu(), time.perf_counter()
                    rc = cli_main(base + ["-n", str(args.stress_n), *extra, "--out", f"{tmp}/{r}-{name}.jsonl"])
                    wall, cpu = time.perf_counter() - t, _rusage_cpu() - cpu
                finally:
                    undo()
                res[name].append((wall, cpu, rc, stats))
    lines = [
        f"## 3. A stress campaign (median of {args.repeats} interleaved runs, in this process; the cluster started and closed by the command)",
        "",
        f"`stress --impl float16:input --vocab 64,512 -n {args.stress_n}` (EES, the float16 variant that accumulates in float16, "
        "judged against the certified reference). Rows/s over the whole command; CPU: ms of CPU per row, this process and its "
        "children together (the LocalCluster's workers count once they have exited). Overhead per task and efficiency as in section 2.",
        "",
        "| configuration | rows | wall, s | rows/s | vs workers 1 | CPU ms/row | tasks | overhead per task, ms | efficiency | exit status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    w1 = statistics.median(r[0] for r in res["workers 1"])
    for name, rs in res.items():
        wall = statistics.median(r[0] for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        st = sorted(rs, key=lambda x: x[0])[len(rs) // 2][3]
        if st:
            over = f"{1e3 * (st['threads'] * st['wall_s'] - st['work_s']) / st['tasks']:.1f}"
            eff = f"{st['work_s'] / (st['threads'] * st['wall_s']):.2f}"
            tasks = str(st["tasks"])
        else:
            over = eff = tasks = "-"
        lines.append(f"| {name} | {args.stress_n} | {wall:.1f} | {args.stress_n / wall:.1f} | {w1 / wall:.2f} | {1e3 * cpu / args.stress_n:.0f} | "
                     f"{tasks} | {over} | {eff} | {sorted({r[2] for r in rs})} |")
        print(lines[-1], flush=True)
    return lines


def minimality_section(args) -> list[str]:
    """Section 4: the minimality search here and on a local:2 cluster started once."""
    from ees_theory.running import cluster
    from ees_theory.ledger import minimality as M

    sizes = tuple(range(4, args.max_n + 1))
    runs: dict[str, list] = {"here": [], "local:2": []}
    same = True
    with cluster.cluster_client("local:2") as client:
        M.build_certificate((4, 5), executor=client)  # warm: the workers import the search once
        ref = None
        for _ in range(args.repeats):
            for name, executor in (("here", None), ("local:2", client)):
                stats: dict = {}
                work: list = []
                undo = _spy(cluster, "map_in_order", stats, work)
                try:
                    t = time.perf_counter()
                    cert = M.build_certificate(sizes, executor=executor)
                    wall = time.perf_counter() - t
                finally:
                    undo()
                ref = ref or cert["pairs"]
                same = same and cert["pairs"] == ref
                runs[name].append((wall, cert["search"]["boxes"], stats, sum(work)))
    boxes = runs["here"][0][1]
    here = statistics.median(r[0] for r in runs["here"])
    lines = [
        f"## 4. The minimality search (median of {args.repeats} interleaved runs; the cluster started once)",
        "",
        f"`build_certificate(sizes={sizes})`: {len(ref)} pairs, {boxes} boxes, the largest pair (n = {args.max_n}) cut into groups of "
        f"sub-boxes ({M.GROUPS_PER_THREAD} per worker thread). Same certificate in every run: {'yes' if same else 'NO'}. "
        "Overhead per task: (threads x wall - work in the tasks) / tasks, so it includes the first levels grown here and the tail.",
        "",
        "| where | boxes | wall, s | boxes/s | speed-up | tasks | work in tasks, s | overhead per task, ms | efficiency |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rs in runs.items():
        wall = statistics.median(r[0] for r in rs)
        _, _, st, work = sorted(rs, key=lambda x: x[0])[len(rs) // 2]
        if st:
            cells = (f"{st['tasks']} | {work:.2f} | {1e3 * (st['threads'] * st['wall_s'] - work) / st['tasks']:.1f} | "
                     f"{work / (st['threads'] * st['wall_s']):.2f}")
        else:
            cells = "- | - | - | -"
        lines.append(f"| {name} | {boxes} | {wall:.2f} | {boxes / wall:,.0f} | {here / wall:.2f} | {cells} |")
        print(lines[-1], flush=True)
    return lines


def check_sections(args) -> list[str]:
    """Sections 1 and 2: ``check builtin`` on the command line and on a running cluster."""
    from ees_theory import harness as cf
    from ees_theory.running import cluster

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
    return lines


if __name__ == "__main__":
    sys.exit(main())

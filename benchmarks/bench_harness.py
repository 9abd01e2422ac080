"""Throughput of ``ees-theory check builtin``: cases per second, judging in one process or several.

Runs the command line as a user does (``python -m ees_theory check builtin -m METHOD --quiet``,
golden vectors and generated cases, the built-in port in its isolated worker) with
``--workers 1`` (before: every case judged in the checking process) and ``--workers 2`` (two
judging processes: both cores of the reference machine) and ``--workers auto`` (the default:
times its first cases in the checking process, then starts one worker per idle core only if the
rest would take longer than ``PARALLEL_MIN_SECONDS`` there), interleaved round by round; reports
the median wall time, cases per second and the CPU time the run used (its processes together).

Usage: ``python benchmarks/bench_harness.py [--methods ees top-p] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, run_check_builtin, stamp  # noqa: E402


ROOT = Path(__file__).resolve().parent.parent


def run_once(method: str, workers: str) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, judged cases and the verdict line of one run."""
    return run_check_builtin(method, ["--workers", workers])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["ees", "top-p"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "harness-cpu.md"))
    args = ap.parse_args(argv)
    lines = [
        "# Throughput of `ees-theory check builtin`",
        "",
        f"{stamp()}. Machine: {machine()}",
        "",
        f"Median of {args.repeats} interleaved runs of the command line (process start included). `workers 1`: every case judged in "
        "the checking process (as before); `workers 2`: two judging processes; `auto` (the default): judges its first cases in the "
        "checking process and starts one worker per idle core only when the rest would take over "
        "`PARALLEL_MIN_SECONDS` there. CPU: seconds of CPU time the run used.",
        "",
        "| method | cases | workers 1: s | cases/s | CPU s | workers 2: s | cases/s | CPU s | 2 vs 1 | auto: s | cases/s | auto vs best | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for method in args.methods:
        res: dict[str, list] = {"1": [], "2": [], "auto": []}
        for _ in range(args.repeats):
            for w in res:
                res[w].append(run_once(method, w))
        med = {w: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for w, rs in res.items()}
        cases = res["1"][0][2]
        verdict = res["1"][0][3].split(":")[0]
        same = all(r[2] == cases and r[3] == res["1"][0][3] for rs in res.values() for r in rs)
        (w1, c1), (w2, c2), (wa, _) = med["1"], med["2"], med["auto"]
        line = (
            f"| {method} | {cases} | {w1:.1f} | {cases / w1:.1f} | {c1:.1f} | {w2:.1f} | {cases / w2:.1f} | {c2:.1f} | "
            f"{w1 / w2:.2f} | {wa:.1f} | {cases / wa:.1f} | {wa / min(w1, w2):.2f} | {verdict}{'' if same else ' (RUNS DIFFER)'} |"
        )
        print(line, flush=True)
        lines.append(line)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

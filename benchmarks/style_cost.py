"""What grading by the style set costs: judging time per case, with and without the styles.

A case whose answer is the certified one never runs a style; an answer that differs from it runs
the styles one at a time until one produces it, and an answer no style produces (a bug) runs all of
them. This script judges, per method and half-precision cell, the same cases answered three ways:

* ``exact``: the certified answer (the reference's own kept set);
* ``careful``: an independent careful port (``tests/ports/independent_ports.py``, log_softmax,
  ranking by computed probabilities, random reduction trees);
* ``bug``: the same port keeping one token more (every case differs: all styles run);

each with the styles (the default grade) and without them (``--bands rigorous`` keeps the styles;
the peer here is the judge with ``styles.available`` off: the rigorous band alone). It prints
milliseconds per case and the ratio to the rigorous-only judge of the same answers, interleaved
round by round (``_common.balanced_orders``).

Usage: ``python benchmarks/style_cost.py [--examples 24] [--rounds 3]`` (from the repository root).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import balanced_orders, machine  # noqa: E402
from ees_theory import reference  # noqa: E402
from ees_theory.errormodel import styles  # noqa: E402
from ees_theory.harness import plan  # noqa: E402
from ees_theory.judging.methods import Options, get_method, judge  # noqa: E402
from tests.ports.independent_ports import ees_port, truncation_port  # noqa: E402

METHODS = ("ees", "top-p", "typical", "min-p")
CELLS = (("float16", "input"), ("bfloat16", "input"), ("bfloat16", "float32"))


def _answers(method, dtype, mode, cases):
    cd = dtype if mode == "input" else "float32"
    style = dict(probs="log_softmax", rank="probs", sums="tree")
    port = ees_port(cd=cd, **style) if method == "ees" else truncation_port(method, cd=cd, **style)
    out = {"exact": [], "careful": [], "bug": []}
    for c in cases:
        row = c.row(dtype)
        if method == "ees":
            ref = reference.ees(row, c.params["temperature"])
            order, k = list(ref.row.order), ref.k
        else:
            ref = get_method(method).reference(row, c.params, Options(accumulate=mode))
            order, k = [int(i) for i in ref.kept], len(ref.kept)
            rest = [int(i) for i in np.argsort(-row.astype(np.float64), kind="stable") if int(i) not in set(order)]
            order = order + rest
        exact = np.zeros(len(row), dtype=bool)
        exact[order[:k]] = True
        bug = exact.copy()
        if k < len(order) and np.isfinite(row[order[k]]):
            bug[order[k]] = True
        careful = port(row, **c.params)
        out["exact"].append((c, row, exact))
        out["careful"].append((c, row, np.asarray(careful, dtype=bool)))
        out["bug"].append((c, row, bug))
    return out


def _judge_all(method, dtype, mode, answers, with_styles: bool) -> float:
    saved = styles.available
    if not with_styles:
        styles.available = lambda: False
    try:
        t0 = time.perf_counter()
        for c, row, mask in answers:
            judge(method, row, c.params, mask, dtype, Options(accumulate=mode))
        return (time.perf_counter() - t0) / max(len(answers), 1)
    finally:
        styles.available = saved


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    print(machine())
    print(f"style set v{styles.STYLES_VERSION}; {args.examples} generated rows per cell, median of {args.rounds} rounds\n")
    print("| method | cell | answer | ms/case, styles | ms/case, rigorous only | ratio |")
    print("|---|---|---|---|---|---|")
    for method in METHODS:
        for dtype, mode in CELLS:
            cases = [c for c in plan(method, dtype, vectors=False, examples=args.examples, seed=41)]
            answers = _answers(method, dtype, mode, cases)
            for kind in ("exact", "careful", "bug"):
                peers = {"styles": lambda a=answers[kind]: _judge_all(method, dtype, mode, a, True),
                         "rigorous": lambda a=answers[kind]: _judge_all(method, dtype, mode, a, False)}
                names = list(peers)
                times = {name: [] for name in names}
                for _ in range(args.rounds):
                    for order in balanced_orders(len(names)):
                        for i in order:
                            times[names[i]].append(peers[names[i]]())
                s, r = statistics.median(times["styles"]), statistics.median(times["rigorous"])
                print(f"| {method} | {dtype}/{mode} | {kind} | {1e3 * s:.1f} | {1e3 * r:.1f} | {s / r:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

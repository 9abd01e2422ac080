"""How right are the verdicts? Three tables, in every dtype x accumulation mode:

1. false rejections: careful ports written apart from the toolkit (``tests/ports/independent_ports.py``:
   softmax or log_softmax, ranking by logits or by computed probabilities, mass from the top or the
   bottom, sequential sums, random reduction trees, random block sizes) judged on the golden vectors
   and generated rows; every failure is a false rejection;
2. planted bugs: the same ports with one fault each (crossing token kept, ``<=``, count off by one,
   wrong only when cold, only on rows above 1,000 entries, only on 2% of rows, entropy in bits,
   tempered entropy); a run that conforms is a missed bug;
3. EES kept count off by one: for every generated row, the reference's top-(k*+1) and top-(k*-1)
   sets judged; the share rejected, and the share of rows where some careful style itself keeps
   k*+-1 (no judge can reject those).

Usage: ``python benchmarks/verdict_quality.py [--examples N] [--out FILE.md]`` (run from the
repository root; it imports the test ports).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ees_theory import reference  # noqa: E402
from ees_theory.harness import InProcessPort, Options, plan, run_check  # noqa: E402
from ees_theory.harness.generate import generated_cases  # noqa: E402
from ees_theory.harness.methods import judge  # noqa: E402
from ees_theory.harness import styles  # noqa: E402
from tests.ports.independent_ports import PORT_STYLES, ees_port, temperature_port, truncation_port  # noqa: E402

DTYPES = ("float64", "float32", "float16", "bfloat16")
MODES = ("input", "float32")
MASK_METHODS = ("ees", "top-k", "top-p", "min-p", "typical", "epsilon", "eta")
TEMP_METHODS = ("edt", "dynatemp")
BUGS = {
    "ees": ("crossing", "le", "plus1", "minus1", "cold", "big", "rare"),
    "top-k": ("plus1", "minus1", "cold", "big", "rare"),
    "top-p": ("le", "plus1", "minus1", "cold", "big", "rare"),
    "min-p": ("le", "plus1", "minus1", "cold", "big", "rare"),
    "typical": ("le", "plus1", "minus1", "cold", "big", "rare"),
    "epsilon": ("le", "plus1", "minus1", "cold", "big", "rare"),
    "eta": ("le", "plus1", "minus1", "cold", "big", "rare"),
    "edt": ("bits", "tempered"),
    "dynatemp": ("bits",),
}


def make_port(method, cd, style, seed, bug=None):
    if method == "ees":
        return ees_port(cd=cd, seed=seed, bug=bug, **style)
    if method in TEMP_METHODS:
        return temperature_port(method, cd=cd, seed=seed, bug=bug, **style)
    return truncation_port(method, cd=cd, seed=seed, bug=bug, **style)


def compute_dtype(dtype, mode):
    return dtype if mode == "input" or dtype == "float64" else "float32"


def run(method, dtype, mode, fn, cases):
    r = run_check(InProcessPort(fn, fn.__name__), method, dtype, cases, options=Options(accumulate=mode), shrink=False)
    return r


def false_rejections(method, dtype, mode, examples):
    cases = plan(method, dtype, examples=examples, seed=21)
    cd = compute_dtype(dtype, mode)
    judged = failed = 0
    examples_failed = []
    for i, st in enumerate(PORT_STYLES):
        r = run(method, dtype, mode, make_port(method, cd, st, i), cases)
        judged += r.counts()["cases"]
        failed += len(r.failures)
        examples_failed += [f"{f['case']} {f['fault']}" for f in r.failures[:2]]
    return judged, failed, examples_failed


def planted(method, dtype, mode, examples):
    cases = plan(method, dtype, examples=examples, seed=23)
    cd = compute_dtype(dtype, mode)
    out = {}
    for bug in BUGS[method]:
        r = run(method, dtype, mode, make_port(method, cd, PORT_STYLES[1], 7, bug), cases)
        faults = sorted({f["fault"] for f in r.failures})
        out[bug] = (not r.ok, len(r.failures), faults)
    return out


def off_by_one(dtype, mode, examples):
    cases = generated_cases("ees", dtype, examples, seed=25)
    tally = {"+1": [0, 0, 0], "-1": [0, 0, 0]}  # rows, rejected, produced by a style
    for c in cases:
        ref = reference.ees(c.logits, c.params["temperature"])
        order = list(ref.row.order)
        outs = None
        for d, key in ((1, "+1"), (-1, "-1")):
            k = ref.k + d
            if k < 1 or k > ref.n:
                continue
            mask = np.zeros(len(c.logits), dtype=bool)
            mask[order[:k]] = True
            v = judge("ees", c.logits, c.params, mask, dtype, Options(accumulate=mode))
            tally[key][0] += 1
            tally[key][1] += v.status == "fail"
            if outs is None:
                outs = styles.mask_outcomes("ees", c.logits, c.params, dtype, mode)
            tally[key][2] += any(o.admits(set(order[:k])) for o in outs)
    return tally


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=60)
    ap.add_argument("--out", default=None)
    ap.add_argument("--tables", default="1,2,3")
    args = ap.parse_args(argv)
    which = set(args.tables.split(","))
    lines = [f"# Verdict quality (style set v{styles.STYLES_VERSION}, {args.examples} generated rows per run + golden vectors)", ""]
    t0 = time.time()
    if "1" in which:
        lines += ["## 1. False rejections of careful ports (failed cases / cases judged, 5 ports per cell)", ""]
        lines += ["| method | " + " | ".join(f"{d}/{m}" for d in DTYPES for m in MODES) + " |", "|---|" + "---|" * 8]
        for method in MASK_METHODS + TEMP_METHODS:
            cells = []
            for d in DTYPES:
                for m in MODES:
                    judged, failed, ex = false_rejections(method, d, m, args.examples)
                    cells.append(f"{failed}/{judged}")
                    if ex:
                        print(method, d, m, ex, file=sys.stderr)
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
        lines.append("")
    if "2" in which:
        lines += ["## 2. Planted bugs (rejected in how many of the 8 dtype x mode combinations; faults named)", ""]
        lines += ["| method | bug | rejected | faults named |", "|---|---|---|---|"]
        for method in MASK_METHODS + TEMP_METHODS:
            res = {bug: [0, set()] for bug in BUGS[method]}
            for d in DTYPES:
                for m in MODES:
                    for bug, (rej, nfail, faults) in planted(method, d, m, args.examples).items():
                        res[bug][0] += rej
                        res[bug][1] |= set(faults)
            for bug, (n, faults) in res.items():
                lines.append(f"| {method} | {bug} | {n}/8 | {', '.join(sorted(faults))} |")
                print(lines[-1], flush=True)
        lines.append("")
    if "3" in which:
        lines += ["## 3. EES kept count off by one", "", "| dtype/mode | +1 rejected | -1 rejected | +1 that a careful style keeps | -1 that a careful style keeps |", "|---|---|---|---|---|"]
        for d in DTYPES:
            for m in MODES:
                t = off_by_one(d, m, args.examples * 2)
                p, q = t["+1"], t["-1"]
                lines.append(f"| {d}/{m} | {p[1]}/{p[0]} ({p[1] / max(p[0], 1):.0%}) | {q[1]}/{q[0]} ({q[1] / max(q[0], 1):.0%}) | {p[2]} | {q[2]} |")
                print(lines[-1], flush=True)
        lines.append("")
    lines.append(f"time: {time.time() - t0:.0f} s")
    text = "\n".join(lines)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

"""How right are the verdicts? Four tables, the first three in every dtype x accumulation mode:

1. false rejections: careful ports written apart from the toolkit (``tests/ports/independent_ports.py``:
   softmax or log_softmax, ranking by logits or by computed probabilities, mass from the top or the
   bottom, sequential sums, random reduction trees, random block sizes) judged on the golden vectors
   and generated rows; every failure is a false rejection;
2. planted bugs: the same ports with one fault each (crossing token kept, ``<=``, count off by one,
   wrong only when cold, only on rows above 1,000 entries, only on 2% of rows, entropy in bits,
   tempered entropy); a run that conforms is a missed bug;
3. EES kept count off by one: for every generated row, the reference's top-(k*+1) and top-(k*-1)
   sets judged; the share rejected, the rows where some careful style itself keeps k*+-1 or an
   exact tie makes the answer admissible (no judge can reject those), and the *rejectable* rows
   (all others) with the share of them rejected and how many of them an independent careful port
   (``tests/ports/independent_ports.py``: every combination of its switches, three seeds for the
   random reductions) keeps k*+-1 tokens on: careful answers the style set does not enumerate,
   which no judge may reject either;
4. the rejectable off-by-one answers the judge admits in half precision with the input dtype as
   compute dtype, by the widening of the EES curve band that admits them (the styles' hull, one
   unit, half the hull's width, the double rounding: ``styles.CURVE_TERMS``), and how many of them
   an independent careful port keeps with ten seeds for its random reductions.

Usage: ``python benchmarks/verdict_quality.py [--examples N] [--tables 1,2,3,4] [--out FILE.md]``
(run from the repository root; it imports the test ports).
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
from ees_theory.running.generate import generated_cases  # noqa: E402
from ees_theory.judging.methods import judge  # noqa: E402
from ees_theory.errormodel import styles  # noqa: E402
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


#: every combination of the independent careful EES ports' switches: probabilities, ranking, shift
#: and reduction (sequential, random trees, random blocks)
EES_PORT_SWITCHES = [
    dict(probs=a, rank=b, shift=c, sums=d)
    for a in ("softmax", "logsoftmax")
    for b in ("logits", "probs")
    for c in ("after", "before")
    for d in ("seq", "tree", "blocks")
]


def port_counts(c, cd, seeds=3):
    """How many tokens the independent careful EES ports keep on case ``c``: every combination of
    their switches, ``seeds`` seeds for each port with random reductions (trees, blocks)."""
    ports = [(st, seed) for st in EES_PORT_SWITCHES for seed in (range(1) if st["sums"] == "seq" else range(seeds))]
    return {int(ees_port(cd=cd, seed=seed, **st)(c.logits, c.params["temperature"]).sum()) for st, seed in ports}


#: the ablations of the EES curve band table 4 walks, smallest first: which widening admits an answer
BAND_STEPS = (("hull", ()), ("unit", ("unit",)), ("unit+widen", ("unit", "widen")), ("unit+double", ("unit", "double-rounding")),
              ("all", styles.CURVE_TERMS))


def admitted_by(outs, n, k, dtype, mode):
    """The first step of :data:`BAND_STEPS` whose curve band (over the styles' outcomes ``outs`` on
    a row of ``n`` candidates) admits ``k`` kept tokens."""
    from ees_theory.judging.methods import _admissible_counts

    for name, terms in BAND_STEPS:
        band = styles.ees_curve_band(outs, n, dtype, mode, terms)
        if band is not None and k in _admissible_counts(*band, n, 1, "first-exclusive"):
            return name
    return None


def off_by_one_answers(dtype, mode, examples):
    """``(case, order, key, k, verdict)`` for every generated EES row (seed 25) and each of the
    reference's top-(k*+1) and top-(k*-1) sets (``key`` ``"+1"`` / ``"-1"``) that exists, judged."""
    for c in generated_cases("ees", dtype, examples, seed=25):
        ref = reference.ees(c.logits, c.params["temperature"])
        order = list(ref.row.order)
        for d, key in ((1, "+1"), (-1, "-1")):
            k = ref.k + d
            if k < 1 or k > ref.n:
                continue
            mask = np.zeros(len(c.logits), dtype=bool)
            mask[order[:k]] = True
            yield c, order, key, k, judge("ees", c.logits, c.params, mask, dtype, Options(accumulate=mode))


def off_by_one_admitted(dtype, mode, examples, seeds):
    """Table 4: the rejectable rows (no style keeps ``k* +- 1``, no exact tie) on which the judge
    admits it, by the band term that admits it, and whether an independent careful port with any
    of ``seeds`` seeds for its random reductions keeps it."""
    out = {"+1": {}, "-1": {}}
    last = outs = counts = None
    for c, order, key, k, v in off_by_one_answers(dtype, mode, examples):
        if c is not last:  # the styles and the ports run once per row
            last, outs, counts = c, None, None
        if v.status == "fail" or v.details.get("category") == "exact-tie":
            continue
        if outs is None:
            outs = styles.mask_outcomes("ees", c.logits, c.params, dtype, mode)
        if any(o.admits(set(order[:k])) for o in outs):  # a style keeps it: not rejectable
            continue
        if counts is None:
            counts = port_counts(c, compute_dtype(dtype, mode), seeds)
        step = admitted_by(outs, len(order), k, dtype, mode) or "other"
        slot = out[key].setdefault(step, [0, 0])
        slot[0] += 1
        slot[1] += k in counts
    return out


def off_by_one(dtype, mode, examples):
    # rows, rejected, a style keeps it, an exact tie (no style) makes it admissible, rejectable
    # (neither), rejected among rejectable, rejectable ones an independent careful port keeps
    tally = {"+1": [0] * 7, "-1": [0] * 7}
    last = outs = counts = None
    for c, order, key, k, v in off_by_one_answers(dtype, mode, examples):
        if c is not last:  # the styles and the ports run once per row
            last, outs, counts = c, None, None
        t = tally[key]
        t[0] += 1
        t[1] += v.status == "fail"
        if outs is None:
            outs = styles.mask_outcomes("ees", c.logits, c.params, dtype, mode)
        if any(o.admits(set(order[:k])) for o in outs):
            t[2] += 1
        elif v.details.get("category") == "exact-tie":
            t[3] += 1
        else:
            t[4] += 1
            t[5] += v.status == "fail"
            if counts is None:
                counts = port_counts(c, compute_dtype(dtype, mode))
            t[6] += k in counts
    return tally


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=60)
    ap.add_argument("--out", default=None)
    ap.add_argument("--tables", default="1,2,3,4")
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
        lines += [
            "## 3. EES kept count off by one",
            "",
            "| dtype/mode | +1 rejected | -1 rejected | +1 / -1 a careful style keeps | +1 / -1 exact ties | +1 rejectable: rejected | -1 rejectable: rejected | rejectable +1 / -1 an independent careful port keeps |",
            "|---|---|---|---|---|---|---|---|",
        ]

        def share(a, b):
            return f"{a}/{b} ({a / b:.0%})" if b else "0/0"

        for d in DTYPES:
            for m in MODES:
                t = off_by_one(d, m, args.examples * 2)
                p, q = t["+1"], t["-1"]
                lines.append(f"| {d}/{m} | {share(p[1], p[0])} | {share(q[1], q[0])} | {p[2]} / {q[2]} | {p[3]} / {q[3]} | {share(p[5], p[4])} | {share(q[5], q[4])} | {p[6]} / {q[6]} |")
                print(lines[-1], flush=True)
        lines.append("")
    if "4" in which:
        seeds = 10
        lines += [
            "## 4. EES off by one: the rejectable answers the judge admits, by the band term that admits them",
            "",
            f"Steps of the curve band, smallest first: the styles' hull alone; one unit (and the accumulator's 2k unit roundoffs); "
            f"with half the hull's width; with the double rounding; all. Each cell: admitted rows (rows on which an independent "
            f"careful port, any switches, {seeds} seeds for the random reductions, keeps that count).",
            "",
            "| dtype/mode | off by | " + " | ".join(name for name, _ in BAND_STEPS) + " |",
            "|---|---|" + "---|" * len(BAND_STEPS),
        ]
        for d, m in (("bfloat16", "input"), ("float16", "input")):
            t = off_by_one_admitted(d, m, args.examples * 2, seeds)
            for key in ("+1", "-1"):
                cells = [f"{t[key].get(name, [0, 0])[0]} ({t[key].get(name, [0, 0])[1]})" for name, _ in BAND_STEPS]
                lines.append(f"| {d}/{m} | {key} | " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
        lines.append("")
    lines.append(f"time: {time.time() - t0:.0f} s")
    text = "\n".join(lines)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

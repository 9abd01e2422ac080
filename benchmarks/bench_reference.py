"""Speed of the certified EES reference against its peers, measured in one run.

For random logits (normal, sigma = 2, float32, seed fixed) at each vocabulary size V:

* ``certified``: ``ees_theory.reference.ees`` from the numpy array (float64 interval tier,
  escalation to ``mpmath.iv`` where needed);
* ``list``: the same from a Python list of floats;
* ``float64``: an uncertified numpy evaluation of the same curve (canonical order by a stable
  sort, softmax, prefix sums, entropy of each top-k set, first crossing) -- what a careful float
  port that reports the kept ids in order does;
* ``f64-values``: the same curve from the sorted values alone (no ids: the fastest float
  evaluation numpy allows, a stricter peer);
* ``mpmath60``: the plain multiprecision evaluation of the whole curve at 60 digits (one run).

Each ratio is measured in one run, the peers interleaved round by round and summarised by their
medians (``benchmarks/_common.py``). The time of ``certified`` is split into its parts, each
timed on its own: ``sort`` (reading and ordering the row), ``float tier`` (the float64 interval
enclosure of the whole curve) and ``decide`` (the decision scan, and the escalations, whose
number is shown). Targets at V = 131,072 and 262,144: certified within 3x of float64, list input
within 4x.

Usage: ``python benchmarks/bench_reference.py [--vocab 32768 131072 262144] [--repeats 9]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import mpmath
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import ees_theory as et  # noqa: E402
import statistics  # noqa: E402

from _common import interleaved_times, machine, stamp  # noqa: E402
from ees_theory.reference.ees import curve_enclosure  # noqa: E402
from ees_theory.reference.rows import as_row  # noqa: E402


def ees_float64(z: np.ndarray, ids: bool = True) -> int:
    """Uncertified float64 EES (first-exclusive), vectorised over k; ``ids=False``: from the
    sorted values alone."""
    x = z[np.argsort(-z, kind="stable")] if ids else -np.sort(-z)
    x = x[np.isfinite(x)]
    a = x[0] - x                      # -log of relative weights, >= 0
    e = np.exp(-a)
    S = np.cumsum(e)
    A = np.cumsum(e * a)
    H = np.log(S) + A / S
    k = np.arange(1, len(x) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = H / np.log(k) - S / S[-1]
    crossing = np.flatnonzero(f[1:] < 0)
    return int(crossing[0]) + 1 if len(crossing) else len(x)


def ees_mpmath(z: np.ndarray, dps: int = 60) -> int:
    """Plain multiprecision EES over the whole curve at ``dps`` digits (no certification)."""
    x = sorted((float(v) for v in z if np.isfinite(v)), reverse=True)
    with mpmath.workdps(dps):
        top = mpmath.mpf(x[0])
        a = [top - mpmath.mpf(v) for v in x]
        e = [mpmath.exp(-t) for t in a]
        total = mpmath.fsum(e)
        S = A = mpmath.mpf(0)
        k_star = None
        for k, (w, t) in enumerate(zip(e, a), start=1):
            S += w
            A += w * t
            if k >= 2 and k_star is None:
                f = (mpmath.log(S) + A / S) / mpmath.log(k) - S / total
                if f < 0:
                    k_star = k - 1
        return k_star if k_star is not None else len(x)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", type=int, nargs="+", default=[32768, 131072, 262144])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--no-mpmath", action="store_true", help="skip the slow multiprecision peer")
    ap.add_argument("--out", default=None, help="results file (default benchmarks/results/reference-cpu.md)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = [
        "# Certified EES reference against its peers",
        "",
        f"{stamp()}. Machine: {machine(f'numpy {np.__version__}, mpmath {mpmath.__version__}')}",
        "",
        f"Logits ~ normal(0, 2), float32. Medians of {args.repeats} interleaved rounds, milliseconds (mpmath60: one run). "
        "`cert`: certified from the numpy array; `list`: from a Python list of floats; `f64`: uncertified float64 with the canonical "
        "order; `f64v`: uncertified float64 from the sorted values alone. Split of `cert`: `sort` + `float tier` + `decide` "
        "(escalations: how many comparisons went to mpmath). The last four ratios come from the minima of the same runs (the least "
        "disturbed call of each).",
        "",
        "| V | k* | cert | list | f64 | f64v | cert/f64 | list/f64 | cert/f64v | list/f64v | sort | float tier | decide | escalations "
        "| mpmath60 | mp/cert | min: cert/f64 | list/f64 | cert/f64v | list/f64v | agree |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for V in args.vocab:
        z = rng.normal(0.0, 2.0, V).astype(np.float32)
        z64 = z.astype(np.float64)
        zl = z64.tolist()
        r = et.reference.ees(z)
        row = as_row(z)
        times = interleaved_times(
            {
                "cert": lambda: et.reference.ees(z),
                "list": lambda: et.reference.ees(zl),
                "f64": lambda: ees_float64(z64),
                "f64v": lambda: ees_float64(z64, ids=False),
                "sort": lambda: as_row(z),
                "tier": lambda: curve_enclosure(row, 1.0),
                "row": lambda: et.reference.ees(row),
            },
            args.repeats,
        )
        t = {name: statistics.median(ts) for name, ts in times.items()}
        lo = {name: min(ts) for name, ts in times.items()}
        escalations = sum(1 for c in r.decisions if c.method.startswith("mpmath"))
        if args.no_mpmath:
            t_mp, k_mp = float("nan"), None
        else:
            t0 = time.perf_counter()
            k_mp = ees_mpmath(z64)
            t_mp = time.perf_counter() - t0
        k64, k64v, k_list = ees_float64(z64), ees_float64(z64, ids=False), et.reference.ees(zl).k
        agree = r.certified and r.k == k64 == k64v == k_list and (k_mp is None or k_mp == r.k)
        ms = lambda x: f"{x * 1e3:.2f}"  # noqa: E731
        line = (
            f"| {V} | {r.k} | {ms(t['cert'])} | {ms(t['list'])} | {ms(t['f64'])} | {ms(t['f64v'])} | "
            f"{t['cert'] / t['f64']:.2f} | {t['list'] / t['f64']:.2f} | {t['cert'] / t['f64v']:.2f} | {t['list'] / t['f64v']:.2f} | "
            f"{ms(t['sort'])} | {ms(t['tier'])} | {ms(t['row'] - t['tier'])} | {escalations} | "
            f"{t_mp * 1e3:.0f} | {t_mp / t['cert']:.0f} | {lo['cert'] / lo['f64']:.2f} | {lo['list'] / lo['f64']:.2f} | "
            f"{lo['cert'] / lo['f64v']:.2f} | {lo['list'] / lo['f64v']:.2f} | {'yes' if agree else 'NO'} |"
        )
        print(line, flush=True)
        lines.append(line)
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / "reference-cpu.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

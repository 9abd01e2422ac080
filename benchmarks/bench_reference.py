"""Speed of the certified EES reference against its two peers, measured in one run.

For random logits (normal, sigma = 2, seed fixed) at each vocabulary size V:

* ``certified``: ``ees_theory.reference.ees`` (float64 interval tier, escalation when needed);
* ``float64``: an uncertified numpy evaluation of the same curve (sort, softmax, prefix sums,
  entropy of each top-k set, first crossing) -- what a careful float port does;
* ``mpmath60``: the plain multiprecision evaluation of the whole curve at 60 digits.

Prints a table with the ratios certified/float64 and mpmath60/certified, and writes it, with the
machine named, to ``benchmarks/results/reference-<host>.txt``. Targets at V = 131,072: certified
within 10x of float64, and at least 50x faster than mpmath60.

Usage: ``.venv/bin/python benchmarks/bench_reference.py [--vocab 1000 32768 ...] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import mpmath
import numpy as np

import ees_theory as et


def ees_float64(z: np.ndarray) -> int:
    """Uncertified float64 EES (first-exclusive), vectorised over k."""
    order = np.argsort(-z, kind="stable")
    x = z[order]
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


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def machine() -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.node()} | {cpu} | {os.cpu_count()} cores | Python {platform.python_version()} | "
            f"numpy {np.__version__} | mpmath {mpmath.__version__}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", type=int, nargs="+", default=[1000, 32768, 131072, 262144])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-mpmath", action="store_true", help="skip the slow multiprecision peer")
    ap.add_argument("--out", default=None, help="results file (default benchmarks/results/reference-<host>.txt)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = [f"# certified EES reference vs peers; machine: {machine()}",
             f"# {time.strftime('%Y-%m-%d %H:%M:%S')}; logits ~ normal(0, 2), float32; best of {args.repeats} (mpmath: 1 run)",
             f"{'V':>8} {'k*':>7} {'certified ms':>13} {'float64 ms':>11} {'mpmath60 ms':>12} {'cert/f64':>9} {'mp/cert':>8}  agree"]
    print("\n".join(lines), flush=True)
    for V in args.vocab:
        z = rng.normal(0.0, 2.0, V).astype(np.float32)
        z64 = z.astype(np.float64)
        r = et.reference.ees(z)
        k64 = ees_float64(z64)
        t_cert = best_time(lambda: et.reference.ees(z), args.repeats)
        t_f64 = best_time(lambda: ees_float64(z64), args.repeats)
        if args.no_mpmath:
            t_mp, k_mp = float("nan"), None
        else:
            t = time.perf_counter()
            k_mp = ees_mpmath(z64)
            t_mp = time.perf_counter() - t
        agree = (r.k == k64) and (k_mp is None or k_mp == r.k) and r.certified
        line = (f"{V:>8} {r.k:>7} {t_cert * 1e3:>13.2f} {t_f64 * 1e3:>11.2f} {t_mp * 1e3:>12.0f} "
                f"{t_cert / t_f64:>9.2f} {t_mp / t_cert:>8.0f}  {'yes' if agree else 'NO'}")
        print(line, flush=True)
        lines.append(line)
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / f"reference-{platform.node() or 'host'}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

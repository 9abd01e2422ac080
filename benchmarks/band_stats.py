"""How much the EES judge decides, before and after per-row bands, per dtype x accumulation mode.

For the golden vectors plus 1,000 generated EES rows (seed 0) in each dtype, and each
accumulation mode, this measures

* the share of decisive comparisons (``reference.ees(...).decisions``) with a finite error bound:
  before, the a-priori ``tolerances.ees_gap_bound`` of the row's size and range; after, the
  row's band (:func:`ees_theory.errormodel.bands.ees_band`);
* the share of cases *decided*: the only admissible kept count is the reference's, so any answer
  is passed or failed, never admissible (before: the bound around the certified enclosure, exact
  zeros binding; after: the band, exact ties free);
* the share of cases decided when exact ties (uniform rows, free by design) are left out;
* for two ports, the share of cases their answer is *decided* on (passed or failed, not
  admissible), judged on the kept count: a port that keeps every candidate, and the toolkit's own
  kernel (``ees_theory.torch``) in that dtype and mode;
* whether the keep-all port is rejected at all;
* what the rows allow: the share decided if every band were 10 times narrower (not a rigorous
  band; it shows how many decisions lie within a tenth of the band, i.e. how far tightening the
  band could go);
* on peaked rows (top token far ahead, margins near 1) at temperatures from 0.01 to 5, whether
  keep-all is rejected, per temperature.

Run: ``PYTHONPATH=. python benchmarks/band_stats.py [--examples 1000] [--out benchmarks/results]``.
It writes ``band_stats.json`` and ``band_stats.md`` there.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from ees_theory import reference
from ees_theory.harness import load_vectors
from ees_theory.engines.builtin import builtin_functions
from ees_theory.spec.formats import DTYPES, cast, exact_in
from ees_theory.running.generate import generated_cases
from ees_theory.errormodel.bands import EESBand
from ees_theory.judging.methods import Options, ees_admissible, get_method

MODES = ("input", "float32")
PEAKED_TEMPERATURES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 2.0, 5.0)


def peaked_rows(dtype: str) -> list[np.ndarray]:
    """Rows whose top token is far ahead: f(2) is near -1 at every temperature <= 5."""
    rows = [np.array([0.0, -12.0, -12.5, -13.0, -14.0, -16.0]), np.concatenate([[0.0], -20.0 - np.arange(63) * 0.25])]
    return [cast(r, dtype).astype(np.float64) for r in rows]


def measure(dtype: str, examples: int) -> dict:
    m = get_method("ees")
    cases = [c for c in load_vectors(method="ees") if exact_in(c.logits, dtype)]
    n_vectors = len(cases)
    cases += generated_cases("ees", dtype, examples, seed=0)
    refs = []
    for c in cases:
        row = c.row(dtype).astype(np.float64)
        refs.append((row, reference.ees(row, c.params["temperature"])))
    out = {}
    for mode in MODES:
        opt = Options(accumulate=mode)
        st = dict(cases=0, decisions=0, finite_before=0, finite_after=0, decided_before=0, decided_after=0,
                  untied_cases=0, decided_untied_after=0,
                  keepall_rejected_before=0, keepall_rejected_after=0, keepall_decided_before=0, keepall_decided_after=0,
                  kernel_decided_before=0, kernel_decided_after=0, kernel_failed_after=0, wrong_k=0, decided_tenth=0)
        kernel, _ = builtin_functions("ees", dtype, mode)
        t0 = time.time()
        for row, ref in refs:
            if ref.n < 2:
                continue  # one candidate: nothing to decide
            st["cases"] += 1
            bound = m.bound(ref, dtype, opt)
            band = m.band(ref, dtype, opt)
            for c in ref.decisions:
                st["decisions"] += 1
                st["finite_before"] += math.isfinite(bound)
                st["finite_after"] += bool(np.isfinite(band.lo[c.k - 1]) and np.isfinite(band.hi[c.k - 1]))
            before = ees_admissible(ref, bound)
            after = ees_admissible(ref, band)
            st["decided_before"] += before == {ref.k}
            st["decided_after"] += after == {ref.k}
            mid, half = (band.lo + band.hi) / 2, (band.hi - band.lo) / 20
            tenth = EESBand(np.where(np.isfinite(half), mid - half, band.lo), np.where(np.isfinite(half), mid + half, band.hi),
                            band.e_lo, band.e_hi, dtype, mode)
            st["decided_tenth"] += ees_admissible(ref, tenth) == {ref.k}
            if not (ref.row.all_tied and ref.n > 2):
                st["untied_cases"] += 1
                st["decided_untied_after"] += after == {ref.k}
            st["keepall_rejected_before"] += ref.n not in before
            st["keepall_rejected_after"] += ref.n not in after
            st["keepall_decided_before"] += ref.n == ref.k or ref.n not in before
            st["keepall_decided_after"] += ref.n == ref.k or ref.n not in after
            k = int(np.count_nonzero(kernel(row.astype(np.float32 if dtype == "bfloat16" else dtype), ref.temperature)))
            st["kernel_decided_before"] += k == ref.k or k not in before
            st["kernel_decided_after"] += k == ref.k or k not in after
            st["kernel_failed_after"] += k not in after
            st["wrong_k"] += ref.k not in after  # must stay 0: the exact answer is always admissible
        peaked = {}
        for tau in PEAKED_TEMPERATURES:
            ok = []
            for r in peaked_rows(dtype):
                ref = reference.ees(r, tau)
                ok.append(ref.n not in ees_admissible(ref, m.band(ref, dtype, opt)))
            peaked[str(tau)] = all(ok)
        st["peaked_keepall_rejected"] = peaked
        st["seconds"] = round(time.time() - t0, 1)
        st["vectors"] = n_vectors
        out[mode] = st
    return out


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    res = {d: measure(d, args.examples) for d in DTYPES}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "band_stats.json").write_text(json.dumps(res, indent=1) + "\n")
    lines = [
        f"# EES judge: a-priori bound (before) vs per-row band (after); golden vectors + {args.examples} generated rows per dtype",
        "",
        "| dtype | mode | cases | finite before | finite after | decided before | decided after | decided after, exact ties left out | band / 10 (not rigorous) | keep-all: decided before | after | kernel: decided before | after | kernel failed | keep-all rejected on peaked rows (tau 0.01..5) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d, modes in res.items():
        for mode, s in modes.items():
            pk = "all" if all(s["peaked_keepall_rejected"].values()) else "missed at " + ", ".join(t for t, v in s["peaked_keepall_rejected"].items() if not v)
            lines.append(
                f"| {d} | {mode} | {s['cases']} | {_pct(s['finite_before'], s['decisions'])} | {_pct(s['finite_after'], s['decisions'])} "
                f"| {_pct(s['decided_before'], s['cases'])} | {_pct(s['decided_after'], s['cases'])} | {_pct(s['decided_untied_after'], s['untied_cases'])} | {_pct(s['decided_tenth'], s['cases'])} "
                f"| {_pct(s['keepall_decided_before'], s['cases'])} | {_pct(s['keepall_decided_after'], s['cases'])} "
                f"| {_pct(s['kernel_decided_before'], s['cases'])} | {_pct(s['kernel_decided_after'], s['cases'])} | {s['kernel_failed_after']} | {pk} |"
            )
    lines.append("")
    lines.append("'finite' counts decisive comparisons (" + ", ".join(f"{d}: {ms['input']['decisions']}" for d, ms in res.items()) + "); the other shares count cases (rows with at least 2 candidates).")
    lines.append("Keep-all rejected at all: " + ", ".join(f"{d}/{m}: {'yes' if s['keepall_rejected_after'] else 'NO'} ({s['keepall_rejected_after']} cases)" for d, ms in res.items() for m, s in ms.items()))
    lines.append("wrong_k (the reference's own k not admissible; must be 0): " + ", ".join(f"{d}/{m}: {s['wrong_k']}" for d, ms in res.items() for m, s in ms.items()))
    (out / "band_stats.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

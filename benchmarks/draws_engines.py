"""Run every token-level engine row (``ees_theory.engines.draws``) and write the verdicts as JSON.

``python benchmarks/draws_engines.py OUT.json [EXAMPLES] [ENGINE[:METHOD[:DTYPE]] ...]``: per engine x method x dtype the
golden vectors (up to 4096 tokens) and EXAMPLES generated cases (default 6),
``MATRIX_DRAWS`` draws per case (mirostat: the judge's default steps), family-wise false-alarm
rate 1e-6 per row. An engine that cannot run here (not installed, or it needs CUDA) is written
as ``not-run`` with the reason. Naming engines (or engine:method, engine:method:dtype) runs only those rows (a GPU run names
the CUDA ones, split across processes).
``benchmarks/gpu_merge.py`` folds the file this writes into the engine matrix's results file,
whose draws rows the book's draws chapter shows.
"""

import json
import sys
import time

from ees_theory.engines.draws import ENGINES, REVISIONS, ROW_NAMES, available, run_draws_row, version


def main(out: str, examples: int = 6, engines: list[str] | None = None) -> None:
    rows = []
    for engine, (policy, methods, dtypes, calls) in ENGINES.items():
        why = available(engine)
        for method in methods:
            for dtype in dtypes:
                if engines and not any(f"{engine}:{method}:{dtype}".startswith(e + ":") or f"{engine}:{method}:{dtype}" == e for e in engines):
                    continue
                if why:
                    rows.append({"engine": ROW_NAMES[engine], "version": version(engine), "method": method, "policy": policy,
                                 "dtype": dtype, "calls": calls, "verdict": "not-run", "reason": why})
                    continue
                t0 = time.time()
                r = run_draws_row(engine, method, dtype, examples=examples, shrink=True)
                c = r.counts()
                fails = [x for x in r.records if x["status"] == "fail"]
                rows.append({
                    "engine": ROW_NAMES[engine], "version": version(engine), "method": method, "policy": policy, "dtype": dtype,
                    "calls": calls, "verdict": "fails" if c["failed"] else "conforms" if r.ok else "not-run", "draws": r.draws,
                    "adapter_revision": REVISIONS.get(engine, 1),
                    "plan": r.plan["statement"],  # the file keeps its column names; the report's words map onto them
                    "pass": c["passed"], "admissible": c["admissible"], "fail": c["failed"], "untested": c["skipped"],
                    "certain": c["certain"], "statistical": c["statistical"],
                    "failures": [{"case": f["case"], "family": f["family"], "vocab": f["vocab"], "fault": f["fault"], "message": f["message"][:400],
                                  "reproduce": (f.get("shrunk") or {}).get("repro", f["repro"])[:600]} for f in fails[:3]],
                    "untested_reasons": sorted({x["message"][:160] for x in r.records if x["status"] == "skipped"}),
                    "seconds": round(time.time() - t0, 1),
                })
                print(json.dumps({k: rows[-1][k] for k in ("engine", "method", "dtype", "verdict", "pass", "admissible", "fail", "untested", "seconds")}), flush=True)
                _write(out, rows, examples)
    _write(out, rows, examples)


def _write(out: str, rows: list[dict], examples: int) -> None:
    with open(out, "w") as fh:
        json.dump({"rows": rows, "examples": examples}, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6, sys.argv[3:] or None)

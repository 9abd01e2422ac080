"""Fold the output folder of ``benchmarks/gpu_run.sh`` into the committed results.

    python benchmarks/gpu_merge.py OUTDIR

* engine rows (``engines-*.jsonl``) and token-level rows (``draws-*.json``) go into the engine
  matrix (``ees_theory/engines/results.jsonl``, by :func:`ees_theory.engines.matrix.merge_records`:
  a row that ran replaces its record);
* the timing tables (``torch-cuda.md``, ``torch-cuda-peers.md``) are copied to
  ``benchmarks/results/``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ees_theory.engines import matrix  # noqa: E402
from ees_theory.engines.draws import ENGINES, ROW_NAMES  # noqa: E402

def draws_record(row: dict, examples: int) -> dict:
    """A ``benchmarks/draws_engines.py`` row as an engine-matrix record (form ``draws``)."""
    engine = next(e for e, name in ROW_NAMES.items() if name == row["engine"])
    failures = [{"case": f["case"], "family": f.get("family", ""), "fault": f["fault"], "message": f["message"],
                 "vocab": f.get("vocab"), "shrunk_message": None, "reproduce": f.get("reproduce")} for f in row.get("failures", [])]
    return {
        "engine": row["engine"], "engine_version": row["version"], "method": row["method"], "policy": row["policy"],
        "dtype": row["dtype"], "form": "draws", "verdict": row["verdict"], "reason": row.get("plan", row.get("reason", "")),
        "cases": sum(row.get(k, 0) for k in ("pass", "admissible", "fail", "untested")), "passed": row.get("pass", 0),
        "admissible": row.get("admissible", 0), "failed": row.get("fail", 0), "skipped": row.get("untested", 0),
        "skipped_reasons": {r: 1 for r in row.get("untested_reasons", [])}, "port": f"engine:{engine}:{row['method']}",
        "calls": ENGINES[engine][3], "examples": examples, "seed": 0,
        "first_failure": failures[0] if failures else None, "failures": failures,
        "adapter_revision": row.get("adapter_revision", 1),
    }


def main(out: str) -> None:
    out_dir = Path(out)
    now = []
    for f in sorted(out_dir.glob("engines-*.jsonl")):
        now += matrix.read_jsonl(f)
    for f in sorted(out_dir.glob("draws-*.json")):
        data = json.loads(f.read_text())
        for row in data["rows"]:
            if row["verdict"] == "not-run":
                continue
            now.append(draws_record(row, data["examples"]))
    matrix.write_jsonl(matrix.merge_records(matrix.read_jsonl(matrix.RESULTS_PATH), now), matrix.RESULTS_PATH)
    for name in ("torch-cuda.md", "torch-cuda-peers.md"):
        if (out_dir / name).is_file():
            shutil.copyfile(out_dir / name, ROOT / "benchmarks" / "results" / name)
    print(f"merged {len(now)} rows")


if __name__ == "__main__":
    main(sys.argv[1])

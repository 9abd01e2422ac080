"""Run the three sets of ports written apart from the toolkit through ``ees-theory check``.

The ports in ``benchmarks/outside_ports/`` were written from the specification, the protocol and the
engines' background notes only, without reading the toolkit's ports, styles or judges:

* ``engine_torch.py``: torch code in transformers' and vLLM's shapes (softmax or ``log_softmax``,
  ``topk`` on probabilities, ascending ``cumsum <= 1 - p``, ``special.entr``, an incremental EES
  recurrence, ...), 33 careful ports and 21 planted bugs;
* ``kernel_c.py`` (with ``fnum.py``, its float emulation): CUDA-kernel shapes (blocked tree
  reductions of 32 to 1024 lanes, online softmax, block scans, half-precision storage) and
  llama.cpp's scalar loops over sorted candidates, 33 careful ports and 21 planted bugs;
* ``numpy_style.py``: NumPy code as a JAX/NumPy or hand-written CPU engine writes it (numpy's own
  float16 arithmetic, bfloat16 rounded after every operation with float32 reductions,
  ``x - logsumexp(x)``, ``searchsorted`` on a cumulative sum, sums from the bottom, the entropy as
  ``logsumexp - sum p x``), 16 careful ports and 8 planted bugs.

Each careful port runs in the 8 dtype x ``--accumulate`` cells (golden vectors and ``--examples``
generated rows, one run per seed); a run that exits 0 conforms. The table says, per port and cell,
``OK`` or ``FAIL(n)`` with the failed cases' faults, and lists every failed case with its message.
Runs are resumable (a run whose ``.rc`` file exists is not repeated).

Usage::

    python benchmarks/outside_ports.py --out /tmp/outside [--set engine|kernel|numpy] [--only SUBSTR]
        [--cells bfloat16/input,float16/input] [--seeds 1,2] [--bugs] [--examples 60]

Two sets x 33 ports x 8 cells x 2 seeds take about 4 hours on 2 cores; ``--only`` and ``--cells``
pick a part.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "outside_ports"
DTYPES = ("float64", "float32", "float16", "bfloat16")
MODES = ("input", "float32")

#: engine_torch ports: name -> (method, policy)
ENGINE = {
    "ees_closed_softmax": ("ees", "paper"), "ees_closed_logsoftmax": ("ees", "paper"), "ees_incremental": ("ees", "paper"),
    "edt_a": ("edt", "paper"), "edt_b": ("edt", "paper"), "edt_c": ("edt", "paper"),
    "dyn_a": ("dynatemp", "paper"), "dyn_b": ("dynatemp", "paper"), "dyn_c": ("dynatemp", "paper"),
    "topk_probs": ("top-k", "paper"), "topk_sorted_logits": ("top-k", "paper"), "topk_hf": ("top-k", "transformers"),
    "topp_hf": ("top-p", "paper"), "topp_top": ("top-p", "paper"), "topp_shift": ("top-p", "paper"),
    "minp_probs": ("min-p", "paper"), "minp_logits": ("min-p", "paper"), "minp_logprobs": ("min-p", "paper"),
    "typical_hf": ("typical", "transformers"), "typical_prefix": ("typical", "paper"), "typical_entr": ("typical", "paper"),
    "eps_probs": ("epsilon", "paper"), "eps_logprobs": ("epsilon", "paper"), "eps_hf": ("epsilon", "transformers"),
    "eta_hf_entropy": ("eta", "paper"), "eta_entr": ("eta", "paper"), "eta_hf_ge": ("eta", "transformers"),
    "tfs_webui": ("tfs", "paper"), "tfs_count": ("tfs", "paper"),
    "tns_scaled": ("top-n-sigma", "paper"), "tns_raw": ("top-n-sigma", "paper"),
    "pless_probs": ("p-less", "paper"), "pless_log": ("p-less", "paper"),
}
ENGINE_BUGS = {
    "bug_ees_incl": "ees", "bug_ees_plus1": "ees", "bug_ees_minus1": "ees", "bug_ees_le": "ees", "bug_topp_le": "top-p",
    "bug_minp_gt": "min-p", "bug_eps_ge": "epsilon", "bug_ees_bits": "ees", "bug_edt_bits": "edt", "bug_dyn_bits": "dynatemp",
    "bug_eta_bits": "eta", "bug_ees_lowT": "ees", "bug_topp_lowT": "top-p", "bug_edt_lowT": "edt", "bug_ees_bigV": "ees",
    "bug_topk_bigV": "top-k", "bug_edt_bigV": "edt", "bug_ees_hash2": "ees", "bug_minp_hash2": "min-p", "bug_dyn_hash2": "dynatemp",
    "bug_edt_tempered": "edt",
}


def ports(which: str, bugs: bool) -> list[tuple[str, str, str, str]]:
    """``(module file, port name, method, policy)`` of one set."""
    if which == "engine":
        if bugs:
            return [("engine_torch.py", n, m, "paper") for n, m in ENGINE_BUGS.items()]
        return [("engine_torch.py", n, m, p) for n, (m, p) in ENGINE.items()]
    sys.path.insert(0, str(HERE))
    if which == "numpy":
        import numpy_style

        if bugs:
            return [("numpy_style.py", n, m, "paper") for n, m in numpy_style.BUGS.items()]
        return [("numpy_style.py", n, m, p) for n, (m, p) in numpy_style.CAREFUL.items()]
    import kernel_c

    return [("kernel_c.py", name, method, "paper") for method, name, _, _ in (kernel_c.BUGS if bugs else kernel_c.CAREFUL)]


def run_one(out: Path, module: str, name: str, method: str, policy: str, dtype: str, mode: str, seed: int, examples: int) -> int:
    stem = out / f"{name}-{dtype}-{mode}-s{seed}"
    rc_file = stem.with_suffix(".rc")
    if rc_file.exists():
        return int(rc_file.read_text().split()[0])
    cli = Path(sys.executable).with_name("ees-theory")
    cmd = [str(cli), "check", f"{HERE / module}:{name}__{dtype}__{mode}", "--method", method, "--dtype", dtype, "--accumulate", mode,
           "--examples", str(examples), "--seed", str(seed), "--in-process", "--json", str(stem) + ".jsonl"]
    if policy != "paper":
        cmd += ["--policy", policy]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    Path(str(stem) + ".out").write_text(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    rc_file.write_text(f"{p.returncode} {time.time() - t0:.1f}\n")
    return p.returncode


def failures(out: Path, name: str, dtype: str, mode: str, seed: int) -> list[dict]:
    path = out / f"{name}-{dtype}-{mode}-s{seed}.jsonl"
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("kind") == "case" and d.get("status") == "fail":
                rows.append(d)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the runs' journals and the table (results.md)")
    ap.add_argument("--set", choices=("engine", "kernel", "numpy", "all"), default="all")
    ap.add_argument("--only", help="ports whose name contains this")
    ap.add_argument("--cells", help="comma-separated dtype/mode cells (default all 8)")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--examples", type=int, default=60)
    ap.add_argument("--bugs", action="store_true", help="the planted bugs instead of the careful ports")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = [tuple(c.split("/")) for c in args.cells.split(",")] if args.cells else [(d, m) for d in DTYPES for m in MODES]
    seeds = [int(s) for s in args.seeds.split(",")]
    sets = ("engine", "kernel", "numpy") if args.set == "all" else (args.set,)
    todo = [(s, *p) for s in sets for p in ports(s, args.bugs) if args.only is None or args.only in p[1]]
    lines = [f"# Outside ports ({'planted bugs' if args.bugs else 'careful ports'})", "",
             f"`OK`: the run conforms; `FAIL(n: faults)`: n failed cases. Seeds {args.seeds}, {args.examples} generated rows + golden vectors.", "",
             "| set | port | method | " + " | ".join(f"{d}/{m}" for d, m in cells) + " |", "|" + "---|" * (3 + len(cells))]
    detail = []
    for which, module, name, method, policy in todo:
        row = []
        for dtype, mode in cells:
            parts = []
            for seed in seeds:
                rc = run_one(out, module, name, method, policy, dtype, mode, seed, args.examples)
                fails = failures(out, name, dtype, mode, seed)
                if rc == 0:
                    parts.append("OK")
                else:
                    parts.append(f"FAIL({len(fails)}: {','.join(sorted({str(f.get('fault')) for f in fails}))})" + ("" if rc == 1 else f" rc={rc}"))
                    detail += [f"- {name} {dtype}/{mode} seed {seed} `{f.get('case')}` (V={f.get('vocab')}): {str(f.get('message'))[:300]}" for f in fails]
            row.append(" / ".join(parts))
            print(f"{name} {dtype}/{mode}: {' / '.join(parts)}", flush=True)
        lines.append(f"| {which} | {name} | {method} | " + " | ".join(row) + " |")
    lines += ["", "## Failed cases", ""] + detail
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

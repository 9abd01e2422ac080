"""``ees-theory engines``: check real engines (transformers, llama.cpp, the toolkit's own kernels,
vLLM, FlashInfer) through their built-in adapters and print the conformance matrix.

Every registered row runs the golden vectors and generated cases through the harness, in each
of its dtypes; a row that cannot run here (engine not installed, needs CUDA) is listed as
``not-run`` with the reason. Each failure is printed shrunk, with its diagnosis and a line that
reproduces it. Exit status 0 when no row fails.
"""

from __future__ import annotations

import sys

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("engines", help="check real engines through their built-in adapters and print the matrix",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--engine", "-e", action="append", metavar="NAME", help="only this engine (repeatable)")
    p.add_argument("--method", "-m", action="append", metavar="NAME", help="only this method (repeatable)")
    from ..spec.formats import DTYPES

    p.add_argument("--dtype", action="append", choices=DTYPES,
                   help="run in this dtype (repeatable; default: each row's own dtypes)")
    p.add_argument("--examples", "-n", type=int, default=50, metavar="N", help="generated cases per row after the golden vectors (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated cases (default 0)")
    p.add_argument("--json", metavar="OUT", help="write one JSON object per row to OUT (an existing OUT is updated: rows that "
                   "ran replace their records, rows that cannot run here keep a recorded verdict)")
    p.add_argument("--list", action="store_true", help="list the rows and whether they can run here, and stop")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..engines import matrix
    from ..engines.registry import not_run_reason
    from ..engines.table import find_rows

    if args.examples < 0:
        raise ValueError(f"--examples must be >= 0, got {args.examples}")
    if args.list:
        for row in find_rows(args.engine, args.method):
            why = not_run_reason(row, (args.dtype or row.dtypes)[0])
            print(f"{row.port:<32} policy={row.policy:<13} {row.form:<5} {row.calls:<44} {'runs' if not why else 'not-run: ' + why}")
        return 0

    def progress(row, dtype):
        if sys.stderr.isatty():
            print(f"\r\033[K{row.engine} {row.method} {row.policy} {dtype} ...", end="", file=sys.stderr, flush=True)

    results = matrix.run_matrix(args.engine, args.method, args.dtype, examples=args.examples, seed=args.seed, progress=progress)
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    print(matrix.format_matrix(results))
    if args.json:
        import os

        now = [r.to_json() for r in results]
        old = matrix.read_jsonl(args.json) if os.path.isfile(args.json) else []
        matrix.write_jsonl(matrix.merge_records(old, now), args.json)
        print(f"results: {args.json}")
    return 1 if any(r.verdict == "fails" for r in results) else 0

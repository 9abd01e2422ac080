"""``ees-theory engines``: check real engines (transformers, llama.cpp, the toolkit's own kernels,
vLLM, FlashInfer) through their built-in adapters and print the conformance matrix.

Every registered row runs the golden vectors and generated cases through the harness, in each
of its dtypes; a row that cannot run here (engine not installed, needs CUDA) is listed as
``not-run`` with the reason. Each failure is printed shrunk, with its diagnosis and a line that
reproduces it. Exit status 0 when no row fails.
"""

from __future__ import annotations

import sys

from ..core.records import method_names
from ._cluster import add_cluster_argument, cluster_context

__all__ = ["register", "run", "install_hint"]

#: What to do when the engines extra is missing (the rows of transformers and llama.cpp say "not
#: installed" one by one; this says it once, with the command).
_INSTALL = ("not installed here: {engines}. They are the engines extra: from a checkout run `bash .ci/setup` "
            "(or `pip install -e '.[engines]'`), elsewhere `pip install 'ees_theory[engines]'`. llama-cpp-python "
            "compiles llama.cpp from source: about 10 minutes on 2 cores, once (pip caches the wheel).")


def install_hint(reasons) -> str | None:
    """One line saying how to install the engines extra, given ``(engine, not-run reason)`` pairs;
    ``None`` when no row is missing for want of it.

    >>> print(install_hint([("llama.cpp", "not installed: pip install 'ees_theory[engines]' (llama-cpp-python ...)"),
    ...                     ("vllm", "needs CUDA")]))  # doctest: +ELLIPSIS
    not installed here: llama.cpp. They are the engines extra: from a checkout run `bash .ci/setup` ...
    >>> install_hint([("vllm", "needs CUDA")]) is None
    True
    """
    missing = sorted({engine for engine, why in reasons if why and "ees_theory[engines]" in why})
    return _INSTALL.format(engines=", ".join(missing)) if missing else None


def _recorded(path: str) -> list[dict]:
    """The rows already in the ``--json`` file (none when it does not exist yet), checked before
    anything runs: a directory, a device, an unwritable place or a file that is not a matrix's
    JSON Lines is refused, naming it.

    >>> _recorded(".")
    Traceback (most recent call last):
    ...
    ValueError: --json . is a directory, not a results file (JSON Lines)
    """
    import os
    from pathlib import Path

    from ..spec.inputs import check_input_file

    p = Path(path)
    if not p.exists():
        parent = p.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not (parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)):
            raise ValueError(f"--json {path}: cannot create it ({parent} is not a writable directory)")
        return []
    try:
        check_input_file(p, "a results file (JSON Lines)")
    except ValueError as exc:
        raise ValueError(f"--json {exc}") from None
    if not os.access(p, os.R_OK | os.W_OK):
        raise ValueError(f"--json {path} is not readable and writable")
    from ..engines.matrix import read_jsonl

    refuse = f"--json {path} is not a results file of `ees-theory engines --json` ({{}}); give one, or a new path"
    try:
        rows = read_jsonl(p)
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8 (a ValueError too), nested too deeply
        raise ValueError(refuse.format(f"{type(exc).__name__}: {str(exc)[:120]}")) from None
    for i, obj in enumerate(rows, 1):
        if not (isinstance(obj, dict) and all(isinstance(obj.get(k), str) for k in ("engine", "method", "policy", "dtype"))):
            raise ValueError(refuse.format(f"record {i} is not a matrix row"))
    return rows


def register(sub) -> None:
    p = sub.add_parser("engines", help="check real engines through their built-in adapters and print the matrix",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--engine", "-e", action="append", metavar="NAME", help="only this engine (repeatable)")
    p.add_argument("--method", "-m", action="append", choices=method_names(), metavar="NAME", help="only this method (repeatable; one of the methods of 'ees-theory check --help')")
    from ..spec.formats import DTYPES

    p.add_argument("--dtype", action="append", choices=DTYPES,
                   help="run in this dtype (repeatable; default: each row's own dtypes)")
    p.add_argument("--examples", "-n", type=int, default=50, metavar="N", help="generated cases per row after the golden vectors (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated cases (default 0)")
    p.add_argument("--json", metavar="OUT", help="write one JSON object per row to OUT (an existing OUT is updated: rows that "
                   "ran replace their records, rows that cannot run here keep a recorded verdict)")
    p.add_argument("--list", action="store_true", help="list the rows and whether they can run here, and stop")
    add_cluster_argument(p, "each row in each dtype is a task, every worker needs the engines; the same matrix and JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..engines import matrix
    from ..engines.registry import not_run_reason
    from ..judging.outcomes import RowVerdict
    from ..engines.table import find_rows

    if args.examples < 0:
        raise ValueError(f"--examples must be >= 0, got {args.examples}")
    if args.list:
        reasons = []
        for row in find_rows(args.engine, args.method):
            why = not_run_reason(row, (args.dtype or row.dtypes)[0])
            reasons.append((row.engine, why))
            print(f"{row.port:<32} policy={row.policy:<13} {row.form:<5} {row.calls:<44} {'runs' if not why else 'not-run: ' + why}")
        hint = install_hint(reasons)
        if hint:
            print(hint)
        return 0

    recorded = _recorded(args.json) if args.json else []  # a bad --json is refused before the matrix runs

    def progress(row, dtype):
        if sys.stderr.isatty():
            print(f"\r\033[K{row.engine} {row.method} {row.policy} {dtype} ...", end="", file=sys.stderr, flush=True)

    with cluster_context(args.cluster) as executor:  # an unreachable scheduler is refused here, before any row runs
        results = matrix.run_matrix(args.engine, args.method, args.dtype, examples=args.examples, seed=args.seed, progress=progress,
                                    executor=executor)
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    print(matrix.format_matrix(results))
    hint = install_hint((r.engine, r.reason) for r in results if r.verdict == RowVerdict.NOT_RUN)
    if hint:
        print(hint)
    if args.json:
        now = [r.to_json() for r in results]
        matrix.write_jsonl(matrix.merge_records(recorded, now), args.json)
        print(f"results: {args.json}")
    return 1 if any(r.verdict == RowVerdict.FAILS for r in results) else 0

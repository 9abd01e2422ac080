"""``ees-theory stress``: throw generated edge distributions at an implementation.

``--impl`` is a built-in float variant by dtype and accumulation mode (``float16``,
``float16:input``, ``bfloat16:float32``, ...) or a port as for ``check`` (with ``--dtype``).
Rows come from the property suite's families at the vocabulary sizes and temperatures asked for;
every answer is judged against the certified reference. Reports disagreement rates (outside and
inside the dtype's error bound), NaN/inf outputs, other faults, and the worst cases shrunk.
Results are appended to a JSON Lines file as they come; ``--resume`` continues an interrupted run.
"""

from __future__ import annotations

import math
import re
import sys
from collections import defaultdict
from pathlib import Path

from .. import spec
from ..spec.formats import DTYPES
from ..core.records import method_help, method_names
from ..spec.methods import POLICIES
from ..tolerances import ACCUMULATE
from .check import add_workers_argument, cluster_executor

__all__ = ["register", "run", "parse_sweep", "parse_impl"]

#: which parameter ``--temperature`` sweeps for each method
SWEPT = {"ees": "temperature", "edt": "T0", "dynatemp": "temp"}


def parse_sweep(text: str) -> list[float]:
    """``1.0``, a list ``0.5,1,2``, or a log sweep ``LO:HI:COUNT``.

    >>> parse_sweep("0.5,1,2"), parse_sweep("0.01:100:5")
    ([0.5, 1.0, 2.0], [0.01, 0.1, 1.0, 10.0, 100.0])
    """
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"a sweep is LO:HI:COUNT, got {text!r}")
        lo, hi, count = float(parts[0]), float(parts[1]), int(parts[2])
        if not (0 < lo <= hi < math.inf) or count < 1:
            raise ValueError(f"a log sweep needs 0 < LO <= HI < inf and COUNT >= 1, got {text!r}")
        if count == 1:
            return [lo]
        step = (math.log10(hi) - math.log10(lo)) / (count - 1)
        return [float(f"{10 ** (math.log10(lo) + i * step):.12g}") for i in range(count)]
    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        raise ValueError(f"--temperature expects a number, a list a,b,c or a sweep LO:HI:COUNT; got {text!r}") from None
    if any(not math.isfinite(v) or v <= 0 for v in values):
        raise ValueError(f"temperatures must be finite and > 0, got {text!r}")
    return values


def parse_impl(impl: str, dtype: str | None) -> tuple[str, str, str]:
    """``(port spec, dtype, accumulate)`` for ``--impl``.

    >>> parse_impl("float16:input", None), parse_impl("pkg.mod:fn", "float32")
    (('builtin:input', 'float16', 'input'), ('pkg.mod:fn', 'float32', 'input'))
    """
    head, _, tail = impl.partition(":")
    if head in DTYPES:
        acc = tail or "float32"
        if acc not in ACCUMULATE:
            raise ValueError(f"accumulation mode must be one of {', '.join(ACCUMULATE)}; got {acc!r}")
        if dtype and dtype != head:
            raise ValueError(f"--impl {impl} fixes the dtype to {head}; --dtype {dtype} contradicts it")
        return f"builtin:{acc}", head, acc
    if impl == "builtin" or impl.startswith("builtin:"):
        return impl, dtype or "float64", (impl.partition(":")[2] or "float32")
    return impl, dtype or "float64", "input"


def register(sub) -> None:
    p = sub.add_parser("stress", help="stress an implementation with edge distributions against the reference",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--impl", required=True,
                   help="DTYPE[:ACCUMULATE] for a built-in float variant, or a port (module:callable, exec:COMMAND, builtin)")
    p.add_argument("--method", "-m", default="ees", choices=method_names(), metavar="METHOD", help=f"{method_help()} (default ees)")
    p.add_argument("--dtype", choices=DTYPES, help="dtype for a port (built-ins take it from --impl)")
    p.add_argument("--family", action="append", metavar="NAME", help="family to draw from (repeatable; default all)")
    p.add_argument("--vocab", default="8,64,512,4096", help="vocabulary size(s), comma-separated (default 8,64,512,4096)")
    p.add_argument("--temperature", default=None,
                   help="value, list a,b,c or log sweep LO:HI:COUNT (EES temperature, EDT T0, dynatemp temp)")
    p.add_argument("-n", type=int, default=500, help="number of rows (default 500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="FILE.jsonl", help="results file (default .stress/<impl>-<method>-<dtype>.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue the run recorded in the results file")
    p.add_argument("--rule", choices=spec.RULES, default=spec.DEFAULT_RULE, help="EES rule of the reference")
    p.add_argument("--policy", choices=POLICIES, default="paper",
                   help="engine convention of a truncation sampler (default: the paper's definition)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per row before a port is declared hung")
    p.add_argument("--in-process", action="store_true", help="call a Python port in this process")
    add_workers_argument(p)
    p.add_argument("--no-shrink", action="store_true", help="do not shrink failures")
    p.add_argument("--hunt", type=int, default=0, metavar="N", help="then a hypothesis search of N inputs toward close calls")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _default_out(impl: str, method: str, dtype: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", impl).strip("_")
    return Path(".stress") / f"{slug}-{method}-{dtype}.jsonl"


def stress_summary(report) -> dict:
    """Rates over the judged rows: disagreement outside / inside the bound, NaN/inf, other faults."""
    from ..judging.outcomes import Status

    rows = [r for r in report.records if r["status"] != Status.SKIPPED]
    n = len(rows) or 1
    faults = defaultdict(int)
    for r in rows:
        if r["status"] == Status.FAILED:
            faults[r["fault"]] += 1
    nan = faults.pop("nan", 0)
    errors = sum(v for k, v in faults.items() if k in ("raised", "bad-output", "timeout", "crashed", "protocol-error", "mutated-input"))
    wrong = sum(r["status"] == Status.FAILED for r in rows) - nan - errors
    within = sum(r["status"] == Status.ADMISSIBLE for r in rows)
    by_param = defaultdict(lambda: [0, 0, 0])
    swept = SWEPT.get(report.method)
    for r in rows:
        key = r["params"].get(swept) if swept else None
        by_param[key][0] += 1
        by_param[key][1] += r["status"] == Status.FAILED
        by_param[key][2] += r["status"] == Status.ADMISSIBLE
    return {
        "rows": len(rows),
        "skipped": len(report.skipped) + sum(r["status"] == Status.SKIPPED for r in report.records),
        "disagree_outside_bound": wrong / n,
        "disagree_within_bound": within / n,
        "nan_or_inf": nan,
        "errors": errors,
        "by_parameter": {str(k): {"rows": v[0], "failed": v[1], "admissible": v[2]} for k, v in sorted(by_param.items(), key=lambda kv: (kv[0] is None, kv[0]))},
    }


def run(args) -> int:
    from .. import harness as cf
    from .check import progress_bar

    port_spec, dtype, acc = parse_impl(args.impl, args.dtype)
    cf.get_method(args.method)
    if args.n < 0:
        raise ValueError(f"-n must be >= 0, got {args.n}")
    if args.hunt < 0:
        raise ValueError(f"--hunt must be >= 0, got {args.hunt}")
    try:
        vocabs = [int(v) for v in args.vocab.split(",")]
    except ValueError:
        raise ValueError(f"--vocab expects comma-separated integers, got {args.vocab!r}") from None
    params = {SWEPT[args.method]: parse_sweep(args.temperature)} if args.temperature and args.method in SWEPT else None
    cases = cf.generated_cases(args.method, dtype, args.n, seed=args.seed, families=args.family, vocabs=vocabs, params=params)
    out = Path(args.out) if args.out else _default_out(args.impl, args.method, dtype)
    policy = args.policy
    options = cf.Options(accumulate=acc, rule=args.rule, policy=policy)
    with cluster_executor(args) as executor:  # an unreachable cluster is refused before the port opens
        port = cf.open_port(port_spec, args.method, dtype, isolate=not args.in_process, timeout=args.timeout, policy=policy)
        try:
            report = cf.run_check(port, args.method, dtype, cases, options=options, port_spec=port_spec, journal=out,
                                  resume=args.resume, shrink=not args.no_shrink, hunt=args.hunt, workers=args.workers,
                                  executor=executor, port_on=args.port_on,
                                  progress=progress_bar(not args.no_progress, f"stress {args.impl} {args.method}"))
        except KeyboardInterrupt:
            print(f"ees-theory stress: interrupted; {out} keeps what was found, continue with --resume", file=sys.stderr)
            return 130
    s = stress_summary(report)
    print(f"ees-theory stress --impl {args.impl} method={args.method} dtype={dtype} accumulate={acc}: {s['rows']} rows, {s['skipped']} skipped")
    print(f"  disagreement outside the error bound: {s['disagree_outside_bound']:.4%}")
    print(f"  disagreement within the error bound (admissible): {s['disagree_within_bound']:.4%}")
    print(f"  NaN/inf outputs: {s['nan_or_inf']}   other faults (raised, bad output, timeout, crash, mutation): {s['errors']}")
    if len(s["by_parameter"]) > 1:
        name = SWEPT.get(args.method)
        for key, row in s["by_parameter"].items():
            print(f"  {name}={key}: {row['rows']} rows, {row['failed']} failed, {row['admissible']} admissible")
    print()
    print(report.text())
    return 0 if report.ok else 1
